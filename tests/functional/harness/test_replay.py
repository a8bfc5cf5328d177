"""The open-loop replay (``millicent bench --trace``) against a real aiohttp server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest

from millicent.cli.main import main
from millicent.economics.prices import load_prices
from millicent.harness.replay import ReplayOptions, replay, replay_endpoint, replay_summary
from millicent.harness.runner import load_run
from millicent.harness.scenario import Configuration
from millicent.harness.workload import Workload, classify_requests
from millicent.traffic.shapes import write_trace
from tests.functional.bench_contract_server import ContractServer, ThreadedServer


def test_requests_leave_on_schedule_whatever_the_answers_do() -> None:
    # every answer takes 0.5 s; a closed loop at C = 1 would need 10 s for 20 requests
    plan = classify_requests(["a SLOW one"] * 4)
    times = np.arange(20) * 0.05
    contract = ContractServer(slow_s=0.5)
    with ThreadedServer(contract) as srv:
        t0 = time.perf_counter()
        records, lags = asyncio.run(replay(srv.endpoint, plan, times))
        elapsed = time.perf_counter() - t0
    assert len(records) == 20 and all(r.ok for r in records)
    assert elapsed < 3.0
    # sent at the trace's times, so many were outstanding at once
    assert contract.max_in_flight >= 10 and max(r.in_flight for r in records) >= 10
    sent = np.array([r.sent_s for r in records])
    assert np.all(np.abs(sent - times) < 0.1) and lags.max() < 100
    assert [r.index for r in records[:5]] == [0, 1, 2, 3, 0]  # the workload cycled


def test_a_replay_directory_is_a_bench_run(tmp_path: Path) -> None:
    plan = classify_requests(["fine", "ERR503 down", "fine too"])
    trace = write_trace(tmp_path / "trace.txt", [10.0, 10.1, 10.2, 11.0, 11.5, 12.0])
    workload = Workload("kim", "test sentences", tuple(plan), len(plan))
    with ThreadedServer(ContractServer(cold_first=1)) as srv:
        summary = replay_endpoint(srv.endpoint, workload, trace, tmp_path / "out",
                                  ReplayOptions(load_prices(), Configuration("replay"),
                                                plots=False)).to_dict()
    assert summary["requests"] == 6 and summary["ok"] == 4 and summary["errors"] == {"503": 2}
    assert summary["cold_starts"] == 1 and summary["latency_ms"]["p99"] is not None
    assert json.loads((tmp_path / "out" / "replay.json").read_text()) == summary
    _, runs = load_run(tmp_path / "out")
    ((scenario, records),) = runs
    assert scenario.model == "kim" and len(records) == 6


def test_summary_counts_429s_apart() -> None:
    from millicent.harness.records import RequestRecord

    recs = [RequestRecord(0, "measure", 0.0, 5.0, 200, 1, cold=True),
            RequestRecord(1, "measure", 0.1, 1.0, 429, 2, error="429 throttled"),
            RequestRecord(2, "measure", 0.2, 2.0, 200, 1, cold=False)]
    s = replay_summary(recs, np.array([0.0, 1.0, 2.0]), "t").to_dict()
    assert (s["throttled_429"], s["cold_starts"], s["ok"]) == (1, 1, 2)
    assert s["latency_ms"]["p99"] == 5.0 and s["send_lag_ms"]["max"] == 2.0


@pytest.mark.parametrize(("extra", "message"), [(["--concurrency", "5"], "do not apply"),
                                                (["--trace", "/nonexistent/trace"], "no such file")])
def test_trace_flag_errors(tmp_path: Path, extra: list[str], message: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    trace = write_trace(tmp_path / "t.txt", [0.0])
    args = ["bench", "--endpoint", "http://127.0.0.1:9", "--model", "kim", "--trace", str(trace),
            "--out", str(tmp_path / "o"), *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err

