"""``experiments/cold_start.py --short``: the cold-start benchmark's CI version, for real —
``millicent`` (eager INIT) and ``snapshot`` (``serve --snapshot``) served on the local
platform with the DynamoDB store on dynalite, two isolated cold starts each and four at
once from zero, and the goals computed from them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import servers

pytestmark = pytest.mark.integration
pytest.importorskip("millicent.data.sst")


def test_short_cold_start_benchmark(dynalite: servers.Server, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cold"
    done = subprocess.run(
        [sys.executable, str(servers.REPO / "experiments" / "cold_start.py"), "--short",
         "--dynamodb-endpoint", dynalite.endpoint, "--data-dir", str(data_dir), "--out", str(out)],
        cwd=servers.REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(servers.REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "cold_start.json").read_text())
    s = result["summaries"]
    assert set(s) == {"millicent", "snapshot"}
    for c in s.values():  # every sample a cold start; the burst all cold, from zero
        assert (c["samples"], c["ok"], c["cold"]) == (2, 2, 2)
        assert (c["burst"]["concurrency"], c["burst"]["ok"], c["burst"]["cold"]) == (4, 4, 4)
    mill, snap = s["millicent"], s["snapshot"]
    # a spawn runs INIT (numpy, models, botocore, store: hundreds of ms); a fork restores
    assert mill["init_duration_ms"] > 50 and mill["restore_duration_ms"] is None
    assert snap["restore_duration_ms"] > 0 and snap["init_duration_ms"] is None
    assert mill["function_init_ms"] > 10 * snap["function_init_ms"]
    assert snap["first_request_ms"] < mill["first_request_ms"]
    goals = {g["goal"]: g for g in result["goals"]}
    ratio = goals["first request: snapshot / millicent"]["value"]
    assert ratio == pytest.approx(snap["first_request_ms"] / mill["first_request_ms"])
    assert "4 simultaneous cold starts: snapshot p50 / warm p50 at C = 4" in goals
    reports = (out / "deploy" / "snapshot-cold" / "functions.log").read_text()
    assert "Restore Duration" in reports and "INIT_REPORT Init Duration" in reports
    assert "| cold-start goal |" in done.stdout
