"""Cost per million texts and throughput of batch requests against single requests, in one run.

The shipped Kim CNN (``millicent/artifacts/kim-sst1-static``) is served by the local platform
(``millicent serve``, 128 MB) with its GloVe-50 vectors in DynamoDB (dynalite, binary
layout) behind a frequent-word pack of ``--pack-mb`` MiB, and priced as a Function URL at
128 MB, x86_64, 1 ms billing, DynamoDB on-demand. On the SST-1 dev sentences it measures:

1. **a batch job from cold** — ``millicent batch`` (the Python API) over the 1,101 sentences
   at ``--batch-size`` on a fresh platform: every environment's INIT and every LRU miss is
   in the bill;
2. **single requests against batches**, alternating for ``--rounds`` rounds on one warm
   platform: ``bench`` at ``--single-concurrency`` and ``bench --batch-size`` at
   ``--batch-concurrency`` — requests/s, texts/s and cost per million of each;
3. **the paper's configuration** (unless ``--no-paper``): ``bench --compare``'s ``paper``
   baseline (DynamoDB List of Numbers, no pack, no LRU, REST API) on the same dynalite,
   single requests at C = 5, for the ratio of costs measured in the same run.

    python experiments/batch_cost.py --data-dir ../shared/data --out runs/batch-cost

Prints the figures and whether the goals are met (≤ $0.05 per million texts at batch 64,
≥ 100× below the paper's cost per query, texts/s ≥ 3× the best single-request q/s);
writes ``results.json`` under ``--out``. ``--limit N`` (first N sentences), ``--rounds 1``
and ``--no-paper`` make the short version the tests run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent.batch.job import run_job  # noqa: E402
from millicent.batch.runner import BatchJob  # noqa: E402
from millicent.data.sst import load_sst  # noqa: E402
from millicent.economics.cost import Cost, CostOptions  # noqa: E402
from millicent.economics.prices import load_prices  # noqa: E402
from millicent.harness.rows import ResultRow  # noqa: E402
from millicent.harness.runner import Reporting, Sweep, bench_endpoint  # noqa: E402
from millicent.harness.scenario import Configuration, parse_int_list  # noqa: E402
from millicent.harness.workload import load_workload  # noqa: E402
from millicent.store.pack import FrequentWordPack  # noqa: E402

#: the runs' own reports are not shown: the script prints its own figures
QUIET = Reporting(progress=False, plots=False, out=io.StringIO(), err=io.StringIO())
from millicent.testing.loopback import (  # noqa: E402
    PlatformProcess,
    start_dynalite,
    start_platform,
)

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}
GOAL_USD_PER_MILLION_TEXTS = 0.05
GOAL_BELOW_PAPER = 100.0
GOAL_THROUGHPUT = 3.0


def cli(*args: str) -> None:
    """One ``millicent`` command from the repo root (the real CLI), quiet unless it fails."""
    done = subprocess.run([sys.executable, "-m", "millicent.cli.main", *args], cwd=REPO,
                          env={**os.environ, **CREDENTIALS}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"millicent {' '.join(args)} failed:\n{done.stderr}")


def prepare(args: argparse.Namespace, work: Path, endpoint: str) -> tuple[str, Path, dict[str, Any]]:
    """The artifact's vectors (``--vocab`` words) in a dynalite table, and the pack."""
    table = f"batch-cost-{args.vocab.replace(':', '-')}"
    store = f"dynamodb://{table}?endpoint={endpoint}&region=us-east-1"
    cli("embeddings", "load", str(args.artifact), "--vocab-from", args.vocab, "--store", store,
        "--data-dir", str(args.data_dir), "--quiet")
    # the pack: GloVe's most frequent words (all 400,000 with the glove extra), not the
    # words of the test set — as a function that serves any text would bundle them
    pack = work / f"pack-{args.pack_mb:g}mb.pack"
    cli("embeddings", "pack", args.pack_source, "--budget-mb", f"{args.pack_mb:g}",
        "--out", str(pack), "--data-dir", str(args.data_dir))
    info = {"table": table, "vocab": args.vocab, "pack_mb": args.pack_mb,
            "pack_words": len(FrequentWordPack.open(pack)), "pack_bytes": pack.stat().st_size}
    return store, pack, info


def serve(args: argparse.Namespace, store: str, pack: Path, log_dir: Path) -> PlatformProcess:
    return start_platform(["--model", f"kim={args.artifact}", "--store", store, "--pack", str(pack),
                           "--memory-mb", "128", "--max-concurrency", "32"], log_dir,
                          env=CREDENTIALS)


def peak_rss(platform: PlatformProcess) -> float | None:
    values = [r["max_memory_mb"] for r in platform.records() if r.get("max_memory_mb")]
    return round(max(values), 1) if values else None


def job_from_cold(args: argparse.Namespace, platform: PlatformProcess, texts: Path,
                  out: Path) -> dict[str, Any]:
    """``millicent batch`` over the sentences on a platform that has run nothing yet."""
    job = BatchJob(texts, out / "job.jsonl", platform.url, batch_size=args.batch_size,
                   concurrency=args.job_concurrency, progress=False)
    report = run_job(job, load_prices(), CostOptions())
    d = report.to_dict()
    s = d["session"]
    d["texts_per_s"] = s["ok"] / s["seconds"] if s["seconds"] else None
    d["peak_rss_mb"] = peak_rss(platform)
    return d


def bench(args: argparse.Namespace, url: str, out: Path, batch_size: int,
          concurrency: list[int]) -> list[ResultRow]:
    workload = load_workload("kim", args.data_dir, None, args.limit, batch_size)
    sweep = Sweep(tuple(concurrency), args.batch_repeat if batch_size > 1 else 1)
    run = bench_endpoint(url, workload, out, sweep, Configuration("batch" if batch_size > 1 else "single"),
                         reporting=QUIET)
    return run.rows


def best(rows: list[ResultRow], rate: Callable[[ResultRow], float | None]) -> ResultRow:
    return max(rows, key=lambda r: rate(r) or 0.0)


def _texts_per_s(row: ResultRow) -> float | None:
    return row.per_text.throughput_tps if row.per_text else None


def _total(cost: Cost | None) -> float | None:
    return None if cost is None else cost.total


def rounds(args: argparse.Namespace, url: str, out: Path) -> dict[str, Any]:
    """Single requests and batches, alternating, on one warm platform."""
    per_round: list[dict[str, Any]] = []
    for n in range(args.rounds):
        single = bench(args, url, out / f"single-{n}", 1, args.single_concurrency)
        batch = bench(args, url, out / f"batch-{n}", args.batch_size, args.batch_concurrency)
        s, b = best(single, lambda r: r.throughput_qps), best(batch, _texts_per_s)
        bt = b.per_text
        assert bt is not None  # a batched workload's rows carry their per-text figures
        per_round.append({
            "single_qps": s.throughput_qps, "single_c": s.concurrency,
            "single_usd_per_million": _total(s.cost.per_million if s.cost else None),
            "batch_tps": bt.throughput_tps, "batch_c": b.concurrency,
            "batch_usd_per_million_texts": _total(bt.cost_per_million_texts),
            "batch_lambda_usd_per_million_texts": _total(bt.lambda_projection_per_million_texts),
            "ratio": bt.throughput_tps / s.throughput_qps if s.throughput_qps else None,
            "single_rows": [r.to_dict() for r in single],
            "batch_rows": [r.to_dict() for r in batch],
            "peak_rss_mb": max((r.max_memory_mb or 0) for r in single + batch) or None,
        })
    ratios = [r["ratio"] for r in per_round if r["ratio"] is not None]
    return {"rounds": per_round, "median_ratio": statistics.median(ratios) if ratios else None}


def paper(args: argparse.Namespace, endpoint: str, out: Path) -> dict[str, Any]:
    """The paper's configuration, single requests at C = 5, as ``bench --compare`` runs it."""
    from millicent.harness.scenario import BASELINES
    from millicent.harness.workload import load_workload
    from millicent.testbed.compare import run_compare
    from millicent.testbed.deployments import Setup

    setup = Setup(artifacts={"kim": args.artifact}, data_dir=args.data_dir,
                  work_dir=out / "deploy", dynamodb_endpoint=endpoint)
    workloads = {"kim": load_workload("kim", args.data_dir, "kim", args.limit)}
    os.environ.update(CREDENTIALS)
    run = run_compare([BASELINES["paper"]], setup, workloads, Sweep((5,)), out, load_prices(),
                      reporting=QUIET)
    (row,) = run.rows
    return {"concurrency": 5, "throughput_qps": row.throughput_qps,
            "usd_per_million": _total(row.cost.per_million if row.cost else None),
            "cost_per_million_usd": row.cost.to_dict() if row.cost else None}


def goals(results: dict[str, Any]) -> dict[str, Any]:
    job = results["job"]
    measured = job["cost_per_million_texts_usd"]["total"]
    on_lambda = (job["lambda_cost_per_million_texts_usd"] or {}).get("total", measured)
    worst = max(measured, on_lambda)
    out: dict[str, Any] = {
        "usd_per_million_texts": worst, "cost_goal_met": worst <= GOAL_USD_PER_MILLION_TEXTS,
        "throughput_ratio": results["alternating"]["median_ratio"],
    }
    ratio = out["throughput_ratio"]
    out["throughput_goal_met"] = ratio is not None and ratio >= GOAL_THROUGHPUT
    if results.get("paper"):
        out["below_paper"] = results["paper"]["usd_per_million"] / worst
        out["paper_goal_met"] = out["below_paper"] >= GOAL_BELOW_PAPER
    return out


def usd(v: float | None) -> str:
    return "–" if v is None else f"${v:,.4f}"


def components(c: dict[str, float]) -> str:
    return (f"{usd(c['total'])} (Lambda compute {usd(c['compute'])}, requests "
            f"{usd(c['requests'])}, gateway {usd(c['gateway'])}, DynamoDB {usd(c['store'])})")


def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def render(r: dict[str, Any]) -> str:
    job, alt, g, p = r["job"], r["alternating"], r["goals"], r["pack"]
    lines = [
        f"Kim CNN SST-1 (static), {job['lines']:,} SST-1 dev sentences, batch {r['batch_size']}, "
        f"128 MB x86_64, Function URL, 1 ms billing, DynamoDB on-demand (dynalite); pack "
        f"{p['pack_mb']:g} MiB = {p['pack_words']:,} GloVe words; peak RSS of an environment "
        f"{job['peak_rss_mb']} MB (job), {max(x['peak_rss_mb'] or 0 for x in alt['rounds'])} MB "
        "(bench)",
        f"batch job from cold (C = {r['job_concurrency']}, every INIT and LRU miss billed): "
        f"{job['texts_per_s']:,.0f} texts/s",
        f"  per million texts, as measured:       {components(job['cost_per_million_texts_usd'])}",
    ]
    if job["lambda_cost_per_million_texts_usd"]:
        lines.append("  per million texts, on Lambda's CPU:   "
                     + components(job["lambda_cost_per_million_texts_usd"]))
    lines.append("alternating rounds (warm platform; best C of each):")
    for n, x in enumerate(alt["rounds"], 1):
        lines.append(
            f"  round {n}: single {x['single_qps']:,.0f} q/s (C = {x['single_c']}, "
            f"{usd(x['single_usd_per_million'])} per M queries) | batch {x['batch_tps']:,.0f} "
            f"texts/s (C = {x['batch_c']}, {usd(x['batch_usd_per_million_texts'])} per M texts, "
            f"{usd(x['batch_lambda_usd_per_million_texts'])} on Lambda) | {x['ratio']:.1f}×")
    if r.get("paper"):
        lines.append(f"paper's configuration (C = 5): {usd(r['paper']['usd_per_million'])} per "
                     f"million queries, {r['paper']['throughput_qps']:,.0f} q/s")
    lines.append(f"goal: ≤ ${GOAL_USD_PER_MILLION_TEXTS} per million texts: "
                 f"{usd(g['usd_per_million_texts'])} {mark(g['cost_goal_met'])}")
    if "below_paper" in g:
        lines.append(f"goal: ≥ {GOAL_BELOW_PAPER:g}× below the paper's cost per query: "
                     f"{g['below_paper']:,.0f}× {mark(g['paper_goal_met'])}")
    ratio = g["throughput_ratio"]
    lines.append(f"goal: texts/s ≥ {GOAL_THROUGHPUT:g}× single-request q/s (median of rounds): "
                 f"{'–' if ratio is None else f'{ratio:.1f}×'} {mark(g['throughput_goal_met'])}")
    return "\n".join(lines)


def sentences_file(args: argparse.Namespace, out: Path) -> Path:
    dev = [e.text for e in load_sst(args.data_dir, "sst-1", "dev")][: args.limit]
    path = out / "sst1-dev.txt"
    path.write_text("\n".join(dev) + "\n", encoding="utf-8")
    return path


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    dynalite = None if args.dynamodb_endpoint else start_dynalite()
    endpoint = args.dynamodb_endpoint or dynalite.endpoint  # type: ignore[union-attr]
    try:
        store, pack, info = prepare(args, out, endpoint)
        results: dict[str, Any] = {"batch_size": args.batch_size, "pack": info,
                                   "job_concurrency": args.job_concurrency}
        for name in ("job", "alternating"):
            platform = serve(args, store, pack, out / f"platform-{name}")
            try:
                results[name] = (job_from_cold(args, platform, sentences_file(args, out), out)
                                 if name == "job" else rounds(args, platform.url, out))
            finally:
                platform.stop()
        results["paper"] = paper(args, endpoint, out / "paper") if args.paper else None
    finally:
        if dynalite is not None:
            dynalite.stop()
    results["goals"] = goals(results)
    return results


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MILLICENT_DATA_DIR", "")
                                                          or REPO.parent / "shared" / "data"))
    p.add_argument("--artifact", type=Path, default=REPO / "millicent" / "artifacts" / "kim-sst1-static")
    p.add_argument("--pack-mb", type=float, default=20.0)
    p.add_argument("--pack-source", default="glove-50",
                   help="vectors the pack's most frequent words come from (default glove-50)")
    p.add_argument("--vocab", default="sst-1", help="words loaded into the table (default sst-1)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--single-concurrency", type=parse_int_list, default=[5, 10, 20])
    p.add_argument("--batch-concurrency", type=parse_int_list, default=[2, 4, 8])
    p.add_argument("--batch-repeat", type=int, default=3, help="passes per batch scenario")
    p.add_argument("--job-concurrency", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--limit", type=int, default=None, help="first N sentences only")
    p.add_argument("--dynamodb-endpoint", default=None, help="default: start a dynalite")
    p.add_argument("--no-paper", dest="paper", action="store_false")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "batch-cost")
    p.add_argument("--json", action="store_true", help="print results.json instead of the text")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = run(args)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results) if args.json else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
