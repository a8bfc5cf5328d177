"""Macro-F1, per-class precision / recall / F1 and the confusion matrix, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from millicent.train.metrics import (
    classification_metrics,
    confusion_matrix,
    macro_f1,
    per_class,
)

GOLD = [0, 0, 0, 1, 1, 2, 2, 2, 2, 0]
PRED = [0, 1, 0, 1, 2, 2, 2, 0, 2, 0]
LABELS = ["neg", "neu", "pos"]


def test_confusion_matrix_rows_are_true_labels() -> None:
    cm = confusion_matrix(PRED, GOLD, 3)
    assert cm.tolist() == [[3, 1, 0], [0, 1, 1], [1, 0, 3]]
    assert cm.dtype == np.int64 and cm.sum() == len(GOLD)
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([3], [0], 3)
    with pytest.raises(ValueError, match="predictions"):
        confusion_matrix([0, 1], [0], 3)


def test_per_class_and_macro_f1_by_hand() -> None:
    cm = confusion_matrix(PRED, GOLD, 3)
    pc = per_class(cm, LABELS)
    # neg: tp 3, predicted 4, true 4; neu: tp 1, predicted 2, true 2; pos: tp 3, predicted 4, true 4
    assert pc["neg"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4}
    assert pc["neu"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert pc["pos"]["f1"] == pytest.approx(0.75)
    assert macro_f1(cm) == pytest.approx((0.75 + 0.5 + 0.75) / 3)


def test_a_class_absent_from_gold_and_predictions_does_not_count() -> None:
    cm = confusion_matrix([0, 1, 1], [0, 1, 0], 3)
    pc = per_class(cm, LABELS)
    assert pc["pos"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    f1_neg = 2 * 1.0 * 0.5 / 1.5
    f1_neu = 2 * 0.5 * 1.0 / 1.5
    assert macro_f1(cm) == pytest.approx((f1_neg + f1_neu) / 2)
    # a class that is predicted but never true counts (F1 0)
    cm2 = confusion_matrix([2, 0], [0, 0], 3)
    assert macro_f1(cm2) == pytest.approx((2 * 1.0 * 0.5 / 1.5 + 0.0) / 2)


def test_classification_metrics() -> None:
    m = classification_metrics(PRED, GOLD, LABELS)
    assert m["accuracy"] == 0.7 and m["n"] == 10 and m["labels"] == LABELS
    assert m["confusion_matrix"] == [[3, 1, 0], [0, 1, 1], [1, 0, 3]]
    assert set(m["per_class"]) == set(LABELS)  # type: ignore[arg-type]
