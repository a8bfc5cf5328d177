"""Evaluation metrics: accuracy, macro-F1, per-class precision / recall / F1 and the
confusion matrix (classification); MAP and MRR (answer selection).

Classification: ``confusion[i][j]`` counts examples of true label ``i`` predicted as ``j``
(rows = true labels, in the model's label order). A class's precision, recall or F1 whose
denominator is 0 is 0.0. Macro-F1 is the unweighted mean of the per-class F1 over the
classes that occur in the gold labels or the predictions (scikit-learn's default), so a
label a test file lacks and the model never predicts does not count as an F1 of 0.

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


def confusion_matrix(predicted: Sequence[int] | np.ndarray, gold: Sequence[int] | np.ndarray,
                     n_labels: int) -> np.ndarray:
    """``(n_labels, n_labels)`` int64 counts: row = true label, column = predicted label."""
    p, g = np.asarray(predicted, np.int64), np.asarray(gold, np.int64)
    if p.shape != g.shape:
        raise ValueError(f"{p.shape[0]} predictions for {g.shape[0]} labels")
    if p.size and (min(p.min(), g.min()) < 0 or max(p.max(), g.max()) >= n_labels):
        raise ValueError(f"a label index outside 0..{n_labels - 1}")
    return np.bincount(g * n_labels + p, minlength=n_labels * n_labels).reshape(n_labels, n_labels)


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def per_class(confusion: np.ndarray, labels: Sequence[str]) -> dict[str, dict[str, float | int]]:
    """``{label: {precision, recall, f1, support}}`` from a confusion matrix."""
    out: dict[str, dict[str, float | int]] = {}
    for i, label in enumerate(labels):
        tp = float(confusion[i, i])
        precision = _ratio(tp, float(confusion[:, i].sum()))
        recall = _ratio(tp, float(confusion[i, :].sum()))
        out[label] = {"precision": precision, "recall": recall,
                      "f1": _ratio(2 * precision * recall, precision + recall),
                      "support": int(confusion[i, :].sum())}
    return out


def macro_f1(confusion: np.ndarray) -> float:
    """Mean per-class F1 over the classes present in the gold labels or the predictions."""
    names = [str(i) for i in range(confusion.shape[0])]
    scores = per_class(confusion, names)
    seen = [i for i in range(confusion.shape[0])
            if confusion[i, :].sum() or confusion[:, i].sum()]
    if not seen:
        raise ValueError("macro-F1 of nothing")
    return float(np.mean([scores[names[i]]["f1"] for i in seen]))


def classification_metrics(predicted: Sequence[int] | np.ndarray,
                           gold: Sequence[int] | np.ndarray,
                           labels: Sequence[str]) -> dict[str, object]:
    """``accuracy``, ``macro_f1``, ``per_class`` and ``confusion_matrix`` (rows = true
    labels in ``labels`` order, as lists), plus ``n`` and ``labels``."""
    confusion = confusion_matrix(predicted, gold, len(labels))
    out: dict[str, object] = {
        "accuracy": accuracy(predicted, gold),
        "macro_f1": macro_f1(confusion),
        "per_class": per_class(confusion, labels),
        "confusion_matrix": confusion.tolist(),
        "labels": list(labels),
        "n": int(confusion.sum()),
    }
    out.update(macro_f1_scope(confusion, labels))
    return out


def macro_f1_scope(confusion: np.ndarray, labels: Sequence[str]) -> dict[str, object]:
    """Which classes :func:`macro_f1` averaged, and — when some of them have no example in
    the data (a model predicted a class the data lacks: F1 0) — the macro-F1 over the
    classes the data has, with a note saying so. Classes neither in the data nor predicted
    are left out of both, and named."""
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    averaged = [labels[i] for i in range(len(labels)) if support[i] or predicted[i]]
    out: dict[str, object] = {"macro_f1_classes": averaged}
    zero = [labels[i] for i in range(len(labels)) if not support[i] and predicted[i]]
    absent = [labels[i] for i in range(len(labels)) if not support[i] and not predicted[i]]
    notes = []
    if zero:
        present = [int(i) for i in np.flatnonzero(support)]
        f1 = per_class(confusion, labels)
        over_data = float(np.mean([f1[labels[i]]["f1"] for i in present]))
        out["macro_f1_data_classes"] = over_data
        notes.append(f"macro_f1 {macro_f1(confusion):.4f} averages {len(averaged)} classes, "
                     f"{len(zero)} of which have no example in the data but were predicted "
                     f"({', '.join(zero)}: F1 0 each); over the {len(present)} classes the "
                     f"data has, it is {over_data:.4f} (macro_f1_data_classes)")
    if absent:
        notes.append(f"{len(absent)} of the model's {len(labels)} classes neither occur in the "
                     f"data nor were predicted ({', '.join(absent)}): left out of macro_f1")
    if notes:
        out["notes"] = notes
    return out


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
