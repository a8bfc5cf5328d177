"""``millicent train hf`` through the real CLI on tiny BERTs made here (random seeded
weights, a WordPiece tokenizer over the test's words): a classifier on a CSV with string
labels, a cross-encoder on JSONL pairs, the frozen and the trained token table, a DistilBERT
base, a rerun of a complete run, and the inputs it refuses."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from millicent.cli.main import main
from tests.hf_support import tiny_bert

pytestmark = pytest.mark.train
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

GOOD = ["great", "good", "charming", "wonderful", "fun", "moving"]
BAD = ["awful", "bad", "boring", "dull", "terrible", "flat"]
FILLER = ["the", "movie", "film", "was", "a", "plot", "acting", "really", "and", ",", "quite"]
TOPICS = ["river", "mountain", "castle", "violin", "rocket", "garden", "island", "engine"]
QA_WORDS = ["what", "is", "the", "a", "about", "this", "text", "tells", "of", "?", "."]
WORDS = GOOD + BAD + FILLER + TOPICS + QA_WORDS
#: a run that learns the tiny task in seconds (about 150 steps); its artifact fp32 (the
#: int8 gate's minute is spent once, by ``classified``)
FAST = ["--epochs", "8", "--batch-size", "16", "--lr", "1e-3", "--max-length", "32",
        "--threads", "1", "--checkpoint-steps", "0", "--no-progress", "--quantize", "none"]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("base"), WORDS, seed=3)


def sentence(rng: np.random.Generator, positive: bool) -> str:
    words = [str(w) for w in rng.choice(FILLER, size=4)]
    words.insert(int(rng.integers(0, 4)), str(rng.choice(GOOD if positive else BAD)))
    return " ".join(words)


def reviews(path: Path, n: int, seed: int, delimiter: str = ",") -> Path:
    """A labelled file with the columns id, review, sentiment (positive / negative)."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(["id", "review", "sentiment"])
        for i in range(n):
            w.writerow([i, sentence(rng, bool(i % 2)), "positive" if i % 2 else "negative"])
    return path


def pairs(path: Path, questions: int, seed: int) -> Path:
    """JSONL pairs: each question names a topic; the answers naming it are correct."""
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for q in range(questions):
            topic = str(rng.choice(TOPICS))
            others = [t for t in TOPICS if t != topic]
            answers = [(f"this text tells of the {topic} .", 1)]
            answers += [(f"this text tells of a {rng.choice(others)} .", 0) for _ in range(4)]
            for answer, label in answers:
                f.write(json.dumps({"qid": f"q{seed}-{q}", "question": f"what is the {topic} ?",
                                    "answer": answer, "label": label}) + "\n")
    return path


def gate_texts(path: Path) -> Path:
    """Texts for the int8 gate nobody trained on (one per line)."""
    rng = np.random.default_rng(7)
    path.write_text("\n".join(sentence(rng, bool(i % 2)) for i in range(150)) + "\n",
                    encoding="utf-8")
    return path


def train(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["train", "hf", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def record(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "training.json").read_text())
    return result


def tensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path))


def table(directory: Path) -> np.ndarray:
    """The token table of a model directory (with or without the task model's prefix)."""
    weights = tensors(directory / "model.safetensors")
    key = next(k for k in weights if k.endswith("embeddings.word_embeddings.weight"))
    return weights[key]


def hf_logits(directory: Path, inputs: list[Any]) -> np.ndarray:
    """The saved model's logits, loaded as anyone would (transformers + tokenizers)."""
    from tokenizers import Tokenizer
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(directory, local_files_only=True)
    model.eval()
    tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
    rows = []
    with torch.no_grad():
        for item in inputs:
            e = tok.encode(*item) if isinstance(item, tuple) else tok.encode(item)
            rows.append(model(input_ids=torch.tensor([e.ids]),
                              token_type_ids=torch.tensor([e.type_ids])).logits[0].numpy())
    return np.stack(rows)


@pytest.fixture(scope="module")
def classified(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("classify")
    args = ["--base", str(base), "--task", "classify",
            "--train", str(reviews(d / "train.csv", 300, 1)),
            "--dev", str(reviews(d / "dev.csv", 60, 2)),
            "--test", str(reviews(d / "test.tsv", 60, 3, delimiter="\t")),
            "--text-column", "review", "--label-column", "sentiment", *FAST,
            "--quantize", "int8", "--check-texts", str(gate_texts(d / "gate.txt")),
            "--out", str(d / "out")]
    assert main(["train", "hf", *args]) == 0
    (d / "args.json").write_text(json.dumps(args))
    return d


def test_classifier_from_a_csv_is_a_hugging_face_directory(classified: Path) -> None:
    out = classified / "out"
    # the artifact (manifest.json, model.onnx, tokenizer.json) beside the run's own files
    assert sorted(p.name for p in out.iterdir()) == ["hf", "manifest.json", "model.onnx",
                                                     "run.json", "tokenizer.json", "training.json"]
    hf = out / "hf"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "vocab.txt", "special_tokens_map.json"):
        assert (hf / name).is_file(), name
    assert not list(hf.glob("*.bin"))
    config = json.loads((hf / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert json.loads((hf / "tokenizer_config.json").read_text())["model_max_length"] == 32
    r = record(out)
    assert r["task"] == "classify" and r["labels"] == ["negative", "positive"]
    assert r["data"] == {"label_values": ["negative", "positive"], "format": None,
                         "text_column": "review", "label_column": "sentiment"}
    assert r["command"].startswith("millicent train hf --base ")
    assert "--checkpoint-steps 0" in r["command"] and r["threads"] == 1 and r["seed"] == 1
    assert len(r["history"]) == 8 and 1 <= r["best_epoch"] <= 8
    assert r["best_dev_accuracy_torch"] == max(h["dev_accuracy"] for h in r["history"])
    test = r["metrics"]["test"]
    assert set(test) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix"}
    assert test["n"] == 60 and test["accuracy"] >= 0.8, test  # the tiny task is learnt


def test_the_saved_model_is_the_scored_one(classified: Path) -> None:
    """The dev / test metrics of the record are those of the weights in ``hf/``."""
    from millicent.train.metrics import classification_metrics

    with open(classified / "test.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    logits = hf_logits(classified / "out" / "hf", [row["review"] for row in rows])
    gold = [1 if row["sentiment"] == "positive" else 0 for row in rows]
    got = classification_metrics(logits.argmax(axis=1), gold, ["negative", "positive"])
    assert got == record(classified / "out")["metrics"]["test"]


def test_the_token_table_stays_the_bases(classified: Path, base: Path) -> None:
    trained = table(classified / "out" / "hf")
    assert trained.tobytes() == table(base).tobytes()
    r = record(classified / "out")["token_table"]
    assert r["trained"] is False and r["sha256"] == r["base_sha256"]


def test_the_out_directory_is_served_through_the_runtime(classified: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """``--out`` is a millicent artifact: its token table loaded into a SQLite store by
    ``embeddings load``, the service (tokenizer, store lookups, the int8 graph) answers the
    labels of the fine-tuned model in torch, and ``eval --file`` through the runtime reports
    the metrics the record computed in torch."""
    from millicent.config import Limits
    from millicent.runtime import service
    from millicent.runtime.registry import load_model
    from millicent.runtime.requests import parse_request
    from millicent.store import open_embeddings

    out = classified / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "transformer" and manifest["role"] == "classify"
    assert manifest["labels"] == ["negative", "positive"]
    assert manifest["transformer"]["precision"] == "int8"  # the tiny classifier passes the gate
    assert manifest["transformer"]["quantization"]["check_texts"].startswith(str(classified / "gate.txt"))
    assert manifest["data"]["label_column"] == "sentiment"  # eval --file reads the columns
    assert manifest["training"]["command"] == record(out)["command"]
    assert manifest["training"]["fine_tuning"]["metrics"] == record(out)["metrics"]
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    assert main(["embeddings", "load", str(out), "--store", url]) == 0
    with open(classified / "test.tsv", encoding="utf-8") as f:
        texts = [row["review"] for row in csv.DictReader(f, delimiter="\t")]
    limits = Limits()
    embeddings = open_embeddings(url)
    try:
        answer = service.classify(load_model(out), embeddings,  # type: ignore[arg-type]
                                  parse_request("classify", {"sentences": texts}, limits), limits)
    finally:
        embeddings.close()
    served = np.array([r.probabilities for r in answer.results])  # type: ignore[union-attr]
    torch_logits = hf_logits(out / "hf", texts)
    assert np.array_equal(served.argmax(axis=1), torch_logits.argmax(axis=1))
    capsys.readouterr()
    assert main(["eval", str(out), "--file", str(classified / "test.tsv")]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["accuracy"] == record(out)["metrics"]["test"]["accuracy"]
    assert metrics["confusion_matrix"] == record(out)["metrics"]["test"]["confusion_matrix"]


def test_an_interrupted_import_is_redone_by_the_rerun(classified: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A complete run without its manifest (killed while importing) imports again when
    rerun, training nothing."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(classified, copy)
    args = json.loads((copy / "args.json").read_text())
    args = [a.replace(str(classified), str(copy)) for a in args]
    args[args.index("--quantize", args.index("--quantize") + 1) + 1] = "none"
    (copy / "out" / "manifest.json").unlink()
    before = (copy / "out" / "hf" / "model.safetensors").stat().st_mtime_ns
    code, out, err = train(args, capsys)
    assert code == 0, err
    assert "this run is complete" in out and "making its artifact" in out
    manifest = json.loads((copy / "out" / "manifest.json").read_text())
    assert manifest["transformer"]["precision"] == "fp32"  # --quantize none this time
    assert (copy / "out" / "hf" / "model.safetensors").stat().st_mtime_ns == before
    assert not (copy / "out" / ".artifact").exists()


def test_a_rerun_of_a_complete_run_trains_nothing(classified: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    args = json.loads((classified / "args.json").read_text())
    before = (classified / "out" / "hf" / "model.safetensors").stat().st_mtime_ns
    code, out, _ = train(args, capsys)
    assert code == 0 and "this run is complete" in out
    assert (classified / "out" / "hf" / "model.safetensors").stat().st_mtime_ns == before


def test_another_command_on_the_same_out_is_refused(classified: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    args = json.loads((classified / "args.json").read_text())
    args[args.index("--lr") + 1] = "5e-4"
    code, _, err = train(args, capsys)
    assert code == 2
    assert "holds a run of another command" in err and "lr: 0.001 there, 0.0005 here" in err
    assert record(classified / "out")["optimizer"].startswith("adamw lr=0.001")


def test_trained_embeddings_change_the_table(base: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, _, err = train(["--base", str(base), "--task", "classify",
                          "--train", str(reviews(tmp_path / "t.csv", 120, 4)),
                          "--text-column", "review", "--label-column", "sentiment",
                          "--train-embeddings", *FAST[:1], "1", *FAST[2:], "--out", str(out)],
                         capsys)
    assert code == 0, err
    r = record(out)
    assert "--train-embeddings" in r["command"] and "token table trained" in r["optimizer"]
    assert r["token_table"]["trained"] is True
    assert r["token_table"]["sha256"] != r["token_table"]["base_sha256"]
    assert table(out / "hf").tobytes() != table(base).tobytes()
    assert r["dataset"]["dev"]["holdout"]["rule"] == "stratified by label"


def test_cross_encoder_on_jsonl_pairs(base: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from millicent.train.metrics import map_mrr

    test_file = pairs(tmp_path / "test.jsonl", 12, 3)
    out = tmp_path / "out"
    code, stdout, err = train(["--base", str(base), "--task", "rank",
                               "--train", str(pairs(tmp_path / "train.jsonl", 60, 1)),
                               "--dev", str(pairs(tmp_path / "dev.jsonl", 12, 2)),
                               "--test", str(test_file), *FAST, "--out", str(out)], capsys)
    assert code == 0, err
    config = json.loads((out / "hf" / "config.json").read_text())
    assert config["id2label"] == {"0": "relevant"}
    r = record(out)
    assert r["head"] == "one logit; relevance = sigmoid(logit)"
    assert r["best_dev_map_torch"] == max(h["dev_map"] for h in r["history"])
    assert set(r["metrics"]) == {"dev", "test"}
    rows = [json.loads(line) for line in test_file.read_text().splitlines()]
    scores = hf_logits(out / "hf", [(x["question"], x["answer"]) for x in rows])[:, 0]
    m = map_mrr([x["qid"] for x in rows], scores, [x["label"] for x in rows])
    assert r["metrics"]["test"] == {"map": m["map"], "mrr": m["mrr"], "n": 60, "questions": 12}
    assert '"split": "test", "map": ' in stdout


def test_distilbert_base(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A base without token types (DistilBERT) trains too."""
    base = tiny_bert(tmp_path / "distil", WORDS, seed=5, kind="distilbert")
    out = tmp_path / "out"
    code, _, err = train(["--base", str(base), "--task", "classify",
                          "--train", str(reviews(tmp_path / "t.csv", 60, 6)),
                          "--text-column", "review", "--label-column", "sentiment",
                          "--epochs", "1", *FAST[2:], "--out", str(out)], capsys)
    assert code == 0, err
    assert json.loads((out / "hf" / "config.json").read_text())["model_type"] == "distilbert"
    assert table(out / "hf").tobytes() == table(base).tobytes()


def test_built_in_trecqa(data_dir: Path, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    """``--dataset trecqa``: train, raw-dev for the best epoch, raw-test and the clean sets
    reported (a vocabulary of the training split's words, so few tokens are unknown)."""
    from millicent.data.trecqa import load_trecqa

    words = {w for p in load_trecqa(data_dir, "train") for w in (p.question + " " + p.answer).split()}
    base = tiny_bert(tmp_path / "base", words, seed=1)
    out = tmp_path / "out"
    code, _, err = train(["--base", str(base), "--task", "rank", "--dataset", "trecqa",
                          "--epochs", "1", "--batch-size", "64", "--max-length", "48",
                          "--threads", "1", "--no-progress", "--data-dir", str(data_dir),
                          "--out", str(out)], capsys)
    assert code == 0, err
    r = record(out)
    assert "--dataset trecqa" in r["command"] and r["steps"] == -(-4718 // 64)
    assert {k: v["n"] for k, v in r["metrics"].items()} == {
        "dev": 1148, "test": 1517, "clean-dev": len(load_trecqa(data_dir, "clean-dev")),
        "clean-test": len(load_trecqa(data_dir, "clean-test"))}
    assert r["best_dev_map_torch"] == r["metrics"]["dev"]["map"]
    assert r["truncated"]["train"] > 0  # 48 tokens cut some pairs; counted, not hidden
