"""``millicent bench`` (closed-loop benchmark of a running endpoint) and ``millicent cost``
(re-price a saved run: components, memory projection, break-even)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from millicent.cli._common import add_data_dir, add_pack_size, pack_option


def _pricing_flags(p: argparse.ArgumentParser, defaults: bool) -> None:
    """Flags that describe how the deployment is priced. Without ``defaults`` they are
    overrides (None = as the run was priced)."""

    def d(value: Any) -> Any:
        return value if defaults else None

    p.add_argument("--memory-mb", type=int, default=d(128),
                   help="Lambda memory in MB" + (" (default 128)" if defaults else ""))
    p.add_argument("--arch", choices=["x86", "x86_64", "arm64"], default=d("x86_64"),
                   help="Lambda architecture" + (" (default x86_64)" if defaults else ""))
    p.add_argument("--gateway", choices=["url", "http", "rest", "none"], default=d("url"),
                   help="in front of the function: Function URL (free), API Gateway HTTP API "
                        "or REST API" + (" (default url)" if defaults else ""))
    p.add_argument("--billing", choices=["1ms", "100ms"], default=d("1ms"),
                   help="duration billing unit: 1 ms (since Dec 2020) or 100 ms (the paper's era)")
    p.add_argument("--store", choices=["dynamodb", "none"], default=d("dynamodb"),
                   help="price store reads as DynamoDB, or as free (bundled SQLite, own Redis)")
    p.add_argument("--dynamodb-mode", choices=["on-demand", "provisioned"], default=d("on-demand"))
    p.add_argument("--rcu", type=int, default=d(500),
                   help="provisioned read capacity units (the paper's table had 500)")
    p.add_argument("--prices", default=None, metavar="FILE",
                   help="price sheet JSON (default: the bundled, dated us-east-1 sheet)")


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser(
        "bench",
        help="closed-loop benchmark of a running endpoint (throughput, latency, cost)",
        description="Send the paper's evaluation set (SST-1 dev for kim, TrecQA raw-dev for sm) "
                    "with exactly C requests in flight, after warm-up requests that are "
                    "excluded; save raw per-request records, results.json, report.md and plots.")
    target = b.add_mutually_exclusive_group(required=True)
    target.add_argument("--endpoint", help="base URL of a running deployment, e.g. http://127.0.0.1:9000")
    target.add_argument("--compare", metavar="CONFIGS",
                        help="prepare, serve and compare configurations, e.g. paper,millicent,server "
                             "(the first is the reference); needs --model NAME=ARTIFACT_DIR")
    b.add_argument("--model", required=True, action="append", metavar="kim|sm[=ARTIFACT_DIR]",
                   help="kim (SST-1 dev) or sm (TrecQA raw-dev); with --compare NAME=ARTIFACT_DIR "
                        "(repeatable)")
    b.add_argument("--function", default=None,
                   help="POST /{FUNCTION} instead of /classify or /rank")
    b.add_argument("--concurrency", default=None,
                   help="comma-separated C values (default: the paper's, kim 5,10,20,30; "
                        "sm 5,10,15,20,25)")
    b.add_argument("--repeat", type=int, default=1,
                   help="full passes over the evaluation set per C (default 1)")
    b.add_argument("--warmup", type=int, default=None,
                   help="warm-up requests per C, excluded from the results (default 2×C)")
    b.add_argument("--limit", type=int, default=None,
                   help="use only the first N items of the set (smoke tests; marked in the report)")
    b.add_argument("--batch-size", type=int, default=1, metavar="N",
                   help="send the texts of N consecutive items in one batch request and report "
                        "texts/s and cost per million texts too (default 1: single requests)")
    add_data_dir(b)
    b.add_argument("--out", required=True, help="output directory")
    b.add_argument("--timeout", type=float, default=30.0, help="client timeout per request (s)")
    b.add_argument("--api-key", default=None, help="sent as x-api-key")
    b.add_argument("--config-name", default="endpoint",
                   help="name of this deployment in the report (default 'endpoint')")
    _pricing_flags(b, defaults=True)
    b.add_argument("--dynamodb-endpoint", default=None, metavar="URL",
                   help="--compare: the DynamoDB endpoint for the configurations' tables")
    add_pack_size(b, scope="--compare: ")
    b.add_argument("--instance-usd-per-hour", type=float, default=0.0168,
                   help="--compare: the always-on server's price (default 0.0168)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    b.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    b.set_defaults(func=run_bench)

    c = sub.add_parser(
        "cost",
        help="re-price a saved benchmark run: cost by component, memory, break-even",
        description="Recompute cost per million queries from the raw records of a `millicent "
                    "bench` output directory under other pricing options; project duration "
                    "and cost over Lambda memory sizes and recommend one; find the query rate "
                    "above which an always-on instance is cheaper.")
    c.add_argument("--results", required=True, metavar="DIR", help="a `millicent bench --out` dir")
    _pricing_flags(c, defaults=False)
    c.add_argument("--instance-usd-per-hour", type=float, default=0.0168,
                   help="always-on instance price for the break-even (default 0.0168)")
    c.add_argument("--instance-capacity-qps", type=float, default=None,
                   help="queries/s one instance sustains (e.g. the `server` baseline's throughput)")
    c.add_argument("--latency-target-ms", type=float, default=None,
                   help="latency target for the memory recommendation")
    c.add_argument("--statistic", choices=["mean", "p50", "p90", "p99", "max"], default="p99",
                   help="latency statistic the target applies to (default p99)")
    c.add_argument("--memories", default=None,
                   help="memory sizes to project, MB, comma-separated (default 128…3008)")
    c.add_argument("--measured-cpu-share", type=float, default=1.0,
                   help="vCPU share the run had: 1.0 locally; M/1769 on Lambda at M MB")
    c.add_argument("--no-plots", action="store_true", help="skip breakeven.png and memory.png")
    c.set_defaults(func=run_cost)


def _model_args(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    from millicent.errors import ConfigError

    out: list[tuple[str, str | None]] = []
    for spec in args.model:
        name, sep, path = spec.partition("=")
        if name not in ("kim", "sm"):
            raise ConfigError(f"--model must be kim or sm (optionally =ARTIFACT_DIR), got {spec!r}")
        if any(n == name for n, _ in out):
            raise ConfigError(f"--model {name} given twice")
        out.append((name, path if sep else None))
    if args.compare is None and (len(out) != 1 or out[0][1] is not None):
        raise ConfigError("with --endpoint give one --model: kim or sm")
    if args.compare is not None and any(p is None for _, p in out):
        raise ConfigError("with --compare give --model NAME=ARTIFACT_DIR")
    return out


def run_bench(args: argparse.Namespace) -> int:
    from millicent import config
    from millicent.bench.harness import ClientOptions
    from millicent.bench.prices import load_prices
    from millicent.bench.scenario import PAPER_CONCURRENCY, parse_concurrency
    from millicent.errors import ConfigError

    prices = load_prices(args.prices)
    if args.timeout <= 0:
        raise ConfigError("--timeout must be positive")
    models = _model_args(args)
    concurrency = (parse_concurrency(args.concurrency) if args.concurrency
                   else sorted({c for name, _ in models for c in PAPER_CONCURRENCY[name]}))
    headers = {"x-api-key": args.api_key} if args.api_key else {}
    client = ClientOptions(timeout_s=args.timeout, headers=headers)
    data_dir = config.data_dir(args.data_dir)
    if args.compare is not None:
        return _run_compare(args, models, concurrency, client, prices, data_dir)
    from millicent.bench.runner import bench_endpoint
    from millicent.bench.scenario import Configuration

    conf = Configuration(args.config_name, store=args.store, gateway=args.gateway,
                         memory_mb=args.memory_mb, arch=args.arch,
                         dynamodb_mode=args.dynamodb_mode, provisioned_rcu=args.rcu)
    ((name, _),) = models
    run = bench_endpoint(args.endpoint, name, data_dir, Path(args.out), concurrency, config=conf,
                         function=args.function, limit=args.limit, repeat=args.repeat,
                         warmup=args.warmup, billing=args.billing, prices=prices, client=client,
                         progress=not args.no_progress, plots=not args.no_plots,
                         batch_size=args.batch_size)
    print(f"wrote {', '.join(str(p) for p in run.files)}")
    # a run where nothing succeeded is a failure of the benchmark, not a result
    return 0 if any(r["ok"] for r in run.rows) else 1


def _run_compare(args: argparse.Namespace, models: list[tuple[str, str | None]],
                 concurrency: list[int], client: Any, prices: Any, data_dir: Path) -> int:
    from millicent.bench.compare import parse_configs, run_compare
    from millicent.bench.deployments import Setup
    from millicent.bench.workload import load_workload
    from millicent.errors import ConfigError

    # prices are pinned for a comparison (128 MB, x86_64, 1 ms, each its own gateway), but
    # the paper's provisioned table is an option: --dynamodb-mode provisioned --rcu 500
    configs = [c.with_(dynamodb_mode=args.dynamodb_mode, provisioned_rcu=args.rcu)
               if c.store == "dynamodb" else c for c in parse_configs(args.compare)]
    pack_top, pack_mb = pack_option(args.pack_top, args.pack_mb)
    artifacts = {name: Path(str(path)) for name, path in models}
    for name, path in artifacts.items():
        if not (path / "manifest.json").is_file():
            raise ConfigError(f"--model {name}={path}: no manifest.json there")
    out = Path(args.out)
    setup = Setup(artifacts=artifacts, data_dir=data_dir, work_dir=out / "deploy",
                  dynamodb_endpoint=args.dynamodb_endpoint, pack_mb=pack_mb,
                  pack_top=pack_top)
    # each model is its own function, addressed as POST /{name}
    workloads = {name: load_workload(name, data_dir, name, args.limit, args.batch_size)
                 for name in artifacts}
    run = run_compare(configs, setup, workloads, concurrency, out, prices, args.repeat,
                      args.warmup, client, args.instance_usd_per_hour,
                      progress=not args.no_progress, plots=not args.no_plots)
    print(f"wrote {', '.join(str(p) for p in run.files)}")
    return 0 if all(r["ok"] for r in run.rows) else 1


def run_cost(args: argparse.Namespace) -> int:
    from millicent.bench.analysis import WhatIf, analyse, render, write_analysis
    from millicent.bench.prices import load_prices
    from millicent.bench.scenario import parse_int_list
    from millicent.bench.tuning import DEFAULT_MEMORIES_MB

    prices = load_prices(args.prices)
    overrides = {k: v for k, v in {
        "memory_mb": args.memory_mb, "arch": args.arch, "gateway": args.gateway,
        "store": args.store, "dynamodb_mode": args.dynamodb_mode, "provisioned_rcu": args.rcu,
    }.items() if v is not None}
    memories = (parse_int_list(args.memories, "memory sizes") if args.memories
                else list(DEFAULT_MEMORIES_MB))
    what = WhatIf(billing=args.billing, overrides=overrides,
                  instance_usd_per_hour=args.instance_usd_per_hour,
                  instance_capacity_qps=args.instance_capacity_qps,
                  latency_target_ms=args.latency_target_ms, statistic=args.statistic,
                  memories_mb=memories, measured_cpu_share=args.measured_cpu_share)
    out_dir = Path(args.results)
    analysis = analyse(out_dir, prices, what)
    text = render(analysis, prices, what)
    print(text)
    files = write_analysis(out_dir, analysis, text, what, plots=not args.no_plots)
    print(f"wrote {', '.join(str(p) for p in files)}")
    return 0
