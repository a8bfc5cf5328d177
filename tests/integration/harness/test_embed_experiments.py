"""The embedding experiments at a small size: ``experiments/embed_cost.py`` (cost per million
texts against text-embedding-3-small, batches against single requests, on the test's dynalite)
and ``experiments/openai_overhead.py`` (``/v1/embeddings`` against ``/embed`` in the handler):
their figures are consistent with each other and with the price sheet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from millicent.economics.prices import load_prices
from tests.servers import REPO, Server

pytestmark = pytest.mark.integration


def _run(*args: str) -> None:
    done = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_embed_cost_short(dynalite: Server, data_dir: Path, tmp_path: Path) -> None:
    _run("experiments/embed_cost.py", "--limit", "150", "--rounds", "1", "--batch-repeat", "1",
         "--single-concurrency", "1", "--batch-concurrency", "1", "--pack-mb", "2",
         "--dynamodb-endpoint", dynalite.endpoint, "--data-dir", str(data_dir),
         "--out", str(tmp_path))
    r = json.loads((tmp_path / "results.json").read_text())
    (rnd,) = r["rounds"]
    g = r["goals"]
    assert g["usd_per_million_texts"] == rnd["goal_usd_per_million_texts"] > 0
    parts = rnd["goal_cost"]
    assert g["usd_per_million_texts"] == pytest.approx(sum(parts.values()))
    assert parts["compute"] == pytest.approx(rnd["cost"]["compute"])
    assert parts["dynamodb_pack_misses"] >= rnd["cost"]["store"]  # the LRU's hits counted too
    job = r["job"]
    assert job["lines"] == job["ok"] == 150 and job["errors"] == 0 and job["cold_starts"] >= 1
    assert job["requests"] == 3 and (tmp_path / "vectors.npy").stat().st_size > 150 * 50 * 4
    small = {a.name: a for a in load_prices().embedding_apis}[g["api"]]
    assert g["api_usd_per_million_texts"] == pytest.approx(
        small.usd_per_million_tokens * rnd["tokens_per_text"])
    assert g["below_api"] == pytest.approx(g["api_usd_per_million_texts"] / g["usd_per_million_texts"])
    assert 5 < rnd["tokens_per_text"] < 60  # SST sentences, PTB words
    # batches of 64: the request fee spread over the texts (150 texts in 3 requests)
    assert rnd["cost"]["requests"] == pytest.approx(0.2 * 3 / 150)
    assert rnd["ratio"] > 1 and g["throughput_ratio"] == rnd["ratio"]
    (batch_row,) = rnd["batch_rows"]
    assert batch_row["embeddings"] is True and batch_row["texts"] == 150


def test_openai_overhead_short(data_dir: Path, tmp_path: Path) -> None:
    artifact, store = tmp_path / "glove-mean", f"sqlite:///{tmp_path / 'v.db'}"
    _run("-m", "millicent.cli.main", "import", "vectors", "glove-50", "--role", "embed",
         "--out", str(artifact), "--data-dir", str(data_dir))
    _run("-m", "millicent.cli.main", "embeddings", "load", str(artifact), "--store", store,
         "--vocab-from", "sst-1:dev", "--data-dir", str(data_dir), "--quiet")
    out = tmp_path / "overhead"
    _run("experiments/openai_overhead.py", "--artifact", str(artifact), "--store", store,
         "--data-dir", str(data_dir), "--limit", "60", "--rounds", "2", "--out", str(out))
    r = json.loads((out / "results.json").read_text())
    assert r["same_vectors"] is True and r["texts"] == 60
    for fmt in ("float", "base64"):
        assert r[fmt]["embed"]["n"] == r[fmt]["v1_embeddings"]["n"] == 120
        assert r[fmt]["embed"]["p50"] > 0 and r[fmt]["v1_embeddings"]["p50"] > 0
    assert r["goal"]["added_p50_ms"] == max(r[f]["added"]["p50"] for f in ("float", "base64"))
