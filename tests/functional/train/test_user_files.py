"""Train and evaluate on the user's own files (written here): CSV with string labels and
quoted commas, JSONL with integer labels renamed, a TSV test file, a broken row, pairs in
JSONL, a fastText ``.vec`` file — and the artifact answers through the handler."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from millicent.cli.main import main
from millicent.config import FunctionConfig, Limits
from millicent.runtime.artifact import read_manifest
from millicent.runtime.environment import FunctionEnvironment
from millicent.runtime.handler import handle

pytestmark = pytest.mark.train
pytest.importorskip("torch")

GOOD = ["great", "good", "charming", "wonderful", "fun", "moving"]
BAD = ["awful", "bad", "boring", "dull", "terrible", "flat"]
FILLER = ["the", "movie", "film", "was", "a", "plot", "acting", "really", "and", ",", "quite"]
RNG = np.random.default_rng(4)


def vec_file(path: Path) -> Path:
    """fastText's .vec layout (COUNT DIM header, a space after each line's last value);
    the sentiment words lean one way on the first axis."""
    words = GOOD + BAD + FILLER
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(words)} 8\n")
        for w in words:
            v = RNG.normal(scale=0.3, size=8)
            v[0] += 1.0 if w in GOOD else -1.0 if w in BAD else 0.0
            f.write(w + " " + " ".join(f"{x:.6f}" for x in v) + " \n")
    return path


def sentence(rng: np.random.Generator, positive: bool) -> str:
    words = [str(w) for w in rng.choice(FILLER, size=4)]
    words.insert(int(rng.integers(0, 4)), str(rng.choice(GOOD if positive else BAD)))
    return " ".join(words).replace(" , ", ", ")


def rows(n: int, seed: int) -> list[tuple[str, bool]]:
    rng = np.random.default_rng(seed)
    return [(sentence(rng, bool(i % 2)), bool(i % 2)) for i in range(n)]


def write_csv(path: Path, data: list[tuple[str, bool]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "review", "sentiment"])
        for i, (text, pos) in enumerate(data):
            w.writerow([i, f"{text}, all told", "positive" if pos else "negative"])
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def last_json(out: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def classify(artifact: Path, store_url: str, text: str) -> dict[str, Any]:
    from millicent.runtime.registry import load_model

    config = FunctionConfig(models=(("m", str(artifact)),), store_url=store_url, pack_path=None,
                            lru_size=0, store_deadline_s=2.0, limits=Limits())
    env = FunctionEnvironment(config=lambda: config, models=lambda _: {"m": load_model(artifact)})
    event = {"version": "2.0", "rawPath": "/classify", "isBase64Encoded": False,
             "body": json.dumps({"sentence": text}),
             "requestContext": {"http": {"method": "POST", "path": "/classify"}, "stage": "$default"}}
    context = SimpleNamespace(function_name="millicent", aws_request_id="req-1")
    response = handle(event, context, env)
    env.close()
    assert response["statusCode"] == 200, response
    body: dict[str, Any] = json.loads(response["body"])
    return body


def test_csv_with_string_labels_and_a_vec_file_trains_evaluates_and_serves(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = vec_file(tmp_path / "tiny.vec")
    train = write_csv(tmp_path / "train.csv", rows(300, 1))
    dev = write_csv(tmp_path / "dev.csv", rows(40, 2))
    test = write_csv(tmp_path / "test.csv", rows(60, 3))
    out = tmp_path / "kim"
    rc, stdout, err = run(capsys, "train", "kim", "--train", str(train), "--dev", str(dev),
                          "--test", str(test), "--text-column", "review",
                          "--label-column", "sentiment", "--vectors", str(vectors),
                          "--epochs", "6", "--lr", "0.003", "--ema", "0", "--threads", "1",
                          "--out", str(out))
    assert rc == 0, err
    assert "2 classes: negative 150 · positive 150" in stdout
    assert "vector coverage: " in stdout
    m = read_manifest(out)
    assert m.labels == ("negative", "positive") and m.role == "classify"
    assert m.tokenizer.name == "ptb" and m.tokenizer.lowercase
    cov = m.embedding.coverage or {}
    # "all told" ends every review: no vector, the most frequent missing words
    assert cov["word_share"] > 0.9 and cov["top_missing"][:2] == [["all", 300], ["told", 300]]
    assert m.training["dataset"]["train"]["class_counts"] == {"negative": 150, "positive": 150}
    assert m.sections["data"]["text_column"] == "review"
    assert m.metrics["test"]["accuracy"] >= 0.9
    assert "--train " in m.training["command"] and "--label-column sentiment" in m.training["command"]

    # eval on a CSV: accuracy, macro-F1, per-class, the confusion matrix (rows = true labels)
    rc, stdout, err = run(capsys, "eval", str(out), "--file", str(test))
    assert rc == 0, err
    ev = last_json(stdout)
    assert ev["accuracy"] == m.metrics["test"]["accuracy"] and ev["n"] == 60
    assert set(ev["per_class"]) == {"negative", "positive"}
    assert [sum(r) for r in ev["confusion_matrix"]] == [30, 30]
    assert 0.9 <= ev["macro_f1"] <= 1.0

    # served: the .vec vectors into SQLite, then the handler answers with the label names
    url = f"sqlite:///{tmp_path}/v.db"
    rc, _, err = run(capsys, "embeddings", "load", str(out), "--store", url)
    assert rc == 0, err
    assert classify(out, url, "A wonderful, charming film!")["label"] == "positive"
    assert classify(out, url, "the plot was dull and boring")["label"] == "negative"
    # --vocab-from the artifact keeps the words of the files it was trained on
    rc, stdout, err = run(capsys, "embeddings", "load", str(vectors), "--vocab-from", str(out),
                          "--store", f"sqlite:///{tmp_path}/w.db")
    assert rc == 0, err
    assert json.loads(stdout)["words"] == m.embedding.words


def test_jsonl_without_dev_and_renamed_labels_then_eval_on_a_tsv(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = vec_file(tmp_path / "tiny.vec")
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"text": t, "label": int(p)}) + "\n"
                             for t, p in rows(300, 5)), encoding="utf-8")
    tsv = tmp_path / "test.tsv"
    tsv.write_text("text\tlabel\n" + "".join(f"{t}\t{int(p)}\n" for t, p in rows(50, 6)),
                   encoding="utf-8")
    out = tmp_path / "kim"
    rc, stdout, err = run(capsys, "train", "kim", "--train", str(train), "--vectors", str(vectors),
                          "--variant", "non-static", "--label-names", "0=negative,1=positive",
                          "--tokenizer", "whitespace", "--no-lowercase", "--epochs", "6",
                          "--lr", "0.003", "--ema", "0", "--threads", "1", "--out", str(out))
    assert rc == 0, err
    m = read_manifest(out)
    assert m.labels == ("negative", "positive")
    assert m.sections["data"]["label_values"] == ["0", "1"]
    assert (m.tokenizer.name, m.tokenizer.lowercase) == ("whitespace", False)
    assert "--no-lowercase" in m.training["command"]
    hold = m.training["dataset"]["dev"]["holdout"]
    assert hold["rows"] == 30 and hold["rule"] == "stratified by label"
    assert m.metrics["dev"]["n"] == 30 and "test" not in m.metrics
    rc, stdout, err = run(capsys, "eval", str(out), "--file", str(tsv))
    assert rc == 0, err
    assert last_json(stdout)["n"] == 50 and last_json(stdout)["accuracy"] >= 0.8


def test_a_broken_row_stops_training_with_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = vec_file(tmp_path / "tiny.vec")
    train = write_csv(tmp_path / "train.csv", rows(100, 7))
    with open(train, "a", encoding="utf-8") as f:
        f.write('101,"good film",positive,extra\n102,"fine",\n')
    argv = ["train", "kim", "--train", str(train), "--text-column", "review",
            "--label-column", "sentiment", "--vectors", str(vectors), "--epochs", "1",
            "--threads", "1", "--out", str(tmp_path / "kim")]
    rc, _, err = run(capsys, *argv)
    assert rc == 1
    assert f"{train}:102: 4 fields, the header has 3" in err
    assert f"{train}:103: empty 'sentiment'" in err
    assert not (tmp_path / "kim").exists()  # stopped before training
    rc, stdout, err = run(capsys, *argv, "--skip-bad-rows")
    assert rc == 0, err
    assert "skipped 2 bad row(s)" in stdout
    assert read_manifest(tmp_path / "kim").training["dataset"]["train"]["bad_rows_skipped"] == 2


def test_pairs_in_jsonl_train_the_sm_cnn_with_and_without_dev(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = vec_file(tmp_path / "tiny.vec")
    rng = np.random.default_rng(8)

    def pairs(n_questions: int) -> str:
        lines = []
        for q in range(n_questions):
            question = f"was the film {rng.choice(GOOD)} , really ?"
            for a in range(4):
                right = a == q % 4
                answer = f"the film was {rng.choice(GOOD) if right else rng.choice(BAD)} , quite"
                lines.append(json.dumps({"question": question + f" {q}", "answer": answer,
                                         "label": int(right)}))
        return "\n".join(lines) + "\n"

    train, dev = tmp_path / "train.jsonl", tmp_path / "dev.jsonl"
    train.write_text(pairs(60), encoding="utf-8")
    dev.write_text(pairs(10), encoding="utf-8")
    common = ["--vectors", str(vectors), "--epochs", "3", "--threads", "1"]
    rc, _, err = run(capsys, "train", "sm", "--train", str(train), "--dev", str(dev), *common,
                     "--out", str(tmp_path / "sm"))
    assert rc == 0, err
    m = read_manifest(tmp_path / "sm")
    assert m.role == "rank" and m.metrics["dev"]["questions"] == 10
    rc, _, err = run(capsys, "train", "sm", "--train", str(train), *common,
                     "--out", str(tmp_path / "sm2"))
    assert rc == 0, err
    held = read_manifest(tmp_path / "sm2").training["dataset"]["dev"]["holdout"]
    assert held["questions"] == 6 and held["rows"] == 24
    rc, stdout, err = run(capsys, "eval", str(tmp_path / "sm"), "--file", str(dev))
    assert rc == 0, err
    ev = last_json(stdout)
    assert set(ev) >= {"map", "mrr", "n", "questions"} and ev["n"] == 40
    assert ev["map"] == pytest.approx(m.metrics["dev"]["map"])


def test_option_prefixes_are_not_abbreviations(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "kim", "--tra", "x.csv", "--out", "o"])
    assert info.value.code == 2
    assert "unrecognized arguments: --tra" in capsys.readouterr().err
