"""The embedded default store: one SQLite file, word → float32 BLOB.

``sqlite:///relative/or/absolute/path.db`` (``sqlite:////abs/path.db`` also works). The
file holds two tables::

    vectors(k TEXT PRIMARY KEY, v BLOB)                -- one row per word
    meta(name TEXT PRIMARY KEY, value TEXT)            -- the StoreMeta as JSON

A lookup is one ``SELECT ... WHERE k IN (?, ?, ...)`` per request (``batch_limit`` is far
above any request). Serving connections are opened read-only (``mode=ro``), so a function
can never modify its bundled store; the loader opens read-write and creates the file.
"""

from __future__ import annotations

import json
import sqlite3
from operator import itemgetter
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from millicent.errors import ConfigError, StoreError
from millicent.store.base import EmbeddingStore
from millicent.store.retry import Backoff
from millicent.types import LookupStats

# A rowid table with a key index, 8 KiB pages (a no-op on an existing file). Measured with
# 1200-byte (300-d) rows: WITHOUT ROWID on 4 KiB pages spills every row into overflow pages
# (a 932 MB file for 240 MB of vectors) and writes 3x slower; 50-d rows load alike either
# way. Stores created before keep their WITHOUT ROWID table: the SQL is the same.
_SCHEMA = """
PRAGMA page_size = 8192;
CREATE TABLE IF NOT EXISTS vectors (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


#: page cache of a read-write (loading) connection, KiB
_WRITE_CACHE_KIB = 64 * 1024


def path_from_url(url: str) -> Path:
    """``sqlite:///x.db`` → ``x.db``; ``sqlite:////abs/x.db`` → ``/abs/x.db``."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc not in ("", "localhost"):
        raise ConfigError(f"SQLite store URL must look like sqlite:///path/to.db, got {url!r}")
    path = unquote(parts.path)
    # sqlite:///rel.db has path "/rel.db" (relative, SQLAlchemy style); "//abs" is absolute
    path = path[1:] if path.startswith("/") else path
    if not path:
        raise ConfigError(f"SQLite store URL names no file: {url!r}")
    return Path(path)


class SQLiteStore(EmbeddingStore):
    """Vectors in a local SQLite file (stdlib ``sqlite3``)."""

    scheme: ClassVar[str] = "sqlite"
    # under SQLITE_MAX_VARIABLE_NUMBER's default (32766): one query for any real request
    batch_limit: ClassVar[int] = 30_000
    # one transaction per write batch: commits (and their fsyncs) dominate a bulk load
    # below ~50k rows per transaction (measured: 5k rows 27k words/s, 50k rows ~150k)
    write_batch_limit: ClassVar[int] = 50_000

    def __init__(self, path: str | Path, read_only: bool = False, deadline_s: float | None = None):
        super().__init__(deadline_s)
        self.path = Path(path)
        self.read_only = read_only
        self._conn: sqlite3.Connection | None = None

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, deadline_s: float | None = None) -> SQLiteStore:
        return cls(path_from_url(url), read_only=read_only, deadline_s=deadline_s)

    def describe(self) -> str:
        return f"SQLite store {self.path}"

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, opened on first use (read-only ones require the file to exist)."""
        if self._conn is None:
            try:
                if self.read_only:
                    if not self.path.exists():
                        raise StoreError(f"{self.describe()} does not exist: load vectors first")
                    uri = f"file:{self.path.resolve()}?mode=ro"
                    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
                else:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    conn = sqlite3.connect(self.path, check_same_thread=False)
                    # rollback journal (not WAL): a WAL file needs a writable directory
                    # even for readers, and a function's package directory is read-only
                    conn.executescript(_SCHEMA)
                    # a page cache that holds a load batch's B-tree pages (default: 2 MB)
                    conn.execute(f"PRAGMA cache_size = -{_WRITE_CACHE_KIB}")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open {self.describe()}: {exc}") from exc
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def disconnect(self) -> None:
        # an SQLite connection must not cross a fork; `conn` reopens it on the next read
        self.close()

    def _retrying(self, what: str, fn: Any) -> Any:
        """Run ``fn(conn)``, retrying while another process holds the write lock."""
        backoff = Backoff(self.deadline_s)
        while True:
            try:
                return fn(self.conn)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StoreError(f"{self.describe()}: {what} failed: {exc}") from exc
                backoff.wait(f"{self.describe()}: {what}", exc)

    # ------------------------------------------------------------------ hooks
    def _fetch(self, keys: list[str], stats: LookupStats) -> dict[str, Any]:
        sql = f"SELECT k, v FROM vectors WHERE k IN ({','.join('?' * len(keys))})"
        rows = self._retrying("read", lambda c: c.execute(sql, keys).fetchall())
        return dict(rows)

    def _write(self, items: list[tuple[str, Any]]) -> None:
        if self.read_only:
            raise StoreError(f"{self.describe()} is open read-only")

        # in key order: inserts then walk the B-tree forwards (~1.3x faster than random)
        ordered = sorted(items, key=itemgetter(0))

        def write(c: sqlite3.Connection) -> None:
            with c:  # one transaction per batch
                c.executemany("INSERT OR REPLACE INTO vectors (k, v) VALUES (?, ?)", ordered)

        self._retrying("write", write)

    def _read_meta(self) -> dict[str, Any] | None:
        if self.read_only and not self.path.exists():
            raise StoreError(f"{self.describe()} does not exist: load vectors first "
                             "(millicent embeddings load SOURCE --store URL)")
        try:
            row = self._retrying(
                "read meta",
                lambda c: c.execute("SELECT value FROM meta WHERE name = 'store'").fetchone(),
            )
        except StoreError as exc:
            if "no such table" in str(exc):  # a SQLite file that is not a millicent store
                return None
            raise
        return None if row is None else dict(json.loads(row[0]))

    def _write_meta(self, meta: dict[str, Any]) -> None:
        if self.read_only:
            raise StoreError(f"{self.describe()} is open read-only")
        value = json.dumps(meta, sort_keys=True)

        def write(c: sqlite3.Connection) -> None:
            with c:
                c.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('store', ?)", (value,))

        self._retrying("write meta", write)

    def _count(self) -> int:
        row = self._retrying("count", lambda c: c.execute("SELECT count(*) FROM vectors").fetchone())
        return int(row[0])
