"""The user's data files: formats, records with their line numbers, and bad rows.

Formats (``--format``; inferred from the extension when not given, a ``.gz`` suffix is
looked through and the file decompressed on the fly):

* ``csv`` / ``tsv`` (``.csv``, ``.tsv``): a header row naming the columns, then one record
  per row; RFC 4180 quoting, so a quoted field may hold the delimiter, doubled quotes
  (``""``) and newlines. Parsed by the stdlib :mod:`csv` module in strict mode.
* ``jsonl`` (``.jsonl``, ``.ndjson``): one JSON object per line.
* ``stsa`` (``.stsa``, or a file named ``stsa.*``): ``LABEL sentence`` lines (a space or a
  TAB after the label), the SST files' layout.
* ``txt`` (``.txt``): one text per line, no labels (batch input only).

Every reader is a generator: nothing but the current record is held, so a 10M-line file
streams. It yields :class:`Record` (the physical line where the record starts, and its
fields) or :class:`Problem` (``FILE:LINE: what is wrong``) — a bad row never stops the
iteration, so a caller can list every problem or skip them (:func:`collect`). Blank lines
are not records in any format. A file-level fault (no such file, a CSV header without a
needed column) raises :class:`~millicent.errors.DataError` at once.

Invalid UTF-8 is reported on the record that holds it (the line is decoded with
replacement characters so a CSV parse stays in step); a UTF-8 byte-order mark at the start
of the file is dropped (spreadsheets write one).
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar, cast

from millicent.data.paths import PathLike
from millicent.errors import DataError, InvalidInput

FORMATS = ("csv", "tsv", "jsonl", "stsa", "txt")
#: formats that carry labels (``txt`` holds texts only)
LABELLED_FORMATS = ("csv", "tsv", "jsonl", "stsa")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
               ".stsa": "stsa", ".txt": "txt"}
#: problems quoted in an error message (the error's ``problems`` detail holds as many)
MAX_LISTED = 20

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """A bad record: ``str(problem)`` is ``FILE:LINE: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Record:
    """One record: the physical line it starts on, and its fields by name."""

    line: int
    fields: dict[str, Any]


class RowError(ValueError):
    """Raised by a record converter (see :func:`collect`): the record is bad, for this reason."""


@dataclass(frozen=True)
class Fields:
    """The fields a reader extracts.

    ``required``/``optional``: column names (CSV/TSV header) or keys (JSONL); a header
    lacking a required column is a file-level error. ``positional``: the names given to
    the positional fields of ``stsa`` (label, text) and ``txt`` (text) records.
    """

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    positional: tuple[str, ...] = ("label", "text")


def infer_format(path: PathLike, fmt: str | None = None) -> str:
    """``fmt`` if given (checked), else the format the file's extension names."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InvalidInput(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        return fmt
    p = Path(path)
    name = p.name[:-3] if p.name.endswith(".gz") else p.name
    suffix = Path(name).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    if name.startswith("stsa."):
        return "stsa"
    raise InvalidInput(f"cannot tell the format of {path} from its name; pass --format "
                       f"{'|'.join(FORMATS)}")


def open_bytes(path: PathLike) -> IO[bytes]:
    """The file for reading bytes, gunzipped when it starts with gzip's magic bytes."""
    p = Path(path)
    try:
        with open(p, "rb") as probe:
            gz = probe.read(2) == b"\x1f\x8b"
        return cast(IO[bytes], gzip.open(p, "rb")) if gz else open(p, "rb")
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file", path=str(path)) from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}", path=str(path)) from exc


class _Lines:
    """Decoded lines of a binary file, counting them and remembering the invalid UTF-8 ones."""

    def __init__(self, f: IO[bytes], path: str) -> None:
        self.f = f
        self.path = path
        self.n = 0
        self.bad: dict[int, str] = {}  # line number -> what is wrong with its bytes

    def __iter__(self) -> Iterator[str]:
        try:
            for raw in self.f:
                self.n += 1
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    self.bad[self.n] = (f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at "
                                        f"column {exc.start + 1})")
                    text = raw.decode("utf-8", errors="replace")
                if self.n == 1 and text.startswith("\ufeff"):
                    text = text[1:]
                yield text
        except (OSError, EOFError) as exc:  # a corrupt gzip stream, a failing disk
            raise DataError(f"{self.path}: cannot read after line {self.n}: {exc}",
                            path=self.path) from exc

    def bad_in(self, first: int, last: int) -> str | None:
        """The UTF-8 problem of the first bad line in ``first..last``, if any."""
        for n in range(first, last + 1):
            if n in self.bad:
                return self.bad[n]
        return None


def iter_records(path: PathLike, fmt: str, fields: Fields) -> Iterator[Record | Problem]:
    """Records and problems of a data file, in file order (see the module docstring)."""
    fmt = infer_format(path, fmt)
    with open_bytes(path) as f:
        lines = _Lines(f, str(path))
        if fmt in ("csv", "tsv"):
            yield from _delimited(lines, "," if fmt == "csv" else "\t", fields)
        elif fmt == "jsonl":
            yield from _jsonl(lines, fields)
        else:
            yield from _positional(lines, fmt, fields)


def _delimited(lines: _Lines, delimiter: str, fields: Fields) -> Iterator[Record | Problem]:
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header: list[str] | None = None
    wanted: list[tuple[str, int]] = []
    last = 0  # the physical line the previous record ended on
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last = reader.line_num
            yield Problem(lines.path, start, _csv_message(exc))
            continue
        last = reader.line_num
        if not row:  # a blank line
            continue
        if header is None:
            header = [c.strip() for c in row]
            wanted = _columns(lines.path, header, fields)
            continue
        bad = lines.bad_in(start, last)
        if bad is not None:
            yield Problem(lines.path, start, bad)
        elif len(row) != len(header):
            yield Problem(lines.path, start,
                          f"{len(row)} fields, the header has {len(header)}")
        else:
            yield Record(start, {name: row[i] for name, i in wanted})


def _columns(path: str, header: list[str], fields: Fields) -> list[tuple[str, int]]:
    """``(name, position)`` of the needed columns; DataError naming a missing one."""
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise DataError(f"{path}:1: the header names column(s) {duplicated} twice", path=path)
    for name in fields.required:
        if name not in header:
            raise DataError(
                f"{path}:1: no column {name!r} in the header (columns: {', '.join(header)}); "
                "name the column with --text-column / --label-column", path=path)
    return [(name, header.index(name)) for name in (*fields.required, *fields.optional)
            if name in header]


def _csv_message(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "a quoted field is never closed (it runs to the end of the file)"
    if "field larger than field limit" in text:
        return f"a field longer than {csv.field_size_limit():,} characters (an unclosed quote?)"
    return f"bad CSV quoting: {text}"


def _nonblank(lines: _Lines) -> Iterator[tuple[int, str] | Problem]:
    """``(line, text)`` of every non-blank line, or the Problem of an undecodable one."""
    for text in lines:
        n = lines.n
        if not text.strip():
            continue
        if n in lines.bad:
            yield Problem(lines.path, n, lines.bad[n])
            continue
        yield n, text


def _jsonl(lines: _Lines, fields: Fields) -> Iterator[Record | Problem]:
    names = (*fields.required, *fields.optional)
    for item in _nonblank(lines):
        if isinstance(item, Problem):
            yield item
            continue
        n, text = item
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield Problem(lines.path, n, f"not valid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield Problem(lines.path, n, f"expected a JSON object, got {type(obj).__name__}")
            continue
        absent = [k for k in fields.required if k not in obj]
        if absent:
            yield Problem(lines.path, n, f"no field {absent[0]!r} (fields: "
                          f"{', '.join(map(str, obj))})")
            continue
        yield Record(n, {k: obj[k] for k in names if k in obj})


def _positional(lines: _Lines, fmt: str, fields: Fields) -> Iterator[Record | Problem]:
    for item in _nonblank(lines):
        if isinstance(item, Problem):
            yield item
            continue
        n, text = item
        if fmt == "txt":
            yield Record(n, {fields.positional[-1]: text.strip()})
            continue
        parts = text.split(None, 1)
        if len(parts) < 2:
            yield Problem(lines.path, n, "expected a label and a sentence")
            continue
        label_name, text_name = fields.positional
        yield Record(n, {label_name: parts[0], text_name: parts[1].strip()})


# --- converting records, collecting problems ------------------------------------------

@dataclass
class Loaded(Generic[T]):
    """The usable rows of a file, and what was wrong with the others."""

    path: str
    rows: list[T]
    lines: list[int]  # lines[i]: where rows[i] starts
    bad_rows: int = 0
    problems: list[Problem] = field(default_factory=list)  # the first MAX_LISTED

    def note(self) -> str:
        """One line on the skipped rows (empty when there were none)."""
        if not self.bad_rows:
            return ""
        return (f"{self.path}: skipped {self.bad_rows:,} bad row(s), the first: "
                f"{self.problems[0]}")


def collect(path: PathLike, records: Iterable[Record | Problem],
            convert: Callable[[Record], T], skip_bad_rows: bool = False) -> Loaded[T]:
    """Convert every record; a :class:`RowError` from ``convert`` makes the record a problem.

    Without ``skip_bad_rows`` any problem is fatal: :class:`DataError` listing the first
    :data:`MAX_LISTED` (after the whole file was read, so the count is complete). With it,
    bad rows are skipped and counted. No usable row at all is always an error.
    """
    out: Loaded[T] = Loaded(str(path), [], [])
    for item in records:
        if isinstance(item, Record):
            try:
                out.rows.append(convert(item))
                out.lines.append(item.line)
                continue
            except RowError as exc:
                item = Problem(str(path), item.line, str(exc))
        out.bad_rows += 1
        if len(out.problems) < MAX_LISTED:
            out.problems.append(item)
    if out.bad_rows and not skip_bad_rows:
        raise bad_rows_error(out)
    if not out.rows:
        raise DataError(f"{path}: no usable rows", path=str(path), bad_rows=out.bad_rows)
    return out


def bad_rows_error(loaded: Loaded[Any]) -> DataError:
    """The error listing a file's bad rows (``--skip-bad-rows`` would skip them)."""
    listed = "\n".join(f"  {p}" for p in loaded.problems)
    more = loaded.bad_rows - len(loaded.problems)
    tail = f"\n  ... and {more:,} more" if more > 0 else ""
    return DataError(
        f"{loaded.path}: {loaded.bad_rows:,} bad row(s); fix them or pass --skip-bad-rows:\n"
        f"{listed}{tail}",
        path=loaded.path, bad_rows=loaded.bad_rows, problems=[str(p) for p in loaded.problems])


def text_value(rec: Record, name: str) -> str:
    """The record's field ``name`` as a non-empty string (RowError otherwise)."""
    value = rec.fields.get(name)
    if value is None:
        raise RowError(f"no {name!r} field")
    if not isinstance(value, str):
        raise RowError(f"{name!r} must be a string, got {json.dumps(value)[:40]}")
    value = value.strip()
    if not value:
        raise RowError(f"empty {name!r}")
    return value


def label_value(rec: Record, name: str) -> str:
    """The record's label as text: a string (stripped) or an integer (its decimal form).

    So ``1`` in a stsa file, ``"1"`` in a TSV and ``1`` in JSONL are the same label. JSON
    booleans, floats, null, lists and objects are refused.
    """
    value = rec.fields.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        if value is None and name not in rec.fields:
            raise RowError(f"no {name!r} field")
        raise RowError(f"label {json.dumps(value)[:40]} is not a string or an integer")
    text = str(value).strip()
    if not text:
        raise RowError(f"empty {name!r}")
    return text


# --- texts only: the batch runner's input ----------------------------------------------

def iter_texts(path: PathLike, fmt: str | None = None, text_column: str = "text", *,
               blank_lines: bool = False) -> Iterator[tuple[int, str | Problem]]:
    """``(line, text)`` for every record of a file, or ``(line, Problem)`` for a bad one.

    Streams any format (``txt``: one text per line); labels are not read. Blank lines are
    skipped, as everywhere, unless ``blank_lines``: then each blank line outside a record
    is reported in file order as ``(line, Problem(..., "blank line"))`` — the batch runner
    owes every input line an answer. A blank line inside a quoted CSV field belongs to its
    record and is not reported.
    """
    fmt = infer_format(path, fmt)
    fields = Fields(required=(text_column,), positional=("label", text_column))
    items = _with_blank_lines(path, fmt, fields) if blank_lines else iter_records(path, fmt, fields)
    for item in items:
        if isinstance(item, Problem):
            yield item.line, item
            continue
        try:
            yield item.line, text_value(item, text_column)
        except RowError as exc:
            yield item.line, Problem(str(path), item.line, str(exc))


class _BlankTrackingLines(_Lines):
    """Decoded lines that remember the numbers of the blank ones not yet accounted for."""

    def __init__(self, f: IO[bytes], path: str) -> None:
        super().__init__(f, path)
        self.blank: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for text in super().__iter__():
            if not text.strip():
                self.blank.append(self.n)
            yield text

    def take_before(self, line: int) -> list[int]:
        """The remembered blank lines before ``line``; forgets every one up to the last read.

        A reader yields a record as soon as it has read the record's last line (the csv
        module reads no further), so the blank lines read by then that lie inside
        ``line..n`` are part of the record (a quoted CSV field), the earlier ones are not.
        """
        before = [n for n in self.blank if n < line]
        self.blank.clear()
        return before


def _with_blank_lines(path: PathLike, fmt: str, fields: Fields) -> Iterator[Record | Problem]:
    """:func:`iter_records`, with a Problem for every blank line outside a record."""
    with open_bytes(path) as f:
        lines = _BlankTrackingLines(f, str(path))
        if fmt in ("csv", "tsv"):
            items = _delimited(lines, "," if fmt == "csv" else "\t", fields)
        elif fmt == "jsonl":
            items = _jsonl(lines, fields)
        else:
            items = _positional(lines, fmt, fields)
        for item in items:
            for n in lines.take_before(item.line):
                yield Problem(lines.path, n, "blank line")
            yield item
        for n in lines.take_before(lines.n + 1):
            yield Problem(lines.path, n, "blank line")
