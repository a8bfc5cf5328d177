"""An in-memory store: the vectors of a file or an artifact held in one process.

Used by evaluation, the demo's in-process check and the always-on ``server`` baseline;
it goes through the same base-class logic (keys, tiers, stats) as the real backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from millicent.errors import StoreError
from millicent.store.base import EmbeddingStore, StoreMeta, storable_key
from millicent.types import KeyFunction, LookupStats


class MemoryStore(EmbeddingStore):
    """Vectors in a Python dict (float32 arrays); nothing persists."""

    scheme: ClassVar[str] = "memory"
    batch_limit: ClassVar[int] = 1_000_000
    write_batch_limit: ClassVar[int] = 1_000_000

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[str, Any] = {}
        self._stored_meta: dict[str, Any] | None = None

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, deadline_s: float | None = None) -> MemoryStore:
        """``memory://``: a new, empty store (load it with ``put_many`` / the loader)."""
        store = cls()
        if deadline_s is not None:
            store.deadline_s = deadline_s
        return store

    @classmethod
    def from_vectors(
        cls, words: Sequence[str], matrix: np.ndarray, source: str = "memory",
        key: KeyFunction | None = None,
    ) -> MemoryStore:
        """A store holding ``matrix[i]`` under ``key(words[i])`` — the model's tokenizer's
        ``vocabulary_key`` — or under ``words[i]`` itself when ``key`` is None (the words
        are keys already).

        When two words map to the same key the first one wins, as in a frequency-ordered
        vector file where the first occurrence is the most frequent; words no store may
        hold are left out.
        """
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise StoreError(
                f"matrix shape {matrix.shape} does not match {len(words)} words"
            )
        store = cls()
        store.ensure(StoreMeta(dim=int(matrix.shape[1]), source=source))
        data = store._data
        for word, row in zip(words, matrix, strict=True):
            k = word if key is None else key(word)
            if storable_key(k):
                data.setdefault(k, row.tobytes())
        store.update_meta(count=len(data))
        return store

    def _fetch(self, keys: list[str], stats: LookupStats) -> dict[str, Any]:
        data = self._data
        return {k: data[k] for k in keys if k in data}

    def _write(self, items: list[tuple[str, Any]]) -> None:
        self._data.update(items)

    def _read_meta(self) -> dict[str, Any] | None:
        return self._stored_meta

    def _write_meta(self, meta: dict[str, Any]) -> None:
        self._stored_meta = dict(meta)

    def _count(self) -> int:
        return len(self._data)
