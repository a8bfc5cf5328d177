"""TrecQA (Castor format) against the real files: counts as in ../shared/data/SOURCES.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from millicent.data.trecqa import QAPair, group_by_question, load_trecqa, trecqa_split
from millicent.errors import DataError, InvalidInput

# SOURCES.md section 2a: pairs, distinct qids, qids with >= 1 positive, positives, negatives.
COUNTS = {
    "raw-dev": (1148, 81, 78, 222, 926),
    "raw-test": (1517, 95, 89, 284, 1233),
    "train": (4718, 93, 83, 348, 4370),
    "clean-dev": (1117, 65, 65, 205, 912),
    "clean-test": (1442, 68, 68, 248, 1194),
}


@pytest.mark.parametrize("split", list(COUNTS))
def test_counts(data_dir: Path, split: str) -> None:
    pairs = load_trecqa(data_dir, split)
    n, qids, with_pos, pos, neg = COUNTS[split]
    assert len(pairs) == n
    assert len({p.qid for p in pairs}) == qids
    assert len({p.qid for p in pairs if p.label == 1}) == with_pos
    assert (sum(p.label for p in pairs), sum(1 - p.label for p in pairs)) == (pos, neg)
    # Each question's pairs are contiguous, so grouping yields one group per qid.
    assert len(group_by_question(pairs)) == qids


def test_first_pair(data_dir: Path) -> None:
    first = load_trecqa(data_dir, "raw-dev")[0]
    assert first == QAPair(
        qid="1.4", question="what ethnic group / race are crip members ?",
        answer="prison gangs have a de facto negotiation system to defuse potential conflicts , "
               "black gang members said .", label=0)


def test_aliases() -> None:
    assert trecqa_split("dev") == "raw-dev"
    assert trecqa_split("test") == "raw-test"
    assert trecqa_split("clean-dev") == "clean-dev"


def test_train_all_is_refused_with_a_reason(data_dir: Path) -> None:
    with pytest.raises(InvalidInput, match="train-all has no answers"):
        load_trecqa(data_dir, "train-all")
    with pytest.raises(InvalidInput, match="unknown TrecQA split"):
        load_trecqa(data_dir, "validation")


def _write_split(root: Path, files: dict[str, str]) -> None:
    d = root / "trecqa/castorini-SM-CNN-Torch/train"
    d.mkdir(parents=True)
    for name, text in files.items():
        (d / name).write_text(text, encoding="utf-8")


def test_misaligned_files(tmp_path: Path) -> None:
    _write_split(tmp_path, {"a.toks": "q ?\nq ?\n", "b.toks": "a .\n", "id.txt": "1\n1\n",
                            "sim.txt": "0\n1\n"})
    with pytest.raises(DataError, match=r"not aligned \(a.toks 2, b.toks 1"):
        load_trecqa(tmp_path, "train")


def test_bad_label(tmp_path: Path) -> None:
    _write_split(tmp_path, {"a.toks": "q ?\n", "b.toks": "a .\n", "id.txt": "1\n", "sim.txt": "2\n"})
    with pytest.raises(DataError, match=r"sim.txt:1: label '2'"):
        load_trecqa(tmp_path, "train")


def test_missing_file(tmp_path: Path) -> None:
    _write_split(tmp_path, {"a.toks": "q ?\n", "b.toks": "a .\n", "id.txt": "1\n"})
    with pytest.raises(DataError, match=r"sim.txt is missing .*millicent data fetch"):
        load_trecqa(tmp_path, "train")
