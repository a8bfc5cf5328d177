"""A whole benchmark run into a directory, re-priced by `millicent cost`, against a real
loopback server answering with the response contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from millicent.cli.main import main
from millicent.economics.prices import load_prices
from millicent.harness.closed_loop import ClientOptions
from millicent.harness.records import read_records
from millicent.harness.runner import Reporting, plan_scenarios, recompute, run_benchmark
from millicent.harness.scenario import Configuration
from millicent.harness.workload import Workload, classify_requests
from tests.functional.bench_contract_server import ContractServer, ThreadedServer

PRICES = load_prices()
PNG = b"\x89PNG\r\n\x1a\n"


def _workload(n: int = 40) -> Workload:
    texts = [f"an ordinary sentence {i}" for i in range(n - 2)] + ["a bad one ERR400", "ERR503 x"]
    return Workload("kim", "test sentences", tuple(classify_requests(texts)), n)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    workload = _workload()
    scenarios = plan_scenarios(Configuration("local", gateway="http"), workload, [2, 4], repeat=2)
    with ThreadedServer(ContractServer(cold_first=2, error_s=0.01)) as srv, \
            open(out / "stdout.txt", "w") as stdout, open(out / "stderr.txt", "w") as stderr:
        run_benchmark(srv.endpoint, scenarios, {"kim": workload}, out, PRICES,
                      ClientOptions(timeout_s=10), Reporting(out=stdout, err=stderr))
    return out


def test_run_writes_plan_records_results_report_and_plots(run_dir: Path) -> None:
    plan = json.loads((run_dir / "plan.json").read_text())
    assert [s["slug"] for s in plan["scenarios"]] == ["local-kim-c2", "local-kim-c4"]
    assert plan["prices"]["date"] == PRICES.date
    stdout = (run_dir / "stdout.txt").read_text()
    assert stdout.startswith("plan: 2 scenario(s)")  # the plan is printed before running
    assert "4 warm-up + 80 measured (2 pass(es))" in stdout
    assert "| config | model | C |" in stdout
    assert "errors" in (run_dir / "stderr.txt").read_text()  # the progress bar

    records = read_records(run_dir / "records" / "local-kim-c2.jsonl")
    assert len(records) == 4 + 80
    assert sum(r.phase == "warmup" for r in records) == 4
    # the two cold starts happened in the warm-up and are not in the measured phase
    assert all(r.cold for r in records[:2]) and not any(r.cold for r in records[4:])

    rows = json.loads((run_dir / "results.json").read_text())
    assert [(r["config"], r["model"], r["concurrency"]) for r in rows] == [("local", "kim", 2),
                                                                         ("local", "kim", 4)]
    for r in rows:
        assert r["requests"] == 80 and r["errors"] == 4 and r["ok"] == 76
        assert r["error_kinds"] == {"400": 2, "503": 2}
        assert set(r["latency_ms"]) >= {"mean", "p50", "p90", "p99", "max"}
        assert r["throughput_qps"] > 0 and r["cold_starts"] == 0
        assert set(r["breakdown_ms"]) >= {"tokenize", "fetch", "forward", "other"}
        assert 0 < r["cache_hit_rate"] < 1
        cost = r["cost_per_million_usd"]
        assert cost["gateway"] == pytest.approx(1.0) and cost["requests"] == pytest.approx(0.2)
        assert cost["total"] == pytest.approx(
            cost["compute"] + cost["requests"] + cost["store"] + cost["gateway"])
        assert r["prices"]["date"] == PRICES.date
        # measured on a full core, projected to 128 MB's share of one: CPU 0.6 ms → 8.3 ms
        proj = r["lambda_projection"]
        assert proj["memory_mb"] == 128
        assert proj["duration_ms"]["mean"] == pytest.approx(
            r["breakdown_ms"]["total"] + 0.05 + 0.6 * (1769 / 128 - 1), rel=0.05)
        assert proj["cost_per_million_usd"]["compute"] > cost["compute"]
    report = (run_dir / "report.md").read_text()
    assert "| local | kim | 4 | 80 | 4 (400: 2, 503: 2) | 0 |" in report
    assert "nearest rank" in report
    assert "## Projected on AWS Lambda at the configured memory" in report
    for name in ("latency.png", "throughput.png", "cost.png"):
        assert (run_dir / name).read_bytes().startswith(PNG)


def test_recompute_from_records_under_other_options(run_dir: Path) -> None:
    base = [r.to_dict() for r in recompute(run_dir, PRICES)]
    saved = json.loads((run_dir / "results.json").read_text())
    assert base[0]["cost_per_million_usd"]["total"] == pytest.approx(
        saved[0]["cost_per_million_usd"]["total"])
    doubled = [r.to_dict() for r in recompute(run_dir, PRICES, overrides={"memory_mb": 256})]
    assert doubled[0]["cost_per_million_usd"]["compute"] == pytest.approx(
        2 * base[0]["cost_per_million_usd"]["compute"])
    old = [r.to_dict()
           for r in recompute(run_dir, PRICES, billing="100ms", overrides={"gateway": "rest"})]
    assert old[0]["cost_per_million_usd"]["mean_billed_ms"] == 100  # every call < 100 ms
    assert old[0]["cost_per_million_usd"]["gateway"] == pytest.approx(3.5)


def test_cost_verb(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["cost", "--results", str(run_dir), "--gateway", "rest", "--billing", "100ms",
               "--latency-target-ms", "500", "--memories", "128,256,1769",
               "--instance-usd-per-hour", "0.0168"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "## Memory projection" in out and "## Break-even" in out
    data = json.loads((run_dir / "cost.json").read_text())
    assert data["rows"][0]["cost_per_million_usd"]["gateway"] == pytest.approx(3.5)
    sweep = data["memory"]["local/kim/C=2"]
    assert [o["memory_mb"] for o in sweep["options"]] == [128, 256, 1769]
    assert sweep["recommended_mb"] == 128  # every call is far below the target and 100 ms
    be = data["break_even"]["local/kim/C=2"]
    assert be["break_even_qps"] == pytest.approx(
        0.0168 / 3600 / (data["rows"][0]["cost_per_million_usd"]["total"] / 1e6))
    for name in ("breakeven.png", "memory.png"):
        assert (run_dir / name).read_bytes().startswith(PNG)
    # cold starts bought down three ways, per memory size, at the default month
    assert "## Cold starts: on-demand, SnapStart, provisioned concurrency (1,000,000 requests/month" in out
    cold = data["cold_starts"]["local/kim/C=2"]
    assert sorted(cold) == ["128", "1769", "256"]
    assert [s["strategy"] for s in cold["128"]] == ["on-demand", "snapstart", "provisioned"]
    # the worst case at the cap in force (here the account's default limit) is always there
    worst = data["worst_case"]["local/kim/C=2"]
    assert worst["at_measured_duration"]["cap"] == 1000 and "per hour" in worst["sentence"]
    assert "## Worst case (denial of wallet)" in out
    rc = main(["cost", "--results", str(run_dir), "--reserved-concurrency", "5", "--no-plots",
               "--monthly-requests", "5e6", "--cold-start-rate", "0.05", "--provisioned-concurrency", "2"])
    assert rc == 0
    data = json.loads((run_dir / "cost.json").read_text())
    worst = data["worst_case"]["local/kim/C=2"]["at_measured_duration"]
    assert (worst["cap"], worst["cap_source"]) == (5, "reserved concurrency")
    assert data["cold_starts"]["local/kim/C=2"]["128"][2]["environments"] == 2
    assert "(5,000,000 requests/month, 5.00% cold)" in capsys.readouterr().out
    assert main(["cost", "--results", str(run_dir), "--reserved-concurrency", "0"]) == 2
    assert main(["cost", "--results", str(run_dir / "nope")]) == 1  # DataError, not a traceback


def test_deploy_takes_the_measured_duration_from_a_run(run_dir: Path) -> None:
    from millicent.analysis.decisions import measured_duration

    rows = json.loads((run_dir / "results.json").read_text())
    projected = [r["lambda_projection"]["duration_ms"]["mean"] for r in rows]
    at_128 = measured_duration(run_dir, 128)
    # every warm measured request of the run, projected to 128 MB's CPU share
    assert min(projected) - 0.01 <= at_128 <= max(projected) + 0.01
    assert measured_duration(run_dir, 1769) < at_128
