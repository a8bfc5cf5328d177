"""Pure logic of the demo's parity check and of the comparison's targets."""

from __future__ import annotations

import pytest

from millicent.baselines.parity import compare_answers
from millicent.economics.cost import Cost
from millicent.errors import DataError
from millicent.harness.rows import ResultRow
from millicent.testbed.targets import targets, targets_table
from tests.bench_support import result_row


def test_answers_agree_within_tolerance_and_labels() -> None:
    local = [{"label_index": 1, "probabilities": [0.2, 0.8]}, {"scores": [0.25]}]
    same = [{"label_index": 1, "probabilities": [0.2, 0.8 + 1e-9]}, {"scores": [0.25], "score": 0.25}]
    p = compare_answers(local, same)
    assert p.ok and p.n == 2 and p.same_labels == 2 and 0 < p.max_abs_diff < 1e-8
    off = [{"label_index": 0, "probabilities": [0.2, 0.8]}, {"scores": [0.2501]}]
    p = compare_answers(local, off)
    assert not p.ok and p.mismatches == [0, 1] and p.same_labels == 1
    assert p.max_abs_diff == pytest.approx(1e-4)
    # an answer without the values is a mismatch, not a crash
    assert compare_answers(local, [{"error": "x"}, {"scores": [0.25]}]).mismatches == [0]
    assert not compare_answers([], []).ok
    with pytest.raises(DataError):
        compare_answers(local, local[:1])


def _row(config: str, c: int, p50: float, qps: float, fetch: float, mean: float,
         total: float | None, variable: float | None) -> ResultRow:
    cost = None if total is None or variable is None else Cost(compute=variable,
                                                                requests=total - variable)
    return result_row(config, "kim", c, throughput_qps=qps, p50=p50, mean=mean, fetch=fetch,
                      cost=cost)


def test_targets_are_ratios_to_the_baselines_at_the_same_c() -> None:
    rows = [_row("paper", 5, 50.0, 100.0, 40.0, 52.0, 5.0, 1.2),
            _row("millicent", 5, 4.0, 600.0, 0.3, 5.0, 0.4, 0.2),
            _row("server", 5, 1.0, 1000.0, 0.1, 1.0, None, None),
            _row("millicent", 20, 10.0, 700.0, 2.0, 10.0, 0.5, 0.3)]
    typed5, typed20 = targets(rows)
    t5, t20 = typed5.to_dict(), typed20.to_dict()
    assert t5["p50_lower"] == pytest.approx(12.5)
    assert t5["throughput_of_server"] == pytest.approx(0.6)
    assert t5["fetch_share"] == pytest.approx(0.06)
    assert t5["cost_lower"] == pytest.approx(12.5) and t5["variable_cost_lower"] == pytest.approx(6.0)
    # no baseline at C=20: nothing to compare with, not a zero
    assert t20["p50_lower"] is None and t20["throughput_of_server"] is None
    assert t20["fetch_share"] == pytest.approx(0.2)
    text = targets_table([typed5, typed20])
    assert "12.50× ✓" in text and "0.60×" in text and "0.60× ✓" not in text and "6.0% ✓" in text
    assert targets([r for r in rows if r.config != "millicent"]) == []
    # C = 1 is labelled (nothing else ran): a row like any other, the same targets
    (typed1,) = targets([_row("paper", 1, 20.0, 50.0, 15.0, 20.0, 5.0, 1.2),
                         _row("millicent", 1, 2.0, 500.0, 0.1, 2.0, 0.4, 0.2)])
    t1 = typed1.to_dict()
    assert t1["p50_lower"] == pytest.approx(10.0)
    assert "| kim | 1 (alone) | 10.00× ✓ |" in targets_table([typed1])
