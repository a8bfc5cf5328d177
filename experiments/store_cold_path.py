"""The store's cold path: import + client creation + first reads of each backend, each in a
fresh process, as an execution environment's INIT pays them.

Starts dynalite and redis-server on loopback (tests/servers.py), loads the same 200 random
300-d vectors into a SQLite file, a DynamoDB table (dynalite) and Redis, then, for each
backend and each source tree (``--variant NAME=DIR``: that tree on ``PYTHONPATH``, so an
older commit can be measured against the working tree in the same run, alternating), runs
``--samples`` fresh ``python`` processes that time, one after the other:

* ``numpy``: ``import numpy`` (every backend needs it; shown apart);
* ``import``: ``import millicent.store`` and the backend's module (no client library yet);
* ``open``: ``open_store(url, read_only=True)`` — the client library's import and the
  client's creation (for DynamoDB: boto3/botocore, the service model, credentials);
* ``meta``: the store's metadata, the first round trip (connection, endpoint resolution,
  signing);
* ``first_get``: ``get_many`` of 20 words; ``second_get``: the same again (warm).

Credentials are given as environment variables, as Lambda gives them. Medians in ms, the
modules each variant loaded (boto3? s3transfer?) and the ratio of each variant to the first
are printed as Markdown tables — wall-clock, and the CPU time of each phase (user +
system, ``time.process_time``: less sensitive to the load of a shared machine) — and written
as JSON.

    git archive b7e5490 | (mkdir -p /tmp/millicent-b7e5490 && tar -x -C /tmp/millicent-b7e5490)
    python experiments/store_cold_path.py --variant before=/tmp/millicent-b7e5490 --variant after=. \\
        --samples 15 --out runs/store-cold-path
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent.testing import loopback as servers  # noqa: E402

PHASES = ("numpy", "import", "open", "meta", "first_get", "second_get")
WATCHED = ("boto3", "botocore", "s3transfer", "botocore.docs", "redis", "redis.asyncio", "sqlite3")

#: Runs in the fresh process (argv: backend module, store URL, 20 words as JSON).
CHILD = r"""
import importlib, json, sys, time
t, c = [time.perf_counter()], [time.process_time()]
def mark():
    t.append(time.perf_counter())
    c.append(time.process_time())
import numpy
mark()
import millicent.store
importlib.import_module(sys.argv[1])
mark()
store = millicent.store.open_store(sys.argv[2], read_only=True, deadline_s=5.0)
mark()
store.meta
mark()
words = json.loads(sys.argv[3])
got = store.get_many(words)
mark()
again = store.get_many(words)
mark()
assert len(got) == len(again) == len(words), (len(got), len(words))
print(json.dumps({"ms": [1000 * (b - a) for a, b in zip(t, t[1:])],
                  "cpu_ms": [1000 * (b - a) for a, b in zip(c, c[1:])],
                  "modules": sorted(m for m in sys.modules)}))
"""

MODULES = {"sqlite": "millicent.store.sqlite", "dynamodb": "millicent.store.dynamodb",
           "redis": "millicent.store.redis"}


def load_stores(work: Path, dynalite: servers.Server, redis: servers.Server) -> dict[str, str]:
    """The same 200 vectors in each backend; returns backend → URL."""
    import numpy as np

    from millicent.store import StoreMeta, open_store

    rng = np.random.default_rng(0)
    words = [f"word{i}" for i in range(200)]
    matrix = rng.standard_normal((200, 300)).astype(np.float32)
    urls = {"sqlite": f"sqlite:///{work}/vectors.db",
            "dynamodb": f"dynamodb://cold-path?endpoint={dynalite.endpoint}&region=us-east-1",
            "redis": f"redis://127.0.0.1:{redis.port}/0?prefix=cold:"}
    for url in urls.values():
        store = open_store(url)
        store.ensure(StoreMeta(dim=300, source="random"))
        store.put_many(zip(words, matrix, strict=True))
        store.close()
    return urls


def sample(src: Path, backend: str, url: str, words: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"PYTHONPATH": str(src), "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1"})
    done = subprocess.run([sys.executable, "-c", CHILD, MODULES[backend], url, json.dumps(words)],
                          capture_output=True, text=True, env=env, cwd=src, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{backend} in {src}: {done.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def run(variants: list[tuple[str, Path]], samples: int, out_dir: Path) -> dict[str, Any]:
    dynalite, redis = servers.start_dynalite(), servers.start_redis()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            urls = load_stores(Path(tmp), dynalite, redis)
            words = [f"word{i}" for i in range(0, 200, 10)]
            raw: dict[str, dict[str, list[dict[str, Any]]]] = {
                b: {name: [] for name, _ in variants} for b in urls}
            for i in range(samples):  # alternate variants and backends: drifts hit all alike
                order = variants if i % 2 == 0 else variants[::-1]
                for backend, url in urls.items():
                    for name, src in order:
                        raw[backend][name].append(sample(src, backend, url, words))
    finally:
        dynalite.stop()
        redis.stop()
    results: dict[str, Any] = {"samples": samples, "variants": {n: str(s) for n, s in variants},
                               "backends": {}}
    for backend, per in raw.items():
        results["backends"][backend] = {}
        for name, runs in per.items():
            med = {p: statistics.median(r["ms"][i] for r in runs) for i, p in enumerate(PHASES)}
            med["cold_total"] = sum(med[p] for p in PHASES[:5])
            cpu = {p: statistics.median(r["cpu_ms"][i] for r in runs)
                   for i, p in enumerate(PHASES)}
            cpu["cold_total"] = sum(cpu[p] for p in PHASES[:5])
            loaded = set(runs[0]["modules"])
            results["backends"][backend][name] = {
                "median_ms": med, "median_cpu_ms": cpu, "loaded": [m for m in WATCHED if m in loaded],
                "modules_loaded": len(loaded)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    return results


def report(results: dict[str, Any], key: str = "median_ms") -> str:
    """One table: wall-clock ms (``median_ms``) or CPU ms (``median_cpu_ms``) per phase."""
    head = ["backend", "variant", *PHASES, "cold total", "vs first", "libraries loaded"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for backend, per in results["backends"].items():
        first = next(iter(per.values()))[key]["cold_total"]
        for name, r in per.items():
            m = r[key]
            cells = [backend, name, *(f"{m[p]:.1f}" for p in PHASES), f"{m['cold_total']:.1f}",
                     f"{m['cold_total'] / first:.2f}×", ", ".join(r["loaded"]) or "–"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                    help="a source tree to measure (repeatable; default: this tree)")
    ap.add_argument("--samples", type=int, default=7, help="fresh processes per backend and variant")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "store-cold-path")
    args = ap.parse_args()
    variants = []
    for spec in args.variant or [f"this={REPO}"]:
        name, sep, path = spec.partition("=")
        if not sep or not Path(path).is_dir():
            ap.error(f"--variant must be NAME=DIR (an existing directory), got {spec!r}")
        variants.append((name, Path(path).resolve()))
    results = run(variants, args.samples, args.out)
    print("wall-clock ms\n\n" + report(results) + "\n\nCPU ms (user + system: less "
          "sensitive to a shared machine's load)\n\n" + report(results, "median_cpu_ms"))
    print(f"\n(median of {args.samples} fresh processes each; written to {args.out / 'results.json'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
