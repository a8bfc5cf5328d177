"""The embedding-store base class: everything the backends share.

The backends (SQLite, DynamoDB, Redis, memory) fetch and write; the tiers in front of them
(pack → LRU → backend) are :class:`~millicent.store.tiers.TieredEmbeddings`. A backend
fills only a few private hooks:

* ``_fetch(keys, stats)``: one batch (≤ ``batch_limit`` unique keys) → ``{key: raw value}``
  for the keys present; absent keys are simply missing from the result. Retries of a
  partial answer (DynamoDB's ``UnprocessedKeys``) happen inside the hook, which must either
  return every present key or raise :class:`StoreUnavailable` — never drop a word. The
  base counts one ``stats.store_calls`` per batch; the hook adds its retries to both
  ``stats.store_calls`` and ``stats.store_retries``.
* ``_write(items)``: store one batch of ``(key, encoded value)`` pairs (idempotent upsert).
* ``_read_meta()`` / ``_write_meta(meta)``: the store's metadata kept in the store itself.
* ``_count()``: number of vectors held (for load verification).

Optional: ``_create()`` (make the file / table), ``_fetch_chunks(chunks, stats)`` (DynamoDB
runs the chunks of one request concurrently), ``_item_size(key, raw)`` (bytes as billed),
``decode`` (backend-specific raw values), and the class attributes ``batch_limit``,
``write_batch_limit``, ``write_concurrency``.

Raw values are ``bytes`` (the ``binary`` layout: little-endian float32 or float16) or a
sequence of numbers (the ``list`` layout, the paper's DynamoDB List of Numbers).

Keys that no backend can hold the same way — the empty string, keys longer than
:data:`MAX_KEY_BYTES`, and the reserved metadata key :data:`META_KEY` — are never sent to a
backend: a lookup reports them as unknown and a load refuses them. The rule is the same
for every backend, so all backends answer the same words identically.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np

from millicent.errors import StoreError
from millicent.types import Lookup, LookupStats

LAYOUTS = ("binary", "list")
DTYPES = ("float32", "float16")

#: Key of the metadata entry in stores that keep it beside the vectors (DynamoDB, Redis).
META_KEY = "__millicent_meta__"
#: Longest key (UTF-8 bytes) any store holds; DynamoDB allows 2048 for a partition key.
MAX_KEY_BYTES = 1024


def storable_key(key: str) -> bool:
    """Whether ``key`` may name a vector in a store (see the module docstring)."""
    if not key or key == META_KEY:
        return False
    try:
        return len(key.encode("utf-8")) <= MAX_KEY_BYTES
    except UnicodeEncodeError:  # lone surrogates: not valid UTF-8, so no store can hold them
        return False


@dataclass
class StoreMeta:
    """Metadata kept inside every store: what the vectors are and how they are encoded."""

    dim: int
    dtype: str = "float32"
    layout: str = "binary"
    count: int = 0
    source: str = ""
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    #: sha256 over the vectors of the last verified load (see :func:`vectors_checksum`)
    checksum: str = ""
    #: one entry per verified load: source, words, checksum, finished (UTC)
    loads: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.dim <= 0:
            raise StoreError(f"store dimension must be positive, got {self.dim}")
        if self.dtype not in DTYPES:
            raise StoreError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.layout not in LAYOUTS:
            raise StoreError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StoreMeta:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def vectors_checksum(items: Iterable[tuple[str, np.ndarray]]) -> str:
    """Order-independent sha256 over ``(key, float32 vector)`` pairs.

    Computed over the vectors *as stored* (after any float16 rounding), sorted by key, so
    the loader's value and a read-back of the store agree exactly.
    """
    h = hashlib.sha256()
    for key, vec in sorted(items, key=lambda kv: kv[0]):
        h.update(key.encode("utf-8"))
        h.update(b"\0")
        h.update(np.ascontiguousarray(vec, dtype="<f4").tobytes())
    return h.hexdigest()


def distinct_storable(words: Sequence[str], stats: LookupStats) -> list[str]:
    """The distinct keys of a lookup any tier may serve (counted in ``stats.words``, the
    others among them reported unknown)."""
    unique = list(dict.fromkeys(words))
    stats.words = len(unique)
    return [k for k in unique if storable_key(k)]


def assemble(words: Sequence[str], vectors: dict[str, np.ndarray], dim: int,
             stats: LookupStats, t0: float) -> Lookup:
    """The lookup of ``words`` in request order from the ``vectors`` the tiers found: zero
    rows (``found`` False) for the rest, counted as ``missing``; ``t0``: when it began."""
    stats.missing = stats.words - stats.pack_hits - stats.lru_hits - stats.store_hits
    matrix = np.zeros((len(words), dim), dtype=np.float32)
    found = np.zeros(len(words), dtype=bool)
    for i, k in enumerate(words):
        v = vectors.get(k)
        if v is not None:
            matrix[i] = v
            found[i] = True
    stats.fetch_ms = (time.perf_counter() - t0) * 1000.0
    return Lookup(words=list(words), matrix=matrix, found=found, stats=stats)


class EmbeddingStore(ABC):
    """Base class of all stores; implements :class:`millicent.types.Embeddings`."""

    #: URL scheme handled by the backend (``sqlite``, ``dynamodb``, ``redis``, ``memory``)
    scheme: ClassVar[str] = ""
    #: most keys one ``_fetch`` call may ask for (DynamoDB BatchGetItem: 100)
    batch_limit: ClassVar[int] = 100
    #: most items one ``_write`` call may carry (DynamoDB BatchWriteItem: 25)
    write_batch_limit: ClassVar[int] = 500
    #: loader threads that may write at once (1 = the backend's connection is not shared)
    write_concurrency: ClassVar[int] = 1

    #: default retry budget of one read, seconds (``open_store(deadline_s=...)`` overrides)
    default_deadline_s: ClassVar[float] = 5.0

    def __init__(self, deadline_s: float | None = None) -> None:
        self.deadline_s = self.default_deadline_s if deadline_s is None else float(deadline_s)
        if self.deadline_s <= 0:
            raise StoreError(f"deadline_s must be positive, got {deadline_s}")
        self._meta: StoreMeta | None = None
        #: creation defaults given in the URL (``layout``, ``dtype``); the loader uses them
        self.options: dict[str, str] = {}

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, deadline_s: float | None = None) -> EmbeddingStore:
        """Open the store a URL names (each backend parses its own URL form)."""
        raise NotImplementedError(f"{cls.__name__} cannot be opened from a URL")

    # ------------------------------------------------------------------ metadata
    @property
    def meta(self) -> StoreMeta:
        """The store's metadata; :class:`StoreError` if the store holds none (never loaded)."""
        if self._meta is None:
            raw = self._read_meta()
            if raw is None:
                raise StoreError(
                    f"{self.describe()} holds no millicent metadata: load vectors first "
                    "(millicent embeddings load SOURCE --store URL)"
                )
            self._meta = StoreMeta.from_dict(raw)
        return self._meta

    def has_meta(self) -> bool:
        """Whether the store has been initialised by :meth:`ensure`."""
        return self._meta is not None or self._read_meta() is not None

    @property
    def dim(self) -> int:
        return self.meta.dim

    def ensure(self, meta: StoreMeta) -> StoreMeta:
        """Create the store's container and metadata if missing, or check compatibility.

        Loading more words into a store of the same dimension adds them; a different
        dimension (or encoding) is refused.
        """
        self._create()
        current = self._read_meta()
        if current is None:
            self._write_meta(meta.to_dict())
            self._meta = meta
            return meta
        existing = StoreMeta.from_dict(current)
        for attr in ("dim", "dtype", "layout"):
            if getattr(existing, attr) != getattr(meta, attr):
                raise StoreError(
                    f"{self.describe()} holds {attr}={getattr(existing, attr)!r} vectors, "
                    f"refusing to add {attr}={getattr(meta, attr)!r} ones"
                )
        self._meta = existing
        return existing

    def update_meta(self, **changes: Any) -> StoreMeta:
        """Rewrite selected metadata fields (count, checksum, source ...)."""
        meta = StoreMeta.from_dict({**self.meta.to_dict(), **changes})
        self._write_meta(meta.to_dict())
        self._meta = meta
        return meta

    def count(self) -> int:
        """Vectors actually held by the backend (not the metadata's claim)."""
        return self._count()

    # ------------------------------------------------------------------ encoding
    def as_stored(self, vec: np.ndarray) -> np.ndarray:
        """``vec`` as this store will return it: float32, rounded through float16 if the
        store keeps float16 (the loader checksums these values)."""
        meta = self.meta
        arr = np.asarray(vec, dtype=np.float32).reshape(-1)
        if arr.shape[0] != meta.dim:
            raise StoreError(f"vector has {arr.shape[0]} dimensions, store has {meta.dim}")
        if meta.dtype == "float16":
            arr = arr.astype(np.float16).astype(np.float32)
        return arr

    def encode(self, vec: np.ndarray) -> Any:
        """A float vector → the backend's raw value for this store's layout and dtype."""
        arr = self.as_stored(vec)
        if self.meta.layout == "list":
            return arr.tolist()
        return arr.astype("<f2" if self.meta.dtype == "float16" else "<f4").tobytes()

    def decode(self, raw: Any) -> np.ndarray:
        """A raw value → float32 vector (float16 values are widened exactly)."""
        meta = self.meta
        if isinstance(raw, bytes | bytearray | memoryview):
            arr = np.frombuffer(raw, dtype="<f2" if meta.dtype == "float16" else "<f4")
            arr = arr.astype(np.float32)
        else:
            arr = np.asarray(raw, dtype=np.float32)
        if arr.shape != (meta.dim,):
            raise StoreError(f"stored vector has shape {arr.shape}, expected ({meta.dim},)")
        return arr

    # ------------------------------------------------------------------ reading
    def get_many(self, keys: Sequence[str], stats: LookupStats | None = None) -> dict[str, np.ndarray]:
        """Vectors of the given keys from the backend (no caches), chunked to ``batch_limit``.

        Keys absent from the store — and keys no store may hold (:func:`storable_key`) —
        are absent from the result. Raises :class:`StoreUnavailable` rather than return
        an incomplete answer.
        """
        stats = stats if stats is not None else LookupStats()
        keys = [k for k in dict.fromkeys(keys) if storable_key(k)]
        if not keys:
            return {}
        limit = self.batch_limit
        chunks = [keys[i : i + limit] for i in range(0, len(keys), limit)]
        raw = self._fetch_chunks(chunks, stats)
        out: dict[str, np.ndarray] = {}
        for key, value in raw.items():
            out[key] = self.decode(value)
            stats.store_item_bytes.append(self._item_size(key, value))
        return out

    def _fetch_chunks(self, chunks: list[list[str]], stats: LookupStats) -> dict[str, Any]:
        """Fetch every chunk; sequential by default, backends may run them concurrently."""
        out: dict[str, Any] = {}
        for chunk in chunks:
            stats.store_calls += 1
            out.update(self._fetch(chunk, stats))
        return out

    def lookup(self, keys: Sequence[str]) -> Lookup:
        """Vectors for ``keys`` in request order, from this store alone (no pack, no
        LRU: :class:`~millicent.store.tiers.TieredEmbeddings` puts those in front)."""
        t0 = time.perf_counter()
        words = list(keys)
        stats = LookupStats()
        vectors: dict[str, np.ndarray] = {}
        rest = distinct_storable(words, stats)
        if rest:
            self.fetch_into(rest, vectors, stats)
        return assemble(words, vectors, self.dim, stats, t0)

    def fetch_into(self, keys: list[str], vectors: dict[str, np.ndarray],
                   stats: LookupStats) -> dict[str, np.ndarray]:
        """Read ``keys`` (the last tier's share of a lookup) into ``vectors``, counting them
        in ``stats``; the vectors found."""
        stats.store_items = len(keys)
        fetched = self.get_many(keys, stats)
        stats.store_hits = len(fetched)
        vectors.update(fetched)
        return fetched

    # ------------------------------------------------------------------ writing
    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Upsert ``(key, vector)`` pairs in backend-sized batches; returns how many.

        Keys must be unique within one call (DynamoDB refuses duplicates in a batch) and
        storable (:func:`storable_key`).
        """
        batch: list[tuple[str, Any]] = []
        n = 0
        for key, vec in items:
            if not storable_key(key):
                raise StoreError(f"cannot store a vector under the key {key[:40]!r}")
            batch.append((key, self.encode(vec)))
            if len(batch) >= self.write_batch_limit:
                self._write(batch)
                n += len(batch)
                batch = []
        if batch:
            self._write(batch)
            n += len(batch)
        return n

    # ------------------------------------------------------------------ misc
    def describe(self) -> str:
        """Human-readable name of the store (for messages)."""
        return f"{self.scheme} store"

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing to close
        """Release connections (idempotent)."""

    def disconnect(self) -> None:  # noqa: B027 - optional hook: only networked backends connect
        """Drop open connections but stay usable: the next read opens new ones.

        Called before a snapshot (SnapStart, ``serve --snapshot``): a connection copied
        into every restored environment would be shared by all of them.
        """

    def reconnect(self) -> None:
        """After a restore: drop any connection inherited from the snapshot (reads reopen)."""
        self.disconnect()

    def warm_up(self) -> None:
        """One real read (of a key that may or may not be there): runs the client's request
        path once, so a first request does not pay for it (priming during INIT)."""
        self.get_many(["the"])

    def __enter__(self) -> EmbeddingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _item_size(self, key: str, value: Any) -> int:
        """Bytes of one returned item, as the backend bills it (DynamoDB overrides)."""
        if isinstance(value, bytes | bytearray | memoryview):
            return len(key.encode("utf-8")) + len(value)
        return len(key.encode("utf-8")) + 4 * len(value)

    # ------------------------------------------------------------------ hooks
    def _create(self) -> None:  # noqa: B027 - optional hook
        """Create the backend container (table, file) if it does not exist."""

    @abstractmethod
    def _fetch(self, keys: list[str], stats: LookupStats) -> dict[str, Any]:
        """One batch read of ≤ ``batch_limit`` unique keys → ``{key: raw}`` for present keys."""

    @abstractmethod
    def _write(self, items: list[tuple[str, Any]]) -> None:
        """One batch upsert of ≤ ``write_batch_limit`` encoded items."""

    @abstractmethod
    def _read_meta(self) -> dict[str, Any] | None:
        """The stored metadata dict, or None if the store was never initialised."""

    @abstractmethod
    def _write_meta(self, meta: dict[str, Any]) -> None:
        """Persist the metadata dict."""

    @abstractmethod
    def _count(self) -> int:
        """Number of vectors held."""
