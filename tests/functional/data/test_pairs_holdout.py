"""Pairs files and the seeded dev hold-outs, on real small files written here."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from millicent.data.holdout import question_holdout, stratified_holdout
from millicent.data.pairs import PairColumns, question_ids, read_pairs
from millicent.data.trecqa import QAPair
from millicent.errors import DataError, InvalidInput


def test_pairs_grouped_by_question_text_without_qid(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('question,answer,label\n"who, then?",me,1\nwhen?,now,0\n"who, then?",you,0\n',
                    encoding="utf-8")
    data = read_pairs(path)
    assert data.rows == [QAPair("q1", "who, then?", "me", 1), QAPair("q2", "when?", "now", 0),
                         QAPair("q1", "who, then?", "you", 0)]
    assert question_ids(data.rows) == ["q1", "q2"]


def test_pairs_with_qid_in_jsonl(tmp_path: Path) -> None:
    rows = [{"qid": 7, "question": "q?", "answer": "a", "label": 1},
            {"qid": "7", "question": "q?", "answer": "b", "label": "0"},
            {"qid": 8, "question": "r?", "answer": "c", "label": 2},
            {"question": "s?", "answer": "d", "label": 0},
            {"qid": 7, "question": "another?", "answer": "e", "label": 0}]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_pairs(path)
    assert info.value.details["problems"] == [
        f"{path}:3: label '2' is not 0 or 1",
        f"{path}:4: no 'qid' (the file's first row has one)",
        f"{path}:5: qid '7' holds another question on line 1",
    ]
    data = read_pairs(path, skip_bad_rows=True)
    assert [p.qid for p in data.rows] == ["7", "7"] and data.bad_rows == 3


def test_pairs_columns_and_formats(tmp_path: Path) -> None:
    path = tmp_path / "p.tsv"
    path.write_text("Q\tA\tgold\nq?\ta\t1\n", encoding="utf-8")
    cols = PairColumns(question="Q", answer="A", label="gold")
    assert read_pairs(path, columns=cols).rows == [QAPair("q1", "q?", "a", 1)]
    with pytest.raises(DataError, match="no column 'question'"):
        read_pairs(path)
    stsa = tmp_path / "x.stsa"
    stsa.write_text("1 a\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="csv, tsv or jsonl"):
        read_pairs(stsa)


def test_stratified_holdout() -> None:
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 1
    lines = list(range(2, 2 + len(labels)))
    train, dev, summary = stratified_holdout(labels, ("a", "b", "c"), lines, seed=3)
    assert Counter(labels[i] for i in dev) == {"a": 5, "b": 3}  # c has 1 row: it stays
    assert sorted(train + dev) == list(range(len(labels))) and not set(train) & set(dev)
    assert summary.rows == 8 and summary.lines == tuple(lines[i] for i in dev)
    d = summary.to_dict()
    assert d["rule"] == "stratified by label" and d["seed"] == 3 and len(d["lines_sha256"]) == 64
    assert stratified_holdout(labels, ("a", "b", "c"), lines, seed=3)[1] == dev
    assert stratified_holdout(labels, ("a", "b", "c"), lines, seed=4)[1] != dev
    with pytest.raises(DataError, match="too few"):
        stratified_holdout(["a", "b"], ("a", "b"), [1, 2])


def test_question_holdout_never_splits_a_question() -> None:
    qids, labels = [], []
    for q in range(40):
        for a in range(5):
            qids.append(f"q{q}")
            labels.append(1 if a == 0 and q % 4 else 0)  # every 4th question has no answer
    lines = list(range(1, len(qids) + 1))
    train, dev, summary = question_holdout(qids, labels, lines, seed=1)
    dev_q = {qids[i] for i in dev}
    assert not dev_q & {qids[i] for i in train}
    assert len(dev_q) == summary.questions == 4 and summary.rows == 20 == len(dev)
    answered = {q for q in dev_q if any(labels[i] for i in range(len(qids)) if qids[i] == q)}
    assert len(answered) == 3  # 10 % of the 30 answered questions, 1 of the 10 unanswered
    with pytest.raises(DataError, match="too few"):
        question_holdout(["q1", "q1"], [0, 0], [1, 2])
