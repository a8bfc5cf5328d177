"""Percentiles on known data: numeric sort, both stated definitions, bad input refused."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from millicent.economics.stats import latency_stats, mean, percentile

ONE_TO_TEN = [7, 3, 10, 1, 9, 2, 8, 4, 6, 5]


@pytest.mark.parametrize(("q", "expected"), [(0, 1), (10, 1), (11, 2), (50, 5), (90, 9),
                                             (91, 10), (99, 10), (100, 10)])
def test_nearest_rank_on_one_to_ten(q: float, expected: float) -> None:
    # nearest rank: sorted[ceil(q/100 * n) - 1]
    assert percentile(ONE_TO_TEN, q) == expected


@pytest.mark.parametrize(("q", "expected"), [(0, 1.0), (50, 5.5), (90, 9.1), (99, 9.91), (100, 10.0)])
def test_linear_on_one_to_ten(q: float, expected: float) -> None:
    assert percentile(ONE_TO_TEN, q, method="linear") == pytest.approx(expected)


def test_linear_matches_numpy_default() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 1) for _ in range(1101)]
    for q in (1, 25, 50, 90, 99, 99.9):
        assert percentile(values, q, method="linear") == pytest.approx(float(np.percentile(values, q)))


def test_nearest_rank_matches_numpy_inverted_cdf() -> None:
    rng = random.Random(11)
    values = [rng.uniform(1, 900) for _ in range(1148)]
    for q in (50, 90, 99):
        expected = float(np.percentile(values, q, method="inverted_cdf"))
        assert percentile(values, q) == expected


def test_p99_of_paper_sized_set_is_the_1090th_value() -> None:
    values = list(range(1, 1102))  # 1101 requests, like SST-1 dev
    random.Random(3).shuffle(values)
    assert percentile(values, 99) == 1090  # ceil(0.99 * 1101) = 1090
    assert percentile(values, 50) == 551


def test_sort_is_numeric_not_lexical() -> None:
    # as strings, "100" < "20" < "9": the paper's harness got these orders
    values = [9.0, 100.0, 20.0, 1000.0, 3.0]
    assert percentile(values, 50) == 20.0
    assert percentile(values, 100) == 1000.0
    assert latency_stats(values).max == 1000.0
    assert latency_stats(values).min == 3.0


def test_strings_bools_and_nan_are_refused() -> None:
    with pytest.raises(TypeError):
        percentile(["9", "100"], 50)
    with pytest.raises(TypeError):
        latency_stats([1.0, True])
    with pytest.raises(ValueError):
        percentile([1.0, math.nan], 50)
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([1.0], 50, method="midpoint")  # type: ignore[arg-type]


def test_latency_stats_summary_and_empty() -> None:
    s = latency_stats([4, 1, 3, 2])
    assert (s.n, s.mean, s.p50, s.p90, s.p99, s.max, s.min) == (4, 2.5, 2, 4, 4, 4, 1)
    assert s.method == "nearest-rank"
    empty = latency_stats([])
    assert empty.n == 0 and empty.mean is None and empty.p99 is None
    assert mean([]) is None
    assert mean([1, 2]) == 1.5
