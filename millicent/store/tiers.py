"""Tiered embeddings: the frequent-word pack, then the LRU, then the backend store.

A lookup goes ``keys → unique keys → pack → LRU → backend (batched) → matrix in request
order``. Keys are looked up verbatim: the model's tokenizer made them (no lower-casing or
unescaping happens here). Every unique key is served by exactly one tier and counted
once; keys absent everywhere get a zero row (``found=False``) — an unknown word, never an
invented vector. The LRU also remembers keys the store lacks (negative entries), which are
then counted in ``missing`` and ``negative_hits`` and not sent to the store again.

:class:`TieredEmbeddings` implements :class:`millicent.types.Embeddings`; the backends
(:mod:`millicent.store.base`) know only how to fetch and write. A backend's own
``lookup`` is this with no pack and no LRU.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from millicent.store.base import EmbeddingStore, assemble, distinct_storable
from millicent.types import Lookup, LookupStats

if TYPE_CHECKING:
    from millicent.store.lru import LRUCache


class VectorSource(Protocol):
    """A read-only tier in front of the store (the frequent-word pack)."""

    @property
    def dim(self) -> int: ...

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]: ...


class TieredEmbeddings:
    """The serving view of a store: ``backend`` behind an optional ``pack`` and ``lru``."""

    def __init__(self, backend: EmbeddingStore, pack: VectorSource | None = None,
                 lru: LRUCache | None = None) -> None:
        self.backend = backend
        self.pack = pack
        self.lru = lru

    @property
    def dim(self) -> int:
        return self.backend.dim

    def lookup(self, keys: Sequence[str]) -> Lookup:
        """Vectors for the store ``keys`` in request order."""
        t0 = time.perf_counter()
        words = list(keys)
        stats = LookupStats()
        vectors: dict[str, np.ndarray] = {}
        rest = distinct_storable(words, stats)
        if self.pack is not None and rest:
            rest = _from_pack(self.pack, rest, vectors, stats)
        if self.lru is not None and rest:
            rest = _from_lru(self.lru, rest, vectors, stats)
        if rest:
            self._from_store(rest, vectors, stats)
        return assemble(words, vectors, self.dim, stats, t0)

    def _from_store(self, keys: list[str], vectors: dict[str, np.ndarray], stats: LookupStats) -> None:
        fetched = self.backend.fetch_into(keys, vectors, stats)
        if self.lru is not None:
            self.lru.put_many(fetched)
            self.lru.put_absent(k for k in keys if k not in fetched)

    def close(self) -> None:
        self.backend.close()

    def disconnect(self) -> None:
        self.backend.disconnect()

    def reconnect(self) -> None:
        self.backend.reconnect()

    def warm_up(self) -> None:
        self.backend.warm_up()

    def __enter__(self) -> TieredEmbeddings:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _from_pack(pack: VectorSource, keys: list[str], vectors: dict[str, np.ndarray],
               stats: LookupStats) -> list[str]:
    """Take what the pack holds; the keys left for the next tier."""
    hit = pack.get_many(keys)
    stats.pack_hits = len(hit)
    vectors.update(hit)
    return [k for k in keys if k not in hit]


def _from_lru(lru: LRUCache, keys: list[str], vectors: dict[str, np.ndarray],
              stats: LookupStats) -> list[str]:
    """Take what the LRU remembers, present or absent; the keys left for the store."""
    hit, absent = lru.lookup_many(keys)
    stats.lru_hits = len(hit)
    stats.negative_hits = len(absent)
    vectors.update(hit)
    known = set(hit).union(absent)
    return [k for k in keys if k not in known]
