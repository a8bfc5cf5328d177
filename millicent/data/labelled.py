"""Labelled texts from the user's files (CSV / TSV / JSONL / stsa), for a classifier.

Labels are whatever the file holds — strings such as ``positive`` or integers — compared
as their text (:func:`millicent.data.files.label_value`): ``1`` in a stsa file equals
``1`` in a TSV or JSONL file.

**Label order** (the classifier's output index; recorded in the manifest): when every
label is an integer (``-?[0-9]+``), numeric order (``2`` before ``10``); otherwise sorted
by text (Python string order, i.e. by code point: ``Neg`` before ``neg``). The order
depends only on the set of labels, never on the order rows appear in.

A classifier needs at least two classes in training; dev and test files may hold only the
training labels (:func:`check_known`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from millicent.data.files import (
    Fields,
    Loaded,
    Record,
    collect,
    infer_format,
    iter_records,
    label_value,
    text_value,
)
from millicent.data.paths import PathLike
from millicent.errors import DataError, InvalidInput

_INTEGER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class Example:
    """One labelled text; ``label`` is the label's text as the file holds it."""

    text: str
    label: str


@dataclass(frozen=True)
class Columns:
    """Where a file keeps the text and the label (``--text-column`` / ``--label-column``)."""

    text: str = "text"
    label: str = "label"


def read_labelled(path: PathLike, fmt: str | None = None, columns: Columns | None = None,
                  skip_bad_rows: bool = False) -> Loaded[Example]:
    """Every example of a labelled file, with the line each starts on.

    Raises :class:`DataError` listing the bad rows (``FILE:LINE: what``) unless
    ``skip_bad_rows``, and when no row is usable.
    """
    cols = columns or Columns()
    fmt = infer_format(path, fmt)
    if fmt == "txt":
        raise InvalidInput(f"{path}: a txt file holds texts only; labelled data needs "
                           "--format csv|tsv|jsonl|stsa")
    fields = Fields(required=(cols.text, cols.label), positional=(cols.label, cols.text))

    def convert(rec: Record) -> Example:
        return Example(text_value(rec, cols.text), label_value(rec, cols.label))

    return collect(path, iter_records(path, fmt, fields), convert, skip_bad_rows)


def label_order(labels: Iterable[str]) -> tuple[str, ...]:
    """The distinct labels in the documented order (integers numerically, else by text)."""
    distinct = set(labels)
    if distinct and all(_INTEGER.fullmatch(x) for x in distinct):
        return tuple(sorted(distinct, key=lambda x: (int(x), x)))
    return tuple(sorted(distinct))


def class_counts(examples: Iterable[Example], labels: Sequence[str]) -> dict[str, int]:
    """``{label: examples}`` in ``labels`` order (labels without examples count 0)."""
    counts = Counter(e.label for e in examples)
    return {label: counts.get(label, 0) for label in labels}


def training_labels(train: Loaded[Example]) -> tuple[str, ...]:
    """The label order of a training file; refuses a file with fewer than two classes."""
    labels = label_order(e.label for e in train.rows)
    if len(labels) < 2:
        raise DataError(f"{train.path}: every usable row has the label {labels[0]!r}: a "
                        "classifier needs at least two classes", path=train.path)
    return labels


def check_known(data: Loaded[Example], labels: Sequence[str], known: Iterable[str] | None = None,
                what: str = "not among the training labels") -> None:
    """Refuse labels of a file outside ``known`` (default: ``labels``), naming where each
    first occurs; ``what`` says what they are not (the message lists ``labels``)."""
    allowed = set(labels if known is None else known)
    first: dict[str, int] = {}
    for ex, line in zip(data.rows, data.lines, strict=True):
        if ex.label not in allowed:
            first.setdefault(ex.label, line)
    if first:
        where = ", ".join(f"{label!r} (first on line {line})" for label, line in first.items())
        raise DataError(f"{data.path}: label(s) {what} ({', '.join(labels)}): {where}",
                        path=data.path, unknown=sorted(first))


def label_indices(examples: Iterable[Example], labels: Sequence[str]) -> list[int]:
    """Each example's label position in ``labels`` (check with :func:`check_known` first)."""
    index = {label: i for i, label in enumerate(labels)}
    return [index[e.label] for e in examples]


def describe_counts(counts: dict[str, int]) -> str:
    """``negative 3,310 · positive 3,610`` for a progress line."""
    return " · ".join(f"{label} {n:,}" for label, n in counts.items())
