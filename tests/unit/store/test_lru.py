"""The LRU cache: recency, eviction, negative entries."""

from __future__ import annotations

import numpy as np

from millicent.store.lru import LRUCache


def v(x: float) -> np.ndarray:
    return np.full(3, x, dtype=np.float32)


def test_evicts_least_recently_used() -> None:
    c = LRUCache(2)
    c.put_many({"a": v(1), "b": v(2)})
    assert set(c.get_many(["a"])) == {"a"}  # a becomes most recent
    c.put_many({"c": v(3)})
    assert "b" not in c and "a" in c and "c" in c
    assert len(c) == 2


def test_negative_entries_are_reported_apart_and_share_the_bound() -> None:
    c = LRUCache(3)
    c.put_many({"a": v(1)})
    c.put_absent(["zz", "yy"])
    found, absent = c.lookup_many(["a", "zz", "q", "yy"])
    assert list(found) == ["a"] and absent == ["zz", "yy"]
    assert c.get_many(["zz"]) == {}  # never returned as a vector
    c.put_many({"b": v(2)})  # evicts the oldest: "a" was touched, then zz, yy
    assert len(c) == 3 and "a" not in c


def test_negative_caching_can_be_disabled_and_zero_size_caches_nothing() -> None:
    c = LRUCache(10, negative=False)
    c.put_absent(["x"])
    assert len(c) == 0
    z = LRUCache(0)
    z.put_many({"a": v(1)})
    z.put_absent(["b"])
    assert len(z) == 0 and z.lookup_many(["a", "b"]) == ({}, [])
