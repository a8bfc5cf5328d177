"""Stores and packs a rerun reuses only after reading them back (real SQLite files)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from millicent.store import open_store
from millicent.store.pack import FrequentWordPack
from millicent.testbed.prepare import ensure_pack, ensure_store
from millicent.tokenizers.ptb import ptb_key


def _vectors(n: int = 300, dim: int = 8) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(n)] + ["The", "the"]  # "the" twice: the first one wins
    return words, rng.normal(size=(len(words), dim)).astype(np.float32)


def _stored(url: str, key: str) -> np.ndarray:
    with open_store(url, read_only=True) as store:
        return store.get_many([key])[key]


def test_store_loaded_once_then_verified_and_repaired(tmp_path: Path) -> None:
    words, matrix = _vectors()
    db = tmp_path / "v.db"
    url = f"sqlite:///{db}"
    first = ensure_store(url, words, matrix, source="test", key=ptb_key)
    assert (first.reused, first.written, first.words, first.count) == (False, 301, 301, 301)
    assert first.verified
    again = ensure_store(url, words, matrix, source="test", key=ptb_key)
    assert (again.reused, again.written, again.checksum) == (True, 0, first.checksum)

    # a vector changed behind the store's back: the read-back catches it, the loader repairs it
    with sqlite3.connect(db) as c:
        c.execute("UPDATE vectors SET v = ? WHERE k = 'w7'", (np.zeros(8, "<f4").tobytes(),))
    repaired = ensure_store(url, words, matrix, source="test", key=ptb_key)
    assert (repaired.reused, repaired.written) == (False, 1)
    np.testing.assert_array_equal(_stored(url, "w7"), matrix[7])

    # other vectors for the same words are loaded, not mistaken for the old ones
    changed = matrix.copy()
    changed[3] += 1.0
    st = ensure_store(url, words, changed, source="test", key=ptb_key)
    assert (st.reused, st.written) == (False, 1)
    np.testing.assert_array_equal(_stored(url, "w3"), changed[3])
    assert _stored(url, "the").tolist() == matrix[words.index("The")].tolist()


def test_pack_reused_only_when_it_holds_the_same_words_and_vectors(tmp_path: Path) -> None:
    words, matrix = _vectors()
    path = tmp_path / "top.pack"
    first = ensure_pack(path, words, matrix, top=50, source="test", by="glove")
    assert (first.reused, first.words) == (False, 50)
    assert ensure_pack(path, words, matrix, top=50, source="test", by="glove").reused
    pack = FrequentWordPack.open(path)
    assert pack.keys == [f"w{i}" for i in range(50)]
    np.testing.assert_array_equal(pack.vectors(), matrix[:50])

    bigger = ensure_pack(path, words, matrix, top=80, source="test", by="glove")
    assert (bigger.reused, bigger.words) == (False, 80)
    changed = matrix.copy()
    changed[10] *= 2
    assert not ensure_pack(path, words, changed, top=80, source="test", by="glove").reused
    np.testing.assert_array_equal(FrequentWordPack.open(path).vectors()[10], changed[10])

    path.write_bytes(b"not a pack")
    assert not ensure_pack(path, words, matrix, top=80, source="test", by="glove").reused
    assert len(FrequentWordPack.open(path)) == 80


def test_nothing_to_load_is_an_error(tmp_path: Path) -> None:
    from millicent.errors import ConfigError

    with pytest.raises(ConfigError, match="no vectors"):
        ensure_store(f"sqlite:///{tmp_path / 'e.db'}", [], np.zeros((0, 4), np.float32),
                     source="test", key=ptb_key)
