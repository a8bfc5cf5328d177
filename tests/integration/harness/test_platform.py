"""The harness against the real local platform (`millicent serve`, awslambdaric environments).

The function is the platform tests' fixture handler, so this needs no model or store: it
checks what the harness reads from the platform's x-millicent-* headers, that the platform
never sees more than C executions (its concurrency limit is C: one more would be a 429),
that cold starts stay in the warm-up, and that real 5xx / 429 answers are counted as errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from millicent.economics.prices import load_prices
from millicent.harness.closed_loop import run_closed_loop
from millicent.harness.scenario import Configuration, Scenario
from millicent.harness.summary import summarize
from millicent.harness.workload import PlannedRequest
from millicent.testing.loopback import PlatformProcess, start_platform

pytestmark = pytest.mark.integration
C = 3


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    p = start_platform(["--function", "echo=tests.lambda_functions.handler", "--max-concurrency",
                        str(C), "--timeout", "10", "--idle-timeout", "120"],
                       tmp_path_factory.mktemp("platform"))
    yield p
    assert p.stop() == 0


def test_closed_loop_on_the_platform(platform: PlatformProcess) -> None:
    plan = [PlannedRequest.json("/echo", {"action": "sleep", "seconds": 0.01}) for _ in range(30)]
    plan[7] = PlannedRequest.json("/echo", {"action": "echo", "status": 500})
    records = asyncio.run(run_closed_loop(platform.url, plan, C, measured=range(30),
                                          warmup=range(2 * C)))
    warm, meas = records[:2 * C], records[2 * C:]
    # C environments started during the warm-up, none in the measured phase
    assert all(r.cold is not None for r in records)
    assert sum(bool(r.cold) for r in warm) >= 1
    assert not any(r.cold for r in meas)
    # the platform's limit is C: one request more in flight would have been a 429
    assert not any(r.status == 429 for r in records)
    row = summarize(Scenario(Configuration("platform", store="none"), "kim", C, 30, 2 * C),
                    records, load_prices()).to_dict()
    assert row["errors"] == 1 and row["error_kinds"] == {"500": 1}
    assert row["ok"] == 29 and row["max_in_flight"] == C
    ok = [r for r in meas if r.ok]
    assert all(r.duration_source == "header" and r.duration_ms is not None for r in ok)
    assert all(r.duration_ms >= 10 and r.cpu_ms is not None and r.memory_mb == 128 for r in ok)  # type: ignore[operator]
    assert all(r.latency_ms >= r.duration_ms for r in ok)  # type: ignore[operator]
    assert row["cost_per_million_usd"]["mean_billed_ms"] >= 10
    assert row["latency_ms"]["p50"] >= 10


def test_throttles_beyond_the_platform_limit_are_errors(platform: PlatformProcess) -> None:
    plan = [PlannedRequest.json("/echo", {"action": "sleep", "seconds": 0.2}) for _ in range(2 * C + 2)]
    records = asyncio.run(run_closed_loop(platform.url, plan, C + 2, measured=range(len(plan))))
    throttled = [r for r in records if r.status == 429]
    assert throttled and all(r.error and not r.ok for r in throttled)
    row = summarize(Scenario(Configuration("platform", store="none"), "kim", C + 2, len(plan), 0),
                    records, load_prices()).to_dict()
    assert row["error_kinds"].get("429") == len(throttled)
    assert row["latency_ms"]["n"] == row["ok"] - row["cold_starts"]
