"""Pure logic of the comparison's millicent-layout-vs-whole goals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from millicent.economics.cost import Cost
from millicent.harness.rows import ResultRow
from millicent.harness.scenario import BASELINES
from millicent.testbed.coldprobe import BurstSummary, ColdSummary
from millicent.testbed.layout_goals import layout_goals, layout_section
from tests.bench_support import result_row


def _row(config: str, c: int, p50: float | None, memory: float | None, total: float | None,
         ok: int = 100, memory_mb: int = 256) -> ResultRow:
    row = result_row(config, "minilm", c, p50=p50,
                     cost=None if total is None else Cost(compute=total - 0.2, requests=0.2))
    base = BASELINES[config].with_(memory_mb=memory_mb)
    if base.engine == "numpy":
        base = base.with_(engine="onnxruntime")
    return replace(row, configuration=base, max_memory_mb=memory, ok=ok,
                   errors=100 - ok, error_kinds={"502": 100 - ok} if ok < 100 else {})


def _cold(config: str, init: float | None, memory: float | None) -> ColdSummary:
    return ColdSummary(config, "minilm", 3, 3, 3, 1500.0, [1500.0], init, None, 30.0, 900.0,
                       memory, BurstSummary(0, 0, 0, None, None))


def test_each_millicent_configuration_is_set_against_whole_at_the_same_c() -> None:
    rows = [_row("sqlite", 1, 28.0, 114.5, 0.305), _row("millicent", 1, 31.0, 130.4, 0.456),
            _row("whole", 1, 27.0, 160.0, 0.286), _row("sqlite", 5, 40.0, 115.0, 0.31)]
    cold = {("sqlite", "minilm"): _cold("sqlite", 600.0, 111.0),
            ("millicent", "minilm"): _cold("millicent", 2000.0, 126.0),
            ("whole", "minilm"): _cold("whole", 1400.0, 164.0)}
    sqlite, millicent = layout_goals(rows, cold)  # C = 5 has no whole row: nothing to compare
    assert (sqlite.config, sqlite.concurrency, millicent.config) == ("sqlite", 1, "millicent")
    # the peak: the scenario's or the isolated cold starts', whichever is larger
    assert sqlite.max_memory_mb == 114.5 and sqlite.whole_max_memory_mb == 164.0
    assert sqlite.memory_ratio == pytest.approx(114.5 / 164.0)
    assert sqlite.init_ratio == pytest.approx(600 / 1400)
    assert sqlite.p50_ratio == pytest.approx(28 / 27) and sqlite.cost_ratio == pytest.approx(0.305 / 0.286)
    assert sqlite.met() == {"memory": True, "init": True, "p50": True, "cost": True}
    assert millicent.met() == {"memory": True, "init": False, "p50": False, "cost": False}
    text = layout_section([sqlite, millicent])
    assert "114.5 / 164.0 = 0.70× ✓" in text and "2,000.0 / 1,400.0 = 1.43×" in text
    assert "1.43× ✓" not in text and "256 / 256" in text
    # no whole configuration in the run: no goals
    assert layout_goals([r for r in rows if r.config != "whole"], cold) == []


def test_a_whole_model_that_answered_nothing_is_said_so() -> None:
    rows = [_row("sqlite", 1, 35.7, 114.5, 0.267, memory_mb=128),
            _row("whole", 1, None, None, None, ok=0, memory_mb=128)]
    (goal,) = layout_goals(rows, {("sqlite", "minilm"): _cold("sqlite", 1500.0, 111.6)})
    assert goal.whole_ok == 0 and goal.whole_error_kinds == {"502": 100}
    assert goal.p50_ratio is None and goal.met()["p50"] is None
    text = layout_section([goal])
    assert "whole answered none (100 × 502)" in text and "128 / 128" in text
