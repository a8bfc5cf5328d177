"""experiments/batch_cost.py at a small size, on the test's dynalite: it serves the shipped
Kim CNN, runs a batch job from cold, alternates single and batch benchmarks, and reports
per-text costs and throughputs that are consistent with each other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import REPO, Server

pytestmark = pytest.mark.integration


def test_batch_cost_benchmark_short(dynalite: Server, data_dir: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "experiments/batch_cost.py", "--limit", "200", "--rounds", "1",
         "--no-paper", "--single-concurrency", "2", "--batch-concurrency", "2",
         "--batch-repeat", "1", "--pack-mb", "2", "--vocab", "sst-1:dev",
         "--dynamodb-endpoint", dynalite.endpoint, "--data-dir", str(data_dir),
         "--out", str(tmp_path), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ})
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout)
    assert r == json.loads((tmp_path / "results.json").read_text())
    job = r["job"]
    assert job["complete"] and job["lines"] == job["ok"] == 200 and job["errors"] == 0
    assert job["session"]["cold_starts"] >= 1 and job["texts_priced"] == 200
    cost = job["cost_per_million_texts_usd"]
    # batch requests of ≤ 64 texts answered the 200 texts: their fees spread over them
    assert cost["requests"] == pytest.approx(0.2 * job["requests_priced"] / 200)
    assert cost["total"] == pytest.approx(cost["compute"] + cost["requests"] + cost["store"]
                                          + cost["gateway"])
    assert job["lambda_cost_per_million_texts_usd"]["compute"] >= cost["compute"]
    (rnd,) = r["alternating"]["rounds"]
    # a batch pays one request fee for up to 64 texts: far below a request per text
    assert rnd["batch_usd_per_million_texts"] < rnd["single_usd_per_million"] / 3
    assert rnd["ratio"] > 1 and r["goals"]["throughput_ratio"] == rnd["ratio"]
    (batch_row,) = rnd["batch_rows"]
    assert batch_row["batch_size"] == 64 and batch_row["texts"] == 200
    assert r["pack"]["pack_words"] > 5000 and 20 < job["peak_rss_mb"] < 128
    assert "paper" not in r["goals"] and r["paper"] is None
