"""Training data as splits: the user's files (with and without --dev) and the built-in sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from millicent.errors import DataError, InvalidInput
from millicent.train.data import FileOptions, castor_data, pair_data, sst_data, text_data


def csv_file(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["review,label"] + [f'"{t}",{label}' for t, label in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


TRAIN = [(f"good, film {i}", "pos") for i in range(30)] + [(f"bad film {i}", "neg") for i in range(20)]


def test_user_files_with_a_dev_file(tmp_path: Path) -> None:
    logged: list[str] = []
    opts = FileOptions(train=str(csv_file(tmp_path / "t.csv", TRAIN)),
                       dev=str(csv_file(tmp_path / "d.csv", [("fine", "pos"), ("awful", "neg")])),
                       test=str(csv_file(tmp_path / "x.csv", [("ok", "pos")])),
                       text_column="review")
    data = text_data(opts, logged.append)
    assert data.labels == ("neg", "pos")
    assert len(data.texts["train"]) == 50 and data.y["dev"] == [1, 0] and data.y["test"] == [1]
    assert data.texts["train"][0] == "good, film 0"
    ds = data.dataset
    assert ds["train"]["class_counts"] == {"neg": 20, "pos": 30} and ds["train"]["format"] == "csv"
    assert len(ds["train"]["sha256"]) == 64 and ds["dev"]["rows"] == 2
    assert any("2 classes: neg 20 · pos 30" in line for line in logged)


def test_without_dev_a_stratified_tenth_is_held_out(tmp_path: Path) -> None:
    opts = FileOptions(train=str(csv_file(tmp_path / "t.csv", TRAIN)), text_column="review", seed=3)
    data = text_data(opts, lambda _: None)
    assert len(data.texts["dev"]) == 5 and len(data.texts["train"]) == 45
    assert sorted(data.y["dev"]) == [0, 0, 1, 1, 1]
    assert not set(data.texts["dev"]) & set(data.texts["train"])
    hold = data.dataset["dev"]["holdout"]
    assert hold["seed"] == 3 and hold["rows"] == 5 and len(hold["lines"]) == 5
    assert data.dataset["train"]["rows_trained"] == 45
    assert text_data(opts, lambda _: None).texts["dev"] == data.texts["dev"]  # seeded


def test_unknown_test_labels_and_bad_rows_are_refused(tmp_path: Path) -> None:
    train = csv_file(tmp_path / "t.csv", TRAIN)
    test = csv_file(tmp_path / "x.csv", [("meh", "neutral")])
    with pytest.raises(DataError, match="'neutral' \\(first on line 2\\)"):
        text_data(FileOptions(train=str(train), test=str(test), text_column="review"), print)
    broken = tmp_path / "b.csv"
    broken.write_text(train.read_text() + "too,many,fields\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"b\.csv:52: 3 fields"):
        text_data(FileOptions(train=str(broken), text_column="review"), print)
    logged: list[str] = []
    data = text_data(FileOptions(train=str(broken), text_column="review", skip_bad_rows=True),
                     logged.append)
    assert data.dataset["train"]["bad_rows_skipped"] == 1
    assert any("skipped 1 bad row" in line for line in logged)


def test_sst_keeps_its_label_names(data_dir: Path) -> None:
    data = sst_data("sst-2", data_dir)
    assert data.labels == ("negative", "positive")
    assert [len(data.texts[s]) for s in ("train", "dev", "test")] == [6920, 872, 1821]


def test_pairs_with_and_without_dev(tmp_path: Path) -> None:
    rows = []
    for q in range(30):
        for a in range(3):
            rows.append({"question": f"question {q}?", "answer": f"answer {a}", "label": int(a == 0)})
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    data = pair_data(FileOptions(train=str(path)), lambda _: None)
    dev_q = {p.qid for p in data.pairs["dev"]}
    assert len(dev_q) == 3 and len(data.pairs["dev"]) == 9 and len(data.pairs["train"]) == 81
    assert not dev_q & {p.qid for p in data.pairs["train"]}
    assert data.dataset["dev"]["holdout"]["questions"] == 3
    with_dev = pair_data(FileOptions(train=str(path), dev=str(path)), lambda _: None)
    assert len(with_dev.pairs["train"]) == len(with_dev.pairs["dev"]) == 90
    with pytest.raises(InvalidInput, match="question, answer, label"):
        pair_data(FileOptions(train=str(path), text_column="q"), print)


def test_castor_directories_keep_working(data_dir: Path) -> None:
    data = castor_data(data_dir)
    assert len(data.pairs["dev"]) == 1148 and set(data.pairs) >= {"train", "dev", "test", "clean-test"}
