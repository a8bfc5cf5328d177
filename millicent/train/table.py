"""The training-time word table: token → row index, built exactly like the serving stores.

Row 0 is the zero vector of unknown words (and batch padding). Rows are keyed by
:func:`millicent.words.vector_key`, and when two source words share a key the first one
wins — the rule of ``MemoryStore.from_vectors`` and the store loaders — so a word gets the
same vector in training and in serving.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from millicent.words import vector_key


@dataclass
class WordTable:
    """Keys and vectors; ``matrix[i]`` is the vector of ``keys[i]`` (model row i + 1).

    ``lowercase=False``: a cased model's table, whose keys keep the tokens' case.
    """

    keys: list[str]
    matrix: np.ndarray  # (n, dim) float32
    lowercase: bool = True

    def __post_init__(self) -> None:
        self.index = {k: i + 1 for i, k in enumerate(self.keys)}

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @classmethod
    def from_vectors(cls, words: Sequence[str], matrix: np.ndarray,
                     lowercase: bool = True) -> WordTable:
        """Table of pretrained vectors, first word of each key winning."""
        rows: dict[str, int] = {}
        for i, w in enumerate(words):
            rows.setdefault(vector_key(w, lowercase), i)
        keys = list(rows)
        return cls(keys, np.ascontiguousarray(matrix[list(rows.values())], dtype=np.float32),
                   lowercase)

    @classmethod
    def random(cls, tokens: Iterable[str], dim: int, seed: int, scale: float = 0.25,
               lowercase: bool = True) -> WordTable:
        """Table of the distinct keys of ``tokens``, vectors uniform in [−scale, scale] (Kim's rand)."""
        keys = list(dict.fromkeys(vector_key(t, lowercase) for t in tokens))
        rng = np.random.default_rng(seed)
        matrix = rng.uniform(-scale, scale, size=(len(keys), dim)).astype(np.float32)
        return cls(keys, matrix, lowercase)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """Row indices of ``tokens`` (0 for unknown words)."""
        get = self.index.get
        lower = self.lowercase
        return [get(vector_key(t, lower), 0) for t in tokens]

    def weight(self) -> np.ndarray:
        """The model's embedding weight (n + 1, dim): the zero row, then the table."""
        return np.concatenate([np.zeros((1, self.dim), np.float32), self.matrix])

    def coverage(self, tokens: Iterable[str]) -> float:
        """Share of ``tokens`` that have a row."""
        toks = list(tokens)
        return sum(vector_key(t, self.lowercase) in self.index for t in toks) / max(1, len(toks))
