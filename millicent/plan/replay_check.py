"""The replay check of ``millicent plan``: drive the real platform with a trace and compare
what the plan predicted with what was measured.

Used by ``tests/integration/plan/test_replay.py`` (a short trace) and by
``experiments/plan_replay.py`` (a longer one). Steps, all through the real CLI:
vectors into SQLite and a pack; ``millicent serve`` with the plan's concurrency limit and
idle timeout; a short closed-loop ``millicent bench`` at C = 1 and at C = the limit (the
profile: warm times alone, cold starts also as they come in a burst); the environments left
to be reclaimed; ``millicent bench --trace`` (the open-loop replay); ``millicent plan
--traffic trace:FILE --from-bench PROFILE --method exact --projection none`` with the same
limit and idle timeout; predicted vs measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from millicent.testing.loopback import CHECKOUT, start_platform
from millicent.traffic.shapes import write_trace

KIM = CHECKOUT / "millicent" / "artifacts" / "kim-sst1-static"


def cli(*args: str, data_dir: Path) -> str:
    """``python -m millicent.cli.main ARGS`` from the repo root; stdout (raises on failure)."""
    done = subprocess.run([sys.executable, "-m", "millicent.cli.main", *args, "--data-dir", str(data_dir)],
                          cwd=CHECKOUT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"millicent {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def store_and_pack(work: Path, data_dir: Path) -> tuple[str, Path]:
    """GloVe-50 vectors of the SST-1 words in SQLite, and a 10,000-word pack."""
    db, pack = work / "glove50.db", work / "top10k.pack"
    if not db.exists():
        cli("embeddings", "load", "glove-50", "--vocab-from", "sst-1", "--store", f"sqlite:///{db}",
            "--quiet", data_dir=data_dir)
    if not pack.exists():
        cli("embeddings", "pack", "glove-50", "--top", "10000", "--out", str(pack), data_dir=data_dir)
    return f"sqlite:///{db}", pack


def burst_trace(cycles: int, burst: int, gap_s: float, seed: int = 1) -> np.ndarray:
    """Per cycle: a burst of ``burst`` requests within 30 ms right after an idle gap (every
    environment is starting, so the burst's throttles do not depend on service times), then
    one request every 0.4 s for 2 s and every 0.1 s for 1.5 s (warm reuse, spaced so that a
    few ms of service never overlap: the expected counts are exact, not left to chance),
    then ``gap_s`` idle."""
    rng = np.random.default_rng(seed)
    times: list[float] = []
    now = 0.0
    for _ in range(cycles):
        times += list(now + np.sort(rng.random(burst)) * 0.03)
        now += 1.0
        times += list(now + np.arange(0.0, 2.0, 0.4))
        now += 2.0
        times += list(now + np.arange(0.0, 1.5, 0.1))
        now += 1.5 + gap_s
    return np.asarray(sorted(times))


@dataclass
class ReplayCheck:
    """Predicted (from the separate profile run) vs measured; ``same_run``: predicted from
    the replay's own records as the profile (service times under the replay's own load)."""

    predicted: dict[str, Any]
    measured: dict[str, Any]
    plan_dir: Path
    replay_dir: Path
    same_run: dict[str, Any]

    def ratio(self, key: str, predicted: dict[str, Any] | None = None) -> float:
        m, p = float(self.measured[key]), float((predicted or self.predicted)[key])
        return p / m if m else (1.0 if p == 0 else float("inf"))

    def table(self) -> str:
        rows = ["| | predicted (profile run) | predicted (replay's own service times) | measured "
                "| ratios |", "|---|---:|---:|---:|---:|"]
        for key in ("cold_starts", "throttled_429", "p99_ms"):
            rows.append(f"| {key} | {self.predicted[key]:,.1f} | {self.same_run[key]:,.1f} | "
                        f"{self.measured[key]:,.1f} | {self.ratio(key):.2f} / "
                        f"{self.ratio(key, self.same_run):.2f} |")
        return "\n".join(rows)


def plan_trace(trace: Path, profile: Path, pack: Path, limit: int, idle_s: float, out: Path,
               data_dir: Path) -> dict[str, Any]:
    """``millicent plan`` of the trace with the platform's limit and idle timeout."""
    cli("plan", "--traffic", f"trace:{trace}", "--from-bench", str(profile), "--pack", str(pack),
        "--account-concurrency", str(limit), "--idle-timeout", f"{idle_s:g}s", "--projection",
        "none", "--method", "exact", "--out", str(out), "--no-plots", data_dir=data_dir)
    plan = json.loads((out / "results.json").read_text())["options"]["on-demand"]
    return {"cold_starts": plan["cold_starts"], "throttled_429": plan["throttled_total"],
            "p99_ms": plan["latency_ms"]["p99"], "requests": plan["requests"]}


def run_check(work: Path, data_dir: Path, times: np.ndarray, limit: int, idle_s: float) -> ReplayCheck:
    """The whole check (module docstring) on the request ``times``."""
    store, pack = store_and_pack(work, data_dir)
    trace = write_trace(work / "trace.txt", times)
    platform = start_platform(["--model", f"kim={KIM}", "--store", store, "--pack", str(pack),
                               "--max-concurrency", str(limit), "--idle-timeout", f"{idle_s:g}"],
                              work / "platform")
    try:
        url = platform.url
        cli("bench", "--endpoint", url, "--model", "kim", "--concurrency", f"1,{limit}",
            "--limit", "60", "--out", str(work / "profile"), "--no-progress", "--no-plots",
            data_dir=data_dir)
        time.sleep(idle_s + 2.0)  # every environment of the profile run reclaimed
        cli("bench", "--endpoint", url, "--model", "kim", "--trace", str(trace), "--out",
            str(work / "replay"), "--no-plots", data_dir=data_dir)
    finally:
        platform.stop()
    predicted = plan_trace(trace, work / "profile", pack, limit, idle_s, work / "plan", data_dir)
    same_run = plan_trace(trace, work / "replay", pack, limit, idle_s, work / "plan-same-run", data_dir)
    replay = json.loads((work / "replay" / "replay.json").read_text())
    measured = {"cold_starts": replay["cold_starts"], "throttled_429": replay["throttled_429"],
                "p99_ms": replay["latency_ms"]["p99"], "requests": replay["requests"],
                "send_lag_p99_ms": replay["send_lag_ms"]["p99"]}
    return ReplayCheck(predicted, measured, work / "plan", work / "replay", same_run)
