"""Open-loop replay of a trace: ``millicent bench --endpoint URL --trace FILE``.

Unlike the closed loop (:mod:`millicent.harness.closed_loop`), requests are sent at the trace's
times whatever the answers do: a burst goes out as a burst even when the endpoint is slow
or throttling, and an idle gap stays idle — so cold starts after idle reclaim and 429s
beyond the concurrency limit happen as they would in production. The trace is read and
turned into request times by :func:`millicent.traffic.shapes.arrival_times`, the same
definition ``millicent plan`` simulates, so a plan and a replay of one trace see the same
arrivals. Request ``i`` carries item ``i mod n`` of the model's evaluation set. How late each
request left against its scheduled time is recorded (``send_lag_ms``), so a client that
could not keep up is visible, not hidden.

The run directory holds ``plan.json``, ``records/<config>-<model>-c<peak in flight>.jsonl``
(the usual request records: the directory is a bench run ``millicent plan --from-bench`` reads), ``results.json`` / ``report.md`` (the usual row) and ``replay.json``: requests,
successes, cold starts, 429s, errors by kind, p50/p99 over every successful request (cold
starts included) and the send lag.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from millicent.economics.prices import PriceSheet
from millicent.errors import ConfigError, missing_extra
from millicent.harness.closed_loop import ClientLoop, ClientOptions, send
from millicent.harness.records import RequestRecord, write_records
from millicent.harness.scenario import Configuration
from millicent.harness.workload import PlannedRequest, Workload

#: the schedule starts this long after the client is ready (so request 0 is not late)
LEAD_S = 0.2


async def replay(endpoint: str, plan: Sequence[PlannedRequest], times: np.ndarray,
                 options: ClientOptions | None = None) -> tuple[list[RequestRecord], np.ndarray]:
    """Send ``plan[i % len(plan)]`` at ``times[i]`` seconds; (records, send lag in ms)."""
    try:
        import aiohttp
    except ImportError as exc:  # pragma: no cover - aiohttp is in the bench extra
        raise missing_extra("aiohttp", "bench") from exc
    if not plan:
        raise ConfigError("nothing to replay: the workload is empty")
    opts = options or ClientOptions()
    records: list[RequestRecord] = []
    lags = np.zeros(times.size)
    in_flight = 0

    async def one(rec: RequestRecord, req: PlannedRequest, loop: ClientLoop) -> None:
        nonlocal in_flight
        try:
            await send(loop, req, rec)
        finally:
            in_flight -= 1

    # no connection limit: an open loop must never wait for a free connection
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector, headers=dict(opts.headers)) as session:
        tasks = []
        t0 = time.perf_counter() + LEAD_S
        loop = ClientLoop(session, endpoint, opts, t0)
        for i, at in enumerate(times.tolist()):
            delay = t0 + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.perf_counter() - t0
            lags[i] = max(0.0, now - at) * 1000.0
            in_flight += 1
            rec = RequestRecord(index=i % len(plan), phase="measure", sent_s=now, latency_ms=0.0,
                                status=0, in_flight=in_flight)
            records.append(rec)
            tasks.append(asyncio.create_task(one(rec, plan[i % len(plan)], loop)))
        await asyncio.gather(*tasks)
    return records, lags


@dataclass(frozen=True)
class Spread:
    """p50, p99 and max of a set of milliseconds (None: no value)."""

    p50: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay measured (the figures a plan predicts); ``replay.json``."""

    trace: str
    requests: int
    ok: int
    cold_starts: int
    throttled_429: int
    errors: dict[str, int]  #: HTTP status (or "no response") → count
    latency_ms: Spread  #: every successful request, cold starts included
    max_in_flight: int
    send_lag_ms: Spread  #: how late each request left against its scheduled time

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def replay_summary(records: Sequence[RequestRecord], lags: np.ndarray, label: str) -> ReplaySummary:
    """What the replay measured (the figures a plan predicts)."""
    ok = [r for r in records if r.ok]
    lat = np.array([r.latency_ms for r in ok])
    kinds = Counter(str(r.status) if r.status else "no response" for r in records if not r.ok)

    def pct(q: float) -> float | None:
        return float(np.percentile(lat, q, method="inverted_cdf")) if lat.size else None

    def lag(q: float) -> float | None:
        return float(np.percentile(lags, q)) if lags.size else None

    return ReplaySummary(
        trace=label, requests=len(records), ok=len(ok), cold_starts=sum(1 for r in ok if r.cold),
        throttled_429=sum(1 for r in records if r.status == 429),
        errors=dict(sorted(kinds.items())),
        latency_ms=Spread(pct(50), pct(99), float(lat.max()) if lat.size else None),
        max_in_flight=max((r.in_flight for r in records), default=0),
        send_lag_ms=Spread(lag(50), lag(99), float(lags.max()) if lags.size else None))


@dataclass(frozen=True)
class ReplayOptions:
    """How a replay is priced and sent (``seed``: as ``millicent plan --seed``, for traces
    of counts whose requests are placed at random inside each step)."""

    prices: PriceSheet
    config: Configuration
    billing: str = "1ms"
    client: ClientOptions | None = None
    seed: int = 0
    plots: bool = True


def replay_endpoint(endpoint: str, workload: Workload, trace: Path, out_dir: Path,
                    opts: ReplayOptions) -> ReplaySummary:
    """Replay ``trace`` against ``endpoint`` and write the run directory (module docstring)."""
    from millicent.harness.runner import finish, write_plan
    from millicent.harness.scenario import Scenario
    from millicent.harness.summary import summarize
    from millicent.jsonfile import write_json
    from millicent.traffic.shapes import arrival_times, read_trace

    prices, config, billing = opts.prices, opts.config, opts.billing
    traffic = read_trace(trace)
    times = arrival_times(traffic, opts.seed)
    if not times.size:
        raise ConfigError(f"trace {trace} has no requests")
    print(f"replay: {traffic.describe()} → {endpoint}{workload.requests[0].path}", flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    records, lags = asyncio.run(replay(endpoint, workload.requests, times, opts.client))
    peak = max((r.in_flight for r in records), default=1)
    scenario = Scenario(config, workload.model, max(1, peak), len(records), 0)
    write_plan(out_dir, {"endpoint": endpoint, "trace": str(trace), "open_loop": True, "seed": opts.seed},
               [scenario], {workload.model: workload}, prices, billing)
    write_records(out_dir / "records" / f"{scenario.slug}.jsonl", records)
    summary = replay_summary(records, lags, traffic.label)
    write_json(out_dir / "replay.json", summary.to_dict())
    row = summarize(scenario, records, prices, config.cost_options(billing))
    finish(out_dir, [row], prices, header=[f"Endpoint: `{endpoint}`, open-loop replay of `{trace}`"],
           plots=opts.plots and row.ok > 0)
    return summary
