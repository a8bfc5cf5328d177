"""The frequent-word pack file: selection by count or budget, write, memory-mapped open."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from millicent.errors import ConfigError
from millicent.store.memory import MemoryStore
from millicent.store.pack import MB, FrequentWordPack, pack_row_bytes, select_top, write_pack
from millicent.store.tiers import TieredEmbeddings
from millicent.tokenizers.ptb import ptb_key

WORDS = ["the", ",", "-LRB-", "(", "cat", "naïve", "sat", "mat"]


def matrix(n: int = len(WORDS), dim: int = 6) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)


def test_select_top_keeps_rank_order_and_first_occurrence_of_a_key() -> None:
    m = matrix()
    sel = select_top(WORDS, m, top=4, key=ptb_key)
    assert sel.keys == ["the", ",", "(", "cat"]  # "(" appears twice: -LRB- (first) wins
    assert np.array_equal(sel.matrix[2], m[2])


def test_budget_picks_the_largest_k_that_fits() -> None:
    words = [f"w{i:05d}" for i in range(5000)]
    m = matrix(5000, 50)
    row = pack_row_bytes("w00000", 50)  # 200 + 6 + 1
    sel = select_top(words, m, budget_mb=(row * 1234 + 100) / MB)
    assert len(sel.keys) == 1234
    half = select_top(words, m, budget_mb=(row * 1234 + 100) / MB, dtype="float16")
    assert len(half.keys) == (row * 1234 + 100) // pack_row_bytes("w00000", 50, "float16")


def test_write_open_and_get_many(tmp_path: Path) -> None:
    m = matrix()
    sel = select_top(WORDS, m, top=10, key=ptb_key)
    path = write_pack(tmp_path / "p.pack", sel.keys, sel.matrix, source="test", by="glove")
    pack = FrequentWordPack.open(path)
    assert pack.dim == 6 and len(pack) == 7 and pack.header["by"] == "glove"
    got = pack.get_many(["naïve", "nope", "the"])
    assert set(got) == {"naïve", "the"}
    assert np.array_equal(got["naïve"], m[5]) and got["the"].dtype == np.float32
    assert np.array_equal(pack.vectors(), sel.matrix)
    assert pack._matrix.__class__.__name__ == "memmap"  # pages are read on demand


def test_float16_pack_matches_a_float16_store(tmp_path: Path) -> None:
    m = matrix()
    sel = select_top(WORDS, m, top=3)
    pack = FrequentWordPack.open(write_pack(tmp_path / "h.pack", sel.keys, sel.matrix, dtype="float16"))
    store = MemoryStore()
    from millicent.store.base import StoreMeta

    store.ensure(StoreMeta(dim=6, dtype="float16"))
    store.put_many(zip(sel.keys, sel.matrix, strict=True))
    for k, v in pack.get_many(sel.keys).items():
        assert np.array_equal(v, store.get_many([k])[k])


def test_pack_serves_lookups_before_the_store() -> None:
    m = matrix()
    store = MemoryStore.from_vectors(WORDS, m)
    sel = select_top(WORDS, m, top=2)

    class P:
        dim = 6

        def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
            return {k: sel.matrix[sel.keys.index(k)] for k in keys if k in sel.keys}

    lk = TieredEmbeddings(store, P()).lookup(["the", ",", "cat"])
    assert (lk.stats.pack_hits, lk.stats.store_hits) == (2, 1)


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot open"):
        FrequentWordPack.open(tmp_path / "missing.pack")
    junk = tmp_path / "junk.pack"
    junk.write_bytes(b"not a pack at all")
    with pytest.raises(ConfigError, match="not a millicent"):
        FrequentWordPack.open(junk)
    with pytest.raises(ConfigError):
        select_top(WORDS, matrix(), top=3, budget_mb=1)


def test_empty_pack_opens(tmp_path: Path) -> None:
    pack = FrequentWordPack.open(write_pack(tmp_path / "e.pack", [], np.zeros((0, 4), np.float32)))
    assert len(pack) == 0 and pack.get_many(["a"]) == {}
