"""The bill of each deployment option against hand-computed figures."""

from __future__ import annotations

import numpy as np
import pytest

from millicent.economics.prices import load_prices
from millicent.economics.rules import load_rules
from millicent.plan.costs import CostSettings, break_even_qps, option_bill, size_server
from millicent.plan.dynamodb_rules import dynamodb_rules
from millicent.plan.outcome import Outcome
from millicent.plan.profile import StoreLoad
from millicent.plan.store_load import evaluate_store

PRICES = load_prices()
HOUR = 3600.0


def outcome(option: str, **kw: object) -> Outcome:
    n = np.array([600_000.0, 400_000.0])
    base = dict(option=option, method="aggregated", step_s=1800.0, requests=n,
                cold=np.array([10.0, 0.0]), throttled={"account": np.zeros(2), "scaling": np.zeros(2)},
                environments=np.ones(2), concurrency=np.ones(2), latency_ms=np.ones(1),
                latency_weights=np.ones(1), billed_ms=1_000_000 * 10.0,
                store_reads=n * 3.0, key_reads={})
    base.update(kw)
    return Outcome(**base)  # type: ignore[arg-type]


def bill(o: Outcome, cs: CostSettings | None = None):  # type: ignore[no-untyped-def]
    cs = cs or CostSettings()
    store = evaluate_store(o, StoreLoad(3.0, (("the", 0.5),), 208), dynamodb_rules(load_rules()))
    return option_bill(o, store, PRICES, cs, HOUR)


def test_on_demand_components() -> None:
    b = bill(outcome("on-demand"))
    # 10^6 requests × 10 ms at 128 MB: 1,250 GB-s × $0.0000166667
    assert b.compute == pytest.approx(1250 * 0.0000166667)
    assert b.requests == pytest.approx(0.20) and b.gateway == 0
    # 3 reads per request × 0.5 unit × $0.125 per million units
    assert b.dynamodb == pytest.approx(3e6 * 0.5 * 0.125 / 1e6)
    assert b.monthly() == pytest.approx(b.total * 730)
    assert bill(outcome("on-demand"), CostSettings(gateway="http")).gateway == pytest.approx(1.0)
    provisioned_table = bill(outcome("on-demand"), CostSettings(dynamodb_mode="provisioned", provisioned_rcu=500))
    assert provisioned_table.dynamodb == pytest.approx(500 * 0.00013)


def test_snapstart_cache_minimum_and_restores() -> None:
    b = bill(outcome("snapstart", restore_billed_ms=10 * 200.0))
    gb = 0.125
    # an hour of traffic still pays the 3-hour cache minimum; 10 restores of 0.125 GB
    assert b.snapstart == pytest.approx(gb * 3 * HOUR * 0.0000015046 + 10 * gb * 0.0001397998)
    assert b.compute == pytest.approx((1e7 + 2000) / 1000 * gb * 0.0000166667)


def test_provisioned_allocation_and_duration() -> None:
    b = bill(outcome("provisioned", provisioned=4, provisioned_served=5e5, provisioned_billed_ms=5e6,
                     billed_ms=5e6))
    gb = 0.125
    assert b.provisioned == pytest.approx(4 * gb * HOUR * 0.0000041667 + 5e3 * gb * 0.0000097222)
    assert b.compute == pytest.approx(5e3 * gb * 0.0000166667)


def test_break_even() -> None:
    one = size_server(100, 0.0168, None, None)
    # one instance: rate = price per hour / 3600 / cost per query
    assert break_even_qps(1e-6, one) == pytest.approx(0.0168 / 3600 / 1e-6)
    sized = size_server(100, 0.0168, None, 10.0)
    assert sized.instances == 10
    # capacity 10 req/s per instance: every instance costs the same per month, so the
    # break-even is where one fully used instance's price per query equals ours
    assert break_even_qps(1e-6, sized) == pytest.approx(0.0168 / 3600 / 1e-6)
    assert break_even_qps(1e-12, sized) is None  # serverless is always cheaper there
