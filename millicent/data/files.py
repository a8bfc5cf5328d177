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

**Every row is used or counted.** A CSV record the csv module cannot parse (an unclosed
quote, bad quoting) is a problem on the line it starts on, and parsing resumes on the next
line — an unclosed quote no longer swallows the rows after it. Blank lines are reported
as problems only when asked (``blank_lines``), so a caller can account for every line.

Files are opened by :mod:`millicent.textfile`: UTF-8 with or without a byte-order mark,
UTF-16/32 with one (Excel's "Unicode text"), gzip. Invalid UTF-8 is reported on the
record that holds it (the line is decoded with replacement characters so a CSV parse stays
in step); a bad header row is a file-level error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from millicent.data.delimited import delimited
from millicent.data.paths import PathLike
from millicent.data.rows import BLANK, Fields, Problem, Record, RowError
from millicent.errors import DataError, InvalidInput
from millicent.textfile import Line, iter_lines, open_binary

__all__ = ["BLANK", "FORMATS", "LABELLED_FORMATS", "Fields", "Loaded", "Problem", "Record",
           "RowError", "collect", "infer_format", "iter_records", "iter_texts", "label_value",
           "open_bytes", "text_value"]

FORMATS = ("csv", "tsv", "jsonl", "stsa", "txt")
#: formats that carry labels (``txt`` holds texts only)
LABELLED_FORMATS = ("csv", "tsv", "jsonl", "stsa")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
               ".stsa": "stsa", ".txt": "txt"}
#: problems quoted in an error message (the error's ``problems`` detail holds as many)
MAX_LISTED = 20

T = TypeVar("T")


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
    return open_binary(path, "data file")




def iter_records(path: PathLike, fmt: str, fields: Fields, *,
                 blank_lines: bool = False) -> Iterator[Record | Problem]:
    """Records and problems of a data file, in file order (see the module docstring).

    ``blank_lines``: also a ``Problem(path, n, "blank line")`` for each blank line outside
    a record, in file order (the batch runner owes every input line an answer).
    """
    fmt = infer_format(path, fmt)
    lines = iter_lines(path, "data file")
    if fmt in ("csv", "tsv"):
        items = delimited(str(path), lines, "," if fmt == "csv" else "\t", fields)
    elif fmt == "jsonl":
        items = _jsonl(str(path), lines, fields)
    else:
        items = _positional(str(path), lines, fmt, fields)
    for item in items:
        if blank_lines or not (isinstance(item, Problem) and item.message == BLANK):
            yield item


def _nonblank(path: str, lines: Iterator[Line]) -> Iterator[Line | Problem]:
    """Every line, or the Problem of a blank (:data:`BLANK`) or undecodable one."""
    for line in lines:
        if not line.text.strip():
            yield Problem(path, line.n, BLANK)
        elif line.bad is not None:
            yield Problem(path, line.n, line.bad)
        else:
            yield line


def _jsonl(path: str, lines: Iterator[Line], fields: Fields) -> Iterator[Record | Problem]:
    names = (*fields.required, *fields.optional)
    for item in _nonblank(path, lines):
        if isinstance(item, Problem):
            yield item
            continue
        n = item.n
        try:
            obj = json.loads(item.text)
        except (ValueError, RecursionError) as exc:
            yield Problem(path, n, f"not valid JSON: {_json_reason(exc)}")
            continue
        if not isinstance(obj, dict):
            yield Problem(path, n, f"expected a JSON object, got {type(obj).__name__}")
            continue
        absent = [k for k in fields.required if k not in obj]
        if absent:
            yield Problem(path, n, f"no field {absent[0]!r} (fields: "
                          f"{', '.join(map(str, obj))})"[:300])
            continue
        yield Record(n, {k: obj[k] for k in names if k in obj})


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)[:200]


def _positional(path: str, lines: Iterator[Line], fmt: str,
                fields: Fields) -> Iterator[Record | Problem]:
    for item in _nonblank(path, lines):
        if isinstance(item, Problem):
            yield item
            continue
        n, text = item.n, item.text
        if fmt == "txt":
            yield Record(n, {fields.positional[-1]: text.strip()})
            continue
        parts = text.split(None, 1)
        if len(parts) < 2:
            yield Problem(path, n, "expected a label and a sentence")
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
        why = f" ({out.note().split(': ', 1)[1]})" if out.bad_rows else ""
        raise DataError(f"{path}: no usable rows{why}", path=str(path), bad_rows=out.bad_rows)
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
    fields = Fields(required=(text_column,), positional=("label", text_column),
                    hint="name the column with --text-column")
    for item in iter_records(path, fmt, fields, blank_lines=blank_lines):
        if isinstance(item, Problem):
            yield item.line, item
            continue
        try:
            yield item.line, text_value(item, text_column)
        except RowError as exc:
            yield item.line, Problem(str(path), item.line, str(exc))
