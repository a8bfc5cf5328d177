"""How soon the local platform kills an environment past its memory size, and what the
watching costs.

Three measurements against a real ``millicent serve`` (128 MB, enforced) and a handler this
script writes:

* **detection** — per ``--memory-poll-ms`` value, ``--trials`` invocations that grow their
  memory 1 MB at a time (touched pages, as fast as the machine faults them in) and append
  ``monotonic time, resident MB`` to a file after every step. The kill ends the file: its
  last line is the last moment the handler ran. Reported per poll interval (medians):
  *latency*, how long the handler ran on after its last step within 128 MB (the next step
  crossed it; to within one step's time, also reported), *overshoot* (the memory the
  platform saw when it killed, minus 128 MB), the client's 502 after the crossing, and the
  growth rate.
* **peak at the answer** — invocations that allocate ``--spike-mb`` and free it before
  answering, at a 1 s poll: every one must fail (the peak, VmHWM, is read at the answer).
* **watching cost** — the platform process's CPU while ``--busy`` environments sleep
  ``--busy-s`` seconds in invocations (the guard polls each every 10 ms), enforced and with
  ``--no-memory-limit``: µs of platform CPU per environment-poll.

    python experiments/memory_limit.py --out runs/memory-limit
    python experiments/memory_limit.py --out /tmp/ml --quick   # the short run a test makes

Writes ``results.json`` under ``--out`` and prints Markdown tables. The per-request cost on
warm requests (the answer's check) is measured with ``experiments/platform_ab.py``
(``--variant on=. --variant off=.,--no-memory-limit``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent.platform import procstat  # noqa: E402
from millicent.testing.loopback import PlatformProcess, start_platform  # noqa: E402

LIMIT_MB = 128

HANDLER = '''
import json, os, time

def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def handler(event, context):
    action = event.get("action")
    if action == "grow":  # 1 MB more each step, each step's end written unbuffered
        fd = os.open(event["trace"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        hold = []
        for _ in range(int(event["max_mb"])):
            hold.append(bytearray(1 << 20))
            os.write(fd, f"{time.monotonic():.6f} {_rss_mb():.2f}\\n".encode())
        return {"survived": True}
    if action == "spike":
        block = bytearray(int(event["mb"]) << 20)
        del block
    elif action == "sleep":
        time.sleep(float(event["seconds"]))
    return {"pid": os.getpid()}
'''


def invoke(p: PlatformProcess, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
    """One Invoke API call: (status as the gateway maps it, payload, client monotonic end)."""
    r = p.post("/2015-03-31/functions/fn/invocations", body, timeout=120)
    payload = r.json()
    failed = r.headers.get("x-amz-function-error") is not None
    return (502 if failed else 200), payload, time.monotonic()


def serve(out: Path, handler_dir: Path, name: str, *args: str) -> PlatformProcess:
    return start_platform(["--function", "fn=memhog_exp.handler", "--env", f"PYTHONPATH={handler_dir}",
                           "--timeout", "60", "--memory-mb", str(LIMIT_MB), *args], out / name)


def detection(out: Path, handler_dir: Path, poll_ms: float, trials: int) -> dict[str, Any]:
    p = serve(out, handler_dir, f"poll-{poll_ms:g}", "--memory-poll-ms", f"{poll_ms:g}")
    rows = []
    try:
        for i in range(trials):
            invoke(p, {"action": "pid"})  # a warm environment: INIT is not in the trial
            trace = out / f"trace-{poll_ms:g}-{i}.txt"
            status, payload, t_client = invoke(p, {"action": "grow", "trace": str(trace), "max_mb": 1024})
            steps = [tuple(map(float, line.split())) for line in trace.read_text().splitlines()]
            record = p.records()[-1]
            # the last step still within the limit: the next one crossed it (a step is ≈ 1 ms)
            at_limit = max(t for t, mb in steps if mb <= LIMIT_MB)
            first_t, first_mb = steps[0]
            last_t, last_mb = steps[-1]
            rows.append({
                "status": status, "error_type": payload.get("errorType"),
                "latency_ms": (last_t - at_limit) * 1000.0,
                "step_ms": statistics.median(b[0] - a[0] for a, b in itertools.pairwise(steps)) * 1000.0,
                "client_ms": (t_client - at_limit) * 1000.0,
                "seen_mb": record["max_memory_mb"], "overshoot_mb": record["max_memory_mb"] - LIMIT_MB,
                "last_step_mb": last_mb,
                "growth_mb_per_ms": (last_mb - first_mb) / max(1e-6, (last_t - first_t) * 1000.0),
            })
    finally:
        p.stop()
    return {"poll_ms": poll_ms, "trials": rows, **{
        f"median_{k}": statistics.median(r[k] for r in rows)
        for k in ("latency_ms", "step_ms", "client_ms", "overshoot_mb", "growth_mb_per_ms")},
        "max_latency_ms": max(r["latency_ms"] for r in rows),
        "all_out_of_memory": all(r["error_type"] == "Runtime.OutOfMemory" for r in rows)}


def spikes(out: Path, handler_dir: Path, mb: int, trials: int) -> dict[str, Any]:
    p = serve(out, handler_dir, "spikes", "--memory-poll-ms", "1000")
    try:
        results = []
        for _ in range(trials):
            invoke(p, {"action": "pid"})
            time.sleep(1.2)  # no poll pending: only the answer's check can see the spike
            status, payload, _ = invoke(p, {"action": "spike", "mb": mb})
            results.append({"status": status, "error_type": payload.get("errorType"),
                             "seen_mb": p.records()[-1]["max_memory_mb"]})
    finally:
        p.stop()
    return {"spike_mb": mb, "trials": results,
            "all_failed": all(r["error_type"] == "Runtime.OutOfMemory" for r in results)}


def _busy_cpu(p: PlatformProcess, busy: int, seconds: float) -> dict[str, Any]:
    """The platform process's CPU while ``busy`` warm environments sleep ``seconds``."""
    def sleep(s: float) -> None:
        with ThreadPoolExecutor(busy) as pool:
            list(pool.map(lambda _: invoke(p, {"action": "sleep", "seconds": s}), range(busy)))

    try:
        sleep(0.5)  # start the environments (INIT) first
        cpu0, t0 = procstat.cpu_ms(p.proc.pid) or 0.0, time.monotonic()
        sleep(seconds)
        wall, cpu1 = time.monotonic() - t0, procstat.cpu_ms(p.proc.pid) or 0.0
        return {"platform_cpu_ms": cpu1 - cpu0, "wall_s": wall, "cold_starts": p.stats()["cold_starts"]}
    finally:
        p.stop()


def watching_cost(out: Path, handler_dir: Path, busy: int, seconds: float) -> dict[str, Any]:
    """Platform CPU while ``busy`` environments sleep in invocations, enforced or not."""
    out_rows = {name: _busy_cpu(serve(out, handler_dir, f"cost-{name}", *args), busy, seconds)
                for name, args in (("enforced", ()), ("report-only", ("--no-memory-limit",)))}
    polls = busy * seconds / 0.01
    extra = out_rows["enforced"]["platform_cpu_ms"] - out_rows["report-only"]["platform_cpu_ms"]
    return {"busy": busy, "seconds": seconds, **out_rows,
            "extra_cpu_ms": extra, "us_per_environment_poll": extra * 1000.0 / polls,
            "cpu_share_of_a_core": extra / (seconds * 1000.0)}


def table(results: dict[str, Any]) -> str:
    lines = ["| poll (ms) | trials | OOM | latency p50 (ms) | latency max (ms) | step (ms) "
             "| client 502 p50 (ms) | overshoot p50 (MB) | growth (MB/ms) |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for d in results["detection"]:
        lines.append(f"| {d['poll_ms']:g} | {len(d['trials'])} | {'✓' if d['all_out_of_memory'] else '✗'} "
                     f"| {d['median_latency_ms']:.1f} | {d['max_latency_ms']:.1f} "
                     f"| {d['median_step_ms']:.2f} "
                     f"| {d['median_client_ms']:.1f} | {d['median_overshoot_mb']:.1f} "
                     f"| {d['median_growth_mb_per_ms']:.2f} |")
    s, c = results["spikes"], results["cost"]
    failed = sum(r["error_type"] == "Runtime.OutOfMemory" for r in s["trials"])
    seen = ", ".join(f"{r['seen_mb']:.0f}" for r in s["trials"])
    lines += ["", f"Spikes of {s['spike_mb']} MB freed before the answer, 1 s polls: "
              f"{failed}/{len(s['trials'])} failed (peaks seen {seen} MB).",
              "", f"Watching {c['busy']} busy environments for {c['seconds']:g} s: platform CPU "
              f"{c['enforced']['platform_cpu_ms']:.0f} ms enforced vs "
              f"{c['report-only']['platform_cpu_ms']:.0f} ms report-only → "
              f"{c['us_per_environment_poll']:.1f} µs per environment-poll "
              f"({100 * c['cpu_share_of_a_core']:.2f} % of a core)."]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--polls", type=float, nargs="+", default=[1, 5, 10, 50])
    ap.add_argument("--trials", type=int, default=7)
    ap.add_argument("--spike-mb", type=int, default=160)
    ap.add_argument("--busy", type=int, default=6)
    ap.add_argument("--busy-s", type=float, default=10.0)
    ap.add_argument("--quick", action="store_true", help="a short run (the test's)")
    args = ap.parse_args()
    if args.quick:
        args.polls, args.trials, args.busy, args.busy_s = [10], 2, 2, 1.0
    args.out.mkdir(parents=True, exist_ok=True)
    handler_dir = args.out / "handler"
    handler_dir.mkdir(exist_ok=True)
    (handler_dir / "memhog_exp.py").write_text(HANDLER)
    results = {
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()},
        "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                              capture_output=True).stdout.strip(),
        "detection": [detection(args.out, handler_dir, ms, args.trials) for ms in args.polls],
        "spikes": spikes(args.out, handler_dir, args.spike_mb, max(2, args.trials // 2)),
        "cost": watching_cost(args.out, handler_dir, args.busy, args.busy_s),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
