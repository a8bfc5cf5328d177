"""Streamed bulk loads (a vector file batch by batch), batch encoding and fingerprints."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from millicent.data.vectorfile import iter_vector_batches
from millicent.errors import StoreError
from millicent.store import open_store
from millicent.store.base import vectors_checksum
from millicent.store.loader import batch_rows, load_batches, load_store, verify
from millicent.store.memory import MemoryStore
from millicent.store.readback import encode_rows, fingerprints, read_rows
from millicent.tokenizers.ptb import ptb_key

RNG = np.random.default_rng(11)
N, DIM = 3000, 16
WORDS = [f"tok{i}" for i in range(N)]
MATRIX = RNG.standard_normal((N, DIM)).astype(np.float32)


def word2vec_bin(path: Path, words: list[str] = WORDS, matrix: np.ndarray = MATRIX) -> Path:
    with open(path, "wb") as f:
        f.write(f"{len(words)} {matrix.shape[1]}\n".encode())
        for w, row in zip(words, matrix, strict=True):
            f.write(w.encode() + b" " + row.astype("<f4").tobytes() + b"\n")
    return path


def test_a_streamed_file_load_equals_the_in_memory_load(tmp_path: Path) -> None:
    path = word2vec_bin(tmp_path / "v.bin")
    with open_store(f"sqlite:///{tmp_path}/a.db") as a:
        streamed = load_batches(a, iter_vector_batches(path, rows=700), DIM, source="f",
                                distinct=True, progress=False)
    with open_store(f"sqlite:///{tmp_path}/b.db") as b:
        memory = load_store(b, WORDS, MATRIX, source="m", progress=False)
    assert streamed.verified and streamed.words == streamed.written == streamed.count == N
    assert streamed.checksum == memory.checksum == vectors_checksum(zip(WORDS, MATRIX, strict=True))
    with open_store(f"sqlite:///{tmp_path}/a.db") as a:  # a rerun writes nothing
        again = load_batches(a, iter_vector_batches(path), DIM, source="f", distinct=True,
                             progress=False)
    assert (again.written, again.unchanged, again.checksum) == (0, N, memory.checksum)


def test_distinct_batches_still_refuse_unstorable_keys() -> None:
    store = MemoryStore()
    words = ["a", "", "__millicent_meta__", "b"]
    r = load_batches(store, [(words, np.ones((4, 3), np.float32))], 3, source="x",
                     distinct=True, progress=False)
    assert r.words == 2 and r.refused == ["", "__millicent_meta__"] and store.count() == 2


class CountingStore(MemoryStore):
    """Records how many source batches had been read when each write happened."""

    def __init__(self) -> None:
        super().__init__()
        self.read = 0
        self.read_at_write: list[int] = []

    def _write(self, items: list[tuple[str, Any]]) -> None:
        self.read_at_write.append(self.read)
        super()._write(items)


def test_the_stream_is_not_read_ahead_of_the_store() -> None:
    store = CountingStore()

    def batches() -> Iterator[tuple[list[str], np.ndarray]]:
        for s in range(0, N, 100):
            store.read += 1
            yield WORDS[s:s + 100], MATRIX[s:s + 100]

    load_batches(store, batches(), DIM, source="x", batch_size=100, progress=False)
    # one writer: batch i is written once at most i + 2 batches were read
    assert all(read <= i + 2 for i, read in enumerate(store.read_at_write))
    assert len(store.read_at_write) == N // 100


def test_bad_batches_are_refused() -> None:
    with pytest.raises(StoreError, match=r"shape \(2, 4\), expected \(2, 3\)"):
        load_batches(MemoryStore(), [(["a", "b"], np.ones((2, 4), np.float32))], 3,
                     source="x", progress=False)
    with pytest.raises(StoreError, match="resume must be"):
        load_batches(MemoryStore(), [], 3, source="x", resume="never")  # type: ignore[typeddict-item]


@pytest.mark.parametrize(("layout", "dtype"), [("binary", "float32"), ("binary", "float16"),
                                               ("list", "float32")])
def test_batch_encoding_is_the_stores_own(layout: str, dtype: str) -> None:
    store = MemoryStore()
    from millicent.store.base import StoreMeta

    store.ensure(StoreMeta(dim=DIM, dtype=dtype, layout=layout))
    rows = MATRIX[:50]
    if dtype == "float16":
        rows = rows.astype(np.float16).astype(np.float32)
    items = encode_rows(store, WORDS[:50], rows)
    for (key, raw), row, word in zip(items, rows, WORDS[:50], strict=True):
        assert key == word
        assert raw == store.encode(row)
    store._write(items)
    present, got = read_rows(store, [*WORDS[:50], "absent"])
    assert present.tolist() == [True] * 50 + [False]
    np.testing.assert_array_equal(got[:50], rows)
    assert not got[50].any()


def test_fingerprints_see_any_changed_bit() -> None:
    base = fingerprints(MATRIX)
    assert base.dtype == np.uint64 and base.shape == (N,)
    assert len(set(base.tolist())) == N
    changed = MATRIX.copy()
    changed[7, 3] = np.nextafter(changed[7, 3], np.float32(np.inf))  # one ulp
    changed[9, 0] = -changed[9, 0]
    assert np.flatnonzero(fingerprints(changed) != base).tolist() == [7, 9]
    zeros = np.zeros((2, DIM), np.float32)
    zeros[1, 0] = -0.0  # bits differ, values compare equal
    assert fingerprints(zeros)[0] != fingerprints(zeros)[1]


def test_verify_names_what_is_missing_or_different() -> None:
    store = MemoryStore.from_vectors(WORDS[:100], MATRIX[:100])
    assert verify(store, WORDS[:100], MATRIX[:100], progress=False) == vectors_checksum(
        zip(WORDS[:100], MATRIX[:100], strict=True))
    with pytest.raises(StoreError, match=r"1 of 101 loaded words are missing.*'zz'"):
        verify(store, [*WORDS[:100], "zz"], np.vstack([MATRIX[:100], MATRIX[:1]]), progress=False)
    other = MATRIX[:100].copy()
    other[42] += 1
    with pytest.raises(StoreError, match=r"1 of 100 read-back vectors differ.*'tok42'"):
        verify(store, WORDS[:100], other, progress=False)


def test_sqlite_batches_are_big_transactions_and_new_files_use_8k_pages(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/v.db") as store:
        assert batch_rows(store, 50) == 50_000 and batch_rows(store, 300) == 27_962
        load_store(store, WORDS, MATRIX, source="x", progress=False)
    conn = sqlite3.connect(tmp_path / "v.db")
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 8192
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'vectors'").fetchone()[0]
    assert "WITHOUT ROWID" not in sql
    conn.close()


def test_a_store_made_with_the_old_schema_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE vectors (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;"
                       "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);")
    conn.close()
    with open_store(f"sqlite:///{path}") as store:
        r = load_store(store, WORDS, MATRIX, source="x", progress=False)
    assert r.verified and r.count == N
    with open_store(f"sqlite:///{path}", read_only=True) as ro:
        np.testing.assert_array_equal(ro.get_many(["tok5"])["tok5"], MATRIX[5])


def test_a_cased_load_keeps_the_words_case() -> None:
    words = ["Apple", "apple", "-LRB-"]
    store = MemoryStore()
    r = load_store(store, words, MATRIX[:3], source="x", key=lambda w: ptb_key(w, False),
                   progress=False)
    assert r.words == 3 and set(store._data) == {"Apple", "apple", "("}
    lower = MemoryStore()
    assert load_store(lower, words, MATRIX[:3], source="x", key=ptb_key, progress=False).words == 2
