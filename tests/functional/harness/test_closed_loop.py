"""The closed-loop harness against a real aiohttp server on a loopback port."""

from __future__ import annotations

import asyncio
import math

import pytest

from millicent.economics.cost import CostOptions, cost_per_million
from millicent.economics.prices import load_prices
from millicent.economics.stats import latency_stats
from millicent.harness.closed_loop import ClientOptions, run_closed_loop
from millicent.harness.scenario import Configuration, Scenario
from millicent.harness.summary import summarize
from millicent.harness.workload import PlannedRequest, classify_requests
from tests.functional.bench_contract_server import ContractServer, ThreadedServer
from tests.servers import free_port

PRICES = load_prices()


def _plan(n: int, every: int = 0) -> list[PlannedRequest]:
    """``n`` classify requests; every ``every``-th one forces a 400, 500 or 503 in turn."""
    texts = []
    for i in range(n):
        text = f"sentence number {i} is fine"
        if every and i % every == every - 1:
            text += " " + ("ERR400", "ERR500", "ERR503")[(i // every) % 3]
        texts.append(text)
    return classify_requests(texts)


def _scenario(c: int, n: int, warmup: int = 0) -> Scenario:
    return Scenario(Configuration("local"), "kim", c, n, warmup)


def test_never_more_and_exactly_c_in_flight_at_steady_state() -> None:
    c, n, warm = 8, 200, 16
    plan = _plan(n, every=10)  # errors hold their connection slot like any request
    # the gate releases one request only once C are waiting at the server (see its docstring)
    contract = ContractServer(gate=c, boundaries=(warm, warm + n), min_s=0, max_s=0, error_s=0)
    with ThreadedServer(contract) as srv:
        records = asyncio.run(run_closed_loop(srv.endpoint, plan, c, measured=range(n),
                                              warmup=range(warm)))
    assert len(records) == n + warm
    assert [r.phase for r in records] == ["warmup"] * warm + ["measure"] * n
    assert sorted(r.index for r in records if r.phase == "measure") == list(range(n))
    assert contract.max_in_flight == c  # never more than C
    assert contract.gate_timeouts == 0  # the client always had C outstanding
    # every release outside the two drains (once a phase has sent its last request) happened
    # with exactly C in flight: arrivals C..warm-1 and warm+C..warm+n-1 each freed one
    assert len(contract.releases) == (warm - c) + (n - c)
    assert set(contract.releases) == {c}
    assert max(r.in_flight for r in records) == c
    assert sum(not r.ok for r in records if r.phase == "measure") == 20


def test_a_client_keeping_fewer_than_c_in_flight_is_caught() -> None:
    # the check above can fail: C-1 outstanding against a gate of C times out
    contract = ContractServer(gate=4, boundaries=(12,), min_s=0, max_s=0, gate_timeout_s=0.1)
    with ThreadedServer(contract) as srv:
        asyncio.run(run_closed_loop(srv.endpoint, _plan(12), 3, measured=range(12)))
    assert contract.gate_timeouts > 0
    assert contract.max_in_flight == 3


def test_errors_are_counted_and_never_averaged_in() -> None:
    c, n, warm = 6, 120, 12
    plan = _plan(n, every=6)  # 20 forced errors answering after 0.5 s, successes in 2-6 ms
    contract = ContractServer(error_s=0.5)
    with ThreadedServer(contract) as srv:
        records = asyncio.run(run_closed_loop(srv.endpoint, plan, c, measured=range(n),
                                              warmup=range(warm)))
    row = summarize(_scenario(c, n, warm), records, PRICES).to_dict()
    assert row["requests"] == n and row["warmup_requests"] == warm
    assert row["errors"] == 20 and row["ok"] == 100
    assert row["error_kinds"] == {"400": 7, "500": 7, "503": 6}
    measured = [r for r in records if r.phase == "measure"]
    bad = [r for r in measured if not r.ok]
    good = [r for r in measured if r.ok]
    assert "forced 500" in next(r.error for r in bad if r.status == 500)  # type: ignore[operator]
    assert next(r.error for r in bad if r.status == 503) == "503 Service Unavailable"
    # the latency statistics are those of the successes alone
    assert row["latency_ms"] == latency_stats(r.latency_ms for r in good).to_dict()
    assert row["latency_ms"]["n"] == 100
    assert row["latency_ms"]["max"] < min(r.latency_ms for r in bad)
    assert row["latency_ms"]["p50"] <= row["latency_ms"]["p90"] <= row["latency_ms"]["p99"]
    assert row["throughput_qps"] == pytest.approx(100 / row["window_s"])
    # server fields parsed from the headers and the body
    assert all(r.duration_source == "header" and r.cpu_ms == 0.6 for r in good)
    assert all(r.cold is False and r.max_memory_mb == 61 and r.request_id for r in good)
    assert row["cache_hit_rate"] is not None and 0 < row["cache_hit_rate"] < 1
    assert row["breakdown_ms"]["fetch"] is not None
    cost = row["cost_per_million_usd"]
    assert cost["store"] > 0 and cost["gateway"] == 0.0 and cost["total"] > cost["variable"]
    assert cost["requests_priced"] == 100


def test_without_gateway_headers_duration_is_estimated_and_cold_read_from_body() -> None:
    contract = ContractServer(headers=False, cold_first=3)
    with ThreadedServer(contract) as srv:
        records = asyncio.run(run_closed_loop(srv.endpoint, _plan(30), 3, measured=range(30)))
    assert all(r.ok and r.duration_source == "timings" for r in records)
    assert all(r.duration_ms == r.timings["total_ms"] for r in records)
    assert sum(bool(r.cold) for r in records) == 3
    # the INIT ran inside the invocation (no `init` key: before eager INIT): counted once,
    # as part of total_ms, and kept in the timings for the report
    assert all(r.init_ms == 0.0 and r.init_kind is None and r.timings["init_ms"] == 120.0
               for r in records if r.cold)
    row = summarize(_scenario(3, 30), records, PRICES).to_dict()
    assert row["init"]["init_inside_ms"]["n"] == 3 and row["init"]["init_ms"]["n"] == 0
    assert row["cold_starts"] == 3
    assert row["latency_ms"]["n"] == 27 and row["cold_latency_ms"]["n"] == 3
    assert row["duration_source"] == "timings"
    assert any("estimated" in n for n in row["cost_notes"])
    assert row["lambda_projection"] is None  # durations not from the local platform


def test_without_gateway_headers_an_eager_init_is_outside_the_invocation() -> None:
    contract = ContractServer(headers=False, cold_first=2, init="eager")
    with ThreadedServer(contract) as srv:
        records = asyncio.run(run_closed_loop(srv.endpoint, _plan(10), 1, measured=range(10)))
    cold = [r for r in records if r.cold]
    assert len(cold) == 2
    assert all((r.init_ms, r.init_kind) == (120.0, "init") for r in cold)
    report = cost_per_million([r.usage() for r in cold], PRICES, CostOptions())
    assert report.mean_billed_ms == pytest.approx(
        sum(math.ceil(r.duration_ms + 120.0) for r in cold) / 2)


def test_function_route_and_api_key_header_are_sent() -> None:
    contract = ContractServer()
    plan = classify_requests(["a sentence"] * 4, function="kim")
    assert plan[0].path == "/kim"
    with ThreadedServer(contract) as srv:
        records = asyncio.run(run_closed_loop(srv.endpoint, plan, 2, measured=range(4),
                                              options=ClientOptions(headers={"x-api-key": "k"})))
    assert all(r.ok for r in records)


def test_client_timeout_and_refused_connections_are_errors_not_exceptions() -> None:
    contract = ContractServer(slow_s=1.0)
    plan = classify_requests(["fast one", "SLOW one", "fast two"])
    with ThreadedServer(contract) as srv:
        records = asyncio.run(run_closed_loop(srv.endpoint, plan, 3, measured=range(3),
                                              options=ClientOptions(timeout_s=0.3)))
    slow = records[1]
    assert slow.status == 0 and slow.error is not None and "timeout" in slow.error
    assert records[0].ok and records[2].ok

    refused = asyncio.run(run_closed_loop(f"http://127.0.0.1:{free_port()}", _plan(5), 2,
                                          measured=range(5)))
    assert len(refused) == 5 and all(r.status == 0 and r.error for r in refused)
    row = summarize(_scenario(2, 5), refused, PRICES).to_dict()
    assert row["errors"] == 5 and row["error_kinds"] == {"no response": 5}
    assert row["latency_ms"]["n"] == 0 and row["cost_per_million_usd"] is None
