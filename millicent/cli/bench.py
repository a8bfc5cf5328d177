"""``millicent bench`` (closed-loop benchmark of a running endpoint) and ``millicent cost``
(re-price a saved run: components, memory projection, break-even)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from millicent.cli._common import (
    add_data_dir,
    add_instance_flags,
    add_pack_size,
    add_pricing_flags,
    add_signing,
    artifact_path,
    pack_option,
    signer_from_args,
)
from millicent.economics.tuning import DEFAULT_INSTANCE_USD_PER_HOUR


def _workload_flags(b: argparse.ArgumentParser) -> None:
    """What is sent: ``--model`` (its role and data), ``--dataset``, ``--requests``."""
    b.add_argument("--model", action="append", default=[], metavar="ROLE|NAME=ARTIFACT_DIR",
                   help="with --endpoint: the role of the model served there — classify, rank "
                        "or embed (kim and sm: the paper's classify and rank); with --compare: "
                        "NAME=ARTIFACT_DIR, benchmarked on its own data (its task's set, else "
                        "the files it was trained on; repeatable)")
    b.add_argument("--requests", metavar="FILE.jsonl", default=None,
                   help="with --endpoint, instead of --model: your own request bodies, one JSON "
                        "object a line, each sent as it stands to /FUNCTION (--function) or to "
                        "/classify or /rank by its fields; --batch-size N groups N lines")
    b.add_argument("--function", default=None,
                   help="POST /{FUNCTION} instead of /classify, /rank or /embed")
    b.add_argument("--dataset", default=None, metavar="sst-1|sst-2|trecqa|FILE",
                   help="the evaluation set instead (a FILE of texts — csv/tsv/jsonl/stsa/txt — "
                        "or, for a ranker, of question/answer pairs)")
    b.add_argument("--text-column", default="text",
                   help="the column of a --dataset FILE holding the text (default text)")


def _trace_flag(b: argparse.ArgumentParser) -> None:
    b.add_argument("--trace", metavar="FILE", default=None,
                   help="with --endpoint: replay this trace open loop — each request sent at its "
                        "time (CSV timestamp,requests or one timestamp per line), not C at a time")


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser(
        "bench",
        help="closed-loop benchmark of a running endpoint (throughput, latency, cost)",
        description="Send an evaluation set — chosen by the model's role and a dataset: SST-1 "
                    "dev for a classifier or an embedder (the paper's Kim CNN set), TrecQA "
                    "raw-dev for a ranker (its SM CNN set), or a model's own data — with "
                    "exactly C requests in flight, after warm-up requests that are excluded; "
                    "save raw per-request records, results.json, report.md and plots.")
    target = b.add_mutually_exclusive_group(required=True)
    target.add_argument("--endpoint", help="base URL of a running deployment, e.g. http://127.0.0.1:9000")
    target.add_argument("--compare", metavar="CONFIGS",
                        help="prepare, serve and compare configurations, e.g. paper,millicent,server "
                             "(the first is the reference); needs --model NAME=ARTIFACT_DIR")
    _trace_flag(b)
    _workload_flags(b)
    b.add_argument("--concurrency", default=None,
                   help="comma-separated C values (default: the paper's, classify 5,10,20,30; "
                        "rank 5,10,15,20,25)")
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
    add_signing(b)
    b.add_argument("--config-name", default="endpoint",
                   help="name of this deployment in the report (default 'endpoint')")
    add_pricing_flags(b)
    # --compare: a given --memory-mb serves and prices every serverless configuration at it
    # (otherwise each at its own: 128 MB, torch 320 MB); --endpoint: 128 MB unless given
    b.set_defaults(memory_mb=None)
    b.add_argument("--whole-model", default=None, metavar="DIR",
                   help="--compare whole: the whole model to serve (export_whole's directory); "
                        "default: exported from the artifact's source directory, at its "
                        "precision, into OUT/deploy and reused")
    b.add_argument("--dynamodb-endpoint", default=None, metavar="URL",
                   help="--compare: the DynamoDB endpoint for the configurations' tables")
    add_pack_size(b, scope="--compare: ")
    b.add_argument("--instance-usd-per-hour", type=float, default=DEFAULT_INSTANCE_USD_PER_HOUR,
                   help=f"--compare: the always-on server's price (default "
                        f"{DEFAULT_INSTANCE_USD_PER_HOUR})")
    b.add_argument("--cold-samples", type=int, default=3, metavar="N",
                   help="--compare: isolated cold starts per serverless configuration (the "
                        "first request from zero, alone; medians reported), then the largest "
                        "C at once from zero; 0 skips them (default 3)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    b.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    b.set_defaults(func=run_bench)

    _register_cost(sub)


def _register_cost(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser(
        "cost",
        help="price a saved benchmark run or real REPORT lines: components, memory, cold "
             "starts, worst case, break-even",
        description="Price the raw records of a `millicent bench` output directory, or AWS "
                    "Lambda's own REPORT lines (a log file, or a CloudWatch log group), under "
                    "any pricing options; project duration and cost over Lambda memory sizes "
                    "and recommend one; compare on-demand, SnapStart and provisioned "
                    "concurrency at a rate of cold starts; state the worst-case bill at the "
                    "concurrency cap in force and recommend a cap; find the query rate above "
                    "which an always-on instance is cheaper.")
    c.add_argument("--results", metavar="DIR", default=None, help="a `millicent bench --out` dir")
    c.add_argument("--report-log", metavar="FILE", action="append", default=[],
                   help="a file of CloudWatch REPORT lines (plain, timestamped, JSON events, "
                        "Lambda's JSON log format; repeatable)")
    c.add_argument("--log-group", metavar="NAME", default=None,
                   help="read the REPORT lines from this CloudWatch Logs group (boto3)")
    c.add_argument("--since", default="1h",
                   help="--log-group window: 90s, 30m, 1h (default), 2d, or an ISO time")
    c.add_argument("--region", default=None, help="--log-group: AWS region")
    c.add_argument("--profile", default=None, help="--log-group: AWS credentials profile")
    c.add_argument("--endpoint-url", default=None, help="--log-group: another AWS endpoint (moto)")
    c.add_argument("--out", default=None, metavar="DIR",
                   help="where cost.md / cost.json go (default: the --results dir, else runs/cost)")
    add_pricing_flags(c, defaults=False)
    c.add_argument("--era", default=None, metavar="YYYY-MM-DD",
                   help="apply that date's INIT billing (free before 2025-08-01 for on-demand "
                        "zip functions); REPORT lines are then re-priced from their durations")
    c.add_argument("--package-type", choices=["zip", "image"], default=None,
                   help="zip (default) or container image (INIT always billed)")
    c.add_argument("--read-units-per-query", type=float, default=None,
                   help="REPORT lines: DynamoDB read units per query (default: from --results, else 0)")
    _bounds_flags(c)
    add_instance_flags(c, "queries/s one instance sustains (e.g. the `server` baseline's "
                          "throughput)")
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


def _bounds_flags(c: argparse.ArgumentParser) -> None:
    """Cold-start strategies and the worst case: traffic, cold phases, caps (the defaults
    are the economics' own: the account's limit is ``rules.json``'s)."""
    from millicent.economics.coldstart import DEFAULT_COLD_START_RATE, DEFAULT_MONTHLY_REQUESTS
    from millicent.economics.worstcase import AWS_DEFAULT_ACCOUNT_CONCURRENCY, DEFAULT_PEAK_TO_MEAN

    flags: list[tuple[str, type, Any, str]] = [
        ("--monthly-requests", float, DEFAULT_MONTHLY_REQUESTS,
         f"requests per month for the cold-start table (default {DEFAULT_MONTHLY_REQUESTS:,})"),
        ("--cold-start-rate", float, DEFAULT_COLD_START_RATE,
         f"share of requests that are cold starts (default {DEFAULT_COLD_START_RATE:g}: AWS "
         "reports under 1 %% of invocations are INITs)"),
        ("--provisioned-concurrency", int, None,
         "provisioned environments (default: enough for the mean rate)"),
        ("--init-ms", float, None, "the whole INIT, at the measured CPU share "
         "(--measured-cpu-share), instead of the measured one"),
        ("--restore-ms", float, None,
         "SnapStart restore duration to use (e.g. from `serve --snapshot`)"),
        ("--reserved-concurrency", int, None, "the function's reserved concurrency: the cap of "
         "the worst case (default: none, so the account's limit)"),
        ("--account-concurrency", int, AWS_DEFAULT_ACCOUNT_CONCURRENCY,
         f"the account's concurrency limit (default {AWS_DEFAULT_ACCOUNT_CONCURRENCY}, AWS's "
         "default quota)"),
        ("--peak-qps", float, None, "peak request rate the recommended cap must serve "
         f"(default {DEFAULT_PEAK_TO_MEAN:g}× the monthly mean rate)"),
        ("--budget-usd", float, None,
         "monthly budget: also report the largest cap whose worst case fits it"),
    ]
    for flag, kind, default, text in flags:
        c.add_argument(flag, type=kind, default=default, help=text)


def _model_args(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """``(name, workload spec)`` of each ``--model`` (none with ``--requests``)."""
    from millicent.errors import ConfigError

    if args.requests is not None:
        if args.model or args.compare is not None or args.dataset is not None:
            raise ConfigError("--requests goes with --endpoint, instead of --model and --dataset")
        return []
    if not args.model:
        raise ConfigError("give --model ROLE (kim, sm, classify, rank, embed; or --requests "
                          "FILE.jsonl) with --endpoint, --model NAME=ARTIFACT_DIR with --compare")
    out: list[tuple[str, Any]] = []
    for spec in args.model:
        name, sep, path = spec.partition("=")
        if any(n == name for n, _ in out):
            raise ConfigError(f"--model {name} given twice")
        if (args.compare is None) == bool(sep):
            raise ConfigError("with --endpoint give one --model ROLE (kim, sm, classify, rank, "
                              "embed); with --compare give --model NAME=ARTIFACT_DIR")
        out.append((name, _workload_spec(args, name, artifact_path(path) if sep else None)))
    if args.compare is None and len(out) != 1:
        raise ConfigError("with --endpoint give one --model ROLE")
    return out


def _workload_spec(args: argparse.Namespace, name: str, artifact: str | None) -> Any:
    """What the model is benchmarked on: ``--dataset``, else the artifact's own data (or,
    with --endpoint, the set its role names)."""
    from millicent.errors import ConfigError
    from millicent.harness.workload import WorkloadSpec

    if artifact is not None:
        if not (Path(artifact) / "manifest.json").is_file():
            raise ConfigError(f"--model {name}={artifact}: no manifest.json there")
        spec = WorkloadSpec.of_artifact(artifact)
    else:
        spec = WorkloadSpec.named(name)
    if args.dataset is None:
        return spec
    dataset = args.dataset
    if dataset not in ("sst-1", "sst-2", "trecqa"):
        from millicent.data.paths import resolve_data_dir

        path = Path(dataset) if Path(dataset).is_file() else resolve_data_dir(args.data_dir) / dataset
        if not path.is_file():
            raise ConfigError(f"--dataset {dataset}: neither a built-in set nor a file")
        dataset = str(path.resolve())
    return WorkloadSpec(spec.role, dataset, None, args.text_column)


def run_bench(args: argparse.Namespace) -> int:
    from millicent import config
    from millicent.economics.prices import load_prices
    from millicent.errors import ConfigError
    from millicent.harness.closed_loop import ClientOptions
    from millicent.harness.scenario import PAPER_CONCURRENCY, parse_concurrency

    prices = load_prices(args.prices)
    if args.timeout <= 0:
        raise ConfigError("--timeout must be positive")
    models = _model_args(args)
    roles = [spec.role for _, spec in models] or ["classify"]
    concurrency = (parse_concurrency(args.concurrency) if args.concurrency
                   else sorted({c for role in roles for c in PAPER_CONCURRENCY[role]}))
    headers = {"x-api-key": args.api_key} if args.api_key else {}
    signer = signer_from_args(args, args.endpoint) if args.endpoint else None
    client = ClientOptions(timeout_s=args.timeout, headers=headers, signer=signer)
    data_dir = config.data_dir(args.data_dir)
    if args.trace is not None:
        return _run_trace(args, models, client, prices, data_dir)
    if args.compare is not None:
        return _run_compare(args, models, concurrency, client, prices, data_dir)
    from millicent.harness.runner import bench_endpoint

    conf = _configuration(args)
    workload = _endpoint_workload(args, models, data_dir, args.batch_size)
    run = bench_endpoint(args.endpoint, workload, Path(args.out), _sweep(args, concurrency),
                         conf, prices, client, _reporting(args, args.billing))
    print(f"wrote {', '.join(str(p) for p in run.files)}")
    # a run where nothing succeeded is a failure of the benchmark, not a result
    return 0 if any(r.ok for r in run.rows) else 1


def _configuration(args: argparse.Namespace) -> Any:
    """The running deployment ``--endpoint`` measures, as its pricing flags describe it."""
    from millicent.harness.scenario import Configuration

    return Configuration(args.config_name, store=args.store, gateway=args.gateway,
                         memory_mb=args.memory_mb or 128, arch=args.arch,
                         dynamodb_mode=args.dynamodb_mode, provisioned_rcu=args.rcu)


def _endpoint_workload(args: argparse.Namespace, models: list[tuple[str, Any]],
                       data_dir: Path, batch_size: int = 1) -> Any:
    """What ``--endpoint`` sends: the user's ``--requests`` file, else the model's set."""
    from millicent.harness.workload import load_workload

    if args.requests is not None:
        from millicent.harness.requests_file import requests_workload

        return requests_workload(args.requests, args.function, batch_size, args.limit)
    ((name, spec),) = models
    return load_workload(name, data_dir, args.function, args.limit, batch_size, spec=spec)


def _run_trace(args: argparse.Namespace, models: list[tuple[str, Any]], client: Any,
               prices: Any, data_dir: Path) -> int:
    from millicent.errors import ConfigError
    from millicent.harness.replay import ReplayOptions, replay_endpoint

    if args.compare is not None:
        raise ConfigError("--trace replays against --endpoint, not --compare")
    if args.concurrency is not None or args.warmup is not None or args.repeat != 1:
        raise ConfigError("--trace sends at the trace's times: --concurrency, --warmup and "
                          "--repeat do not apply")
    trace = Path(args.trace)
    if not trace.is_file():
        raise ConfigError(f"--trace {trace}: no such file")
    conf = _configuration(args)
    workload = _endpoint_workload(args, models, data_dir)
    summary = replay_endpoint(args.endpoint, workload, trace, Path(args.out),
                              ReplayOptions(prices, conf, args.billing, client, plots=not args.no_plots))
    lag = summary.send_lag_ms.p99
    print(f"replay: {summary.requests} sent, {summary.ok} ok, {summary.cold_starts} cold "
          f"starts, {summary.throttled_429} throttled (429), p50 "
          f"{summary.latency_ms.p50} ms, p99 {summary.latency_ms.p99} ms; send lag "
          f"p99 {0.0 if lag is None else lag:.1f} ms; wrote {args.out}")
    return 0 if summary.ok else 1


def _run_compare(args: argparse.Namespace, models: list[tuple[str, Any]],
                 concurrency: list[int], client: Any, prices: Any, data_dir: Path) -> int:
    from millicent.errors import ConfigError
    from millicent.harness.workload import load_workload
    from millicent.testbed.compare import parse_configs, run_compare
    from millicent.testbed.deployments import Setup

    # prices are pinned for a comparison (128 MB, x86_64, 1 ms, each its own gateway), but
    # the paper's provisioned table is an option: --dynamodb-mode provisioned --rcu 500
    configs = [c.with_(dynamodb_mode=args.dynamodb_mode, provisioned_rcu=args.rcu)
               if c.store == "dynamodb" else c for c in parse_configs(args.compare)]
    if args.memory_mb is not None:  # every serverless configuration served and priced at it
        configs = [c.with_(memory_mb=args.memory_mb) if c.kind == "serverless" else c
                   for c in configs]
    pack_top, pack_mb = pack_option(args.pack_top, args.pack_mb)
    artifacts = {s.partition("=")[0]: Path(artifact_path(s.partition("=")[2])) for s in args.model}
    out = Path(args.out)
    if args.cold_samples < 0:
        raise ConfigError(f"--cold-samples must be ≥ 0, got {args.cold_samples}")
    setup = Setup(artifacts=artifacts, data_dir=data_dir, work_dir=out / "deploy",
                  dynamodb_endpoint=args.dynamodb_endpoint, pack_mb=pack_mb,
                  pack_top=pack_top, cold_samples=args.cold_samples,
                  instance_usd_per_hour=args.instance_usd_per_hour,
                  whole_model=Path(args.whole_model) if args.whole_model else None)
    # each model is its own function, addressed as POST /{name}, benchmarked on its own data
    workloads = {name: load_workload(name, data_dir, name, args.limit, args.batch_size, spec=spec)
                 for name, spec in models}
    run = run_compare(configs, setup, workloads, _sweep(args, concurrency), out, prices, client,
                      _reporting(args))
    print(f"wrote {', '.join(str(p) for p in run.files)}")
    return 0 if all(r.ok for r in run.rows) else 1


def _sweep(args: argparse.Namespace, concurrency: Sequence[int]) -> Any:
    from millicent.harness.runner import Sweep

    return Sweep(tuple(concurrency), args.repeat, args.warmup)


def _reporting(args: argparse.Namespace, billing: str = "1ms") -> Any:
    from millicent.harness.runner import Reporting

    return Reporting(billing, progress=not args.no_progress, plots=not args.no_plots)


def _what_if(args: argparse.Namespace) -> Any:
    from millicent.analysis.decisions import Bounds
    from millicent.analysis.whatif import WhatIf
    from millicent.economics.coldstart import Traffic
    from millicent.economics.tuning import DEFAULT_MEMORIES_MB
    from millicent.harness.scenario import parse_int_list

    overrides = {k: v for k, v in {
        "memory_mb": args.memory_mb, "arch": args.arch, "gateway": args.gateway,
        "store": args.store, "dynamodb_mode": args.dynamodb_mode, "provisioned_rcu": args.rcu,
        "era": args.era, "package_type": args.package_type,
    }.items() if v is not None}
    memories = (parse_int_list(args.memories, "memory sizes") if args.memories
                else list(DEFAULT_MEMORIES_MB))
    traffic = Traffic(args.monthly_requests, args.cold_start_rate, args.provisioned_concurrency)
    bounds = Bounds(traffic, args.init_ms, args.restore_ms, args.reserved_concurrency,
                    args.account_concurrency, args.peak_qps, args.budget_usd)
    return WhatIf(billing=args.billing, overrides=overrides,
                  instance_usd_per_hour=args.instance_usd_per_hour,
                  instance_capacity_qps=args.instance_capacity_qps,
                  latency_target_ms=args.latency_target_ms, statistic=args.statistic,
                  memories_mb=memories, measured_cpu_share=args.measured_cpu_share, bounds=bounds)


def run_cost(args: argparse.Namespace) -> int:
    from millicent.economics.prices import load_prices
    from millicent.errors import ConfigError

    prices = load_prices(args.prices)
    what = _what_if(args)
    if args.report_log or args.log_group:
        return _cost_of_reports(args, prices, what)
    if args.results is None:
        raise ConfigError("give --results DIR, --report-log FILE or --log-group NAME")
    from millicent.analysis.whatif import analyse, render, write_analysis

    out_dir = Path(args.results)
    analysis = analyse(out_dir, prices, what)
    text = render(analysis, prices, what)
    print(text)
    files = write_analysis(out_dir, analysis, text, what, plots=not args.no_plots)
    print(f"wrote {', '.join(str(p) for p in files)}")
    return 0


def _report_lines(args: argparse.Namespace) -> tuple[list[Any], str]:
    from millicent.economics.reportlog import read_report_logs

    lines: list[Any] = []
    sources: list[str] = []
    if args.report_log:
        lines += read_report_logs(args.report_log)
        sources += args.report_log
    if args.log_group:
        from millicent.deploy.aws import Aws, AwsTarget
        from millicent.deploy.logsource import read_log_group
        from millicent.errors import ConfigError

        if not args.region:
            raise ConfigError("--log-group needs --region")
        logs = Aws(AwsTarget(args.region, args.profile, args.endpoint_url)).client("logs")
        lines += read_log_group(logs, args.log_group, args.since)
        sources.append(f"log group {args.log_group} (since {args.since})")
    return lines, ", ".join(sources)


def _read_units(args: argparse.Namespace, prices: Any) -> float:
    """``--read-units-per-query``, else the mean of the ``--results`` run, else 0."""
    if args.read_units_per_query is not None:
        return float(args.read_units_per_query)
    if args.results is None:
        return 0.0
    from millicent.analysis.bill import read_units_of_run

    return read_units_of_run(Path(args.results), prices)


def _cost_of_reports(args: argparse.Namespace, prices: Any, what: Any) -> int:
    from millicent.analysis.bill import price_reports, render_bill, write_bill
    from millicent.errors import ConfigError

    if args.memory_mb is not None:
        raise ConfigError("--memory-mb: REPORT lines carry their own Memory Size")
    lines, source = _report_lines(args)
    bill = price_reports(lines, prices, what, source, read_units=_read_units(args, prices))
    text = render_bill(bill, prices, what)
    print(text)
    files = write_bill(Path(args.out or args.results or "runs/cost"), bill, text)
    print(f"wrote {', '.join(str(f) for f in files)}")
    return 0
