"""Vector files in the formats people have, read as a stream of batches.

* GloVe text: ``word v1 … vD`` per line, no header (a few GloVe words hold spaces: the
  word is everything before the last D fields);
* word2vec text and fastText ``.vec``: the same after a ``COUNT DIM`` header line
  (fastText ends each line with a space);
* word2vec binary (``-binary 1``, also gensim's): the header, then per word
  ``word<space>`` and D little-endian float32 (word2vec.c adds a newline after each);
* any of them gzipped (recognised by gzip's magic bytes, whatever the name).

What a file holds is checked as it streams, so a broken file is refused with ``FILE:LINE``
(``FILE: record N`` in a binary file) before anything wrong reaches a store: every row has
a word and ``D`` numbers, every number is finite (NaN or inf would reach a forward pass
and a response), and a header's ``COUNT`` is the number of rows that follow — a file cut
short by a failed download, or one with rows after the announced ones, is refused
(``check_count=False``, the CLI's ``--ignore-header-count``, reads what is there). A UTF-8
byte-order mark is dropped; UTF-16/32 text is refused with how to convert it.

:func:`iter_vector_batches` yields ``(keys, matrix)`` batches of at most ``rows`` rows, so
a 3M × 300 file is never held in memory — the bulk loader writes each batch to a store and
drops it. :func:`read_rows` gathers the batches into one float32 array grown in place
(``ndarray.resize`` reallocates without a second copy), so even a whole table is held
once. Keys are the file's words mapped by ``key`` — the model's tokenizer's
``vocabulary_key`` (:mod:`millicent.tokenizers`), or the words themselves when no
key function is given; the first row of a key wins (files are frequency ordered: the most
frequent spelling).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from millicent.data.paths import PathLike
from millicent.errors import DataError
from millicent.textfile import encoding_of, open_binary
from millicent.types import KeyFunction

#: rows per batch of :func:`iter_vector_batches` (≈ 12 MB of 300-d float32)
BATCH_ROWS = 10_000
_BLOCK = 1 << 22  # bytes read at a time from a binary file
#: the longest word a binary record may start with
_MAX_WORD_BYTES = 10_000
#: the largest dimension a header may announce (fastText's and word2vec's are ≤ 1,000)
MAX_DIM = 100_000
#: rows preallocated from a header's COUNT at most (more grow the table in place): a
#: hostile header must not reserve terabytes
_MAX_PREALLOCATED_BYTES = 1 << 31


@dataclass(frozen=True)
class VectorFileInfo:
    """What the first lines of a vector file say."""

    path: Path
    kind: str  # "text" | "binary"
    dim: int
    count: int | None  # rows the header announces; None without a header


def _open(path: Path) -> IO[bytes]:
    return open_binary(path, "vector file")


def _header(first: bytes, path: Path) -> tuple[int, int] | None:
    """``(count, dim)`` of a ``COUNT DIM`` header line, None for a first row of vectors."""
    parts = first.split()
    if not (len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit()):
        return None
    count, dim = int(parts[0]), int(parts[1])
    if not 1 <= dim <= MAX_DIM:
        raise DataError(f"{path}:1: the header announces dimension {dim}; expected 1 to "
                        f"{MAX_DIM:,}", path=str(path), line=1)
    return count, dim


def probe_vector_file(path: PathLike) -> VectorFileInfo:
    """Format, dimension and announced count of a vector file (reads its first lines)."""
    p = Path(path)
    try:
        with _open(p) as f:
            first = f.readline()
            if first.startswith(b"\xef\xbb\xbf"):
                first = first[3:]
            encoding_of(first, p, "vector file")
            if first[:2] in (b"\xff\xfe", b"\xfe\xff") or first[:4] == b"\x00\x00\xfe\xff":
                raise DataError(f"vector file {p} is UTF-16/32 text; vector files are UTF-8: "
                                "convert it (e.g. iconv -f UTF-16 -t UTF-8)", path=str(p))
            header = _header(first, p)
            if header is not None:
                kind = "text" if _next_is_text(f.readline(64 * (header[1] + 1) + 4096),
                                               header[1]) else "binary"
                return VectorFileInfo(p, kind, header[1], header[0])
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read vector file {p}: {exc}", path=str(p)) from exc
    dim = len(first.rstrip().split(b" ")) - 1
    if dim < 1:
        raise DataError(f"{p}:1: not a vector file: a line of a word and its numbers, or a "
                        f"COUNT DIM header, was expected, not {first[:80]!r}", path=str(p), line=1)
    return VectorFileInfo(p, "text", dim, None)


def _next_is_text(line: bytes, dim: int) -> bool:
    """After a ``COUNT DIM`` header: is the next record a text line of ``dim`` + 1 fields?"""
    try:
        fields = line.decode("utf-8").rstrip("\r\n").rstrip(" ").split(" ")
        if len(fields) != dim + 1:
            return False
        [float(x) for x in fields[1:]]
    except ValueError:
        return False
    return True


def wanted_keys(vocab: Iterable[str] | None, key: KeyFunction | None) -> set[str] | None:
    """The keys of a vocabulary (None: no restriction). A tokenizer's key function is
    idempotent, so a vocabulary of tokens and one of keys select the same rows."""
    if vocab is None:
        return None
    return set(vocab) if key is None else {key(t) for t in vocab}


class _Keys:
    """The keys wanted (None: all), the keys already taken (first row wins)."""

    def __init__(self, vocab: Iterable[str] | None, key: KeyFunction | None = None) -> None:
        self.key = key
        self.wanted = wanted_keys(vocab, key)
        self.seen: set[str] = set()

    def take(self, word: str) -> str | None:
        key = word if self.key is None else self.key(word)
        if key in self.seen or (self.wanted is not None and key not in self.wanted):
            return None
        self.seen.add(key)
        return key

    def done(self) -> bool:
        return self.wanted is not None and len(self.seen) == len(self.wanted)


def iter_vector_batches(path: PathLike, vocab: Iterable[str] | None = None,
                        limit: int | None = None, rows: int = BATCH_ROWS,
                        key: KeyFunction | None = None, check_count: bool = True
                        ) -> Iterator[tuple[list[str], np.ndarray]]:
    """``(keys, float32 matrix)`` batches of a vector file, in file order.

    ``vocab``: keep only rows whose key is the key of a vocabulary token (the file is
    still streamed; reading stops once every wanted key was found). ``limit``: read only
    the first ``limit`` records. Keys are unique over the whole stream. ``key``: word →
    store key (the model's tokenizer's ``vocabulary_key``; None: the words themselves).
    ``check_count=False``: a header's COUNT need not match the rows (module docstring).
    """
    info = probe_vector_file(path)
    keys = _Keys(vocab, key)
    count = _Count(info, check_count and limit is None)
    try:
        with _open(info.path) as f:
            if info.count is not None:
                f.readline()
            if info.kind == "binary":
                yield from _binary_batches(_Binary(f, info), keys, limit, rows, count)
            else:
                yield from _text_batches(f, info, keys, limit, rows, count)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read vector file {info.path}: {exc}", path=str(path)) from exc


class _Count:
    """Holds a file to its header's COUNT (when there is one and it is checked)."""

    def __init__(self, info: VectorFileInfo, check: bool) -> None:
        self.path = info.path
        self.announced = info.count if check else None

    def row(self, seen: int, where: str) -> None:
        """Called with the number of rows read so far, ``where`` naming the last one."""
        if self.announced is not None and seen > self.announced:
            raise DataError(
                f"{where}: more rows than the {self.announced:,} the header announces (line 1); "
                "fix the header, or pass --ignore-header-count to read every row",
                path=str(self.path))

    def end(self, seen: int) -> None:
        """Called at the end of the file."""
        if self.announced is not None and seen < self.announced:
            raise DataError(
                f"{self.path}:1: the header announces {self.announced:,} rows but the file holds "
                f"{seen:,} (cut short, e.g. by a failed download?); fetch it again, or pass "
                "--ignore-header-count to read the rows it has", path=str(self.path), line=1)


def _text_batches(f: IO[bytes], info: VectorFileInfo, keys: _Keys, limit: int | None,
                  rows: int, count: _Count) -> Iterator[tuple[list[str], np.ndarray]]:
    dim = info.dim
    first_line = 2 if info.count is not None else 1
    taken: list[str] = []
    values: list[str] = []  # the numbers of each taken row, one string per row
    lines: list[int] = []
    seen = 0
    for n, raw in enumerate(f, start=first_line):
        if limit is not None and n - first_line >= limit:
            break
        word, rest = _text_row(raw, n, info)
        if word is None:  # a blank line
            continue
        seen += 1
        count.row(seen, f"{info.path}:{n}")
        key = keys.take(word)
        if key is None:
            continue
        taken.append(key)
        values.append(rest)
        lines.append(n)
        if len(taken) >= rows or keys.done():
            yield taken, _parse_rows(values, dim, lines, info.path)
            taken, values, lines = [], [], []
            if keys.done():
                return
    else:
        count.end(seen)
    if taken:
        yield taken, _parse_rows(values, dim, lines, info.path)


def _text_row(raw: bytes, n: int, info: VectorFileInfo) -> tuple[str | None, str]:
    """``(word, its numbers as text)`` of one line; ``(None, "")`` for a blank line."""
    try:
        line = raw.decode("utf-8").rstrip("\r\n").rstrip(" ")
    except UnicodeDecodeError as exc:
        raise DataError(f"{info.path}:{n}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at "
                        f"column {exc.start + 1})", path=str(info.path), line=n) from exc
    if n == 1 and line.startswith("\ufeff"):
        line = line[1:]
    if not line.strip():
        return None, ""
    dim = info.dim
    word, _, rest = line.partition(" ")
    if rest.count(" ") != dim - 1:
        # the word is everything before the last `dim` fields (GloVe has a few with spaces)
        parts = line.rsplit(" ", dim)
        if len(parts) != dim + 1:
            raise DataError(f"{info.path}:{n}: line {n} has {len(parts) - 1} values, "
                            f"expected {dim}", path=str(info.path), line=n)
        word, rest = parts[0], " ".join(parts[1:])
    if not word.strip():
        raise DataError(f"{info.path}:{n}: no word before the {dim} numbers",
                        path=str(info.path), line=n)
    return word, rest


def _parse_rows(values: list[str], dim: int, lines: list[int], path: Path) -> np.ndarray:
    """One C-level parse of a batch's numbers; a bad or non-finite number is named by its line."""
    with np.errstate(over="ignore"):  # beyond float32: inf, refused as non-finite below
        return _parse_checked(values, dim, lines, path)


def _parse_checked(values: list[str], dim: int, lines: list[int], path: Path) -> np.ndarray:
    flat = None
    try:
        parsed = np.fromstring(" ".join(values), dtype=np.float32, sep=" ")
        if parsed.size == len(values) * dim:
            flat = parsed
    except ValueError:
        pass
    if flat is None:
        for text, n in zip(values, lines, strict=True):
            try:
                row = np.array(text.split(" "), dtype=np.float32)
            except ValueError as exc:
                raise DataError(f"{path}:{n}: {exc}", path=str(path), line=n) from exc
            if row.size != dim:
                raise DataError(f"{path}:{n}: {row.size} values, expected {dim}",
                                path=str(path), line=n)
        raise DataError(f"{path}:{lines[0]}-{lines[-1]}: malformed numbers", path=str(path))
    matrix = flat.reshape(len(values), dim)
    _check_finite(matrix, [f"{path}:{n}" for n in lines], path)
    return matrix


def _check_finite(matrix: np.ndarray, where: list[str], path: Path) -> None:
    """DataError naming the first row holding NaN or ±inf (``where[i]`` names row i)."""
    finite = np.isfinite(matrix).all(axis=1)
    if finite.all():
        return
    i = int(np.argmin(finite))
    value = matrix[i][~np.isfinite(matrix[i])][0]
    raise DataError(f"{where[i]}: a non-finite value ({value}): a vector must hold finite "
                    "numbers (NaN or inf would reach the model and its answers)", path=str(path))


class _Binary:
    """word2vec's binary records, parsed out of large blocks."""

    def __init__(self, f: IO[bytes], info: VectorFileInfo) -> None:
        self.f = f
        self.path = info.path
        self.nbytes = 4 * info.dim
        self.buf = b""
        self.pos = 0
        self.records = 0

    def _fill(self, need: int) -> bool:
        """Make ``buf[pos:]`` hold ``need`` bytes; False at the end of the file."""
        while len(self.buf) - self.pos < need:
            chunk = self.f.read(max(_BLOCK, need))
            if not chunk:
                return False
            self.buf = self.buf[self.pos:] + chunk
            self.pos = 0
        return True

    def next(self) -> tuple[str, int] | None:
        """``(word, offset of its vector in buf)`` of the next record; None at the end."""
        while True:
            if not self._fill(1):
                return None
            while self.pos < len(self.buf) and self.buf[self.pos] in b"\n\r":
                self.pos += 1  # word2vec.c's newline after each vector
            if self.pos < len(self.buf):
                break
        space = self.buf.find(b" ", self.pos, self.pos + _MAX_WORD_BYTES)
        while space < 0:
            if len(self.buf) - self.pos > _MAX_WORD_BYTES:
                raise DataError(f"{self.path}: record {self.records + 1}: no word (no space in "
                                f"{_MAX_WORD_BYTES:,} bytes): not a word2vec binary file?",
                                path=str(self.path))
            if not self._fill(len(self.buf) - self.pos + 1):
                raise DataError(f"{self.path}: truncated word2vec file after record "
                                f"{self.records} ({self.buf[self.pos:self.pos + 40]!r})",
                                path=str(self.path))
            space = self.buf.find(b" ", self.pos, self.pos + _MAX_WORD_BYTES)
        word = self.buf[self.pos:space].decode("utf-8", errors="replace")
        self.pos = space + 1
        if not self._fill(self.nbytes):
            raise DataError(f"{self.path}: truncated vector for {word!r} (record "
                            f"{self.records + 1})", path=str(self.path))
        offset = self.pos
        self.pos += self.nbytes
        self.records += 1
        return word, offset


def _binary_batches(reader: _Binary, keys: _Keys, limit: int | None, rows: int,
                    count: _Count) -> Iterator[tuple[list[str], np.ndarray]]:
    dim = reader.nbytes // 4
    batch = np.empty((rows, dim), dtype=np.float32)
    taken: list[str] = []
    where: list[str] = []
    while limit is None or reader.records < limit:
        record = reader.next()
        if record is None:
            count.end(reader.records)
            break
        count.row(reader.records, f"{reader.path}: record {reader.records}")
        key = keys.take(record[0])
        if key is None:
            continue
        batch[len(taken)] = np.frombuffer(reader.buf, dtype="<f4", count=dim, offset=record[1])
        taken.append(key)
        where.append(f"{reader.path}: record {reader.records} ({record[0][:40]!r})")
        if len(taken) == rows or keys.done():
            _check_finite(batch[: len(taken)], where, reader.path)
            yield taken, batch
            batch, taken, where = np.empty((rows, dim), dtype=np.float32), [], []
            if keys.done():
                return
    if taken:
        _check_finite(batch[: len(taken)], where, reader.path)
        yield taken, batch[: len(taken)].copy()


class RowBuffer:
    """A float32 ``(n, dim)`` table grown in place: never two copies of it at once."""

    def __init__(self, dim: int, capacity: int = BATCH_ROWS) -> None:
        self.dim = dim
        self.n = 0
        self.array = np.empty((max(1, capacity), dim), dtype=np.float32)

    def extend(self, rows: np.ndarray) -> None:
        need = self.n + rows.shape[0]
        if need > self.array.shape[0]:
            # realloc: large blocks are remapped, not copied (and never held twice)
            self.array.resize((max(need, self.array.shape[0] * 3 // 2), self.dim),
                              refcheck=False)
        self.array[self.n:need] = rows
        self.n = need

    def finish(self) -> np.ndarray:
        """The table, trimmed to the rows added (the buffer is spent)."""
        self.array.resize((self.n, self.dim), refcheck=False)
        return self.array


def read_rows(path: PathLike, vocab: Iterable[str] | None = None,
              limit: int | None = None, key: KeyFunction | None = None,
              check_count: bool = True) -> tuple[list[str], np.ndarray]:
    """All (selected) rows of a vector file: ``(keys, matrix)``, the matrix held once."""
    info = probe_vector_file(path)
    wanted = wanted_keys(vocab, key)
    capacity = min(info.count or BATCH_ROWS, _MAX_PREALLOCATED_BYTES // (4 * info.dim))
    if wanted is not None:
        capacity = min(capacity, len(wanted))
    if limit is not None:
        capacity = min(capacity, limit)
    table = RowBuffer(info.dim, capacity)
    words: list[str] = []
    for keys, matrix in iter_vector_batches(path, wanted, limit, key=key,
                                            check_count=check_count):
        words.extend(keys)
        table.extend(matrix)
    return words, table.finish()
