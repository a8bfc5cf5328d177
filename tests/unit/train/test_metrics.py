"""Accuracy, MAP and MRR, with pessimistic tie-breaking."""

from __future__ import annotations

import numpy as np
import pytest

from millicent.train.metrics import accuracy, average_precision, map_mrr, reciprocal_rank


def test_accuracy() -> None:
    assert accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    with pytest.raises(ValueError):
        accuracy([1], [1, 2])


def test_average_precision_and_rr_by_hand() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    labels = np.array([0, 1, 0, 1])
    assert average_precision(scores, labels) == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert reciprocal_rank(scores, labels) == pytest.approx(0.5)
    assert average_precision(scores, np.zeros(4, dtype=int)) is None


def test_ties_are_broken_pessimistically() -> None:
    # positives listed first, as in every TrecQA split: a stable sort would give 1.0
    labels = np.array([1, 1, 0, 0, 0])
    scores = np.ones(5)
    assert average_precision(scores, labels) == pytest.approx((1 / 4 + 2 / 5) / 2)
    assert reciprocal_rank(scores, labels) == pytest.approx(1 / 4)


def test_constant_scores_do_not_beat_a_random_ranking() -> None:
    rng = np.random.default_rng(0)
    qids, labels = [], []
    for q in range(60):
        n = int(rng.integers(3, 20))
        pos = int(rng.integers(1, n))
        qids += [f"q{q}"] * n
        labels += [1] * pos + [0] * (n - pos)  # positives first
    y = np.array(labels)
    constant = map_mrr(qids, np.zeros(len(y)), y)
    saturated = map_mrr(qids, np.ones(len(y), dtype=np.float32), y)
    random_maps = [map_mrr(qids, rng.random(len(y)), y)["map"] for _ in range(20)]
    random_mrrs = [map_mrr(qids, rng.random(len(y)), y)["mrr"] for _ in range(20)]
    assert constant == saturated
    assert constant["map"] < min(random_maps)
    assert constant["mrr"] <= min(random_mrrs)
    # and a perfect ranking is 1.0
    assert map_mrr(qids, y.astype(float), y)["map"] == 1.0


def test_questions_without_a_positive_are_skipped() -> None:
    out = map_mrr(["a", "a", "b", "b"], [0.9, 0.1, 0.5, 0.4], [1, 0, 0, 0])
    assert out == {"map": 1.0, "mrr": 1.0, "questions": 1}
    with pytest.raises(ValueError):
        map_mrr(["b", "b"], [0.5, 0.4], [0, 0])
