"""Seeded dev hold-outs for training without a ``--dev`` file.

* Classification (:func:`stratified_holdout`): ``fraction`` of each class, rounded, at
  least one row of every class that has two or more (a class with one row stays in
  training), drawn with ``numpy.random.default_rng(seed)`` class by class in label order.
* Ranking (:func:`question_holdout`): ``fraction`` of the *questions* — never part of
  one — stratified by whether a question has a correct answer (a dev question without
  one adds nothing to MAP / MRR), drawn the same way.

Both return sorted row indices ``(train, dev)`` and a :class:`Holdout` summary for the
manifest: the rule, the seed, and the file lines of the held-out rows (listed up to
:data:`MAX_RECORDED_LINES`, always with their sha256).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from millicent.errors import DataError

DEV_FRACTION = 0.1
#: held-out lines listed in the manifest up to this many (beyond: only their sha256)
MAX_RECORDED_LINES = 10_000


@dataclass(frozen=True)
class Holdout:
    """What was held out, for ``manifest.training.dataset``."""

    rule: str  # "stratified by label" | "by question, stratified by has-a-correct-answer"
    fraction: float
    seed: int
    rows: int  # dev rows
    questions: int | None  # dev questions (ranking only)
    lines: tuple[int, ...]  # file lines of the dev rows, ascending

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # the lines themselves while they stay small; the seed reproduces them anyway
        d["lines"] = list(self.lines) if len(self.lines) <= MAX_RECORDED_LINES else None
        d["lines_sha256"] = hashlib.sha256(",".join(map(str, self.lines)).encode()).hexdigest()
        return d


def _draw(groups: Sequence[Sequence[int]], fraction: float, rng: np.random.Generator) -> list[int]:
    """``round(fraction * n)`` members of each group (≥ 1 of a group of ≥ 2), flattened."""
    out: list[int] = []
    for members in groups:
        n = len(members)
        k = min(n - 1, max(1, round(fraction * n))) if n >= 2 else 0
        picked = rng.permutation(n)[:k]
        out.extend(members[i] for i in picked)
    return out


def _check_fraction(fraction: float) -> None:
    if not 0.0 < fraction < 1.0:
        raise DataError(f"the dev fraction must be between 0 and 1, got {fraction}")


def stratified_holdout(labels: Sequence[str], order: Sequence[str], lines: Sequence[int],
                       fraction: float = DEV_FRACTION, seed: int = 1
                       ) -> tuple[list[int], list[int], Holdout]:
    """``(train rows, dev rows, summary)``: ``fraction`` of each label's rows held out."""
    _check_fraction(fraction)
    by_label: dict[str, list[int]] = {label: [] for label in order}
    for i, label in enumerate(labels):
        by_label[label].append(i)
    dev = sorted(_draw(list(by_label.values()), fraction, np.random.default_rng(seed)))
    if not dev:
        raise DataError(f"{len(labels)} training rows are too few to hold out a dev set; "
                        "pass --dev FILE")
    held = set(dev)
    train = [i for i in range(len(labels)) if i not in held]
    summary = Holdout("stratified by label", fraction, seed, len(dev), None,
                      tuple(lines[i] for i in dev))
    return train, dev, summary


def question_holdout(qids: Sequence[str], labels: Sequence[int], lines: Sequence[int],
                     fraction: float = DEV_FRACTION, seed: int = 1
                     ) -> tuple[list[int], list[int], Holdout]:
    """``(train rows, dev rows, summary)``: ``fraction`` of the questions, whole."""
    _check_fraction(fraction)
    rows_of: dict[str, list[int]] = {}
    for i, q in enumerate(qids):
        rows_of.setdefault(q, []).append(i)
    ids = list(rows_of)
    answered = [j for j, q in enumerate(ids) if any(labels[i] for i in rows_of[q])]
    unanswered = [j for j, q in enumerate(ids) if not any(labels[i] for i in rows_of[q])]
    picked = _draw([answered, unanswered], fraction, np.random.default_rng(seed))
    answered_set = set(answered)
    if not any(j in answered_set for j in picked):
        raise DataError(f"{len(ids)} questions ({len(answered)} with a correct answer) are too "
                        "few to hold out a dev set; pass --dev FILE")
    dev_ids = {ids[j] for j in picked}
    dev = [i for i, q in enumerate(qids) if q in dev_ids]
    train = [i for i, q in enumerate(qids) if q not in dev_ids]
    summary = Holdout("by question, stratified by has-a-correct-answer", fraction, seed,
                      len(dev), len(dev_ids), tuple(lines[i] for i in dev))
    return train, dev, summary
