"""A cased, whitespace-tokenized Kim CNN trained on a user's CSV, tiny: the model of the tests
that check every tool keys its words as its own tokenizer does (issue 19, bugs 1 and 2)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from millicent.cli.main import main
from millicent.data.files import iter_texts
from millicent.store.memory import MemoryStore
from millicent.types import Lookup

# the vector file holds some words in both cases (two vectors), some in one case only
GOOD = ["Great", "great", "Wonderful", "charming", "FUN"]
BAD = ["Dull", "dull", "Boring", "flat", "AWFUL"]
FILLER = ["The", "the", "film", "Film", "was", "plot", "-lrb-", "really", "and", "quite"]
# the texts use words of every case, some of which the vectors lack in that case
TEXT_GOOD = ["Great", "great", "Wonderful", "wonderful", "charming", "FUN", "fun"]
TEXT_BAD = ["Dull", "dull", "Boring", "boring", "flat", "AWFUL", "Awful"]
TEXT_FILLER = ["The", "the", "film", "Film", "FILM", "was", "plot", "-lrb-", "really", "and"]


def _vectors(path: Path) -> Path:
    rng = np.random.default_rng(19)
    with open(path, "w", encoding="utf-8") as f:
        for w in GOOD + BAD + FILLER:
            v = rng.normal(scale=0.3, size=8)
            v[0] += 1.0 if w in GOOD else -1.0 if w in BAD else 0.0
            f.write(w + " " + " ".join(f"{x:.6f}" for x in v) + "\n")
    return path


def _csv(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["review", "sentiment"])
        for i in range(n):
            positive = bool(i % 2)
            words = [str(x) for x in rng.choice(TEXT_FILLER, size=4)]
            words.insert(int(rng.integers(0, 4)), str(rng.choice(TEXT_GOOD if positive else TEXT_BAD)))
            w.writerow([" ".join(words), "positive" if positive else "negative"])
    return path


def train_cased(root: Path) -> dict[str, Path]:
    """``millicent train kim --tokenizer whitespace --no-lowercase`` on a CSV (2 epochs):
    the files (``vectors``, ``train``, ``test``) and the ``artifact``."""
    files = {"vectors": _vectors(root / "cased.txt"), "train": _csv(root / "train.csv", 120, 1),
             "test": _csv(root / "test.csv", 40, 2), "artifact": root / "kim-cased"}
    rc = main(["train", "kim", "--train", str(files["train"]), "--test", str(files["test"]),
               "--text-column", "review", "--label-column", "sentiment",
               "--vectors", str(files["vectors"]), "--tokenizer", "whitespace", "--no-lowercase",
               "--epochs", "2", "--threads", "1", "--no-progress", "--out", str(files["artifact"])])
    assert rc == 0
    return files


def cased_texts(files: dict[str, Path], n: int) -> list[str]:
    """The first ``n`` texts of the model's test file."""
    return [str(t) for _, t in iter_texts(files["test"], "csv", "review")][:n]


class KeyLog(MemoryStore):
    """An in-memory store that remembers the keys each lookup asked for."""

    def __init__(self, source: MemoryStore) -> None:
        super().__init__()
        self._data, self._stored_meta = source._data, source._stored_meta
        self.asked: list[list[str]] = []

    def lookup(self, keys: Sequence[str]) -> Lookup:
        self.asked.append(list(keys))
        return super().lookup(keys)
