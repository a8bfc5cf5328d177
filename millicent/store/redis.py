"""Redis store (redis-py): one binary value per word under a key prefix, read with MGET.

``redis://HOST:PORT/DB?prefix=millicent:`` (``rediss://`` for TLS). The value of key
``PREFIX + word`` is the vector's little-endian float32 (or float16) bytes; the metadata is
JSON under ``PREFIX + "__millicent_meta__"``, which no lookup can ask for. The ``list``
layout exists only for DynamoDB (it reproduces the paper) and is refused here.

One MGET per request (``batch_limit`` is far above any request). Connection errors and
timeouts are retried with backoff until the deadline, then
:class:`~millicent.errors.StoreUnavailable`; redis-py's own retries are switched off so
the deadline holds. redis-py is imported when a store is opened, not with this module.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from millicent.errors import ConfigError, StoreError, missing_extra
from millicent.store.base import META_KEY, EmbeddingStore, StoreMeta
from millicent.store.retry import Backoff
from millicent.types import LookupStats

DEFAULT_PREFIX = "millicent:"


def _redis() -> Any:
    """The redis-py module, imported when a Redis store is opened (not when this module is
    imported: the function package imports every store module)."""
    try:
        import redis
        import redis.backoff
        import redis.retry
    except ImportError as exc:
        raise missing_extra("redis", "redis") from exc
    return redis


class RedisStore(EmbeddingStore):
    """Vectors as binary string values in Redis."""

    scheme: ClassVar[str] = "redis"
    batch_limit: ClassVar[int] = 10_000
    write_batch_limit: ClassVar[int] = 2_000

    def __init__(
        self,
        client: Any,
        prefix: str = DEFAULT_PREFIX,
        *,
        read_only: bool = False,
        deadline_s: float | None = None,
        where: str = "",
    ) -> None:
        super().__init__(deadline_s)
        self._lib = _redis()
        self.client = client
        self.prefix = prefix
        self._pb = prefix.encode("utf-8")
        self.read_only = read_only
        self.where = where

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, deadline_s: float | None = None) -> RedisStore:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefix = DEFAULT_PREFIX
        rest = []
        for name, value in query:
            if name == "prefix":
                prefix = value
            else:
                rest.append((name, value))
        deadline = cls.default_deadline_s if deadline_s is None else deadline_s
        plain = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), ""))
        lib = _redis()
        try:
            client = lib.Redis.from_url(
                plain,
                socket_timeout=max(0.5, deadline),
                socket_connect_timeout=1.0,
                retry=lib.retry.Retry(lib.backoff.NoBackoff(), 0),
            )
        except ValueError as exc:
            raise ConfigError(f"bad Redis store URL {url!r}: {exc}") from exc
        return cls(client, prefix, read_only=read_only, deadline_s=deadline_s,
                   where=f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}")

    def describe(self) -> str:
        return f"Redis store {self.where} (prefix {self.prefix!r})"

    def close(self) -> None:
        self.client.close()

    def disconnect(self) -> None:
        # the pool reconnects on the next command
        self.client.connection_pool.disconnect()

    def _run(self, what: str, fn: Any, stats: LookupStats | None = None) -> Any:
        """``fn()``, retried on connection errors / timeouts until the deadline."""
        backoff = Backoff(self.deadline_s)
        errors = self._lib.exceptions
        while True:
            try:
                return fn()
            except (errors.ConnectionError, errors.TimeoutError, errors.BusyLoadingError) as exc:
                backoff.wait(f"{self.describe()}: {what}", exc)
                if stats is not None:
                    stats.store_retries += 1
                    stats.store_calls += 1
            except errors.RedisError as exc:
                raise StoreError(f"{self.describe()}: {what} failed: {exc}") from exc

    def _key(self, key: str) -> bytes:
        return self._pb + key.encode("utf-8")

    # ------------------------------------------------------------------ hooks
    def _fetch(self, keys: list[str], stats: LookupStats) -> dict[str, Any]:
        values = self._run("MGET", lambda: self.client.mget([self._key(k) for k in keys]), stats)
        return {k: v for k, v in zip(keys, values, strict=True) if v is not None}

    def _write(self, items: list[tuple[str, Any]]) -> None:
        if self.read_only:
            raise StoreError(f"{self.describe()} is open read-only")
        mapping = {self._key(k): v for k, v in items}
        self._run("MSET", lambda: self.client.mset(mapping))

    def ensure(self, meta: StoreMeta) -> StoreMeta:
        if meta.layout != "binary":
            raise StoreError("the Redis store keeps the binary layout only (list is DynamoDB's)")
        return super().ensure(meta)

    def _read_meta(self) -> dict[str, Any] | None:
        raw = self._run("GET meta", lambda: self.client.get(self._key(META_KEY)))
        return None if raw is None else dict(json.loads(raw))

    def _write_meta(self, meta: dict[str, Any]) -> None:
        if self.read_only:
            raise StoreError(f"{self.describe()} is open read-only")
        value = json.dumps(meta, sort_keys=True)
        self._run("SET meta", lambda: self.client.set(self._key(META_KEY), value))

    def _count(self) -> int:
        """Keys under the prefix (SCAN, exact for a key space not changing meanwhile)."""
        pattern = _glob_escape(self._pb) + b"*"
        meta_key = self._key(META_KEY)

        def scan() -> int:
            n = 0
            for key in self.client.scan_iter(match=pattern, count=5000):
                n += key != meta_key
            return n

        return int(self._run("SCAN", scan))


def _glob_escape(raw: bytes) -> bytes:
    """Escape Redis glob metacharacters in a literal key prefix."""
    out = bytearray()
    for b in raw:
        if b in b"*?[]\\":
            out += b"\\"
        out.append(b)
    return bytes(out)
