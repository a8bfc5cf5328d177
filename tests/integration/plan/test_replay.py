"""The plan against reality, and the plan of a month, from a profile benchmarked for real.

A small trace is replayed open loop by ``millicent bench --trace`` against ``millicent
serve`` (concurrency limit 4, idle timeout 1.5 s) and predicted by ``millicent plan`` from a
profile benchmarked on the same platform: a burst of 30 right after an idle gap (above the
limit: every environment is starting), warm reuse, then an idle gap longer than the idle
timeout, three times. Cold starts and 429s must match within 20 %. Then the issue's check:
``millicent plan --traffic diurnal:2000 --days 30 --from-bench DIR`` with the pack off and
on. ≈ 40 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from millicent.plan.replay_check import ReplayCheck, burst_trace, cli, run_check

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def check(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> ReplayCheck:
    work = tmp_path_factory.mktemp("plan-replay")
    return run_check(work, data_dir, burst_trace(cycles=3, burst=30, gap_s=3.5), limit=4, idle_s=1.5)


def test_plan_predicts_the_replay(check: ReplayCheck) -> None:
    print(check.table())
    assert check.measured["requests"] == check.predicted["requests"] == 150
    # the client kept to the schedule: an open loop, not a closed one
    assert check.measured["send_lag_p99_ms"] < 100
    assert check.measured["throttled_429"] > 0 and check.measured["cold_starts"] >= 6
    assert 0.8 <= check.ratio("cold_starts") <= 1.2, check.table()
    assert 0.8 <= check.ratio("throttled_429") <= 1.2, check.table()
    # the replay directory is a bench run: its records read back like any other
    replay = json.loads((check.replay_dir / "results.json").read_text())
    assert replay[0]["error_kinds"].get("429") == check.measured["throttled_429"]


def test_a_month_from_the_bench_run_with_and_without_the_pack(check: ReplayCheck, data_dir: Path) -> None:
    work = check.plan_dir.parent
    out: dict[str, dict] = {}
    for name, extra in (("nopack", []), ("pack", ["--pack", str(work / "top10k.pack")])):
        cli("plan", "--traffic", "diurnal:2000", "--days", "30", "--from-bench", str(work / "profile"),
            *extra, "--out", str(work / name), data_dir=data_dir)
        out[name] = json.loads((work / name / "results.json").read_text())
        for f in ("results.json", "report.md", "timeline.png", "cost.png", "breakeven.png"):
            assert (work / name / f).stat().st_size > 0
    res = out["pack"]
    assert set(res["monthly_usd"]) == {"on-demand", "snapstart", "provisioned"}
    for option in res["options"].values():
        monthly = option["cost"]["monthly_usd"]
        assert monthly["total"] == pytest.approx(sum(v for k, v in monthly.items() if k != "total"))
    assert res["break_even_qps"] > 0 and 0 < res["cold_start_share"] < 0.01
    assert res["requests"]["total"] == pytest.approx(1100 * 30 * 86400)
    # without the pack the hottest key is a word in almost every sentence; the pack holds it,
    # and the limit moves out by the measured ratio of the two keys' shares
    bare, packed = out["nopack"]["dynamodb"], res["dynamodb"]
    assert bare["hot_key"] in {"the", ".", ",", "a"} and bare["hot_key_limit_qps"] < 20_000
    assert packed["hot_key"] != bare["hot_key"]
    factor = bare["hot_key_share"] / packed["hot_key_share"]
    assert packed["hot_key_limit_qps"] / bare["hot_key_limit_qps"] == pytest.approx(factor)
    assert factor > 10
