"""The real ``millicent demo`` end to end, at reduced sizes: a SQLite store, a pack, the
local platform in its own process, the benchmark of both models at two levels — then
nothing of it left running."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from millicent.cli.main import main
from millicent.testbed import demo

pytestmark = pytest.mark.integration


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line or environment contains ``text`` (the demo's unique output
    directory: the platform names it in its arguments, each execution environment in its
    MILLICENT_STORE_URL)."""
    pids = []
    needle = text.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                seen = f.read()
            with open(f"/proc/{entry}/environ", "rb") as f:
                seen += f.read()
        except OSError:
            continue
        if needle in seen:
            pids.append(int(entry))
    return pids


def test_demo_end_to_end(tmp_path: Path, data_dir: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    argv = ["demo", "--data-dir", str(data_dir), "--out", str(out), "--vocab", "datasets",
            "--limit", "30", "--concurrency", "2,4", "--pack-top", "5000", "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for i, (name, _, _) in enumerate(demo.STEPS, 1):
        assert f"== step {i}/{len(demo.STEPS)}: {name}" in printed
    # the paper-shaped tables, cost by component, where the plots went
    assert "## Throughput, latency and cost per million queries" in printed
    assert "## Cost per million queries by component" in printed
    assert "DynamoDB on-demand instead" in printed
    assert f"plots: {out / 'bench' / 'latency.png'}" in printed

    rows = json.loads((out / "bench" / "results.json").read_text())
    assert sorted((r["model"], r["concurrency"]) for r in rows) == [
        ("kim", 2), ("kim", 4), ("sm", 2), ("sm", 4)]
    for r in rows:
        assert (r["requests"], r["ok"], r["errors"]) == (30, 30, 0)
        assert r["duration_source"] == "header" and r["max_in_flight"] == r["concurrency"]
        cost = r["cost_per_million_usd"]
        assert cost["store"] == 0 and cost["gateway"] == 0  # bundled SQLite, Function URL
        assert cost["requests"] == pytest.approx(0.2) and cost["compute"] > 0
        assert r["cache_hit_rate"] > 0.5  # the pack answers most words
    for plot in ("latency.png", "throughput.png", "cost.png"):
        assert (out / "bench" / plot).stat().st_size > 1000

    result = json.loads((out / "demo.json").read_text())
    for fn in demo.DEMO_MODELS:
        parity = result["platform"]["parity"][fn]
        assert parity["ok"] and parity["n"] == 30 and parity["same_labels"] == 30
    assert result["benchmark"]["errors"] == 0
    # the embedder (all-MiniLM-L6-v2 int8) on its own platform, through the openai client,
    # its cost per million texts beside the CNNs'
    fn = demo.DEMO_EMBEDDER[0]
    endpoints = result["platform"]["endpoints"]
    assert endpoints[fn] != endpoints["kim"] == endpoints["sm"]
    parity = result["platform"]["parity"][fn]
    assert parity["ok"] and parity["n"] == 30
    assert result["openai"] == {"model": fn, "texts": 16, "same": 16,
                                "prompt_tokens": result["openai"]["prompt_tokens"], "dim": 384}
    assert result["openai"]["prompt_tokens"] > 16 * 5
    lines = {(x["model"], x["batch_size"]) for x in result["embedder"]["rows"]}
    assert {("kim", 1), ("sm", 1), (fn, 1), (fn, 64)} <= lines
    batched = [x for x in result["embedder"]["rows"] if x["model"] == fn and x["batch_size"] == 64]
    assert batched[0]["errors"] == 0 and batched[0]["tokens_per_text"] > 10
    assert "per million tokens at" in printed and "text-embedding-3-small costs" in printed
    assert set(result["seconds"]) == {name for name, _, _ in demo.STEPS} | {"total"}
    # the platform's own records: every benchmark request and parity request was invoked
    invocations = (out / "platform" / "invocations.jsonl").read_text().splitlines()
    assert len(invocations) >= 2 * 30 + 4 * 30
    # everything the demo started is stopped
    assert _processes_mentioning(str(out)) == []

    # a second run reuses the verified store and pack
    assert main(argv) == 0
    again = json.loads((out / "demo.json").read_text())
    assert again["store"]["reused"] and again["store"]["written"] == 0
    assert again["pack"]["reused"]
    assert _processes_mentioning(str(out)) == []
