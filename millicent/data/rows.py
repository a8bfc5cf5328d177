"""The records a reader of a user's data file yields, and what it needs to know.

:class:`Record` (a row: the line it starts on, its fields) and :class:`Problem` (a bad
row: ``FILE:LINE: what is wrong``), both with the last line of a record over several lines;
:class:`Fields` (the columns or keys wanted); :class:`RowError` (a converter refusing a
record). Shared by the format readers (:mod:`millicent.data.files`,
:mod:`millicent.data.delimited`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the message of a blank line's :class:`Problem` (reported only when asked for)
BLANK = "blank line"


@dataclass(frozen=True)
class Problem:
    """A bad record: ``str(problem)`` is ``FILE:LINE: message``."""

    path: str
    line: int
    message: str
    #: the record's last line when it spans several (a quoted newline); None: one line
    last: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Record:
    """One record: the physical line it starts on, and its fields by name."""

    line: int
    fields: dict[str, Any]
    #: the record's last line when it spans several (a quoted newline); None: one line
    last: int | None = None


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
    #: how the user names the columns (said when the header lacks one); default: the
    #: classifier's ``--text-column`` / ``--label-column``
    hint: str = ""
