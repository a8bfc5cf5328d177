"""The ``embed`` role end to end in this process: ``millicent import vectors`` writes a
``mean_vectors`` artifact (a manifest naming the vectors and the tokenizer), and the handler
answers ``POST /embed`` and ``POST /{name}`` with the mean of the text's known word vectors,
L2-normalised — the same answer as the in-memory server baseline; ``eval`` ranks TrecQA
answers by cosine; a model that answers NaN or infinity is a 500, never a number JSON lacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from millicent.cli.main import main
from millicent.config import FunctionConfig, Limits
from millicent.errors import ArtifactError
from millicent.runtime.environment import FunctionEnvironment
from millicent.runtime.handler import handle, prime, serve
from millicent.runtime.registry import load_model
from millicent.runtime.roles import Embedder
from millicent.store.memory import MemoryStore
from millicent.train.evaluate import memory_embeddings

WORDS = ["the", "film", "was", "great", "(", "Paris", "paris", "awful"]
DIM = 6


@pytest.fixture()
def vectors(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    path = tmp_path / "tiny.txt"
    path.write_text("".join(w + " " + " ".join(f"{x:.5f}" for x in rng.normal(size=DIM)) + "\n"
                            for w in WORDS), encoding="utf-8")
    return path


@pytest.fixture()
def artifact(vectors: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "emb"
    assert main(["import", "vectors", str(vectors), "--role", "embed", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["kind"] == "mean_vectors" and printed["role"] == "embed"
    return out


def _file_rows(vectors: Path) -> dict[str, np.ndarray]:
    rows = {}
    for line in vectors.read_text(encoding="utf-8").splitlines():
        word, *values = line.split(" ")
        rows.setdefault(word.lower(), np.array(values, dtype=np.float32))  # first row wins
    return rows


def _env(model: Any, store: Any, name: str = "emb") -> FunctionEnvironment:
    config = FunctionConfig(models=((name, str(model.artifact.path)),), store_url=None,
                            pack_path=None, lru_size=0, store_deadline_s=1.0, limits=Limits())
    return FunctionEnvironment(config=lambda: config, models=lambda _: {name: model},
                               store=lambda _: store)


def _http(method: str, path: str, body: Any = None) -> dict[str, Any]:
    return {"version": "2.0", "rawPath": path, "isBase64Encoded": False,
            "body": None if body is None else json.dumps(body),
            "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"}}


def _call(env: FunctionEnvironment, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    out = handle(_http(method, path, body), None, env)
    return out["statusCode"], json.loads(out["body"])


def test_the_embedding_is_the_normalised_mean_of_the_known_words(
        artifact: Path, vectors: Path) -> None:
    model = load_model(artifact)
    assert isinstance(model, Embedder) and model.out_dim == DIM and model.role == "embed"
    store = memory_embeddings(model, None, [*WORDS, "zorblax"])
    out = serve(model, "emb", store, {"sentence": "The film was GREAT (zorblax)!"}, Limits())
    assert set(out) == {"embedding", "tokens", "model", "timings"} and out["model"] == "emb"
    assert out["tokens"] == ["the", "film", "was", "great", "-lrb-", "zorblax", "-rrb-", "!"]
    rows = _file_rows(vectors)
    mean = np.mean([rows[w] for w in ("the", "film", "was", "great", "(")], axis=0)
    np.testing.assert_allclose(out["embedding"], mean / np.linalg.norm(mean), atol=1e-6)
    assert out["timings"]["lookups"]["missing"] == 3  # zorblax, -rrb- and ! have no vector
    # a batch answers each text as a single request would
    texts = ["the film", "awful , awful", "paris"]
    batch = serve(model, "emb", store, {"sentences": texts}, Limits())
    assert [r["tokens"] for r in batch["results"]] == [["the", "film"], ["awful", ",", "awful"],
                                                       ["paris"]]
    for text, result in zip(texts, batch["results"], strict=True):
        single = serve(model, "emb", store, {"input": text}, Limits())
        np.testing.assert_allclose(result["embedding"], single["embedding"], atol=1e-6)
        assert np.linalg.norm(result["embedding"]) == pytest.approx(1.0, abs=1e-5)
    # no known word: the zero vector, not NaN
    none = serve(model, "emb", store, {"sentence": "zorblax !"}, Limits())
    assert none["embedding"] == [0.0] * DIM


def test_routes_health_primer_and_direct_invocation(artifact: Path) -> None:
    model = load_model(artifact)
    store = memory_embeddings(model, None, WORDS)
    env = _env(model, store)
    env.init(prime)  # the INIT primer serves an embed request
    status, body = _call(env, "POST", "/embed", {"sentence": "the film"})
    assert status == 200 and body["model"] == "emb" and len(body["embedding"]) == DIM
    status, named = _call(env, "POST", "/emb", {"sentence": "the film"})
    assert status == 200 and named["embedding"] == body["embedding"]
    status, health = _call(env, "GET", "/health")
    assert status == 200 and health["models"] == [
        {"name": "emb", "role": "embed", "kind": "mean_vectors", "task": "", "embedding_dim": DIM}]
    assert _call(env, "GET", "/embed")[0] == 405 and _call(env, "POST", "/classify", {})[0] == 404
    assert _call(env, "POST", "/embed", {"question": "q", "answer": "a"})[0] == 400
    direct = handle({"sentence": "the film"}, None, env)  # its fields: the first embedder
    assert direct["embedding"] == body["embedding"]


def test_the_server_baseline_answers_like_the_handler(artifact: Path) -> None:
    from millicent.baselines.server import answer

    model = load_model(artifact)
    store = memory_embeddings(model, None, WORDS)
    got = answer({"emb": model}, store, "/embed", {"sentences": ["the film", "paris"]},
                 Limits(), cold=False)
    want = serve(model, "emb", store, {"sentences": ["the film", "paris"]}, Limits())
    assert [r["embedding"] for r in got["results"]] == [r["embedding"] for r in want["results"]]


def test_a_model_answering_infinity_is_a_500_without_the_number(artifact: Path) -> None:
    model = load_model(artifact)
    store = MemoryStore.from_vectors(["the", "film"], np.array([[np.inf] * DIM, [1.0] * DIM],
                                                               dtype=np.float32))
    with pytest.raises(ArtifactError, match="NaN or infinity"):
        serve(model, "emb", store, {"sentence": "the film"}, Limits())
    status, body = _call(_env(model, store), "POST", "/embed", {"sentence": "the film"})
    assert status == 500 and body["error"] == "artifact_error" and "embedding" not in body


def test_eval_ranks_trecqa_answers_by_cosine(data_dir: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "glove-mean"
    assert main(["import", "vectors", "glove-50", "--out", str(out), "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--split", "dev", "--data-dir", str(data_dir)]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert got["split"] == "raw-dev" and got["n"] == 1148 and got["task"] == "trecqa"
    assert 0.3 < got["map"] <= got["mrr"] + 1e-9 <= 1.0
