"""Batch encoding, raw read-back and row fingerprints for the bulk loader.

The serving path (``EmbeddingStore.get_many`` / ``put_many``) encodes and decodes one
vector at a time, which costs more than SQLite itself on a 400k-word load. A load encodes
a whole batch of the binary layout with one ``astype`` + ``tobytes`` and slices it, and
reads back through the backend's ``_fetch_chunks`` hook, decoding a batch with one
``frombuffer``. The bytes are exactly those ``encode`` / ``decode`` produce (tested), and
the list layout falls back to them.

A *fingerprint* is a 64-bit hash of a float32 row's bits (a weighted sum modulo 2**64 with
fixed odd weights), computed for a whole batch with numpy: the loader keeps 8 bytes per
loaded word instead of its vector, and the verification compares the fingerprint of what
came back with what was written. Any single changed value changes it; an accidental
collision of two different rows has probability ≈ 2**-64.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from millicent.store.base import EmbeddingStore
from millicent.types import LookupStats

_WEIGHTS: dict[int, np.ndarray] = {}


def fingerprints(matrix: np.ndarray) -> np.ndarray:
    """``(n,)`` uint64 fingerprints of the rows of a float32 ``(n, dim)`` matrix."""
    rows = np.ascontiguousarray(matrix, dtype="<f4")
    dim = rows.shape[1]
    if dim not in _WEIGHTS:
        rng = np.random.default_rng(0x6D696C6C)  # fixed: fingerprints must be reproducible
        odd = np.asarray(rng.integers(1, 2**63, size=dim, dtype=np.uint64)) * 2 + 1
        _WEIGHTS[dim] = odd
    weights = _WEIGHTS[dim]
    bits = rows.view(np.uint32).astype(np.uint64)
    with np.errstate(over="ignore"):
        return (bits * weights).sum(axis=1, dtype=np.uint64)


def encode_rows(store: EmbeddingStore, keys: Sequence[str], rows: np.ndarray) -> list[tuple[str, Any]]:
    """``(key, raw value)`` pairs of ``rows`` (already as stored) in the store's encoding."""
    meta = store.meta
    if meta.layout != "binary":
        return [(k, store.encode(r)) for k, r in zip(keys, rows, strict=True)]
    raw = np.ascontiguousarray(rows, dtype="<f2" if meta.dtype == "float16" else "<f4").tobytes()
    size = len(raw) // max(1, len(keys))
    return [(k, raw[i * size:(i + 1) * size]) for i, k in enumerate(keys)]


def write_rows(store: EmbeddingStore, keys: Sequence[str], rows: np.ndarray) -> None:
    """Upsert ``rows`` under ``keys`` (unique, storable) in backend-sized batches."""
    limit = store.write_batch_limit
    for start in range(0, len(keys), limit):
        items = encode_rows(store, keys[start:start + limit], rows[start:start + limit])
        store._write(items)  # the hook put_many calls, with the batch encoded at once


def read_rows(store: EmbeddingStore, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(present, matrix)``: which keys the store holds and their vectors (zero rows for
    absent ones), float32 as stored; one backend read per ``batch_limit`` keys."""
    limit = store.batch_limit
    chunks = [list(keys[i:i + limit]) for i in range(0, len(keys), limit)]
    raw = store._fetch_chunks(chunks, LookupStats()) if chunks else {}
    dim = store.meta.dim
    present = np.fromiter((k in raw for k in keys), dtype=bool, count=len(keys))
    matrix = np.zeros((len(keys), dim), dtype=np.float32)
    values = [raw[k] for k in keys if k in raw]
    if values and all(isinstance(v, bytes) for v in values):
        dtype = "<f2" if store.meta.dtype == "float16" else "<f4"
        flat = np.frombuffer(b"".join(values), dtype=dtype)
        if flat.size == len(values) * dim:
            matrix[present] = flat.reshape(len(values), dim)
            return present, matrix
    for i, v in zip(np.flatnonzero(present), values, strict=True):
        matrix[i] = store.decode(v)  # the list layout, or a value of the wrong size
    return present, matrix
