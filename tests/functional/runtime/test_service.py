"""The request edge and the service core over a real MemoryStore and the real tokenizer
(random-weight artifacts): a body parsed into a typed request, served, built into a JSON
answer — singles and batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from millicent.config import Limits
from millicent.errors import ConfigError, InvalidInput
from millicent.runtime import responses, service
from millicent.runtime.artifact import save_artifact
from millicent.runtime.registry import load_model
from millicent.runtime.requests import parse_request
from millicent.runtime.roles import Classifier, Ranker
from millicent.store.memory import MemoryStore

DIM = 8
WORDS = ["the", "movie", "was", "great", "(", "awful", "who", "wrote", "hamlet", "?", "shakespeare", "."]


def _random_kim(path: Path, rng: np.random.Generator) -> Classifier:
    weights = {}
    for i, k in enumerate((3, 4, 5)):
        weights[f"convs.{i}.weight"] = rng.normal(size=(6, DIM, k))
        weights[f"convs.{i}.bias"] = rng.normal(size=6)
    weights["fc.weight"] = rng.normal(size=(5, 18))
    weights["fc.bias"] = rng.normal(size=5)
    save_artifact(path, {
        "kind": "kim_cnn", "task": "sst-1",
        "config": {"n_classes": 5, "dim": DIM, "widths": [3, 4, 5], "n_maps": 6, "dropout": 0.5},
        "labels": ["vn", "n", "neu", "p", "vp"],
        "embedding": {"dim": DIM, "dtype": "float32", "source": "memory", "variant": "static"},
    }, weights)
    model = load_model(path)
    assert isinstance(model, Classifier)
    return model


def _random_sm(path: Path, rng: np.random.Generator) -> Ranker:
    weights = {
        "conv_q.weight": rng.normal(size=(6, DIM, 5)), "conv_q.bias": rng.normal(size=6),
        "conv_a.weight": rng.normal(size=(6, DIM, 5)), "conv_a.bias": rng.normal(size=6),
        "hidden.weight": rng.normal(size=(7, 12)), "hidden.bias": rng.normal(size=7),
        "out.weight": rng.normal(size=(2, 7)), "out.bias": rng.normal(size=2),
    }
    save_artifact(path, {
        "kind": "sm_cnn", "task": "trecqa",
        "config": {"dim": DIM, "width": 5, "n_maps": 6, "hidden": 7, "dropout": 0.5,
                   "n_classes": 2, "n_features": 0},
        "labels": ["irrelevant", "relevant"],
        "embedding": {"dim": DIM, "dtype": "float32", "source": "memory", "variant": "static"},
    }, weights)
    model = load_model(path)
    assert isinstance(model, Ranker)
    return model


@pytest.fixture()
def store() -> MemoryStore:
    rng = np.random.default_rng(0)
    return MemoryStore.from_vectors(WORDS, rng.normal(size=(len(WORDS), DIM)).astype(np.float32))


def classify(model: Classifier, store: MemoryStore, text: object, limits: Limits) -> dict:  # type: ignore[type-arg]
    request = parse_request("classify", {"sentence": text}, limits)
    return responses.body(service.classify(model, store, request, limits), request, "kim")  # type: ignore[arg-type]


def rank(model: Ranker, store: MemoryStore, question: str, answers: object, limits: Limits) -> dict:  # type: ignore[type-arg]
    request = parse_request("rank", {"question": question, "answers": answers}, limits)
    return responses.body(service.rank(model, store, request, limits), request, "sm")  # type: ignore[arg-type]


def test_classify(tmp_path: Path, store: MemoryStore) -> None:
    model = _random_kim(tmp_path / "kim", np.random.default_rng(1))
    out = classify(model, store, "The movie (was) great, zorblax!", Limits())
    assert out["tokens"] == ["the", "movie", "-lrb-", "was", "-rrb-", "great", ",", "zorblax", "!"]
    # "(" is found through vector_key; ")" "," "zorblax" "!" are not in the store
    assert out["unknown_words"] == ["-rrb-", ",", "zorblax", "!"]
    probs = np.array(out["probabilities"])
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert out["label_index"] == int(probs.argmax())
    assert out["label"] == model.labels[out["label_index"]]
    expected = model.predict(store.lookup(model.tokenizer.keys(out["tokens"])).matrix)
    np.testing.assert_allclose(probs, expected, atol=1e-7)
    t = out["timings"]
    assert out["model"] == "kim"
    assert set(t) == {"tokenize_ms", "fetch_ms", "forward_ms", "lookups"}
    assert t["lookups"]["words"] == 9 and t["lookups"]["missing"] == 4


def test_classify_rejects_bad_text(tmp_path: Path, store: MemoryStore) -> None:
    model = _random_kim(tmp_path / "kim", np.random.default_rng(1))
    for text in ("", "   \n\t"):
        with pytest.raises(InvalidInput, match="empty"):
            classify(model, store, text, Limits())
    with pytest.raises(InvalidInput, match="limit is 3"):
        classify(model, store, "the movie was great", Limits(max_tokens=3))
    with pytest.raises(InvalidInput):
        classify(model, store, 42, Limits())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="8-d"):
        classify(model, MemoryStore.from_vectors(["the"], np.zeros((1, 3), np.float32)), "the", Limits())


def test_rank(tmp_path: Path, store: MemoryStore) -> None:
    model = _random_sm(tmp_path / "sm", np.random.default_rng(2))
    answers = ["Shakespeare wrote Hamlet.", "the movie was awful", "?"]
    out = rank(model, store, "Who wrote Hamlet?", answers, Limits())
    assert out["question_tokens"] == ["who", "wrote", "hamlet", "?"]
    assert out["answer_tokens"][0] == ["shakespeare", "wrote", "hamlet", "."]
    q = store.lookup(model.tokenizer.keys(out["question_tokens"])).matrix
    expected = [model.score(q, store.lookup(model.tokenizer.keys(t)).matrix) for t in out["answer_tokens"]]
    np.testing.assert_allclose(out["scores"], expected, atol=1e-6)
    assert out["unknown_words"] == []
    assert out["timings"]["lookups"]["words"] == 10  # one lookup of the unique words


def test_rank_rejects_bad_answers(tmp_path: Path, store: MemoryStore) -> None:
    model = _random_sm(tmp_path / "sm", np.random.default_rng(2))
    with pytest.raises(InvalidInput, match="'answers' is empty"):
        rank(model, store, "who?", [], Limits())
    with pytest.raises(InvalidInput, match="limit is 2"):
        rank(model, store, "who?", ["a", "b", "c"], Limits(max_answers=2))
    with pytest.raises(InvalidInput, match=r"answers\[1\] is empty"):
        rank(model, store, "who?", ["a", " "], Limits())
    with pytest.raises(InvalidInput, match="'question' is empty"):
        rank(model, store, "", ["a"], Limits())
    with pytest.raises(InvalidInput, match="list of strings"):
        rank(model, store, "who?", "a", Limits())


def _batch(model: Classifier | Ranker, store: MemoryStore, body: dict, limits: Limits) -> dict:  # type: ignore[type-arg]
    request = parse_request(model.role, body, limits)
    svc = service.classify if model.role == "classify" else service.rank
    return responses.body(svc(model, store, request, limits), request, "m")  # type: ignore[arg-type]


def test_a_classify_batch_equals_single_requests_with_one_lookup(tmp_path: Path, store: MemoryStore) -> None:
    model = _random_kim(tmp_path / "kim", np.random.default_rng(1))
    texts = ["The movie was great!", "awful", "who wrote hamlet ?", "The movie (was) great, zorblax!"]
    out = _batch(model, store, {"sentences": texts}, Limits())
    assert set(out) == {"results", "timings", "model"} and out["timings"]["batch"] == 4
    for text, got in zip(texts, out["results"], strict=True):
        want = classify(model, store, text, Limits())
        assert got["label"] == want["label"] and got["tokens"] == want["tokens"]
        assert got["unknown_words"] == want["unknown_words"]
        np.testing.assert_allclose(got["probabilities"], want["probabilities"], atol=1e-6)
    distinct = {t for r in out["results"] for t in r["tokens"]}
    assert out["timings"]["lookups"]["words"] == len(distinct)  # one lookup for the batch


def test_a_rank_batch_equals_single_requests(tmp_path: Path, store: MemoryStore) -> None:
    model = _random_sm(tmp_path / "sm", np.random.default_rng(2))
    items = [{"question": "Who wrote Hamlet?", "answers": ["Shakespeare wrote Hamlet.", "?"]},
             {"question": "the movie ?", "answer": "the movie was awful"}]
    out = _batch(model, store, {"items": items}, Limits())
    assert out["timings"]["batch"] == 2
    first = rank(model, store, items[0]["question"], items[0]["answers"], Limits())  # type: ignore[arg-type]
    np.testing.assert_allclose(out["results"][0]["scores"], first["scores"], atol=1e-6)
    assert "score" not in out["results"][0] and out["results"][1]["score"] == out["results"][1]["scores"][0]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"sentences": []}, 400, "'sentences' is empty"),
    ({"sentences": "a film"}, 400, "must be a list"),
    ({"sentences": [["nested"]]}, 400, r"sentences\[0\] must be a string"),
    ({"sentences": ["good", " ", "bad"]}, 400, r"sentences\[1\] is empty"),
    ({"sentences": ["good"] * 5}, 413, "the limit is 4"),
    ({"sentences": ["good"], "sentence": "bad"}, 400, "not both"),
])
def test_batch_errors_name_the_item(body: dict, status: int, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidInput, match=message) as info:
        parse_request("classify", body, Limits(max_batch=4))
    assert info.value.status == status
    if "[" in message:
        assert info.value.details["index"] == int(message.split("[")[1][0])


def test_a_batch_item_over_the_token_limit_is_named(tmp_path: Path, store: MemoryStore) -> None:
    model = _random_kim(tmp_path / "kim", np.random.default_rng(1))
    with pytest.raises(InvalidInput, match=r"sentences\[1\] has 5 tokens; the limit is 3") as too_long:
        _batch(model, store, {"sentences": ["good", "the movie was so great"]}, Limits(max_tokens=3))
    assert too_long.value.details["index"] == 1
    rank_model = _random_sm(tmp_path / "sm", np.random.default_rng(2))
    with pytest.raises(InvalidInput, match=r"items\[0\]: field 'answers' is empty") as info:
        parse_request("rank", {"items": [{"question": "who ?", "answers": []}]}, Limits())
    assert info.value.details["index"] == 0
    with pytest.raises(InvalidInput, match=r"items\[1\]\.answers\[0\] has 4 tokens"):
        _batch(rank_model, store, {"items": [{"question": "who", "answer": "a"},
                                              {"question": "who", "answer": "a b c d"}]},
               Limits(max_tokens=3))
