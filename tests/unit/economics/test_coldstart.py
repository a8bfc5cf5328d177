"""On-demand, SnapStart and provisioned concurrency by the month, against hand-computed cases."""

from __future__ import annotations

import math

import pytest

from millicent.economics.coldstart import (
    SECONDS_PER_MONTH,
    ColdPhases,
    Traffic,
    WarmProfile,
    provisioned_environments,
    strategies,
)
from millicent.economics.cost import Cost, CostOptions, Usage
from millicent.economics.prices import load_prices
from millicent.errors import ConfigError

PRICES = load_prices()
X86 = 0.0000166667
GB = 1.0  # 1024 MB
# a warm request at 1024 MB: 2 ms billed, Lambda's request charge, nothing else
WARM = WarmProfile(1024, Cost(compute=0.002 * GB * X86, requests=0.2e-6), 1.8, 5.0)
COLD = ColdPhases(init_ms=1000.0, restore_ms=150.0, billed_restore_ms=40.0, measured_share=1.0)
TRAFFIC = Traffic(monthly_requests=1_000_000, cold_start_rate=0.01)


def _by_name(**kw: object) -> dict[str, object]:
    args = {"warm": WARM, "cold": COLD, "traffic": TRAFFIC, "prices": PRICES,
            "options": CostOptions(memory_mb=1024), **kw}
    return {s.name: s for s in strategies(**args)}  # type: ignore[arg-type]


def test_on_demand_bills_the_projected_init_of_each_cold_start() -> None:
    s = _by_name()["on-demand"]
    # INIT measured on a full core, projected to 1024 MB's 1024/1769 of a vCPU
    init = 1000.0 * 1769 / 1024
    assert s.cold_latency_ms == pytest.approx(init + 5.0)
    assert s.per_cold_start_usd == pytest.approx(1728 / 1000 * GB * X86)
    assert s.monthly_usd == pytest.approx(1e6 * (0.002 * X86 + 0.2e-6) + 1e4 * 1728e-3 * X86)
    assert s.fixed_usd == 0.0
    free = _by_name(options=CostOptions(memory_mb=1024, era="2025-07-31"))["on-demand"]
    assert free.per_cold_start_usd == 0.0 and free.monthly_usd == pytest.approx(1e6 * (0.002 * X86 + 0.2e-6))


def test_snapstart_pays_cache_all_month_and_a_fee_per_restore() -> None:
    s = _by_name()["snapstart"]
    cache = GB * SECONDS_PER_MONTH * 0.0000015046  # ≈ $3.95 a month for 1 GB
    assert cache == pytest.approx(3.954, abs=0.001)
    per_restore = GB * 0.0001397998 + 0.040 * GB * X86
    assert s.per_cold_start_usd == pytest.approx(per_restore)
    assert s.fixed_usd == pytest.approx(cache + 1728e-3 * X86)  # + the version's one INIT
    assert s.monthly_usd == pytest.approx(1e6 * (0.002 * X86 + 0.2e-6) + 1e4 * per_restore + s.fixed_usd)
    assert s.cold_latency_ms == pytest.approx(150.0 + 5.0)
    # the restore fee alone is ≈ 8.4 s of x86 compute at the same memory (DESIGN.md)
    assert pytest.approx(8.39, abs=0.01) == 0.0001397998 / X86
    unmeasured = _by_name(cold=ColdPhases(init_ms=1000.0))["snapstart"]
    assert unmeasured.cold_latency_ms is None and any("no restore" in n for n in unmeasured.notes)


def test_provisioned_concurrency_allocates_all_month_at_the_lower_duration_price() -> None:
    s = _by_name()["provisioned"]
    assert s.environments == 1  # 0.38 requests/s × 1.8 ms needs far less than one
    allocated = GB * SECONDS_PER_MONTH * 0.0000041667
    init = 1728e-3 * GB * 0.0000097222
    assert s.fixed_usd == pytest.approx(allocated + init)
    assert s.monthly_usd == pytest.approx(1e6 * (0.002 * GB * 0.0000097222 + 0.2e-6) + s.fixed_usd)
    assert s.cold_latency_ms == 5.0 and s.per_cold_start_usd == 0.0
    five = _by_name(traffic=Traffic(1_000_000, 0.01, provisioned=5))["provisioned"]
    assert five.environments == 5 and five.fixed_usd == pytest.approx(5 * s.fixed_usd)


def test_environments_for_the_mean_rate() -> None:
    # 2.628 billion requests a month = 1,000 requests/s; at 25 ms each, 25 busy at once
    assert provisioned_environments(Traffic(2.628e9), 25.0) == 25
    assert provisioned_environments(Traffic(1_000), 25.0) == 1


def test_cold_phases_from_measured_requests() -> None:
    usages = [Usage(2.0, 900.0, "init"), Usage(2.0, 1100.0, "init"), Usage(2.0, 1000.0, "init"),
              Usage(2.0, 120.0, "restore", restore_billed_ms=30), Usage(2.0)]
    c = ColdPhases.from_usages(usages, inside_init_ms=[1200.0])
    assert (c.init_ms, c.restore_ms, c.billed_restore_ms, c.inside_ms) == (1000.0, 120.0, 30.0, 1200.0)
    o = c.with_overrides(init_ms=None, restore_ms=80.0)
    assert (o.init_ms, o.restore_ms, o.billed_restore_ms, o.inside_ms) == (1000.0, 80.0, None, 1200.0)
    whole = c.with_overrides(init_ms=500.0, restore_ms=None)
    assert (whole.init_ms, whole.inside_ms) == (500.0, None)  # --init-ms is the whole INIT
    assert ColdPhases.from_usages([Usage(2.0)]).init_ms is None


def test_projected_init_past_ten_seconds_is_flagged() -> None:
    s = strategies(WarmProfile(128, Cost(), 20.0, 30.0), ColdPhases(init_ms=1000.0), TRAFFIC,
                   PRICES, CostOptions(memory_mb=128))[0]
    assert s.cold_latency_ms == pytest.approx(1000.0 * 1769 / 128 + 30.0)
    assert any("10 s INIT limit" in n for n in s.notes)


@pytest.mark.parametrize("kw", [{"monthly_requests": 0}, {"cold_start_rate": 1.5},
                                {"cold_start_rate": -0.1}, {"provisioned": 0}])
def test_traffic_validation(kw: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        Traffic(**kw)  # type: ignore[arg-type]


def test_a_lazy_build_inside_the_first_invocation() -> None:
    # the platform's Init Duration (300 ms) plus a build inside the first invocation (280 ms)
    lazy = ColdPhases(init_ms=300.0, inside_ms=280.0, restore_ms=20.0, measured_share=1.0)
    scale = 1769 / 1024
    s = _by_name(cold=lazy)
    assert s["on-demand"].cold_latency_ms == pytest.approx((300.0 + 280.0) * scale + 5.0)
    assert s["on-demand"].per_cold_start_usd == pytest.approx(
        (math.ceil(300 * scale) + math.ceil(280 * scale)) / 1000 * X86)
    # in the era of free INIT, the build inside the invocation is still duration
    free = _by_name(cold=lazy, options=CostOptions(memory_mb=1024, era="2025-07-31"))["on-demand"]
    assert free.per_cold_start_usd == pytest.approx(math.ceil(280 * scale) / 1000 * X86)
    # a restore does not hold it: it follows every restore
    snap = s["snapstart"]
    assert snap.cold_latency_ms == pytest.approx(20.0 + 280.0 * scale + 5.0)
    assert any("lazy INIT" in n for n in snap.notes)
