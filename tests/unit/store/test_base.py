"""The shared base-class logic, exercised through the in-memory store and a fake backend."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from millicent.errors import StoreError
from millicent.runtime.artifact import TokenizerSpec
from millicent.store.base import META_KEY, EmbeddingStore, StoreMeta, storable_key, vectors_checksum
from millicent.store.lru import LRUCache
from millicent.store.memory import MemoryStore
from millicent.store.tiers import TieredEmbeddings
from millicent.tokenizers import make_tokenizer
from millicent.types import LookupStats

#: the shipped models' tokenizer: PTB tokens, lower-cased keys
PTB = make_tokenizer(TokenizerSpec.of("ptb"))

WORDS = ["the", "cat", "(", "sat", "é"]


def make(dim: int = 4) -> tuple[MemoryStore, np.ndarray]:
    m = np.arange(len(WORDS) * dim, dtype=np.float32).reshape(len(WORDS), dim) + 1
    return MemoryStore.from_vectors(WORDS, m), m


class CountingStore(MemoryStore):
    """Records every backend batch, with a small batch limit."""

    batch_limit = 2

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def _fetch(self, keys: list[str], stats: LookupStats) -> dict[str, Any]:
        self.batches.append(list(keys))
        return super()._fetch(keys, stats)


def test_matrix_in_request_order_with_zero_rows_and_unknown_list() -> None:
    store, m = make()
    lk = store.lookup(PTB.keys(["cat", "-LRB-", "dog", "the", "cat", "dog"]))
    assert lk.matrix.dtype == np.float32 and lk.matrix.shape == (6, 4)
    assert np.array_equal(lk.matrix[0], m[1]) and np.array_equal(lk.matrix[4], m[1])
    assert np.array_equal(lk.matrix[1], m[2])  # PTB escape maps to "("
    assert not lk.matrix[2].any() and not lk.found[2] and not lk.found[5]
    assert lk.unknown == ["dog"]
    s = lk.stats
    assert (s.words, s.store_hits, s.missing, s.store_items) == (4, 3, 1, 4)


def test_dedupe_and_chunking_to_the_batch_limit() -> None:
    store = CountingStore()
    store.ensure(StoreMeta(dim=2))
    store.put_many((w, np.ones(2)) for w in ["a", "b", "c", "d", "e"])
    lk = store.lookup(["a", "b", "a", "c", "d", "e", "zz", "b"])
    assert [len(b) for b in store.batches] == [2, 2, 2]
    assert sorted(k for b in store.batches for k in b) == ["a", "b", "c", "d", "e", "zz"]
    assert lk.stats.store_calls == 3


def test_reserved_empty_and_overlong_keys_are_unknown_and_never_fetched() -> None:
    store = CountingStore()
    store.ensure(StoreMeta(dim=2))
    long_word = "x" * 2000
    lk = store.lookup([META_KEY, "", long_word])
    assert store.batches == [] and not lk.found.any()
    assert lk.stats.missing == 3 and lk.stats.words == 3
    for bad in (META_KEY, "", long_word):
        assert not storable_key(bad)
        with pytest.raises(StoreError):
            store.put_many([(bad, np.ones(2))])


def test_tiers_pack_then_lru_then_store_with_consistent_stats() -> None:
    store, m = make()

    class Pack:
        dim = 4

        def get_many(self, keys: Any) -> dict[str, np.ndarray]:
            return {k: m[0] for k in keys if k == "the"}

    tiers = TieredEmbeddings(store, Pack(), LRUCache(10))
    first = tiers.lookup(["the", "cat", "dog", "sat"])
    s = first.stats
    assert (s.pack_hits, s.lru_hits, s.store_hits, s.missing, s.negative_hits) == (1, 0, 2, 1, 0)
    second = tiers.lookup(["the", "cat", "dog", "sat", "é"])
    s = second.stats
    assert (s.pack_hits, s.lru_hits, s.store_hits, s.missing, s.negative_hits) == (1, 2, 1, 1, 1)
    assert s.store_items == 1  # only "é" went to the store: "dog" was known absent
    assert s.pack_hits + s.lru_hits + s.store_hits + s.missing == s.words
    assert np.array_equal(first.matrix[1], second.matrix[1])
    assert not second.found[2]


def test_dimension_and_encoding_mismatch_is_refused() -> None:
    store, _ = make()
    with pytest.raises(StoreError, match="dim"):
        store.ensure(StoreMeta(dim=8))
    with pytest.raises(StoreError, match="dtype"):
        store.ensure(StoreMeta(dim=4, dtype="float16"))
    with pytest.raises(StoreError, match="dimensions"):
        store.put_many([("x", np.ones(3))])
    assert store.ensure(StoreMeta(dim=4)).dim == 4  # same dimension: accepted


@pytest.mark.parametrize(("layout", "dtype"), [("binary", "float32"), ("binary", "float16"),
                                               ("list", "float32"), ("list", "float16")])
def test_encode_decode_round_trip(layout: str, dtype: str) -> None:
    store = MemoryStore()
    store.ensure(StoreMeta(dim=5, layout=layout, dtype=dtype))
    vec = np.array([0.1, -2.5, 3e-5, 1234.5678, 0.0], dtype=np.float32)
    back = store.decode(store.encode(vec))
    assert back.dtype == np.float32
    assert np.array_equal(back, store.as_stored(vec))
    if dtype == "float32":
        assert np.array_equal(back, vec)
    else:
        assert np.array_equal(back, vec.astype(np.float16).astype(np.float32))
    if layout == "binary":
        assert len(store.encode(vec)) == 5 * (2 if dtype == "float16" else 4)


def test_checksum_is_order_independent_and_value_sensitive() -> None:
    a = [("x", np.ones(3, np.float32)), ("y", np.zeros(3, np.float32))]
    assert vectors_checksum(a) == vectors_checksum(list(reversed(a)))
    b = [("x", np.ones(3, np.float32)), ("y", np.full(3, 1e-9, np.float32))]
    assert vectors_checksum(a) != vectors_checksum(b)


def test_store_without_meta_says_how_to_load() -> None:
    with pytest.raises(StoreError, match="embeddings load"):
        _ = MemoryStore().dim


def test_subclass_needs_all_hooks() -> None:
    class Half(EmbeddingStore):
        def _fetch(self, keys: list[str], stats: LookupStats) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError):
        Half()  # type: ignore[abstract]


def test_memory_url_opens_an_empty_store() -> None:
    from millicent.store import open_store

    store = open_store("memory://", deadline_s=1.0)
    assert isinstance(store, MemoryStore) and store.deadline_s == 1.0 and not store.has_meta()
    store.ensure(StoreMeta(dim=2))
    store.put_many([("a", np.ones(2))])
    assert store.lookup(["a"]).found.all()


def test_lookup_stats_dict_has_every_field_and_owns_its_list() -> None:
    from dataclasses import asdict

    stats = LookupStats(words=3, pack_hits=1, lru_hits=1, store_hits=1, store_calls=1,
                        store_items=1, store_item_bytes=[205], fetch_ms=0.5)
    d = stats.to_dict()
    assert d == {**asdict(stats), "cache_hits": 2}  # hand-built, so a new field must be added
    d["store_item_bytes"].append(1)
    assert stats.store_item_bytes == [205]
