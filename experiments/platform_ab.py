"""Interleaved A/B of the local platform's CPU per warm request: two (or more) source trees
served side by side, the same requests sent to each in alternation.

Each variant is a directory holding a millicent source tree (``git archive`` of an older
commit, or the working tree) served by its own ``millicent serve`` process with
``PYTHONPATH`` pointing at it, so gateway and execution environments both run that code.
All variants stay up for the whole run; every round sends each variant the same measured
requests at every C, in alternating order, so drifts of this shared machine's load hit
all variants alike. Per variant and C it reports the median over rounds of:

* CPU ms per request of the gateway process and of all execution environments together
  (``/proc`` of every process, read before and after the measured requests — not the
  REPORT records, whose CPU accounting is one of the things compared), and of the client;
* requests per second and client p50 / p99 latency;

and the ratio of each variant to the first.

    git archive 9093f2d | (mkdir -p /tmp/millicent-base && tar -x -C /tmp/millicent-base)
    python experiments/platform_ab.py --variant before=/tmp/millicent-base --variant after=. \\
        --artifact millicent/artifacts/kim-sst1-static --store sqlite:///runs/bench-platform/vectors.db \\
        --levels 1 8 32 --requests 2000 --rounds 3

A variant may add environment variables or ``serve`` options for its platform:
``--variant NAME=DIR,KEY=VALUE,--loop=asyncio``.
Writes ``results.json`` under ``--out`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.data.sst import load_sst  # noqa: E402
from millicent.harness.closed_loop import run_closed_loop  # noqa: E402
from millicent.harness.workload import PlannedRequest  # noqa: E402
from millicent.platform import procstat  # noqa: E402
from millicent.testing.loopback import free_port, stop_process, wait_listening  # noqa: E402


@dataclass
class Variant:
    name: str
    src: Path
    env: dict[str, str]
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, serve_args: list[str], out: Path) -> None:
        self.port = free_port()
        log_dir = out / self.name
        log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(self.src), **self.env}
        cmd = [sys.executable, "-m", "millicent.cli.main", "serve", *serve_args, *self.args,
               "--port", str(self.port), "--log-dir", str(log_dir)]
        with open(log_dir / "serve.log", "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.src, env=env, stdout=log, stderr=log)
        wait_listening(self.port, self.proc, timeout=60.0)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace_s=20.0)

    def env_pids(self) -> list[int]:
        with urllib.request.urlopen(self.url + "/_millicent/stats", timeout=10) as r:
            stats = json.loads(r.read())
        return [int(e["pid"]) for e in stats["environment_details"] if e.get("pid")]


def _cpu(pids: list[int]) -> float:
    return sum(procstat.cpu_ms(p) or 0.0 for p in pids)


def measure(v: Variant, plan: list[PlannedRequest], c: int, n: int, offset: int) -> dict[str, Any]:
    """Warm C environments, then send ``n`` requests at C and account every process's CPU."""
    assert v.proc is not None
    order = [(offset + i) % len(plan) for i in range(n)]
    asyncio.run(run_closed_loop(v.url, plan, c, [i % len(plan) for i in range(max(4 * c, 50))]))
    pids = v.env_pids()
    gw0, env0, cl0 = procstat.cpu_ms(v.proc.pid) or 0.0, _cpu(pids), time.process_time()
    records = asyncio.run(run_closed_loop(v.url, plan, c, order))
    gw1, env1, cl1 = procstat.cpu_ms(v.proc.pid) or 0.0, _cpu(pids), time.process_time()
    if len(v.env_pids()) != len(pids):
        print(f"  {v.name} C={c}: the environments changed during the measurement", file=sys.stderr)
    ok = [r for r in records if r.ok]
    span = max(r.done_s for r in records) - min(r.sent_s for r in records)
    lat = sorted(r.latency_ms for r in ok)
    return {
        "requests": len(records), "errors": len(records) - len(ok),
        "cold": sum(1 for r in ok if r.cold),
        "rps": len(ok) / span,
        "p50_ms": lat[len(lat) // 2], "p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "gateway_cpu_ms": (gw1 - gw0) / len(records),
        "env_cpu_ms": (env1 - env0) / len(records),
        "client_cpu_ms": (cl1 - cl0) * 1000.0 / len(records),
        "environments": len(pids),
    }


def parse_variant(spec: str) -> Variant:
    name, _, rest = spec.partition("=")
    parts = rest.split(",")
    args = [p for p in parts[1:] if p.startswith("--")]
    env = dict(p.split("=", 1) for p in parts[1:] if not p.startswith("--"))
    src = Path(parts[0]).resolve()
    if not (src / "millicent" / "__init__.py").is_file():
        raise SystemExit(f"--variant {spec}: no millicent source tree in {src}")
    return Variant(name, src, env, args)


KEYS = ("gateway_cpu_ms", "env_cpu_ms", "client_cpu_ms", "rps", "p50_ms", "p99_ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", action="append", required=True, metavar="NAME=DIR[,K=V...]")
    ap.add_argument("--artifact", default="millicent/artifacts/kim-sst1-static")
    ap.add_argument("--store", required=True, help="store URL holding the artifact's vectors")
    ap.add_argument("--pack", default=None)
    ap.add_argument("--data-dir", default=os.environ.get(config.DATA_DIR, str(REPO.parent / "shared" / "data")))
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--requests", type=int, default=2000, help="measured requests per variant, C and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="runs/bench-platform-ab")
    args = ap.parse_args()

    variants = [parse_variant(s) for s in args.variant]
    sentences = [ex.text for ex in load_sst(args.data_dir, "sst-1", "dev")]
    plan = [PlannedRequest("/kim", json.dumps({"sentence": s}).encode()) for s in sentences]
    serve_args = ["--model", f"kim={Path(args.artifact).resolve()}", "--store", args.store,
                  "--max-concurrency", str(max(args.levels)), "--idle-timeout", "3600"]
    if args.pack:
        serve_args += ["--pack", str(Path(args.pack).resolve())]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    samples: dict[tuple[str, int], list[dict[str, Any]]] = {}
    load = os.getloadavg()[0]
    try:
        for v in variants:
            v.start(serve_args, out)
        for rnd in range(args.rounds):
            for c in args.levels:
                order = variants if rnd % 2 == 0 else variants[::-1]
                for v in order:
                    m = measure(v, plan, c, args.requests, offset=rnd * args.requests)
                    samples.setdefault((v.name, c), []).append(m)
                    print(f"round {rnd + 1} C={c} {v.name}: {m['rps']:.0f} req/s, CPU ms/req "
                          f"gateway {m['gateway_cpu_ms']:.3f} env {m['env_cpu_ms']:.3f} "
                          f"client {m['client_cpu_ms']:.3f}, errors {m['errors']}",
                          file=sys.stderr, flush=True)
    finally:
        for v in variants:
            v.stop()
    rows = []
    for c in args.levels:
        for v in variants:
            ms = samples[(v.name, c)]
            row = {"variant": v.name, "concurrency": c, "rounds": len(ms),
                   "errors": sum(m["errors"] for m in ms),
                   **{k: statistics.median(m[k] for m in ms) for k in KEYS}}
            rows.append(row)
    base = {r["concurrency"]: r for r in rows if r["variant"] == variants[0].name}
    for r in rows:
        b = base[r["concurrency"]]
        r["ratio"] = {k: r[k] / b[k] if b[k] else None for k in KEYS}
    result = {"load_average_before": load, "variants": {v.name: str(v.src) for v in variants},
              "requests": args.requests, "rounds": args.rounds, "rows": rows, "samples": {
                  f"{n}-c{c}": s for (n, c), s in samples.items()}}
    (out / "results.json").write_text(json.dumps(result, indent=2))
    print(render(result))
    return 0


def render(r: dict[str, Any]) -> str:
    lines = [f"load average before: {r['load_average_before']:.2f}; medians of {r['rounds']} "
             f"interleaved rounds × {r['requests']} requests", "",
             "| C | variant | req/s | p50 ms | p99 ms | CPU ms/req gateway | environments | "
             "client | gateway+env vs first |", "|---|---|---|---|---|---|---|---|---|"]
    first: dict[int, float] = {}
    for row in r["rows"]:
        platform = row["gateway_cpu_ms"] + row["env_cpu_ms"]
        first.setdefault(row["concurrency"], platform)
        lines.append(
            f"| {row['concurrency']} | {row['variant']} | {row['rps']:.0f} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {row['gateway_cpu_ms']:.3f} | {row['env_cpu_ms']:.3f} | "
            f"{row['client_cpu_ms']:.3f} | {platform / first[row['concurrency']]:.2f}× |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
