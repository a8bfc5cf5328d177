"""Fuzz every reader of a user's file, and the HTTP edge, for longer than the tests do.

The targets and their contract are ``tests/fuzz_targets.py`` (the tests run each one
seeded and bounded). Here each target runs unseeded, in rounds of ``--round`` examples, for
its share of the time; a failure is shrunk by hypothesis to a minimal input and reported
(the run goes on with the next target). Prints one JSON line: examples and failures per
target. Exit status 1 when anything failed.

    python experiments/fuzz_readers.py --minutes 10
    python experiments/fuzz_readers.py --seconds 30 --targets data-csv,vectors
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fuzz_targets import TARGETS, hypothesis_test  # noqa: E402 - after the path


def fuzz(name: str, seconds: float, round_size: int) -> dict[str, Any]:
    """Rounds of ``round_size`` unseeded examples of target ``name`` for ``seconds``."""
    end = time.monotonic() + seconds
    examples, rounds, failures = 0, 0, []
    while True:
        rounds += 1
        try:
            hypothesis_test(TARGETS[name], max_examples=round_size, derandomize=False)()
        except Exception as exc:  # a falsified contract: keep its (shrunk) example, go on
            notes = "\n".join(getattr(exc, "__notes__", []))  # hypothesis: the example
            failures.append(f"{type(exc).__name__}: {str(exc)[:1000]}\n{notes[:3000]}")
            break
        finally:
            examples += round_size
        if time.monotonic() >= end:
            break
    return {"examples": examples, "rounds": rounds, "failures": failures}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    length = ap.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, default=None, help="total time (default 10)")
    length.add_argument("--seconds", type=float, default=None, help="total time in seconds")
    ap.add_argument("--targets", default=",".join(TARGETS),
                    help=f"comma-separated targets (default all: {', '.join(TARGETS)})")
    ap.add_argument("--round", type=int, default=200, help="examples per round (default 200)")
    args = ap.parse_args()
    total = args.seconds if args.seconds is not None else 60.0 * (args.minutes or 10.0)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        ap.error(f"unknown target(s) {unknown}; known: {', '.join(TARGETS)}")
    t0 = time.monotonic()
    report: dict[str, Any] = {"targets": {}}
    for i, name in enumerate(names):
        share = (total - (time.monotonic() - t0)) / (len(names) - i)
        result = fuzz(name, max(0.0, share), args.round)
        report["targets"][name] = result
        print(f"{name}: {result['examples']:,} examples, {len(result['failures'])} failure(s)",
              file=sys.stderr, flush=True)
        for failure in result["failures"]:
            print(failure, file=sys.stderr, flush=True)
    report["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(report))
    return 1 if any(r["failures"] for r in report["targets"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
