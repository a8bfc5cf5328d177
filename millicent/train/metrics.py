"""Evaluation metrics: accuracy (classification), MAP and MRR (answer selection).

Ranking ties are broken *pessimistically*: among answers with equal scores, the
non-relevant ones rank first. This matters on TrecQA, where every question lists its
positive answers first: a stable sort of tied (or saturated) scores would put them on top
and report MAP = MRR = 1.0 for a model that knows nothing. Questions with no relevant
answer are skipped (trec_eval practice).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def accuracy(predicted: Sequence[int] | np.ndarray, gold: Sequence[int] | np.ndarray) -> float:
    """Share of predictions equal to the gold labels."""
    p, g = np.asarray(predicted), np.asarray(gold)
    if p.shape != g.shape:
        raise ValueError(f"{p.shape[0]} predictions for {g.shape[0]} labels")
    if p.size == 0:
        raise ValueError("accuracy of nothing")
    return float((p == g).mean())


def _ranked_labels(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels in rank order: score descending, ties with the non-relevant answers first."""
    # lexsort: last key is primary → −score ascending, then label ascending (0 before 1)
    order = np.lexsort((labels, -scores))
    return labels[order]


def group_by_question(qids: Sequence[str]) -> list[np.ndarray]:
    """Indices of each question's answers, questions in first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, q in enumerate(qids):
        groups.setdefault(q, []).append(i)
    return [np.array(ix, dtype=np.int64) for ix in groups.values()]


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """AP of one question's answers, or None when it has no relevant answer."""
    ranked = _ranked_labels(np.asarray(scores, np.float64), np.asarray(labels, np.int64))
    hits = np.flatnonzero(ranked > 0)
    if hits.size == 0:
        return None
    precisions = np.arange(1, hits.size + 1) / (hits + 1)
    return float(precisions.mean())


def reciprocal_rank(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """1 / rank of the first relevant answer, or None when there is none."""
    ranked = _ranked_labels(np.asarray(scores, np.float64), np.asarray(labels, np.int64))
    hits = np.flatnonzero(ranked > 0)
    if hits.size == 0:
        return None
    return float(1.0 / (hits[0] + 1))


def map_mrr(
    qids: Sequence[str], scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray
) -> dict[str, float | int]:
    """``{"map", "mrr", "questions"}`` over the questions that have a relevant answer."""
    s, y = np.asarray(scores, np.float64), np.asarray(labels, np.int64)
    if not (len(qids) == s.shape[0] == y.shape[0]):
        raise ValueError("qids, scores and labels must have the same length")
    aps, rrs = [], []
    for ix in group_by_question(qids):
        ap = average_precision(s[ix], y[ix])
        if ap is None:
            continue
        aps.append(ap)
        rrs.append(reciprocal_rank(s[ix], y[ix]) or 0.0)
    if not aps:
        raise ValueError("no question has a relevant answer")
    return {"map": float(np.mean(aps)), "mrr": float(np.mean(rrs)), "questions": len(aps)}
