"""``millicent plan`` against reality on a longer trace: predicted vs measured cold starts,
429s and p99.

A compressed day on ``millicent serve`` (Kim CNN, SQLite store, 10k-word pack), concurrency
limit 4, idle timeout 5 s: a rate that swings between 0.2 and 6 req/s (Poisson arrivals),
bursts of 40 requests within 100 ms (above the limit) every 2 minutes, and two idle gaps of
20 s (longer than the idle timeout). The trace is replayed open loop by ``millicent bench
--trace`` and predicted by ``millicent plan --method exact --projection none`` from a profile
benchmarked on the same platform (C = 1 and C = the limit), as in
``tests/integration/plan/test_replay.py`` (which runs a short version).

    python experiments/plan_replay.py [--minutes 10] [--data-dir ../shared/data] [--out runs/plan-replay]

Prints the predicted/measured table and writes ``check.json`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent.plan.replay_check import run_check  # noqa: E402
from millicent.traffic.shapes import Traffic, arrival_times  # noqa: E402


def compressed_day(minutes: float, seed: int) -> np.ndarray:
    """Request times of the trace (module docstring)."""
    n = int(minutes * 60)
    t = np.arange(n) + 0.5
    rate = 0.2 + 5.8 * (1.0 - np.cos(2 * np.pi * t / n)) / 2.0
    for start in (0.3, 0.7):  # idle gaps of 20 s
        lo = int(start * n)
        rate[lo: lo + 20] = 0.0
    times = arrival_times(Traffic(1.0, rate, "compressed day"), seed)
    bursts = [b + np.sort(np.random.default_rng(seed + i).random(40)) * 0.1
              for i, b in enumerate(np.arange(60.0, n - 30, 120.0))]
    return np.sort(np.concatenate([times, *bursts]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--idle", type=float, default=5.0, help="idle timeout, s")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", default="runs/plan-replay")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    times = compressed_day(args.minutes, args.seed)
    t0 = time.perf_counter()
    check = run_check(out, Path(args.data_dir), times, args.limit, args.idle)
    print(check.table())
    result = {"minutes": args.minutes, "limit": args.limit, "idle_s": args.idle,
              "requests": int(times.size), "predicted": check.predicted, "measured": check.measured,
              "predicted_from_replay_service_times": check.same_run,
              "ratios": {k: check.ratio(k) for k in ("cold_starts", "throttled_429", "p99_ms")},
              "ratios_same_run": {k: check.ratio(k, check.same_run)
                                  for k in ("cold_starts", "throttled_429", "p99_ms")},
              "elapsed_s": time.perf_counter() - t0}
    (out / "check.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"ratios": result["ratios"], "same_run": result["ratios_same_run"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
