"""Stores and packs that a rerun reuses: fill once, verify every time.

The demo and ``bench --compare`` need the same two things before anything is served:

* a store holding given vectors — :func:`ensure_store`. When the store's metadata says its
  last verified load was exactly these vectors (same checksum), the load is skipped and the
  store is only *verified* (every key read back, count and checksum compared); otherwise
  the store's resumable bulk loader runs (writing only what is missing or different) and
  verifies (a store that fails the read-back is repaired the same way). Either way
  nothing is served from a store that was not read back in full;
* a frequent-word pack of the first K keys of a frequency-ordered vector list, or of as
  many as fit a size budget — :func:`ensure_pack`. An existing pack file is reused when it holds exactly those keys and
  vectors (compared, not trusted), else rewritten.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from millicent.errors import ConfigError, StoreError
from millicent.progress import displays
from millicent.types import KeyFunction


@dataclass(frozen=True)
class StoreStatus:
    """What :func:`ensure_store` found and did."""

    url: str
    words: int  #: distinct keys that must be in the store
    written: int  #: keys written now (0 when reused)
    reused: bool  #: a complete earlier load was found and verified; nothing was loaded
    verified: bool
    checksum: str
    count: int  #: vectors the store holds
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PackStatus:
    """What :func:`ensure_pack` found and did."""

    path: str
    words: int
    bytes: int
    reused: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _expected(words: Sequence[str], matrix: np.ndarray, dtype: str,
              key: KeyFunction | None) -> tuple[list[str], np.ndarray]:
    """Distinct storable keys (first occurrence wins) and their vectors as stored."""
    from millicent.store.loader import unique_keys

    keys, rows, _ = unique_keys(words, key)
    expected = np.asarray(matrix, dtype=np.float32)[rows]
    if dtype == "float16":
        expected = expected.astype(np.float16).astype(np.float32)
    return keys, expected


def ensure_store(url: str, words: Sequence[str], matrix: np.ndarray, *, source: str,
                 layout: str = "binary", dtype: str = "float32",
                 progress: bool = False, key: KeyFunction | None = None) -> StoreStatus:
    """The store at ``url`` holds ``matrix[i]`` under the key of ``words[i]``, verified:
    ``key(words[i])`` (the models' tokenizer's ``vocabulary_key``), or ``words[i]`` itself
    when ``key`` is None (the words are store keys already)."""
    from millicent.store import open_store, vectors_checksum
    from millicent.store.loader import load_store, verify

    t0 = time.monotonic()
    keys, expected = _expected(words, matrix, dtype, key)
    if not keys:
        raise ConfigError(f"no vectors to load into {url}")
    want = vectors_checksum(zip(keys, expected, strict=True))
    store = open_store(url)
    try:
        if store.has_meta():
            meta = store.meta
            if (meta.checksum == want and meta.dim == expected.shape[1] and meta.dtype == dtype
                    and meta.layout == layout):
                # the last verified load was these vectors: read everything back to be sure
                try:
                    verify(store, keys, expected, progress=displays(progress, unit="words"))
                    return StoreStatus(url, len(keys), 0, True, True, want, store.count(),
                                       time.monotonic() - t0)
                except StoreError:
                    pass  # changed since: the loader below rewrites what differs
        report = load_store(store, words, matrix, source=source, layout=layout, dtype=dtype,
                            progress=displays(progress, unit="words"), key=key)
        if report.checksum != want:  # pragma: no cover - the loader verified the same keys
            raise StoreError(f"{url}: loaded checksum {report.checksum[:12]} != {want[:12]}")
        return StoreStatus(url, report.words, report.written, False, report.verified,
                           report.checksum, report.count, time.monotonic() - t0)
    finally:
        store.close()


def pack_size(top: int | None, budget_mb: float | None) -> str:
    """A pack's size as a file-name part: ``top5000`` (words) or ``10mb`` (a MiB budget)."""
    if (top is None) == (budget_mb is None):
        raise ConfigError("give exactly one of a word count (top) or a size budget (MiB)")
    return f"top{top}" if top is not None else f"{budget_mb:g}mb"


def ensure_pack(path: Path, words: Sequence[str], matrix: np.ndarray, *, top: int | None = None,
                budget_mb: float | None = None, source: str, by: str,
                dtype: str = "float32") -> PackStatus:
    """A pack at ``path`` of the first ``top`` distinct keys of ``words`` (store keys, in
    frequency order), or of as many as fit ``budget_mb`` MiB (exactly one of the two)."""
    from millicent.store.pack import FrequentWordPack, select_top, write_pack

    t0 = time.monotonic()
    sel = select_top(words, matrix, top=top, budget_mb=budget_mb, dtype=dtype)
    if not sel.keys:
        raise ConfigError(f"no word of {source} fits a pack")
    want = sel.matrix.astype(np.float16).astype(np.float32) if dtype == "float16" else sel.matrix
    if path.is_file():
        try:
            pack = FrequentWordPack.open(path)
            same = (pack.keys == sel.keys and pack.header.get("dtype") == dtype
                    and pack.dim == want.shape[1] and np.array_equal(pack.vectors(), want))
        except ConfigError:
            same = False  # not a pack (or a damaged one): rewrite it
        if same:
            return PackStatus(str(path), len(sel.keys), path.stat().st_size, True,
                              time.monotonic() - t0)
    write_pack(path, sel.keys, sel.matrix, dtype=dtype, source=source, by=by)
    return PackStatus(str(path), len(sel.keys), path.stat().st_size, False, time.monotonic() - t0)
