"""CSV / TSV: rows with the physical lines they span, a bad record reported on its first line
and the lines after it read again (so an unclosed quote loses nothing), the header's columns.

Parsed by the stdlib :mod:`csv` module in strict mode (RFC 4180 quoting: a quoted field may
hold the delimiter, doubled quotes and newlines).
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator

from millicent.data.rows import BLANK, Fields, Problem, Record
from millicent.errors import DataError
from millicent.textfile import Line


class _Rows:
    """The rows of a CSV / TSV file with the physical lines each spans.

    A record the csv module cannot parse is reported on the line it starts on, and parsing
    resumes on the *next* line: an unclosed quote would otherwise swallow every line after
    it (to the end of the file, or to the field size limit) and lose their rows silently.
    The reader of the rows does the same with a record over several lines that has the
    wrong number of fields (quotes that pair up by accident): :meth:`replay`.
    The lines of the record being parsed are kept for that replay (at most the csv
    module's field size limit, 128 KiB, of text).
    """

    def __init__(self, path: str, lines: Iterator[Line], delimiter: str) -> None:
        self.path = path
        self.source = lines
        self.delimiter = delimiter
        self.pending: deque[Line] = deque()  # lines to read again after a bad record
        self.taken: list[Line] = []  # the lines of the record being parsed

    def _feed(self) -> Iterator[str]:
        while True:
            line = self.pending.popleft() if self.pending else next(self.source, None)
            if line is None:
                return
            self.taken.append(line)
            yield line.text

    def replay(self, lines: list[Line]) -> None:
        """Read ``lines`` again (the lines after the first of a bad record), then go on."""
        self.pending.extendleft(reversed(lines))
        self.reader = csv.reader(self._feed(), delimiter=self.delimiter, strict=True)

    def __iter__(self) -> Iterator[tuple[list[Line], list[str]] | Problem]:
        self.reader = csv.reader(self._feed(), delimiter=self.delimiter, strict=True)
        while True:
            self.taken = []
            try:
                row = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                first, rest = self.taken[0], self.taken[1:]
                self.replay(rest)
                yield Problem(self.path, first.n, _csv_message(exc, rest))
                continue
            yield self.taken, row


def delimited(path: str, lines: Iterator[Line], delimiter: str,
               fields: Fields) -> Iterator[Record | Problem]:
    header: list[str] | None = None
    wanted: list[tuple[str, int]] = []
    rows = _Rows(path, lines, delimiter)
    for item in rows:
        if isinstance(item, Problem):
            if header is None:
                raise DataError(f"{item}: the header row cannot be read", path=path)
            yield item
            continue
        taken, row = item
        start = taken[0].n
        if not row or (len(taken) == 1 and not taken[0].text.strip()):
            yield Problem(path, start, BLANK)
            continue
        bad = next((line.bad for line in taken if line.bad is not None), None)
        if header is None:
            if bad is not None:
                raise DataError(f"{path}:{start}: the header row: {bad}", path=path)
            header = [c.strip() for c in row]
            wanted = _columns(path, start, header, fields)
        elif bad is not None:
            yield Problem(path, start, bad, _last(taken))
        elif len(row) != len(header):
            # over several lines: most likely quotes that pair up by accident, so the
            # lines after the first are read again, as after an unclosed quote
            rows.replay(taken[1:])
            yield Problem(path, start, f"{len(row)} fields, the header has {len(header)}"
                          f"{_again(taken[1:], 'a quoted field runs over ')}")
        else:
            yield Record(start, {name: row[i] for name, i in wanted}, _last(taken))


def _last(taken: list[Line]) -> int | None:
    return taken[-1].n if len(taken) > 1 else None


def _columns(path: str, line: int, header: list[str], fields: Fields) -> list[tuple[str, int]]:
    """``(name, position)`` of the needed columns; DataError naming a missing one."""
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise DataError(f"{path}:{line}: the header names column(s) {duplicated} twice", path=path)
    for name in fields.required:
        if name not in header:
            raise DataError(
                f"{path}:{line}: no column {name!r} in the header (columns: "
                f"{', '.join(header)}); {_column_hint(fields, header)}", path=path)
    return [(name, header.index(name)) for name in (*fields.required, *fields.optional)
            if name in header]


def _column_hint(fields: Fields, header: list[str]) -> str:
    """How to name the columns: the options of the reader that asked for them (and, for a
    header of one column holding another separator, that the file is not comma-separated)."""
    hint = fields.hint or "name the column with --text-column / --label-column"
    if len(header) == 1:
        for sep, name in ((";", "';'"), ("\t", "TAB"), ("|", "'|'")):
            if sep in header[0]:
                return (f"the header looks {name}-separated, and this file is read as "
                        "comma-separated CSV (TAB: --format tsv; other separators: save it "
                        f"as CSV); {hint}")
    return hint


def _again(rest: list[Line], what: str = "") -> str:
    """``; LINES after it read again as rows of their own`` (empty for a one-line record)."""
    if not rest:
        return ""
    span = f"line {rest[0].n}" if len(rest) == 1 else f"lines {rest[0].n}–{rest[-1].n}"
    return f"; {what}{span} after it, read again as rows of their own"


def _csv_message(exc: csv.Error, rest: list[Line]) -> str:
    text = str(exc)
    again = _again(rest)
    if "unexpected end of data" in text:
        return f"a quoted field is never closed (it opens on this line){again}"
    if "field larger than field limit" in text:
        return (f"a field longer than {csv.field_size_limit():,} characters (an unclosed "
                f"quote?){again}")
    return f"bad CSV quoting: {text}{again}"
