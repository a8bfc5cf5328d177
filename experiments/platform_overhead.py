"""What the local platform adds to a request, and what it sustains on this machine.

Measures, for the Kim CNN on the SST-1 dev sentences:

1. the handler called in-process (the same API Gateway v2 events, no platform): p50/p99;
2. ``millicent serve`` as a real process: cold starts (platform Init Duration = spawn → first
   ``/next``, the handler's model+store init, the whole first request as the client sees it);
3. warm latency through the gateway at C=1 on one keep-alive connection: p50/p99, and the
   platform overhead = gateway − in-process;
4. requests per second at C = 1, 8, 32 (closed loop, warm-up discarded).

    python experiments/platform_overhead.py --artifact millicent/artifacts/kim-sst1 \
        --store sqlite:///runs/glove50.db [--data-dir ../shared/data] [--out runs/bench-platform]

Writes ``results.json`` and prints a Markdown table.
"""

from __future__ import annotations

import os

# The in-process baseline runs with the BLAS setting the handler gives every execution
# environment (one thread): with two, a GEMM of ≥37 rows takes 15-30 ms on this machine.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.data.sst import load_sst  # noqa: E402
from millicent.harness.closed_loop import run_closed_loop  # noqa: E402
from millicent.harness.workload import PlannedRequest  # noqa: E402
from millicent.platform import procstat  # noqa: E402
from millicent.platform.apigw import HttpRequest, http_api_event  # noqa: E402
from millicent.runtime.environment import FunctionEnvironment  # noqa: E402
from millicent.runtime.handler import handle  # noqa: E402
from millicent.testing.loopback import PlatformProcess, start_platform, wait_until  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": round(pct(values, 50), 3), "p99": round(pct(values, 99), 3),
            "mean": round(float(np.mean(values)), 3)}


def in_process(bodies: list[bytes], function_env: dict[str, str], rounds: int) -> dict[str, Any]:
    """The handler alone: same events, same models and store, no processes or sockets."""
    env = FunctionEnvironment(config=lambda: config.FunctionConfig.from_env(function_env))
    ctx = SimpleNamespace(function_name="kim", aws_request_id="bench")
    events = [http_api_event(HttpRequest("POST", "/kim", "", [], b, "127.0.0.1", "x", "127.0.0.1"))
              for b in bodies]
    t0 = time.perf_counter()
    handle(events[0], ctx, env)
    cold_ms = (time.perf_counter() - t0) * 1000.0
    for e in events[:100]:  # warm-up
        handle(e, ctx, env)
    # the benchmark's own objects (events, results) are not the function's: keep the cyclic
    # GC from scanning them, or its full collections show up as 15 ms outliers
    gc.collect()
    gc.freeze()
    lat, labels = [], []
    for _ in range(rounds):
        for e in events:
            t = time.perf_counter()
            out = handle(e, ctx, env)
            lat.append((time.perf_counter() - t) * 1000.0)
            labels.append(json.loads(out["body"])["label"])
    gc.unfreeze()
    env.close()
    return {"cold_first_call_ms": round(cold_ms, 3), "warm": summary(lat), "labels": labels[: len(bodies)]}


def one(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[float, int, dict[str, str], Any]:
    t = time.perf_counter()
    conn.request("POST", path, body=body)
    resp = conn.getresponse()
    raw = resp.read()
    ms = (time.perf_counter() - t) * 1000.0
    return ms, resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(raw)


def cold_starts(p: PlatformProcess, body: bytes, samples: int) -> dict[str, Any]:
    """Wait for scale-to-zero before each sample, so every one is a real cold start."""
    rows = []
    for _ in range(samples):
        assert wait_until(lambda: p.stats()["environments_total"] == 0, 30)
        conn = http.client.HTTPConnection("127.0.0.1", p.port)
        ms, status, h, out = one(conn, "/kim", body)
        conn.close()
        assert status == 200 and h["x-millicent-cold"] == "1", (status, out)
        rows.append({"client_ms": ms, "platform_init_ms": float(h["x-millicent-init-ms"]),
                     "handler_init_ms": out["timings"].get("init_ms", 0.0),
                     "duration_ms": float(h["x-millicent-duration-ms"]),
                     "billed_ms": int(h["x-millicent-billed-ms"])})
    return {k: summary([r[k] for r in rows]) for k in rows[0]}


def warm_gateway(p: PlatformProcess, bodies: list[bytes], rounds: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", p.port)
    for b in bodies[:100]:
        one(conn, "/kim", b)
    lat, dur, labels = [], [], []
    for _ in range(rounds):
        for b in bodies:
            ms, status, h, out = one(conn, "/kim", b)
            assert status == 200 and h["x-millicent-cold"] == "0", (status, out)
            lat.append(ms)
            dur.append(float(h["x-millicent-duration-ms"]))
            labels.append(out["label"])
    conn.close()
    return {"client": summary(lat), "function_duration": summary(dur), "labels": labels[: len(bodies)]}


def throughput(p: PlatformProcess, bodies: list[bytes], levels: list[int], per_level: int) -> list[dict[str, Any]]:
    """Closed loop at each C; also where the CPU went (gateway process, environments, client)."""
    plan = [PlannedRequest("/kim", b) for b in bodies]
    rows = []
    for c in levels:
        measured = [i % len(plan) for i in range(per_level)]
        # enough warm-up that all C environments exist and have served before measuring
        warmup = [i % len(plan) for i in range(max(200, 8 * c))]
        asyncio.run(run_closed_loop(p.url, plan, c, warmup))
        gw0, cl0 = procstat.cpu_ms(p.proc.pid) or 0.0, time.process_time()
        records = asyncio.run(run_closed_loop(p.url, plan, c, measured))
        gw1, cl1 = procstat.cpu_ms(p.proc.pid) or 0.0, time.process_time()
        ok = [r for r in records if r.ok]
        span = max(r.done_s for r in records) - min(r.sent_s for r in records)
        env_cpu = [r.cpu_ms for r in ok if r.cpu_ms is not None]
        rows.append({"concurrency": c, "requests": len(records), "ok": len(ok),
                     "errors": len(records) - len(ok), "rps": round(len(ok) / span, 1),
                     "cold_in_measure": sum(1 for r in ok if r.cold),
                     "latency": summary([r.latency_ms for r in ok]),
                     "environments": p.stats()["environments"]["kim"],
                     "cpu_ms_per_request": {
                         "gateway": round((gw1 - gw0) / len(records), 3),
                         "environment": round(float(np.mean(env_cpu)), 3) if env_cpu else None,
                         "client": round((cl1 - cl0) * 1000.0 / len(records), 3)}})
    return rows


def _arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifact", required=True, help="Kim CNN artifact directory")
    ap.add_argument("--store", required=True, help="store URL holding the artifact's vectors")
    ap.add_argument("--pack", default=None)
    ap.add_argument("--data-dir", default=os.environ.get(config.DATA_DIR, str(REPO.parent / "shared" / "data")))
    ap.add_argument("--cold-samples", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1, help="passes over the 1101 sentences for warm latency")
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--per-level", type=int, default=2202, help="measured requests per concurrency level")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment variable for the functions (passed to serve --env)")
    ap.add_argument("--out", default="runs/bench-platform")
    return ap.parse_args()


def main() -> int:
    args = _arguments()
    sentences = [ex.text for ex in load_sst(args.data_dir, "sst-1", "dev")]
    bodies = [json.dumps({"sentence": s}).encode() for s in sentences]
    artifact = str(Path(args.artifact).resolve())
    function_env = {config.MODELS: f"kim={artifact}", config.STORE_URL: args.store}
    if args.pack:
        function_env[config.PACK_PATH] = str(Path(args.pack).resolve())
    for item in args.env:  # FunctionConfig reads its own; others matter to the environments only
        key, _, value = item.partition("=")
        function_env[key] = value
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    print(f"in-process handler over {len(bodies)} sentences ...", file=sys.stderr)
    local = in_process(bodies, function_env, args.rounds)
    serve_args = ["--model", f"kim={artifact}", "--store", args.store,
                  "--max-concurrency", str(max(args.levels))]
    if args.pack:
        serve_args += ["--pack", args.pack]
    for item in args.env:
        serve_args += ["--env", item]
    # cold starts on a platform that scales to zero after 1 s ...
    p = start_platform([*serve_args, "--idle-timeout", "1"], out_dir / "platform-cold")
    try:
        print("cold starts ...", file=sys.stderr)
        cold = cold_starts(p, bodies[0], args.cold_samples)
    finally:
        p.stop()
    # ... warm measurements on one that keeps its environments
    p = start_platform([*serve_args, "--idle-timeout", "300"], out_dir / "platform-warm")
    try:
        print("warm latency through the gateway ...", file=sys.stderr)
        warm = warm_gateway(p, bodies, args.rounds)
        print("throughput ...", file=sys.stderr)
        tput = throughput(p, bodies, args.levels, args.per_level)
    finally:
        p.stop()
    same = sum(a == b for a, b in zip(local.pop("labels"), warm.pop("labels"), strict=True))
    result = {
        "machine": {"cpus": os.cpu_count()},
        "in_process": local,
        "cold": cold,
        "warm_gateway": warm,
        "overhead_ms": {"p50": round(warm["client"]["p50"] - local["warm"]["p50"], 3),
                        "p99": round(warm["client"]["p99"] - local["warm"]["p99"], 3)},
        "labels_identical": f"{same}/{len(bodies)}",
        "throughput": tput,
    }
    (out_dir / "results.json").write_text(json.dumps(result, indent=2))
    print(render(result))
    return 0


def render(r: dict[str, Any]) -> str:
    c, w, lo = r["cold"], r["warm_gateway"], r["in_process"]
    lines = [
        "| measure | p50 ms | p99 ms |", "|---|---|---|",
        f"| cold: platform init (spawn → first /next) | {c['platform_init_ms']['p50']} | {c['platform_init_ms']['p99']} |",
        f"| cold: handler init (models + store) | {c['handler_init_ms']['p50']} | {c['handler_init_ms']['p99']} |",
        f"| cold: first request, client side | {c['client_ms']['p50']} | {c['client_ms']['p99']} |",
        f"| warm: in-process handler call | {lo['warm']['p50']} | {lo['warm']['p99']} |",
        f"| warm: function duration (REPORT) | {w['function_duration']['p50']} | {w['function_duration']['p99']} |",
        f"| warm: through the gateway, client side | {w['client']['p50']} | {w['client']['p99']} |",
        f"| platform overhead (gateway − in-process) | {r['overhead_ms']['p50']} | {r['overhead_ms']['p99']} |",
        "", "| C | requests | errors | req/s | p50 ms | p99 ms | cold | environments "
        "| CPU ms/request: gateway / environment / client |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in r["throughput"]:
        cpu = t["cpu_ms_per_request"]
        lines.append(f"| {t['concurrency']} | {t['requests']} | {t['errors']} | {t['rps']} | "
                     f"{t['latency']['p50']} | {t['latency']['p99']} | {t['cold_in_measure']} | "
                     f"{t['environments']} | {cpu['gateway']} / {cpu['environment']} / {cpu['client']} |")
    lines.append(f"\nlabels identical in-process vs gateway: {r['labels_identical']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
