"""Shared types and protocols (base layer: stdlib only, numpy only for annotations).

The request path passes a :class:`Lookup` from the embedding layer (``store/``) to the
runtime: one float32 row per requested key, in request order, plus the counters the
benchmark and the cost model need. Keys are made by the model's tokenizer
(:mod:`millicent.tokenizers`); stores look them up verbatim.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy is a base dependency, but the base layer only needs it for types
    import numpy as np


#: What a served model does with texts: label them, rank answers to a question, or embed
#: them as vectors. The route (``/classify`` ...) or the model decides the role of a
#: request; the artifact's manifest records its model's.
Role = Literal["classify", "rank", "embed"]
ROLES: tuple[Role, ...] = ("classify", "rank", "embed")


@dataclass
class LookupStats:
    """Counters for one lookup (one request), by tier.

    ``words`` counts *unique* lookup keys; every unique key is served by exactly one tier:
    ``pack_hits + lru_hits + store_hits + missing == words``.
    """

    words: int = 0
    pack_hits: int = 0
    lru_hits: int = 0
    store_hits: int = 0
    missing: int = 0
    #: batch calls made to the backing store (BatchGetItem / MGET / SELECT), retries included
    store_calls: int = 0
    #: keys requested from the backing store (cache misses)
    store_items: int = 0
    #: sizes in bytes of each item the store returned (DynamoDB read units are per item)
    store_item_bytes: list[int] = field(default_factory=list)
    #: retries caused by throttling / UnprocessedKeys
    store_retries: int = 0
    #: of the ``missing`` keys, those the LRU remembered as absent (no store call made)
    negative_hits: int = 0
    fetch_ms: float = 0.0

    @property
    def cache_hits(self) -> int:
        return self.pack_hits + self.lru_hits

    def to_dict(self) -> dict[str, Any]:
        # built by hand: asdict() deep-copies every field and was a tenth of a warm
        # request's handler time; the list is copied so the dict owns its values
        return {
            "words": self.words, "pack_hits": self.pack_hits, "lru_hits": self.lru_hits,
            "store_hits": self.store_hits, "missing": self.missing,
            "store_calls": self.store_calls, "store_items": self.store_items,
            "store_item_bytes": list(self.store_item_bytes),
            "store_retries": self.store_retries, "negative_hits": self.negative_hits,
            "fetch_ms": self.fetch_ms, "cache_hits": self.pack_hits + self.lru_hits,
        }


#: ``word → store key``: how a tokenizer keys a vector file's words (its ``vocabulary_key``);
#: a store's loader writes each word's vector under the key this gives
KeyFunction = Callable[[str], str]


@dataclass
class Lookup:
    """Vectors for a list of store keys: ``matrix[i]`` is the vector of ``words[i]``.

    Keys absent from every tier get a zero row and ``found[i] == False`` (unknown words
    are zero vectors, identically in training and serving).
    """

    words: list[str]  #: the keys looked up, in request order
    matrix: np.ndarray  # (len(words), dim) float32
    found: np.ndarray  # (len(words),) bool
    stats: LookupStats

    @property
    def unknown(self) -> list[str]:
        """Distinct keys with no vector, in first-seen order."""
        seen: dict[str, None] = {}
        for w, ok in zip(self.words, self.found, strict=True):
            if not ok:
                seen.setdefault(w, None)
        return list(seen)


#: ``VectorsSource.spec`` of a transformer's token table
TOKEN_TABLE = "token-table"


@dataclass(frozen=True)
class TokenTable:
    """A transformer's token-embedding table, read in place from a ``safetensors`` file (never
    copied into the artifact); ``runtime.artifact.vectors_source`` builds it from the manifest.

    Its identity is the digest of its rows: two models whose tables are equal (fine-tuned
    from one base with the table frozen) share one store table and one pack.
    """

    #: sha256 of the rows as float32, row-major, little-endian (hex)
    sha256: str
    #: the tensor's name in the safetensors file
    tensor: str = field(compare=False)
    rows: int = field(compare=False)
    #: where the table can be read, tried in order: the data directory's catalogued copy
    #: (a path relative to the data directory), then the file it was imported from
    catalog: str | None = field(default=None, compare=False)
    path: Path | None = field(default=None, compare=False)
    #: the artifact's tokenizer file: the vocabulary that names the rows (the store keys)
    tokenizer: Path | None = field(default=None, compare=False)


@dataclass(frozen=True)
class VectorsSource:
    """Where a model's word vectors come from (``runtime.artifact.vectors_source`` decides).

    Two models can share one store table and one pack exactly when their sources are equal.
    """

    spec: str  #: ``glove-50`` / a vector file, or ``artifact`` for a learned table
    label: str  #: recorded as the source of stores and packs
    slug: str  #: part of table and file names, so two sources never share a table
    dim: int
    learned_table: Path | None = None  #: the artifact's ``embeddings.npz``
    #: the model's training task (ranks a learned table's words by frequency); not part of
    #: the identity: two tasks may share one pretrained table
    task: str | None = field(default=None, compare=False)
    #: how the words become store keys (the model's tokenizer's ``key_scheme``, e.g.
    #: ``ptb-lower``): two models share a table only when their keys are made the same way
    key_scheme: str = ""
    #: a transformer's token table (``spec`` is then :data:`TOKEN_TABLE`)
    token_table: TokenTable | None = None

    @property
    def learned(self) -> bool:
        return self.learned_table is not None


@runtime_checkable
class Embeddings(Protocol):
    """Anything that turns store keys into vectors: a store, a cached store, an in-memory
    table. Keys are looked up verbatim (the tokenizer made them)."""

    @property
    def dim(self) -> int: ...

    def lookup(self, keys: Sequence[str]) -> Lookup: ...

    def close(self) -> None: ...

    def disconnect(self) -> None:
        """Drop network connections (before a snapshot); the next read opens new ones."""
        ...

    def reconnect(self) -> None:
        """Make a restored copy use connections of its own (after a snapshot restore)."""
        ...

    def warm_up(self) -> None:
        """Read the backing store once, past every cache (priming during INIT)."""
        ...


class ProgressBar(Protocol):
    """A progress display (:class:`millicent.progress.Progress` is the tool's one)."""

    def advance(self, n: int = 1, **counters: float) -> None: ...

    def close(self, summary: str = "") -> None: ...


#: ``(label, total) → a display``: how a caller lends a long job (the store's loader) its
#: progress display, so the job itself never imports one
ProgressFactory = Callable[[str, "int | None"], ProgressBar]
