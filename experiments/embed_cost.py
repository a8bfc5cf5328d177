"""An embedding function's cost per million texts against OpenAI's text-embedding-3-small, and its
texts/s in batches against single requests, in one run.

The ``embed`` artifact ``--artifact`` (default: the mean of GloVe-50 word vectors, made here by
``millicent import vectors``; all-MiniLM-L6-v2 imported with ``millicent import hf`` is the
intended one) is served by the local platform (``millicent serve``) at ``--memory-mb`` with its
table in DynamoDB (dynalite) behind a pack of the ``--pack-mb`` MiB most frequent entries,
priced as a Function URL, x86_64, 1 ms billing, DynamoDB on-demand. On the SST-1 dev sentences
(1,101), alternating for ``--rounds`` rounds on one warm platform:

1. single requests (``bench``) at ``--single-concurrency``: the best requests/s;
2. batches of ``--batch-size`` (``bench --batch-size``) at ``--batch-concurrency``: texts/s and
   the cost per million texts projected to Lambda — the CPU each request used stretched to the
   memory size's share of a vCPU, its request fee, the DynamoDB reads of the pack's misses
   (the LRU's hits cost nothing, as on a warm function);

then, on a fresh platform, **the corpus as a user embeds it**: ``millicent batch --out
vectors.npy`` over the sentences (blocks sorted by length, so a batch pads little), every
INIT and LRU miss billed — the cost per million texts the goals are judged on.

**The goal's figure** (per million texts, from the batch rounds' warm requests): compute
projected to Lambda from the measured CPU at ``--memory-mb``, the request fee spread over a
batch's texts, and a DynamoDB read (0.5 read unit, every item ≤ 4 KB) of every distinct key of
a request the pack misses — the LRU left out, as for a corpus of a million texts nobody has
seen; INIT left out, as a million texts amortise it. It is set beside text-embedding-3-small's
list price (the price sheet's) at the run's measured tokens per text (the model's own
tokenizer). Goals: ≤ $0.10 per million texts, at least 4× below text-embedding-3-small,
batched texts/s ≥ 5× single-request requests/s.

    python experiments/embed_cost.py --data-dir ../shared/data --out runs/embed-cost
    python experiments/embed_cost.py --artifact runs/minilm --vocab none --pack-by wordfreq ...

Writes ``results.json`` under ``--out``. ``--limit N --rounds 1`` is the short version a test runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# the batch experiment's CLI runner (this script's folder is on sys.path when it runs)
from batch_cost import CREDENTIALS, cli  # noqa: E402

from millicent.economics.apis import TextCost, compare  # noqa: E402
from millicent.economics.prices import load_prices  # noqa: E402
from millicent.harness.rows import ResultRow  # noqa: E402
from millicent.harness.runner import Reporting, Sweep, bench_endpoint  # noqa: E402
from millicent.harness.scenario import Configuration, parse_int_list  # noqa: E402
from millicent.harness.workload import WorkloadSpec, load_workload  # noqa: E402
from millicent.testing.loopback import PlatformProcess, start_dynalite, start_platform  # noqa: E402

QUIET = Reporting(progress=False, plots=False, out=io.StringIO(), err=io.StringIO())
NAME = "emb"
API = "openai/text-embedding-3-small"
GOAL_USD_PER_MILLION_TEXTS = 0.10
GOAL_BELOW_API = 4.0
GOAL_THROUGHPUT = 5.0


def prepare(args: argparse.Namespace, work: Path, endpoint: str) -> tuple[Path, str, Path]:
    """The artifact (made when it is the default), its table in dynalite, and the pack."""
    artifact = args.artifact or work / "glove-50-mean"
    if args.artifact is None and not (artifact / "manifest.json").exists():
        cli("import", "vectors", "glove-50", "--role", "embed", "--out", str(artifact),
            "--data-dir", str(args.data_dir))
    store = f"dynamodb://embed-cost?endpoint={endpoint}&region=us-east-1"
    vocab = [] if args.vocab == "none" else ["--vocab-from", args.vocab]
    cli("embeddings", "load", str(artifact), *vocab, "--store", store, "--data-dir",
        str(args.data_dir), "--quiet")
    pack = work / f"pack-{args.pack_mb:g}mb.pack"
    cli("embeddings", "pack", str(artifact), "--budget-mb", f"{args.pack_mb:g}", "--by",
        args.pack_by, "--out", str(pack), "--data-dir", str(args.data_dir))
    return artifact, store, pack


def serve(args: argparse.Namespace, artifact: Path, store: str, pack: Path,
          log_dir: Path) -> PlatformProcess:
    return start_platform(["--model", f"{NAME}={artifact}", "--store", store, "--pack", str(pack),
                           "--memory-mb", str(args.memory_mb), "--max-concurrency", "32"],
                          log_dir, env=CREDENTIALS)


def pack_miss_usd(run_dir: Path, row: ResultRow) -> float:
    """Per million texts: a DynamoDB read of every distinct key a warm measured request of
    ``row``'s scenario found neither in the pack (LRU hits counted as reads too)."""
    from millicent.harness.records import read_records

    prices = load_prices()
    slug = f"{row.config}-{row.model}-c{row.concurrency}"
    warm = [r for r in read_records(run_dir / "records" / f"{slug}.jsonl")
            if r.phase == "measure" and r.ok and not r.cold]
    misses = sum(int(r.lookups.get("words", 0)) - int(r.lookups.get("pack_hits", 0)) for r in warm)
    texts = sum(int(r.embeddings or 0) for r in warm)
    units = misses * prices.dynamodb_units_eventual
    return units * prices.dynamodb_usd_per_million_rru / texts if texts else 0.0


def bench(args: argparse.Namespace, url: str, out: Path, batch_size: int,
          concurrency: list[int]) -> list[ResultRow]:
    workload = load_workload(NAME, args.data_dir, NAME, args.limit, batch_size,
                             WorkloadSpec("embed", "sst-1"))
    sweep = Sweep(tuple(concurrency), args.batch_repeat if batch_size > 1 else 1)
    conf = Configuration("batch" if batch_size > 1 else "single", memory_mb=args.memory_mb,
                         store="dynamodb", gateway="url")
    return bench_endpoint(url, workload, out, sweep, conf, reporting=QUIET).rows


def _round(args: argparse.Namespace, url: str, out: Path) -> dict[str, Any]:
    single = bench(args, url, out / "single", 1, args.single_concurrency)
    batch = bench(args, url, out / "batch", args.batch_size, args.batch_concurrency)
    s = max(single, key=lambda r: r.throughput_qps)
    b = max(batch, key=lambda r: r.per_text.throughput_tps if r.per_text else 0.0)
    pt = b.per_text
    assert pt is not None and pt.embeddings and pt.tokens_per_text  # an embed row's figures
    projected = pt.lambda_projection_per_million_texts or pt.cost_per_million_texts
    assert projected is not None
    ddb = pack_miss_usd(out / "batch", b)
    goal = {"compute": projected.compute, "requests": projected.requests + projected.gateway,
            "dynamodb_pack_misses": ddb}
    return {
        "goal_usd_per_million_texts": sum(goal.values()), "goal_cost": goal,
        "single_qps": s.throughput_qps, "single_c": s.concurrency,
        "batch_tps": pt.throughput_tps, "batch_c": b.concurrency,
        "ratio": pt.throughput_tps / s.throughput_qps if s.throughput_qps else None,
        "tokens_per_text": pt.tokens_per_text,
        "usd_per_million_texts": projected.total, "cost": projected.to_dict(),
        "measured_usd_per_million_texts": (pt.cost_per_million_texts.total
                                           if pt.cost_per_million_texts else None),
        "peak_rss_mb": max((r.max_memory_mb or 0) for r in single + batch) or None,
        "store_items_per_request": b.store.items_per_request,
        "single_rows": [r.to_dict() for r in single], "batch_rows": [r.to_dict() for r in batch]}


def job_from_cold(args: argparse.Namespace, url: str, out: Path) -> dict[str, Any]:
    """``millicent batch`` (the Python API) over the sentences into a .npy, on a fresh platform."""
    from millicent.batch.job import run_job
    from millicent.batch.runner import BatchJob
    from millicent.data.sst import load_sst
    from millicent.economics.cost import CostOptions

    texts = out / "sst1-dev.txt"
    dev = [e.text for e in load_sst(args.data_dir, "sst-1", "dev")][:args.limit]
    texts.write_text("\n".join(dev) + "\n", encoding="utf-8")
    job = BatchJob(texts, out / "vectors.npy", url, function=NAME, batch_size=args.batch_size,
                   concurrency=args.job_concurrency, progress=False)
    options = CostOptions(memory_mb=args.memory_mb, store="dynamodb", gateway="url")
    d = run_job(job, load_prices(), options).to_dict()
    s = d["session"]
    return {"lines": d["lines"], "ok": d["ok"], "errors": d["errors"],
            "texts_per_s": s["ok"] / s["seconds"] if s["seconds"] else None,
            "requests": d["requests_priced"], "cold_starts": s["cold_starts"],
            "cost": d["cost_per_million_texts_usd"], "lambda_cost": d["lambda_cost_per_million_texts_usd"]}


def goals(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    cost = statistics.median(r["goal_usd_per_million_texts"] for r in rounds)
    tokens = statistics.median(r["tokens_per_text"] for r in rounds)
    api = next(c for c in compare(TextCost(cost, tokens), load_prices().embedding_apis)
               if c.api.name == API)
    ratio = statistics.median(r["ratio"] for r in rounds if r["ratio"] is not None)
    return {"usd_per_million_texts": cost, "tokens_per_text": tokens,
            "api": API, "api_usd_per_million_texts": api.per_million_texts, "below_api": api.times,
            "throughput_ratio": ratio,
            "cost_goal_met": cost <= GOAL_USD_PER_MILLION_TEXTS,
            "api_goal_met": api.times >= GOAL_BELOW_API,
            "throughput_goal_met": ratio >= GOAL_THROUGHPUT}


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    dynalite = None if args.dynamodb_endpoint else start_dynalite()
    endpoint = args.dynamodb_endpoint or dynalite.endpoint  # type: ignore[union-attr]
    try:
        artifact, store, pack = prepare(args, out, endpoint)
        platform = serve(args, artifact, store, pack, out / "platform")
        try:
            rounds = [_round(args, platform.url, out / f"round-{n}") for n in range(args.rounds)]
        finally:
            platform.stop()
        platform = serve(args, artifact, store, pack, out / "platform-job")
        try:
            job = job_from_cold(args, platform.url, out)
        finally:
            platform.stop()
    finally:
        if dynalite is not None:
            dynalite.stop()
    return {"artifact": str(artifact), "memory_mb": args.memory_mb, "batch_size": args.batch_size,
            "pack_mb": args.pack_mb, "pack_by": args.pack_by, "texts": args.limit or 1101,
            "job_concurrency": args.job_concurrency, "rounds": rounds, "job": job,
            "goals": goals(rounds)}


def render(r: dict[str, Any]) -> str:
    g = r["goals"]
    mark = {True: "✓", False: "✗"}
    lines = [f"{r['artifact']} at {r['memory_mb']} MB, batch {r['batch_size']}, DynamoDB "
             f"(dynalite) behind a {r['pack_mb']:g} MiB pack, Function URL, x86_64, 1 ms billing"]
    for n, x in enumerate(r["rounds"], 1):
        c = x["cost"]
        lines.append(
            f"  round {n}: single {x['single_qps']:,.0f} q/s (C = {x['single_c']}) | batch "
            f"{x['batch_tps']:,.0f} texts/s (C = {x['batch_c']}): {x['ratio']:.1f}× | "
            f"${x['usd_per_million_texts']:.4f} per million texts on Lambda (compute "
            f"${c['compute']:.4f}, requests ${c['requests']:.4f}, DynamoDB ${c['store']:.4f}); "
            f"{x['tokens_per_text']:.1f} tokens a text; peak RSS {x['peak_rss_mb']} MB; the goal's "
            f"figure ${x['goal_usd_per_million_texts']:.4f} (compute "
            f"${x['goal_cost']['compute']:.4f}, requests ${x['goal_cost']['requests']:.4f}, "
            f"DynamoDB reads of pack misses ${x['goal_cost']['dynamodb_pack_misses']:.4f})")
    j = r["job"]
    lam = j["lambda_cost"] or j["cost"]
    lines.append(
        f"  corpus (millicent batch → .npy from cold, C = {r['job_concurrency']}, blocks sorted "
        f"by length): {j['ok']:,} texts at {j['texts_per_s']:,.0f} texts/s, {j['requests']} requests, "
        f"{j['cold_starts']} cold starts; per million texts ${j['cost']['total']:.4f} as measured, "
        f"${lam['total']:.4f} on Lambda (compute ${lam['compute']:.4f}, requests "
        f"${lam['requests']:.4f}, DynamoDB ${lam['store']:.4f})")
    lines += [
        f"goal: ≤ ${GOAL_USD_PER_MILLION_TEXTS} per million texts: "
        f"${g['usd_per_million_texts']:.4f} {mark[g['cost_goal_met']]}",
        f"goal: ≥ {GOAL_BELOW_API:g}× below {API} (${g['api_usd_per_million_texts']:.4f} per million "
        f"texts at {g['tokens_per_text']:.1f} tokens): {g['below_api']:.1f}× {mark[g['api_goal_met']]}",
        f"goal: batched texts/s ≥ {GOAL_THROUGHPUT:g}× single requests/s: "
        f"{g['throughput_ratio']:.1f}× {mark[g['throughput_goal_met']]}"]
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MILLICENT_DATA_DIR", "")
                                                          or REPO.parent / "shared" / "data"))
    p.add_argument("--artifact", type=Path, default=None,
                   help="an embed artifact (default: the mean of GloVe-50 vectors, made here)")
    p.add_argument("--vocab", default="sst-1",
                   help="entries loaded into the table: a dataset, or none (a token table: all)")
    p.add_argument("--pack-mb", type=float, default=10.0)
    p.add_argument("--pack-by", default="glove", help="the pack's frequency ranking")
    p.add_argument("--memory-mb", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--single-concurrency", type=parse_int_list, default=[1, 2, 4])
    p.add_argument("--batch-concurrency", type=parse_int_list, default=[1, 2])
    p.add_argument("--batch-repeat", type=int, default=3, help="passes per batch scenario")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--job-concurrency", type=int, default=2)
    p.add_argument("--limit", type=int, default=None, help="first N sentences only")
    p.add_argument("--dynamodb-endpoint", default=None, help="default: start a dynalite")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "embed-cost")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = run(args)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
