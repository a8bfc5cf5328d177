"""Memory projection, recommendation and break-even on hand-computed cases."""

from __future__ import annotations

import pytest

from millicent.economics.cost import CostOptions, Usage
from millicent.economics.prices import load_prices
from millicent.economics.tuning import break_even, cpu_share, project_duration, sweep_memory
from millicent.errors import InvalidInput

PRICES = load_prices()


def test_cpu_share_is_proportional_up_to_one_vcpu() -> None:
    assert cpu_share(128, 1769) == pytest.approx(128 / 1769)
    assert cpu_share(1769, 1769) == 1.0
    assert cpu_share(3008, 1769) == 1.0  # single-threaded: more vCPUs do not help


def test_projection_stretches_only_the_cpu_part() -> None:
    # measured locally (a full core): 10 ms of which 4 ms CPU, 6 ms waiting on the store
    assert project_duration(10, 4, 3008, 1769) == pytest.approx(10)
    assert project_duration(10, 4, 128, 1769) == pytest.approx(6 + 4 * 1769 / 128)
    # measured on Lambda at 128 MB: the same work, seen through a 128/1769 share
    at_128 = 6 + 4 * 1769 / 128
    assert project_duration(at_128, 4, 1769, 1769, measured_share=128 / 1769) == pytest.approx(10)
    with pytest.raises(InvalidInput):
        project_duration(10, 4, 128, 1769, measured_share=0)


def test_sweep_recommends_the_cheapest_memory_meeting_the_target() -> None:
    usages = [Usage(duration_ms=10.0, cpu_ms=4.0, latency_ms=12.0, item_bytes=(1200,) * 4)] * 10
    sweep = sweep_memory(usages, PRICES, CostOptions(), memories_mb=(128, 256, 512),
                         target_ms=50.0, statistic="p99")
    by_mb = {o.memory_mb: o for o in sweep.options}
    assert by_mb[128].latency_ms.p99 == pytest.approx(2 + 6 + 4 * 1769 / 128)  # 63.3 ms
    assert by_mb[128].meets_target is False
    assert by_mb[256].meets_target is True
    # 128 MB bills 62 ms × 0.125 GB; 256 MB bills 34 ms × 0.25 GB
    assert by_mb[128].cost_per_million.compute == pytest.approx(0.062 * 0.125 * 0.0000166667 * 1e6)
    assert by_mb[256].cost_per_million.compute == pytest.approx(0.034 * 0.25 * 0.0000166667 * 1e6)
    # DynamoDB and the gateway do not depend on memory
    assert by_mb[128].cost_per_million.store == by_mb[512].cost_per_million.store == pytest.approx(0.25)
    assert sweep.recommended is not None and sweep.recommended.memory_mb == 256
    cheapest = sweep_memory(usages, PRICES, CostOptions(), memories_mb=(128, 256, 512))
    assert cheapest.recommended is not None and cheapest.recommended.memory_mb == 128
    none = sweep_memory(usages, PRICES, CostOptions(), memories_mb=(128,), target_ms=5.0)
    assert none.recommended is None


def test_sweep_refuses_missing_cpu_and_bad_memory() -> None:
    with pytest.raises(InvalidInput, match="CPU time"):
        sweep_memory([Usage(duration_ms=10.0)], PRICES, CostOptions())
    with pytest.raises(InvalidInput, match="memory"):
        sweep_memory([Usage(duration_ms=10.0, cpu_ms=1.0)], PRICES, CostOptions(), memories_mb=(64,))


def test_break_even() -> None:
    be = break_even(5.0, 0.0168)  # $5 per million queries vs $0.0168 per hour
    assert be.qps == pytest.approx(0.0168 / 3600 / 5e-6)  # ≈ 0.93 queries/s
    serverless, instance = be.monthly_cost(be.qps)
    assert serverless == pytest.approx(instance) == pytest.approx(0.0168 * 730)
    assert be.monthly_cost(2 * be.qps)[0] == pytest.approx(2 * instance)
    assert be.feasible is None
    capped = break_even(5.0, 0.0168, instance_capacity_qps=0.5)
    assert capped.feasible is False
    assert capped.monthly_cost(1.2)[1] == pytest.approx(3 * 0.0168 * 730)  # three instances
    with pytest.raises(InvalidInput):
        break_even(0.0, 0.0168)
