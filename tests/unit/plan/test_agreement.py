"""The aggregated simulator (per time step) against the exact one (per request) on the same
small traces: cold starts, throttles, bill, store reads and latency must agree."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from millicent.economics.rules import load_rules
from millicent.plan.aggregate import simulate_aggregated
from millicent.plan.exact import simulate_exact
from millicent.plan.lambda_rules import lambda_rules
from millicent.plan.outcome import Outcome
from millicent.plan.profile import profile_from_dict
from millicent.plan.service_times import service_times
from millicent.plan.settings import SimSettings
from millicent.traffic.shapes import Traffic, parse_traffic


def settings(limit: int, idle: str, option: str = "on-demand") -> SimSettings:
    rng = np.random.default_rng(0)
    profile = profile_from_dict({
        "warm": {"duration_ms": [float(x) for x in rng.gamma(4.0, 2.5, 300)], "overhead_ms": 2.0},
        "cold": {"init_ms": [float(x) for x in rng.normal(300, 30, 30)], "duration_ms": 20.0,
                 "overhead_ms": 2.0},
        "store": {"request_keys": [["the", "a"], ["the"], ["film", "the"], []]}})
    times = service_times(profile, 128, 1769, "none")
    return SimSettings(times, lambda_rules(load_rules(), account=limit, idle=idle), profile.store,
                       option=option)


def close(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1.0)


def billed(o: Outcome) -> float:
    return o.billed_ms + o.restore_billed_ms + o.provisioned_billed_ms


def exact_runs(traffic: Traffic, s: SimSettings, seeds: int = 4) -> list[Outcome]:
    """The exact simulation is one realisation; the aggregated one an expectation: average."""
    return [simulate_exact(traffic, replace(s, seed=k)) for k in range(seeds)]


def compare(agg: Outcome, runs: list[Outcome]) -> None:
    ta = agg.totals()
    exact = runs[0]
    te = exact.totals()
    cold = float(np.mean([r.totals()["cold_starts"] for r in runs]))
    assert close(ta["requests"], te["requests"], 0.02)
    assert close(ta["cold_starts"], cold, 0.2), (ta["cold_starts"], cold)
    assert close(ta["throttled_total"], te["throttled_total"], 0.1), (ta["throttled"], te["throttled"])
    assert close(billed(agg), billed(exact), 0.05)
    assert close(float(agg.store_reads.sum()), float(exact.store_reads.sum()), 0.03)
    assert close(float(agg.key_reads["the"].sum()), float(exact.key_reads["the"].sum()), 0.03)
    assert close(ta["latency_ms"]["p99"], te["latency_ms"]["p99"], 0.2)


@pytest.mark.parametrize(("spec", "limit", "idle"), [
    ("bursty:0.5:40:10m:1m", 1000, "2m"),     # bursts from a near-idle function: cold starts
    ("bursty:1:400:10m:1m", 6, "2m"),         # bursts beyond the concurrency limit: throttles
    ("diurnal:30:1", 1000, "uniform:1m:3m"),  # a compressed day, a spread idle time
])
def test_aggregated_agrees_with_exact(spec: str, limit: int, idle: str) -> None:
    traffic = parse_traffic(spec, 0.1, 1.0)
    s = settings(limit, idle)
    compare(simulate_aggregated(traffic, s), exact_runs(traffic, s))


def test_agreement_with_provisioned_and_snapstart() -> None:
    traffic = parse_traffic("bursty:0.5:40:10m:1m", 0.1, 1.0)
    for option in ("provisioned", "snapstart"):
        s = settings(1000, "2m", option)
        agg, runs = simulate_aggregated(traffic, s), exact_runs(traffic, s)
        compare(agg, runs)
        exact = runs[0]
        assert agg.provisioned == exact.provisioned
        assert close(agg.provisioned_served, exact.provisioned_served, 0.1)


def test_no_traffic_no_cost() -> None:
    traffic = parse_traffic("constant:0", 0.01, 1.0)
    s = settings(10, "1m")
    for out in (simulate_aggregated(traffic, s), simulate_exact(traffic, s)):
        assert out.totals()["cold_starts"] == 0 and out.billed_ms == 0


def test_sampled_levels_match_every_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above 64 levels every s-th level is computed for the others: against all of them."""
    from millicent.plan import aggregate

    traffic = parse_traffic("diurnal:20000:200", 0.5, 60.0)  # ≈ 200 executions in flight at the peak
    s = settings(1000, "10m")
    sampled = simulate_aggregated(traffic, s)
    monkeypatch.setattr(aggregate, "_levels", lambda floor, top: (
        np.arange(floor + 1, top + 1, dtype=float), np.ones(top - floor)))
    full = simulate_aggregated(traffic, s)
    assert sampled.totals()["cold_starts"] > 100
    assert close(sampled.totals()["cold_starts"], full.totals()["cold_starts"], 0.02)
    assert close(float(sampled.environments.max()), float(full.environments.max()), 0.02)
