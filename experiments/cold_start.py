"""Cold starts of the Kim CNN function, measured apart and against the issue's goals.

One run, on the local platform with the DynamoDB store on dynalite (started here unless
``--dynamodb-endpoint``), through ``bench --compare``'s machinery
(:mod:`millicent.testbed.compare`, :mod:`millicent.testbed.coldprobe`):

* ``millicent`` (eager INIT, no snapshot) and ``snapshot`` (``serve --snapshot``):
  ``--samples`` isolated cold starts each — the first request from zero, alone (medians) —
  then ``--burst`` first requests at once from zero, and a warm closed loop at
  C = ``--burst`` over the SST-1 dev sentences for the warm p50;
* ``torch`` (the paper's PyTorch function): its isolated cold starts (``--samples``). No
  burst: twenty PyTorch INITs at once on a 2-core machine run past Lambda's 10 s INIT
  limit (the platform then retries each under the function timeout), which measures the
  machine, not the function;
* ``before`` (with ``--before COMMIT|DIR``): today's millicent before eager INIT, i.e. the
  ``millicent`` configuration served from that source tree (``git archive`` of the
  commit, or a directory) on ``PYTHONPATH`` with ``MILLICENT_INIT=lazy``: its isolated
  cold starts and burst the same way.

Goals (reported, ✓ when reached): the snapshot's first request ≤ 0.02× torch's, ≤ 0.1×
``before``'s, ≤ 0.2× ``millicent``'s; ``--burst`` simultaneous snapshot cold starts at p50
≤ 10× the warm p50 at that C. Writes ``cold_start.json`` and the comparison's files under
``--out`` and prints the tables.

    python experiments/cold_start.py --before b7e5490 --samples 7 --burst 20 \\
        --out runs/cold-start
    python experiments/cold_start.py --short      # CI: millicent + snapshot, 2 samples, C = 4
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent.economics.prices import load_prices  # noqa: E402
from millicent.harness.closed_loop import ClientOptions  # noqa: E402
from millicent.harness.runner import Reporting, Sweep  # noqa: E402
from millicent.harness.scenario import BASELINES  # noqa: E402
from millicent.harness.workload import Workload, load_workload  # noqa: E402
from millicent.testbed import coldprobe  # noqa: E402
from millicent.testbed.compare import COLD_IDLE_S, measure_cold_starts, run_compare  # noqa: E402
from millicent.testbed.deployments import Prepared, Setup, deployment, deployment_dir  # noqa: E402
from millicent.testing import loopback as servers  # noqa: E402


@contextlib.contextmanager
def source_tree(spec: str) -> Iterator[Path]:
    """A directory holding the millicent source of ``spec`` (a directory, or a commit)."""
    if Path(spec).is_dir():
        yield Path(spec).resolve()
        return
    with tempfile.TemporaryDirectory(prefix="millicent-before-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", spec], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


@contextlib.contextmanager
def dynamodb(endpoint: str | None) -> Iterator[str]:
    if endpoint:
        yield endpoint
        return
    server = servers.start_dynalite()
    try:
        yield server.endpoint
    finally:
        server.stop()


def measure_before(tree: Path, prepared: Prepared, workload: Workload, samples: int,
                   burst: int) -> dict[str, Any]:
    """Cold starts of the ``millicent`` configuration served from ``tree``, lazy INIT."""
    env = {k: v for k, v in os.environ.items() if k != "MILLICENT_INIT"}
    env.update({"PYTHONPATH": str(tree), "MILLICENT_INIT": "lazy"})
    config = BASELINES["millicent"].with_(name="before")
    with deployment(config, prepared, max(32, burst), COLD_IDLE_S, "before-cold", env=env,
                    cwd=tree) as url:
        cold = coldprobe.measure(url, deployment_dir(prepared, "before-cold"), "before", "kim",
                                 workload, samples, burst)
    return cold.to_dict()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--artifact", type=Path, default=REPO / "millicent" / "artifacts" / "kim-sst1-static")
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get(
        "MILLICENT_DATA_DIR", REPO.parent / "shared" / "data")))
    ap.add_argument("--dynamodb-endpoint", default=None, help="default: a dynalite started here")
    ap.add_argument("--before", default=None, metavar="COMMIT|DIR",
                    help="also measure this source tree with MILLICENT_INIT=lazy (as 'before')")
    ap.add_argument("--samples", type=int, default=5, help="isolated cold starts per configuration")
    ap.add_argument("--burst", type=int, default=20, help="simultaneous cold starts (and the C "
                                                          "of the warm p50)")
    ap.add_argument("--limit", type=int, default=None, help="SST-1 dev sentences used")
    ap.add_argument("--no-torch", action="store_true", help="skip the paper's PyTorch function")
    ap.add_argument("--short", action="store_true",
                    help="CI: millicent and snapshot only, 2 samples, a burst of 4, 60 sentences")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "cold-start")
    args = ap.parse_args()
    # a SIGTERM unwinds like Ctrl-C, so dynalite and every server started here are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.short:
        args.no_torch, args.samples, args.burst, args.limit = True, 2, 4, 60
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")  # dynalite checks a signature only
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    configs = [BASELINES["millicent"], BASELINES["snapshot"]]
    workload = load_workload("kim", args.data_dir, "kim", args.limit)
    with dynamodb(args.dynamodb_endpoint) as endpoint:
        setup = Setup(artifacts={"kim": args.artifact.resolve()}, data_dir=args.data_dir,
                      work_dir=args.out / "deploy", dynamodb_endpoint=endpoint,
                      cold_samples=args.samples)
        run = run_compare(configs, setup, {"kim": workload}, Sweep((args.burst,), warmup=2 * args.burst),
                          args.out, load_prices(), ClientOptions(60.0),
                          Reporting(progress=False, plots=False, out=sys.stderr))
        cold = {c["summary"]["config"]: c
                for c in json.loads((args.out / "cold_starts.json").read_text())}
        prepared = Prepared(setup, [workload])
        if not args.no_torch:
            torch = measure_cold_starts(BASELINES["torch"], prepared, {"kim": workload}, 0)
            cold["torch"] = torch["kim"].to_dict()
        if args.before:
            with source_tree(args.before) as tree:
                cold["before"] = measure_before(tree, prepared, workload, args.samples,
                                                args.burst)
    summaries = {name: coldprobe.ColdSummary.from_dict(c["summary"]) for name, c in cold.items()}
    warm = {(r.config, r.concurrency): r.latency_ms.p50 for r in run.rows
            if r.latency_ms.p50 is not None}
    goals = coldprobe.goals(summaries, warm)
    result = {"load_average": os.getloadavg(), "samples": args.samples, "burst": args.burst,
              "artifact": str(args.artifact), "before": args.before,
              "summaries": {name: s.to_dict() for name, s in summaries.items()},
              "warm_p50_ms": {f"{c}@C={n}": v for (c, n), v in warm.items()},
              "goals": [g.to_dict() for g in goals]}
    (args.out / "cold_start.json").write_text(json.dumps(result, indent=2))
    print(coldprobe.cold_table(list(summaries.values())))
    print()
    print(coldprobe.goals_table(goals))
    print(f"\nload average {os.getloadavg()[0]:.2f}; written to {args.out / 'cold_start.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
