"""The training-time word table: token → row index, built exactly like the serving stores.

Row 0 is the zero vector of unknown words (and batch padding). Rows are keyed by the
model's tokenizer (a token's ``key``, a vector file's word's ``vocabulary_key``), and when
two source words share a key the first one wins — the rule of ``MemoryStore.from_vectors``
and the store loaders — so a word gets the same vector in training and in serving.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from millicent.tokenizers.base import Tokenizer


@dataclass
class WordTable:
    """Keys and vectors; ``matrix[i]`` is the vector of ``keys[i]`` (model row i + 1);
    tokens are keyed by the model's ``tokenizer``."""

    keys: list[str]
    matrix: np.ndarray  # (n, dim) float32
    tokenizer: Tokenizer

    def __post_init__(self) -> None:
        self.index = {k: i + 1 for i, k in enumerate(self.keys)}

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @classmethod
    def from_vectors(cls, words: Sequence[str], matrix: np.ndarray,
                     tokenizer: Tokenizer) -> WordTable:
        """Table of pretrained vectors, first word of each key winning."""
        rows: dict[str, int] = {}
        key = tokenizer.vocabulary_key
        for i, w in enumerate(words):
            rows.setdefault(key(w), i)
        keys = list(rows)
        return cls(keys, np.ascontiguousarray(matrix[list(rows.values())], dtype=np.float32),
                   tokenizer)

    @classmethod
    def random(cls, tokens: Iterable[str], dim: int, seed: int, tokenizer: Tokenizer,
               scale: float = 0.25) -> WordTable:
        """Table of the distinct keys of ``tokens``, vectors uniform in [−scale, scale] (Kim's rand)."""
        keys = list(dict.fromkeys(tokenizer.keys(list(tokens))))
        rng = np.random.default_rng(seed)
        matrix = rng.uniform(-scale, scale, size=(len(keys), dim)).astype(np.float32)
        return cls(keys, matrix, tokenizer)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """Row indices of ``tokens`` (0 for unknown words)."""
        get = self.index.get
        return [get(k, 0) for k in self.tokenizer.keys(tokens)]

    def weight(self) -> np.ndarray:
        """The model's embedding weight (n + 1, dim): the zero row, then the table."""
        return np.concatenate([np.zeros((1, self.dim), np.float32), self.matrix])

    def coverage(self, tokens: Iterable[str]) -> float:
        """Share of ``tokens`` that have a row."""
        keys = self.tokenizer.keys(list(tokens))
        return sum(k in self.index for k in keys) / max(1, len(keys))
