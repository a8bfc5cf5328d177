"""Bulk loading into SQLite: idempotent, additive, verified; corruption is detected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from millicent.errors import StoreError
from millicent.progress import displays
from millicent.store import open_store
from millicent.store.base import vectors_checksum
from millicent.store.loader import load_store, unique_keys
from millicent.store.memory import MemoryStore
from millicent.tokenizers.ptb import ptb_key

RNG = np.random.default_rng(7)
WORDS = [f"w{i}" for i in range(2500)] + ["-LRB-", "(", "Naïve", "", "__millicent_meta__"]
MATRIX = RNG.standard_normal((len(WORDS), 8)).astype(np.float32)


def test_unique_keys_first_occurrence_wins_and_unstorable_are_refused() -> None:
    keys, rows, refused = unique_keys(["A", "a", "-lrb-", "(", "", "x"], key=ptb_key)
    assert keys == ["a", "(", "x"] and rows == [0, 2, 5] and refused == [""]


def test_load_verifies_and_records_meta(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    r = load_store(store, WORDS, MATRIX, source="rand", batch_size=700, progress=False, key=ptb_key)
    assert r.verified and r.words == 2502 and r.written == 2502 and r.count == 2502
    assert r.refused == ["", "__millicent_meta__"]
    keys, rows, _ = unique_keys(WORDS, key=ptb_key)
    assert r.checksum == vectors_checksum(zip(keys, MATRIX[rows], strict=True))
    meta = store.meta
    assert (meta.count, meta.checksum, meta.source) == (2502, r.checksum, "rand")
    assert meta.loads[-1]["words"] == 2502
    assert np.array_equal(store.get_many(["("])["("], MATRIX[2500])  # -LRB- came first


def test_second_load_writes_nothing_and_upsert_rewrites(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    load_store(store, WORDS, MATRIX, source="rand", progress=False, key=ptb_key)
    again = load_store(store, WORDS, MATRIX, source="rand", progress=False, key=ptb_key)
    assert (again.written, again.unchanged, again.count) == (0, 2502, 2502)
    up = load_store(store, WORDS, MATRIX, source="rand", resume="upsert", progress=False, key=ptb_key)
    assert (up.written, up.count, up.checksum) == (2502, 2502, again.checksum)
    assert len(store.meta.loads) == 3


def test_more_words_of_the_same_dimension_are_added_other_dimensions_refused(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    load_store(store, WORDS[:1000], MATRIX[:1000], source="part1", progress=False, key=ptb_key)
    r = load_store(store, WORDS[500:2000], MATRIX[500:2000], source="part2", progress=False, key=ptb_key)
    assert (r.written, r.unchanged, r.count) == (1000, 500, 2000)
    with pytest.raises(StoreError, match="dim=8"):
        load_store(store, ["a"], np.ones((1, 16), np.float32), source="other", progress=False, key=ptb_key)
    changed = MATRIX[:10] + 1
    r = load_store(store, WORDS[:10], changed, source="fix", progress=False, key=ptb_key)
    assert r.written == 10  # a different vector for a present word is rewritten
    assert np.array_equal(store.get_many(["w3"])["w3"], changed[3])


def test_float16_store_checksums_the_rounded_vectors(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/h.db")
    r = load_store(store, WORDS[:300], MATRIX[:300], source="rand", dtype="float16",
                   progress=False, key=ptb_key)
    rounded = MATRIX[:300].astype(np.float16).astype(np.float32)
    assert r.checksum == vectors_checksum(zip(WORDS[:300], rounded, strict=True))
    assert np.array_equal(store.get_many(["w5"])["w5"], rounded[5])


class DroppingStore(MemoryStore):
    """A faulty backend: silently drops one write, or corrupts one vector."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def _write(self, items: list[tuple[str, Any]]) -> None:
        items = list(items)
        if self.mode == "drop":
            items = [kv for kv in items if kv[0] != "w42"]
        elif self.mode == "corrupt":
            items = [(k, b"\0" * len(v) if k == "w43" else v) for k, v in items]
        super()._write(items)


@pytest.mark.parametrize(("mode", "message"), [("drop", "missing"), ("corrupt", "differ")])
def test_verification_catches_a_faulty_backend(mode: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as info:
        load_store(DroppingStore(mode), WORDS[:100], MATRIX[:100], source="rand", progress=False, key=ptb_key)
    assert ("w42" if mode == "drop" else "w43") in info.value.message


def test_progress_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    load_store(store, WORDS[:50], MATRIX[:50], source="rand", progress=displays(unit="words"), key=ptb_key)
    err = capsys.readouterr().err
    assert "loading" in err and "50/50" in err and "words/s" in err and "verifying" in err


class ReadCountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def _fetch(self, keys: list[str], stats: Any) -> dict[str, Any]:
        self.reads += 1
        return super()._fetch(keys, stats)


def test_auto_resume_checks_only_while_it_finds_words() -> None:
    store = ReadCountingStore()
    fresh = load_store(store, WORDS, MATRIX, source="r", batch_size=500, progress=False, key=ptb_key)
    assert fresh.written == 2502 and store.reads == 2  # no checks: only the 2 verify reads
    store.reads = 0
    rerun = load_store(store, WORDS, MATRIX, source="r", batch_size=500, progress=False, key=ptb_key)
    assert (rerun.written, rerun.unchanged) == (0, 2502) and store.reads == 6 + 2

    half = ReadCountingStore()
    load_store(half, WORDS[:1200], MATRIX[:1200], source="r", batch_size=500, progress=False, key=ptb_key)
    half.reads = 0
    r = load_store(half, WORDS, MATRIX, source="r", batch_size=500, progress=False, key=ptb_key)
    # batches 0-1 present, batch 2 half present, batch 3 none present -> stop checking
    assert (r.unchanged, r.written, r.count) == (1200, 1302, 2502)
    assert half.reads == 4 + 2
