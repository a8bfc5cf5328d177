"""How long ``millicent plan`` takes for a month (the issue asks ≤ 60 s on 2 cores).

Times the whole command (profile, three options simulated, results.json, report.md, plots)
for the traffic shapes below, from a saved bench run (``--from-bench``) or, without one,
from a hand-written profile of the same shape as a kim run (warm ≈ 1.5 ms of CPU on the local
platform, projected to 128 MB) and of the paper's (700 ms, projected as measured):

* ``diurnal:2000 --days 30`` (the issue's check);
* ``diurnal:10000 --days 30`` (≈ 1.4 × 10^10 requests);
* ``diurnal:10000 --days 30`` with 700 ms requests (concurrency far beyond the account limit).

    python experiments/plan_speed.py [--from-bench DIR --pack FILE] [--out runs/plan-speed]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

KIM_LIKE = {"name": "kim-like (hand-written)", "memory_mb": 128, "measured_cpu_share": 1.0,
            "warm": {"duration_ms": [1.4, 1.6, 1.8, 2.2, 3.0], "cpu_ms": [0.9, 1.0, 1.1, 1.3, 1.6],
                     "overhead_ms": 1.5},
            "cold": {"init_ms": 65.0, "duration_ms": 75.0, "cpu_ms": 66.0, "overhead_ms": 3.0},
            "store": {"keys_per_request": 2.5, "hot_key_share": 0.015}}
PAPER_LIKE = {"name": "paper-like (hand-written)", "memory_mb": 128,
              "measured_cpu_share": 128 / 1769,
              "warm": {"duration_ms": [650.0, 700.0, 750.0], "overhead_ms": 0.0},
              "cold": {"init_ms": 3000.0, "duration_ms": 700.0, "overhead_ms": 0.0},
              "store": {"keys_per_request": 17.7, "hot_key_share": 0.6}}


def run(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "millicent.cli.main", "plan", *args], cwd=REPO,
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--from-bench", default=None)
    ap.add_argument("--pack", default=None)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", default="runs/plan-speed")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    profiles = {}
    for name, prof in (("kim-like", KIM_LIKE), ("paper-like", PAPER_LIKE)):
        (out / f"{name}.json").write_text(json.dumps(prof))
        profiles[name] = ["--profile", str(out / f"{name}.json")]
    if args.from_bench:
        profiles["bench"] = ["--from-bench", args.from_bench, "--data-dir", args.data_dir]
        if args.pack:
            profiles["bench"] += ["--pack", args.pack]
    cases = [(p, "diurnal:2000") for p in profiles] + [(p, "diurnal:10000") for p in profiles]
    rows = []
    for prof, traffic in cases:
        dest = out / f"{prof}-{traffic.replace(':', '-')}"
        secs = run(["--traffic", traffic, "--days", "30", *profiles[prof], "--out", str(dest)])
        res = json.loads((dest / "results.json").read_text())
        rows.append({"profile": prof, "traffic": traffic, "seconds": round(secs, 1),
                     "requests": res["requests"]["total"], "method": res["plan"]["method"]})
        print(f"| {prof} | {traffic} --days 30 | {res['requests']['total']:.3g} | {secs:.1f} s |", flush=True)
    (out / "speed.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
