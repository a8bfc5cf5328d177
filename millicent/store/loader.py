"""Bulk loading: stream vectors into a store, resumably, and verify what landed.

:func:`load_store` creates the store (file, table, key space) if missing and refuses a
different dimension or encoding, then writes the vectors in batches:

* ``resume="check"``: each batch first reads the batch's keys back and writes only keys
  that are missing or hold a different vector. A rerun after an interruption therefore
  writes only what is left, and a second load of the same words writes nothing.
* ``resume="upsert"``: every batch is written unconditionally (writes are idempotent
  upserts, so this too is correct — it only costs more writes on a rerun).
* ``resume="auto"`` (default): ``check`` while it pays, ``upsert`` once it does not — no
  checks at all into a store that had no metadata before this load, and none after the
  first checked batch of which no key was present (the rest of an interrupted load, or
  new words). Measured on dynalite (benchmarks/store_load.py): checking makes a fresh load
  ~1.5x slower and a complete rerun ~1.5x faster.

It ends by reading every loaded key back and comparing the count and a checksum
(:func:`~millicent.store.base.vectors_checksum`) of what the store returns with the
vectors as the store should hold them (after any float16 rounding); a mismatch raises
:class:`~millicent.errors.StoreError` naming examples. The verified load is recorded in the
store's metadata (``count``, ``checksum``, ``loads``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from millicent.errors import StoreError
from millicent.store.base import EmbeddingStore, StoreMeta, storable_key, vectors_checksum
from millicent.store.progress import Progress
from millicent.words import vector_key

Resume = Literal["auto", "check", "upsert"]
#: retry budget of one read during a load (loads are not latency-bound; serving uses ~5 s)
LOAD_DEADLINE_S = 60.0


@dataclass
class LoadReport:
    """What a load did; printed by ``millicent embeddings load`` as JSON."""

    store: str
    source: str
    words: int  # distinct storable keys offered
    written: int  # keys written by this run
    unchanged: int  # keys found present with the same vector, so not written
    refused: list[str] = field(default_factory=list)  # keys no store may hold
    load_s: float = 0.0
    verify_s: float = 0.0
    rate: float = 0.0  # keys written per second of the write phase
    count: int = 0  # vectors in the store afterwards
    checksum: str = ""
    verified: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["refused"] = self.refused[:20]
        d["refused_count"] = len(self.refused)
        return d


def unique_keys(words: Sequence[str]) -> tuple[list[str], list[int], list[str]]:
    """``(keys, rows, refused)``: distinct storable vector keys in first-seen order, the row
    of each key's first occurrence, and the keys no store may hold."""
    keys: list[str] = []
    rows: list[int] = []
    refused: list[str] = []
    seen: set[str] = set()
    for i, w in enumerate(words):
        k = vector_key(w)
        if k in seen:
            continue
        seen.add(k)
        if storable_key(k):
            keys.append(k)
            rows.append(i)
        else:
            refused.append(k)
    return keys, rows, refused


def _batches(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


def load_store(
    store: EmbeddingStore,
    words: Sequence[str],
    matrix: np.ndarray,
    *,
    source: str,
    layout: str = "binary",
    dtype: str = "float32",
    resume: Resume = "auto",
    batch_size: int = 1000,
    progress: bool = True,
) -> LoadReport:
    """Load ``matrix[i]`` under ``vector_key(words[i])`` (first occurrence wins) and verify.

    While it runs, the store's read deadline is raised to at least :data:`LOAD_DEADLINE_S`.
    """
    serving_deadline = store.deadline_s
    store.deadline_s = max(serving_deadline, LOAD_DEADLINE_S)
    try:
        return _load(store, words, matrix, source=source, layout=layout, dtype=dtype,
                     resume=resume, batch_size=batch_size, progress=progress)
    finally:
        store.deadline_s = serving_deadline


def _load(
    store: EmbeddingStore,
    words: Sequence[str],
    matrix: np.ndarray,
    *,
    source: str,
    layout: str,
    dtype: str,
    resume: Resume,
    batch_size: int,
    progress: bool,
) -> LoadReport:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise StoreError(f"matrix shape {matrix.shape} does not match {len(words)} words")
    if resume not in ("auto", "check", "upsert"):
        raise StoreError(f"resume must be 'auto', 'check' or 'upsert', got {resume!r}")
    keys, rows, refused = unique_keys(words)
    # batches read back before writing (shared by the writer threads; a race only costs
    # one extra check or write, both harmless)
    checking = {"on": resume == "check" or (resume == "auto" and store.has_meta())}
    meta = store.ensure(StoreMeta(dim=int(matrix.shape[1]), dtype=dtype, layout=layout,
                                  source=source))
    # the vectors exactly as the store will return them (float16 rounding applied)
    expected = matrix[rows]
    if meta.dtype == "float16":
        expected = expected.astype(np.float16).astype(np.float32)
    report = LoadReport(store=store.describe(), source=source, words=len(keys), written=0,
                        unchanged=0, refused=refused)

    t0 = time.monotonic()
    workers = max(1, store.write_concurrency)
    with Progress("loading", len(keys), enabled=progress) as bar, \
            ThreadPoolExecutor(workers) as pool:

        def one(batch: range) -> tuple[int, int]:
            todo = list(batch)
            if checking["on"]:
                present = store.get_many([keys[i] for i in todo])
                todo = [i for i in todo if not _same(present.get(keys[i]), expected[i])]
                if not present and resume == "auto":
                    checking["on"] = False
            store.put_many((keys[i], expected[i]) for i in todo)
            return len(todo), len(batch) - len(todo)

        for written, unchanged in pool.map(one, _batches(len(keys), batch_size)):
            report.written += written
            report.unchanged += unchanged
            bar.advance(written + unchanged)
    report.load_s = time.monotonic() - t0
    report.rate = report.written / report.load_s if report.load_s > 0 else 0.0

    t1 = time.monotonic()
    verify(store, keys, expected, progress=progress)
    report.verify_s = time.monotonic() - t1
    report.checksum = vectors_checksum(zip(keys, expected, strict=True))
    report.count = store.count()
    report.verified = True
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    store.update_meta(
        count=report.count,
        checksum=report.checksum,
        loads=[*store.meta.loads, {"source": source, "words": len(keys),
                                   "checksum": report.checksum, "finished": finished}][-20:],
    )
    return report


def _same(stored: np.ndarray | None, want: np.ndarray) -> bool:
    return stored is not None and np.array_equal(stored, want)


def verify(
    store: EmbeddingStore,
    keys: Sequence[str],
    expected: np.ndarray,
    *,
    batch_size: int = 2000,
    progress: bool = True,
) -> str:
    """Read every key back; check count and checksum against ``expected`` rows.

    Returns the checksum; raises :class:`StoreError` naming missing or different keys.
    """
    got: list[tuple[str, np.ndarray]] = []
    missing: list[str] = []
    with Progress("verifying", len(keys), enabled=progress) as bar:
        for batch in _batches(len(keys), batch_size):
            chunk = [keys[i] for i in batch]
            found = store.get_many(chunk)
            missing.extend(k for k in chunk if k not in found)
            got.extend(found.items())
            bar.advance(len(batch))
    want = vectors_checksum(zip(keys, expected, strict=True))
    if missing:
        raise StoreError(
            f"verification failed: {len(missing)} of {len(keys)} loaded words are missing "
            f"from {store.describe()}, e.g. {missing[:5]}"
        )
    have = vectors_checksum(got)
    if have != want:
        index = {k: i for i, k in enumerate(keys)}
        differ = [k for k, v in got if not np.array_equal(v, expected[index[k]])]
        raise StoreError(
            f"verification failed: checksum {have[:12]}… of the read-back vectors differs "
            f"from {want[:12]}… of the loaded ones; {len(differ)} words differ, e.g. {differ[:5]}"
        )
    return want
