"""``millicent plan``: a period of traffic on Lambda + DynamoDB, simulated from a measured
service profile — monthly cost by option, cold starts, throttles, latency, break-even."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING

from millicent.cli._common import add_data_dir, add_instance_flags, add_pricing_flags, artifact_path

if TYPE_CHECKING:
    from millicent.plan.planner import PlanSettings
    from millicent.plan.profile import ServiceProfile


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan",
        help="simulate a month of traffic on Lambda + DynamoDB from a measured service profile",
        description="Simulate the traffic on AWS Lambda + DynamoDB with Lambda's scaling, "
                    "concurrency and idle-reclaim rules and DynamoDB's partition and capacity "
                    "rules, from service times measured by `millicent bench` (or a profile "
                    "written by hand); price on-demand, SnapStart and provisioned concurrency "
                    "against an always-on server. Writes results.json, report.md and plots.")
    p.add_argument("--traffic", required=True, metavar="SPEC",
                   help="constant:QPS | diurnal:PEAK[:TROUGH] | bursty:BASE:PEAK:EVERY:LENGTH | "
                        "trace:FILE (CSV timestamp,requests or one timestamp per line)")
    p.add_argument("--days", type=float, default=None, help="period of a synthetic shape (default 30)")
    p.add_argument("--step", default=None, metavar="DURATION",
                   help="time step (default 1m beyond one day, else 1s; a trace keeps its own)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-bench", metavar="DIR", help="a `millicent bench --out` directory")
    src.add_argument("--profile", metavar="FILE", help="a service profile JSON (docs/plan.md)")
    p.add_argument("--pack", metavar="FILE", default=None,
                   help="--from-bench: the frequent-word pack the function bundles (none: every "
                        "word is read from the store)")
    p.add_argument("--scenario", default=None, help="--from-bench: the scenario slug for warm "
                   "service times (default: the lowest C)")
    p.add_argument("--model", metavar="ARTIFACT", default=None,
                   help="--from-bench: the model the run served; its tokenizer makes the store "
                        "keys (default: the artifact a --compare run recorded, else the "
                        "lower-cased PTB tokenizer of the shipped models)")
    add_data_dir(p)
    p.add_argument("--save-profile", metavar="FILE", default=None, help="also write the profile used")
    _lambda_flags(p)
    _pricing_flags(p)
    p.add_argument("--projection", choices=["lambda", "none"], default="lambda",
                   help="stretch CPU time to the memory's vCPU share (lambda, default) or keep "
                        "durations as measured (none: to compare with the local platform)")
    p.add_argument("--method", choices=["auto", "aggregated", "exact"], default="auto",
                   help="per time step (aggregated), per request (exact) or by size (auto)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the exact simulation")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=run_plan)


def _lambda_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--account-concurrency", "--concurrency-limit", dest="account", type=int,
                   default=None, help="concurrent executions of the account (default 1,000; "
                   "the local platform's --max-concurrency)")
    p.add_argument("--reserved-concurrency", dest="reserved", type=int, default=None,
                   help="the function's reserved concurrency (its limit)")
    p.add_argument("--idle-timeout", default=None, metavar="SPEC",
                   help="idle time before an environment is reclaimed: DURATION, "
                        "uniform:LOW:HIGH or points:A,B,... (default 10m, a public measurement)")
    p.add_argument("--provisioned", type=int, default=0,
                   help="provisioned concurrency of the provisioned option (default: the peak's "
                        "mean executions in flight)")


def _pricing_flags(p: argparse.ArgumentParser) -> None:
    add_pricing_flags(p)
    p.add_argument("--era", default=None, metavar="YYYY-MM-DD",
                   help="whose billing rules (INIT billed from 2025-08-01; default today)")
    p.add_argument("--rules", default=None, metavar="FILE", help="rules JSON (default: bundled)")
    add_instance_flags(p, "requests/s one instance carries (e.g. the `server` baseline's "
                          "throughput; default: estimated as 2 vCPUs 70 %% busy with the "
                          "profile's CPU time)")
    p.add_argument("--instances", type=int, default=None, help="always-on instances (default: "
                   "⌈peak / capacity⌉)")


def _profile(args: argparse.Namespace) -> ServiceProfile:
    from millicent import config
    from millicent.errors import ConfigError
    from millicent.plan.profile import read_profile

    if args.profile:
        if args.pack or args.scenario:
            raise ConfigError("--pack and --scenario apply to --from-bench only")
        if args.model:
            raise ConfigError("--model applies to --from-bench only")
        return read_profile(Path(args.profile))
    from millicent.plan.bench_profile import profile_from_bench

    pack = Path(args.pack) if args.pack else None
    if pack is not None and not pack.is_file():
        raise ConfigError(f"--pack {pack}: no such file")
    model = Path(artifact_path(args.model)) if args.model else None
    return profile_from_bench(Path(args.from_bench), config.data_dir(args.data_dir), pack,
                              args.scenario, model)


def _settings(args: argparse.Namespace, peak_qps: float, profile: ServiceProfile) -> PlanSettings:
    from millicent.economics.prices import load_prices
    from millicent.economics.rules import load_rules
    from millicent.errors import ConfigError
    from millicent.plan.costs import CostSettings, estimated_capacity, size_server
    from millicent.plan.dynamodb_rules import dynamodb_rules
    from millicent.plan.lambda_rules import lambda_rules
    from millicent.plan.planner import PlanSettings

    prices = load_prices(args.prices)
    rules = load_rules(args.rules)
    try:
        era = dt.date.fromisoformat(args.era) if args.era else dt.date.today()
    except ValueError:
        raise ConfigError(f"--era must be YYYY-MM-DD, got {args.era!r}") from None
    if args.instance_usd_per_hour <= 0 or (args.instances is not None and args.instances < 1):
        raise ConfigError("--instance-usd-per-hour must be positive and --instances ≥ 1")
    cost = CostSettings(args.memory_mb, args.arch, args.gateway, args.store, args.dynamodb_mode, args.rcu)
    prices.gb_second(args.arch)
    if not prices.memory_mb_min <= args.memory_mb <= prices.memory_mb_max:
        raise ConfigError(f"--memory-mb must be within {prices.memory_mb_min}–{prices.memory_mb_max}")
    return PlanSettings(
        lam=lambda_rules(rules, account=args.account, reserved=args.reserved, idle=args.idle_timeout),
        ddb=dynamodb_rules(rules, mode=args.dynamodb_mode, rcu=args.rcu,
                           read_unit_bytes=prices.dynamodb_read_unit_bytes,
                           units_per_read=prices.dynamodb_units_eventual),
        prices=prices, cost=cost,
        server=size_server(peak_qps, args.instance_usd_per_hour, args.instances,
                           args.instance_capacity_qps, estimated_capacity(profile.cpu_ms_per_vcpu)),
        billing=args.billing, era=era, projection=args.projection, method=args.method,
        provisioned=args.provisioned, seed=args.seed)


def run_plan(args: argparse.Namespace) -> int:
    from millicent.errors import ConfigError
    from millicent.jsonfile import write_json
    from millicent.plan.planner import make_plan
    from millicent.plan.report import write_plan
    from millicent.traffic.shapes import parse_traffic
    from millicent.traffic.units import parse_duration

    t0 = time.perf_counter()
    if args.provisioned < 0:
        raise ConfigError("--provisioned must be ≥ 0")
    step = parse_duration(args.step, "--step") if args.step else None
    traffic = parse_traffic(args.traffic, args.days, step)
    print(traffic.describe())
    profile = _profile(args)
    if args.save_profile:
        write_json(Path(args.save_profile), profile.to_dict())
    settings = _settings(args, traffic.peak_qps, profile)
    plan = make_plan(traffic, profile, settings)
    files = write_plan(plan, Path(args.out), plots=not args.no_plots)
    print((Path(args.out) / "report.md").read_text(encoding="utf-8"))
    print(f"wrote {', '.join(str(f) for f in files)} in {time.perf_counter() - t0:.1f} s")
    return 0
