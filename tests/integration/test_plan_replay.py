"""The plan against reality on a small trace: ``millicent bench --trace`` replays it open loop
against ``millicent serve`` (concurrency limit 4, idle timeout 1.5 s) and ``millicent plan``
predicts it from a profile benchmarked on the same platform. A burst of 30 right after an
idle gap (above the limit: every environment is starting), warm reuse, then an idle gap
longer than the idle timeout, three times. Cold starts and 429s must match within 20 %.
≈ 30 s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plan_replay import burst_trace, run_check

pytestmark = pytest.mark.integration


def test_plan_predicts_the_replay(tmp_path: Path, data_dir: Path) -> None:
    check = run_check(tmp_path, data_dir, burst_trace(cycles=3, burst=30, gap_s=3.5), limit=4,
                      idle_s=1.5)
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
