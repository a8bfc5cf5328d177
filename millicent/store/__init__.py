"""Embedding stores: where the word vectors live, and the caches in front of them.

``open_store(url)`` picks the backend by URL scheme:

* ``sqlite:///path/to/vectors.db`` — the embedded default (stdlib ``sqlite3``)
* ``dynamodb://TABLE?endpoint=http://127.0.0.1:8000&region=us-east-1`` — boto3 (extra ``aws``)
* ``redis://127.0.0.1:6379/0`` — redis-py (extra ``redis``)
* ``memory://`` — an empty in-process store (tests, the always-on server baseline)

Optional client libraries are imported only inside their backend module, when a store of
that kind is opened; a missing one raises :class:`~millicent.errors.ConfigError` naming
the extra to install.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from millicent.errors import ConfigError
from millicent.store.base import EmbeddingStore, StoreMeta, vectors_checksum
from millicent.store.tiers import TieredEmbeddings

if TYPE_CHECKING:
    from millicent.store.pack import FrequentWordPack

__all__ = ["EmbeddingStore", "StoreMeta", "TieredEmbeddings", "open_embeddings", "open_store",
           "vectors_checksum"]

#: URL scheme → (module, class name); imported lazily so a function ships only what it uses.
BACKENDS: dict[str, tuple[str, str]] = {
    "sqlite": ("millicent.store.sqlite", "SQLiteStore"),
    "dynamodb": ("millicent.store.dynamodb", "DynamoDBStore"),
    "redis": ("millicent.store.redis", "RedisStore"),
    "memory": ("millicent.store.memory", "MemoryStore"),
}


def open_store(url: str, *, read_only: bool = False, deadline_s: float | None = None) -> EmbeddingStore:
    """Open the store named by ``url`` (see the module docstring for the forms).

    ``read_only`` opens serving connections (SQLite ``mode=ro``); ``deadline_s`` bounds the
    retries of one read before :class:`~millicent.errors.StoreUnavailable`.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in BACKENDS:
        raise ConfigError(
            f"unknown store URL {url!r}: use one of "
            + ", ".join(f"{s}://..." for s in BACKENDS)
        )
    module_name, class_name = BACKENDS[scheme]
    module = importlib.import_module(module_name)
    cls: type[EmbeddingStore] = getattr(module, class_name)
    return cls.from_url(url, read_only=read_only, deadline_s=deadline_s)


def open_embeddings(
    store_url: str,
    pack_path: str | None = None,
    lru_size: int = 0,
    deadline_s: float = 5.0,
) -> TieredEmbeddings:
    """A serving store: the read-only backend, with the frequent-word pack and an LRU in
    front when given — always a :class:`TieredEmbeddings`, whatever tiers it has.

    The LRU also remembers words the store lacks (see :mod:`millicent.store.lru`).
    """
    store = open_store(store_url, read_only=True, deadline_s=deadline_s)
    _ = store.meta  # fail at cold start, not on the first request, if the store is missing
    pack = _open_pack(pack_path, store) if pack_path else None
    lru = None
    if lru_size > 0:
        from millicent.store.lru import LRUCache

        lru = LRUCache(lru_size)
    return TieredEmbeddings(store, pack, lru)


def _open_pack(pack_path: str, store: EmbeddingStore) -> FrequentWordPack:
    """The pack, checked to hold vectors exactly as the store does."""
    from millicent.store.pack import FrequentWordPack

    pack = FrequentWordPack.open(pack_path)
    if pack.dim != store.dim:
        raise ConfigError(
            f"pack {pack_path} holds {pack.dim}-d vectors but the store holds {store.dim}-d"
        )
    if pack.header["dtype"] != store.meta.dtype:
        # a float32 pack before a float16 store (or vice versa) would give a word a
        # different vector depending on the tier that served it
        raise ConfigError(
            f"pack {pack_path} holds {pack.header['dtype']} vectors but the store holds "
            f"{store.meta.dtype}: build the pack with --dtype {store.meta.dtype}"
        )
    return pack
