"""Denial of wallet: the worst case at a cap, the ceiling, and the recommended cap."""

from __future__ import annotations

import math

import pytest

from millicent.analysis.decisions import Bounds, bound
from millicent.economics.cost import Cost, CostOptions
from millicent.economics.prices import load_prices
from millicent.economics.worstcase import cap_for_budget, erlang_b, recommended_cap, worst_case
from millicent.errors import ConfigError

PRICES = load_prices()
X86 = 0.0000166667
# one 2 ms request at 128 MB behind a Function URL: compute + Lambda's request charge
PER_REQUEST = Cost(compute=0.002 * 0.125 * X86, requests=0.2e-6)


def test_worst_case_at_a_reservation_of_five() -> None:
    w = worst_case(5, "reserved concurrency", 2.0, PER_REQUEST)
    assert w.requests_per_second == 2500.0  # 5 environments × 500 requests/s each
    per_hour = 2500 * 3600 * (0.002 * 0.125 * X86 + 0.2e-6)
    assert w.per_hour_usd == pytest.approx(per_hour)
    assert per_hour == pytest.approx(1.8375, abs=1e-4)
    assert w.per_month_usd == pytest.approx(per_hour * 730)
    assert "5 concurrent executions (reserved concurrency)" in w.sentence()
    with pytest.raises(ConfigError):
        worst_case(0, "x", 2.0, PER_REQUEST)


def test_bound_gives_the_cap_in_force_the_ceiling_and_a_recommendation() -> None:
    opts = CostOptions(memory_mb=128)
    reserved = bound(PER_REQUEST, 2.0, Bounds(reserved_concurrency=5), PRICES, opts).to_dict()
    assert reserved["at_measured_duration"]["cap"] == 5
    # the ceiling: 1,000 billed 1 ms requests per second per environment
    ceiling = 5 * 1000 * 3600 * (0.001 * 0.125 * X86 + 0.2e-6)
    assert reserved["ceiling_1ms"]["per_hour_usd"] == pytest.approx(ceiling)
    unreserved = bound(PER_REQUEST, 2.0, Bounds(account_concurrency=10), PRICES, opts).to_dict()
    assert unreserved["at_measured_duration"]["cap"] == 10
    assert unreserved["at_measured_duration"]["cap_source"] == "the account's concurrency limit"
    budget = bound(PER_REQUEST, 2.0, Bounds(budget_usd=100.0), PRICES, opts).to_dict()
    one_env_month = 500 * 3600 * 730 * PER_REQUEST.total
    assert budget["cap_within_budget"] == math.floor(100.0 / one_env_month)
    with pytest.raises(ConfigError, match="blocks every request"):
        Bounds(reserved_concurrency=0)


def test_erlang_b_and_the_recommended_cap() -> None:
    assert erlang_b(1, 0.5) == pytest.approx(0.5 / 1.5)
    # the textbook value: 10 Erlangs on 15 trunks block ≈ 3.65 %
    assert erlang_b(15, 10.0) == pytest.approx(0.0365, abs=1e-4)
    # 100 requests/s of 20 ms = 2 Erlangs: the smallest cap blocking ≤ 0.1 %
    cap = recommended_cap(100.0, 20.0)
    assert erlang_b(cap, 2.0) <= 0.001 < erlang_b(cap - 1, 2.0)
    assert cap == 8
    assert recommended_cap(0.0, 20.0) == 1


def test_cap_for_budget() -> None:
    w = worst_case(10, "x", 2.0, PER_REQUEST)
    assert cap_for_budget(w.per_month_usd, w) == 10
    assert cap_for_budget(w.per_month_usd / 10 - 0.01, w) == 0
