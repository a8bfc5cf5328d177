"""Question/answer pairs from the user's files (CSV / TSV / JSONL), for a ranker.

Each record holds ``question``, ``answer``, ``label`` (1: the answer answers the question,
0: it does not; the integer or its text) and optionally ``qid``. Without a ``qid`` column
(or key), questions are grouped by their text: every row with the same question text is
one question, numbered ``q1``, ``q2`` … in first-seen order. A file either has question
ids or not: the first record decides, and a later row without one is a bad row; one qid
holds one question text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from millicent.data.files import (
    Fields,
    Loaded,
    Record,
    RowError,
    collect,
    infer_format,
    iter_records,
    label_value,
    text_value,
)
from millicent.data.paths import PathLike
from millicent.data.trecqa import QAPair
from millicent.errors import InvalidInput


@dataclass(frozen=True)
class PairColumns:
    """Column (or key) names of a pairs file."""

    question: str = "question"
    answer: str = "answer"
    label: str = "label"
    qid: str = "qid"


def read_pairs(path: PathLike, fmt: str | None = None, columns: PairColumns | None = None,
               skip_bad_rows: bool = False) -> Loaded[QAPair]:
    """Every pair of a file, in file order, with the line each starts on.

    Raises :class:`~millicent.errors.DataError` listing bad rows unless ``skip_bad_rows``.
    """
    cols = columns or PairColumns()
    fmt = infer_format(path, fmt)
    if fmt not in ("csv", "tsv", "jsonl"):
        raise InvalidInput(f"{path}: pairs are read from csv, tsv or jsonl files, not {fmt}")
    fields = Fields(required=(cols.question, cols.answer, cols.label), optional=(cols.qid,),
                    hint=f"a ranker reads the columns {cols.question!r}, {cols.answer!r} and "
                         f"{cols.label!r} (0 or 1), and optionally {cols.qid!r}: name the "
                         "file's columns so")
    by_text: dict[str, str] = {}
    question_of: dict[str, tuple[str, int]] = {}  # qid -> (its question, first line)
    has_qid: list[bool] = []  # decided by the first record

    def convert(rec: Record) -> QAPair:
        question = text_value(rec, cols.question)
        answer = text_value(rec, cols.answer)
        label = label_value(rec, cols.label)
        if label not in ("0", "1"):
            raise RowError(f"label {label!r} is not 0 or 1")
        present = rec.fields.get(cols.qid) not in (None, "")
        if not has_qid:
            has_qid.append(present)
        if has_qid[0]:
            if not present:
                raise RowError(f"no {cols.qid!r} (the file's first row has one)")
            qid = label_value(rec, cols.qid)
            seen, line = question_of.setdefault(qid, (question, rec.line))
            if seen != question:
                raise RowError(f"qid {qid!r} holds another question on line {line}")
        else:
            qid = by_text.setdefault(question, f"q{len(by_text) + 1}")
        return QAPair(qid, question, answer, int(label))

    return collect(path, iter_records(path, fmt, fields), convert, skip_bad_rows)


def question_ids(pairs: Sequence[QAPair]) -> list[str]:
    """The distinct question ids in first-seen order."""
    return list(dict.fromkeys(p.qid for p in pairs))
