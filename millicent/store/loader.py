"""Bulk loading: stream vectors into a store, resumably, and verify what landed.

:func:`load_batches` takes a stream of ``(words, matrix)`` batches — a vector file read
batch by batch (:func:`millicent.data.vectorfile.iter_vector_batches`), so a 3M × 300
file is never in memory — and :func:`load_store` an in-memory table. Both create the store
(file, table, key space) if missing and refuse a different dimension or encoding, then
write in batches:

* ``resume="check"``: each batch first reads the batch's keys back and writes only keys
  that are missing or hold a different vector. A rerun after an interruption therefore
  writes only what is left, and a second load of the same words writes nothing.
* ``resume="upsert"``: every batch is written unconditionally (writes are idempotent
  upserts, so this too is correct — it only costs more writes on a rerun).
* ``resume="auto"`` (default): ``check`` while it pays, ``upsert`` once it does not — no
  checks at all into a store that had no metadata before this load, and none after the
  first checked batch of which no key was present (the rest of an interrupted load, or
  new words). Measured on dynalite (experiments/store_load.py): checking makes a fresh load
  ~1.5x slower and a complete rerun ~1.5x faster.

Memory: per loaded word the loader keeps its key and an 8-byte fingerprint of the vector
as written (:func:`~millicent.store.readback.fingerprints`), never the vector.

It ends by reading every loaded key back, in key order: a missing key or a fingerprint
that differs from what was written raises :class:`~millicent.errors.StoreError` naming
examples; the read-back vectors give the checksum
(:func:`~millicent.store.base.vectors_checksum`, computed as a stream in the same key
order), so it is the checksum of what the store returns — equal to that of the loaded
vectors once every fingerprint matched. The count, checksum and load are recorded in the
store's metadata (``count``, ``checksum``, ``loads``).
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NotRequired, Required, TypedDict, Unpack

import numpy as np

from millicent.errors import StoreError
from millicent.store.base import EmbeddingStore, StoreMeta, storable_key
from millicent.store.readback import fingerprints, read_rows, write_rows
from millicent.types import KeyFunction, ProgressBar, ProgressFactory

Resume = Literal["auto", "check", "upsert"]
#: retry budget of one read during a load (loads are not latency-bound; serving uses ~5 s)
LOAD_DEADLINE_S = 60.0
#: bytes of vectors per loader batch (SQLite: one transaction), within the backend's limit
BATCH_BYTES = 32 << 20
#: keys read back per verification step (DynamoDB: 20 concurrent BatchGetItem of 100)
VERIFY_BATCH = 2000


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


class LoadOptions(TypedDict):
    """Keyword options of :func:`load_store` / :func:`load_batches`."""

    source: Required[str]
    layout: NotRequired[str]  # "binary" (default) | "list"
    dtype: NotRequired[str]  # "float32" (default) | "float16"
    resume: NotRequired[Resume]  # "auto" (default) | "check" | "upsert"
    batch_size: NotRequired[int | None]  # rows per batch; default: the store's (BATCH_BYTES)
    #: the progress display lent by the caller (default None: none; see millicent.progress)
    progress: NotRequired[ProgressFactory | None]
    total: NotRequired[int | None]  # words expected, for the progress line's ETA
    #: the batches' words are vector keys, each once over the whole stream (as
    #: ``iter_vector_batches`` yields them): the loader then skips its own de-duplication,
    #: which would hold a second set of every key
    distinct: NotRequired[bool]
    #: word → store key (the model's tokenizer's ``vocabulary_key``); default: the words
    #: are the keys (a vector file read with the tokenizer's keys, a table of keys)
    key: NotRequired[KeyFunction | None]


def unique_keys(words: Sequence[str], key: KeyFunction | None = None
                ) -> tuple[list[str], list[int], list[str]]:
    """``(keys, rows, refused)``: distinct storable keys (``key(word)``, or the words
    themselves) in first-seen order, the row of each key's first occurrence, and the keys
    no store may hold."""
    keys, rows, refused = _Keys(key=key).take(words)
    return keys, rows, refused


class _Keys:
    """Distinct keys over the whole stream (the first occurrence of a key wins)."""

    def __init__(self, distinct: bool = False, key: KeyFunction | None = None) -> None:
        self.seen: set[str] = set()
        self.distinct = distinct
        self.key = key

    def take(self, words: Sequence[str]) -> tuple[list[str], list[int], list[str]]:
        if self.distinct:  # already keys, already unique: only refuse the unstorable
            if all(map(storable_key, words)):
                return list(words), list(range(len(words))), []
            ok = [i for i, w in enumerate(words) if storable_key(w)]
            return [words[i] for i in ok], ok, [w for w in words if not storable_key(w)]
        keys: list[str] = []
        rows: list[int] = []
        refused: list[str] = []
        seen = self.seen
        key = self.key
        for i, w in enumerate(words):
            k = w if key is None else key(w)
            if k in seen:
                continue
            seen.add(k)
            if storable_key(k):
                keys.append(k)
                rows.append(i)
            else:
                refused.append(k)
        return keys, rows, refused


def batch_rows(store: EmbeddingStore, dim: int) -> int:
    """Rows per loader batch: :data:`BATCH_BYTES` of vectors, within the backend's write
    batch, never under 1,000 (a resume check reads a batch back)."""
    return max(1000, min(store.write_batch_limit, BATCH_BYTES // (4 * max(1, dim))))


def load_store(store: EmbeddingStore, words: Sequence[str], matrix: np.ndarray,
               **options: Unpack[LoadOptions]) -> LoadReport:
    """Load ``matrix[i]`` under the key of ``words[i]`` (``options["key"]``; first
    occurrence wins) and verify."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise StoreError(f"matrix shape {matrix.shape} does not match {len(words)} words")
    dim = int(matrix.shape[1])
    step = options.get("batch_size") or batch_rows(store, dim)
    batches = ((words[s:s + step], matrix[s:s + step]) for s in range(0, len(words), step))
    options.setdefault("total", len(words))
    return load_batches(store, batches, dim, **options)


def load_batches(store: EmbeddingStore, batches: Iterable[tuple[Sequence[str], np.ndarray]],
                 dim: int, **options: Unpack[LoadOptions]) -> LoadReport:
    """Load a stream of ``(words, float32 matrix)`` batches of dimension ``dim``, verify.

    While it runs, the store's read deadline is raised to at least :data:`LOAD_DEADLINE_S`.
    """
    resume = options.get("resume", "auto")
    if resume not in ("auto", "check", "upsert"):
        raise StoreError(f"resume must be 'auto', 'check' or 'upsert', got {resume!r}")
    serving_deadline = store.deadline_s
    store.deadline_s = max(serving_deadline, LOAD_DEADLINE_S)
    try:
        return _Load(store, dim, options).run(batches)
    finally:
        store.deadline_s = serving_deadline


class _Load:
    """One load: the write phase, then the verification."""

    def __init__(self, store: EmbeddingStore, dim: int, options: LoadOptions) -> None:
        self.store = store
        self.source = options["source"]
        self.resume = options.get("resume", "auto")
        self.progress = options.get("progress")
        self.total = options.get("total")
        self.distinct = options.get("distinct", False)
        self.key = options.get("key")
        # batches read back before writing (shared by the writer threads; a race only
        # costs one extra check or write, both harmless)
        self.checking = self.resume == "check" or (self.resume == "auto" and store.has_meta())
        self.meta = store.ensure(StoreMeta(dim=dim, dtype=options.get("dtype", "float32"),
                                           layout=options.get("layout", "binary"),
                                           source=self.source))
        self.step = options.get("batch_size") or batch_rows(store, dim)
        self.keys: list[str] = []
        self.prints: list[np.ndarray] = []
        self.report = LoadReport(store=store.describe(), source=self.source, words=0,
                                 written=0, unchanged=0)

    def run(self, batches: Iterable[tuple[Sequence[str], np.ndarray]]) -> LoadReport:
        t0 = time.monotonic()
        self._write_all(batches)
        self.report.load_s = time.monotonic() - t0
        r = self.report
        r.words = len(self.keys)
        r.rate = r.written / r.load_s if r.load_s > 0 else 0.0
        t1 = time.monotonic()
        r.checksum = self._verify()
        r.verify_s = time.monotonic() - t1
        r.count = self.store.count()
        r.verified = True
        finished = datetime.now(UTC).isoformat(timespec="seconds")
        self.store.update_meta(
            count=r.count, checksum=r.checksum,
            loads=[*self.store.meta.loads, {"source": self.source, "words": r.words,
                                            "checksum": r.checksum, "finished": finished}][-20:])
        return r

    def _chunks(self, batches: Iterable[tuple[Sequence[str], np.ndarray]]
                ) -> Iterator[tuple[list[str], np.ndarray]]:
        """Distinct storable keys with their vectors as the store will hold them, in
        chunks of ``step`` rows; remembers each key and its fingerprint."""
        taken = _Keys(self.distinct, self.key)
        for words, matrix in batches:
            matrix = np.asarray(matrix, dtype=np.float32)
            if matrix.ndim != 2 or matrix.shape != (len(words), self.meta.dim):
                raise StoreError(f"a batch of {len(words)} words has a matrix of shape "
                                 f"{matrix.shape}, expected ({len(words)}, {self.meta.dim})")
            keys, rows, refused = taken.take(words)
            self.report.refused.extend(refused)
            expected = matrix[rows] if len(rows) != len(words) else matrix
            if self.meta.dtype == "float16":
                expected = expected.astype(np.float16).astype(np.float32)
            for s in range(0, len(keys), self.step):
                chunk_keys, chunk = keys[s:s + self.step], expected[s:s + self.step]
                self.keys.extend(chunk_keys)
                self.prints.append(fingerprints(chunk))
                yield chunk_keys, chunk

    def _write_all(self, batches: Iterable[tuple[Sequence[str], np.ndarray]]) -> None:
        workers = max(1, self.store.write_concurrency)
        pending: deque[Future[tuple[int, int]]] = deque()
        with _Shown(self.progress, "loading", self.total) as bar, ThreadPoolExecutor(workers) as pool:

            def settle(fut: Future[tuple[int, int]]) -> None:
                written, unchanged = fut.result()
                self.report.written += written
                self.report.unchanged += unchanged
                bar.advance(written + unchanged)

            # one batch per writer in flight and one more ready: the stream is read only
            # as fast as the store takes it
            for keys, rows in self._chunks(batches):
                pending.append(pool.submit(self._write_one, keys, rows))
                while len(pending) > workers:
                    settle(pending.popleft())
            while pending:
                settle(pending.popleft())

    def _write_one(self, keys: list[str], rows: np.ndarray) -> tuple[int, int]:
        todo = np.arange(len(keys))
        if self.checking:
            present, got = read_rows(self.store, keys)
            same = present & np.all(got == rows, axis=1)
            todo = np.flatnonzero(~same)
            if not present.any() and self.resume == "auto":
                self.checking = False
        if len(todo) == len(keys):
            write_rows(self.store, keys, rows)
        elif len(todo):
            write_rows(self.store, [keys[i] for i in todo], rows[todo])
        return len(todo), len(keys) - len(todo)

    def _verify(self) -> str:
        want = np.concatenate(self.prints) if self.prints else np.zeros(0, np.uint64)
        return _verify(self.store, self.keys, want, self.progress)


class _Shown:
    """The display ``factory`` makes for one phase (nothing without a factory)."""

    def __init__(self, factory: ProgressFactory | None, label: str, total: int | None) -> None:
        self.bar: ProgressBar | None = factory(label, total) if factory else None

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(n)

    def __enter__(self) -> _Shown:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def verify(store: EmbeddingStore, keys: Sequence[str], expected: np.ndarray, *,
           progress: ProgressFactory | None = None) -> str:
    """Read every key back; check that each holds its ``expected`` row (as stored).

    Returns the checksum (:func:`~millicent.store.base.vectors_checksum`); raises
    :class:`StoreError` naming missing or different keys.
    """
    return _verify(store, keys, fingerprints(np.asarray(expected, np.float32)), progress)


def _verify(store: EmbeddingStore, keys: Sequence[str], want: np.ndarray,
            progress: ProgressFactory | None) -> str:
    """Read ``keys`` back in key order, compare fingerprints with ``want``; the checksum."""
    order = sorted(range(len(keys)), key=keys.__getitem__)
    digest = hashlib.sha256()
    missing: list[str] = []
    differ: list[str] = []
    with _Shown(progress, "verifying", len(keys)) as bar:
        for s in range(0, len(order), VERIFY_BATCH):
            idx = order[s:s + VERIFY_BATCH]
            chunk = [keys[i] for i in idx]
            present, got = read_rows(store, chunk)
            missing.extend(k for k, ok in zip(chunk, present, strict=True) if not ok)
            bad = np.flatnonzero(present & (fingerprints(got) != want[idx]))
            differ.extend(chunk[i] for i in bad)
            _checksum_update(digest, chunk, got, present)
            bar.advance(len(chunk))
    if missing:
        raise StoreError(
            f"verification failed: {len(missing)} of {len(keys)} loaded words are missing "
            f"from {store.describe()}, e.g. {missing[:5]}")
    if differ:
        raise StoreError(
            f"verification failed: {len(differ)} of {len(keys)} read-back vectors differ "
            f"from the loaded ones, e.g. {differ[:5]}")
    return digest.hexdigest()


def _checksum_update(digest: Any, keys: Sequence[str], rows: np.ndarray,
                     present: np.ndarray) -> None:
    """Feed ``(key, float32 row)`` pairs, in the given (sorted) order, to the sha256 of
    :func:`millicent.store.base.vectors_checksum` (the same bytes, as a stream)."""
    raw = np.ascontiguousarray(rows, dtype="<f4").tobytes()
    size = 4 * rows.shape[1]
    parts: list[bytes] = []
    for i, (k, ok) in enumerate(zip(keys, present, strict=True)):
        if ok:
            parts += (k.encode("utf-8"), b"\0", raw[i * size:(i + 1) * size])
    digest.update(b"".join(parts))
