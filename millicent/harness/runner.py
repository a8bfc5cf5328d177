"""Plan → run → records → results: one benchmark run in an output directory.

Layout of ``DIR``::

    plan.json               endpoint, workloads, billing, prices and every scenario (slug, C, ...)
    records/<slug>.jsonl    raw per-request records (warm-up included, marked as such)
    results.json            one row per scenario (see summary.summarize)
    report.md               the tables printed on stdout
    latency.png throughput.png cost.png

``millicent cost --results DIR`` re-reads ``plan.json`` and the records, so a run can be
re-priced without sending a request again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from millicent.economics.cost import CostOptions
from millicent.economics.prices import PriceSheet
from millicent.errors import ConfigError, DataError
from millicent.harness.closed_loop import ClientOptions, run_closed_loop
from millicent.harness.pertext import add_per_text, per_text_section, planned_workload
from millicent.harness.records import RequestRecord, read_records, write_records
from millicent.harness.report import render_report
from millicent.harness.rows import ResultRow
from millicent.harness.scenario import Configuration, Scenario
from millicent.harness.summary import summarize
from millicent.harness.workload import Workload
from millicent.jsonfile import read_json, write_json
from millicent.progress import Progress


def default_warmup(concurrency: int) -> int:
    """Two requests per environment: the first C are cold starts, the next C prove them warm."""
    return 2 * concurrency


def plan_scenarios(config: Configuration, workload: Workload, concurrency: Sequence[int],
                   repeat: int = 1, warmup: int | None = None) -> list[Scenario]:
    """One scenario per C; each measures ``repeat`` full passes over the workload."""
    if repeat < 1:
        raise ConfigError(f"--repeat must be ≥ 1, got {repeat}")
    if warmup is not None and warmup < 0:
        raise ConfigError(f"--warmup must be ≥ 0, got {warmup}")
    n = len(workload.requests)
    return [Scenario(config, workload.model, c, repeat * n,
                     default_warmup(c) if warmup is None else warmup) for c in concurrency]


def describe_plan(endpoint: str, scenarios: Sequence[Scenario],
                  workloads: Mapping[str, Workload]) -> list[str]:
    """The lines printed before anything is sent."""
    lines = [f"plan: {len(scenarios)} scenario(s) against {endpoint}"]
    for s in scenarios:
        w = workloads[s.model]
        subset = f" (first {w.texts} of {w.full_size})" if w.subset else ""
        batches = f" in batches of {w.batch_size}" if w.batch_size > 1 else ""
        passes = s.requests / len(w.requests)
        lines.append(f"  {s.slug:<28} {w.source}{subset}{batches} → {w.requests[0].path}: "
                     f"C={s.concurrency}, {s.warmup} warm-up + {s.requests} measured "
                     f"({passes:g} pass(es))")
    return lines


def run_scenario(endpoint: str, workload: Workload, scenario: Scenario, client: ClientOptions,
                 progress: bool = True, stream: TextIO | None = None) -> list[RequestRecord]:
    """Send one scenario's warm-up and measured requests; returns all records."""
    bar = Progress(scenario.slug, scenario.warmup + scenario.requests, unit="requests",
                   stream=stream, enabled=progress)
    errors = 0

    def done(ok: bool) -> None:
        nonlocal errors
        errors += not ok
        bar.advance(1, errors=errors)

    try:
        return asyncio.run(run_closed_loop(
            endpoint, workload.requests, scenario.concurrency,
            measured=workload.order(scenario.requests), warmup=workload.order(scenario.warmup),
            options=client, on_done=done))
    finally:
        bar.close()


def _stamp_prices(rows: list[ResultRow], prices: PriceSheet) -> list[ResultRow]:
    for r in rows:
        r.prices = prices
    return rows


@dataclass(frozen=True)
class Reporting:
    """How a run prices, shows and saves what it measured (not what it measures)."""

    billing: str = "1ms"
    progress: bool = True
    plots: bool = True
    out: TextIO | None = None  #: the plan and the report (default: stdout)
    err: TextIO | None = None  #: progress and logs (default: stderr)


@dataclass(frozen=True)
class Sweep:
    """What is sent to each configuration: its concurrency levels, passes and warm-up."""

    concurrency: tuple[int, ...]
    repeat: int = 1
    warmup: int | None = None  #: warm-up requests per C (None: 2 × C)


@dataclass
class BenchmarkRun:
    """Everything a finished run produced."""

    out_dir: Path
    rows: list[ResultRow]
    report: str
    files: list[Path] = field(default_factory=list)


def finish(out_dir: Path, rows: list[ResultRow], prices: PriceSheet, header: Sequence[str] = (),
           plots: bool = True, extra_notes: Sequence[str] = (),
           sections: Sequence[str] = ()) -> BenchmarkRun:
    """Write ``results.json``, ``report.md`` and the plots for ``rows``."""
    rows = _stamp_prices(rows, prices)
    write_json(out_dir / "results.json", [r.to_dict() for r in rows])
    report = render_report(rows, prices, header=header, extra_notes=extra_notes,
                           sections=sections)
    (out_dir / "report.md").write_text(report, encoding="utf-8")
    files = [out_dir / "results.json", out_dir / "report.md"]
    if plots and any(r.ok for r in rows):
        from millicent.harness.plots import plot_results

        files += plot_results(rows, out_dir)
    return BenchmarkRun(out_dir, rows, report, files)


def write_plan(out_dir: Path, head: Mapping[str, Any], scenarios: Sequence[Scenario],
               workloads: Mapping[str, Workload], prices: PriceSheet, billing: str) -> None:
    """``plan.json``: what is about to run (written before the first request)."""
    write_json(out_dir / "plan.json", {
        **head,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "billing": billing,
        "prices": prices.to_dict(),
        "workloads": {m: {"source": w.source, "requests": len(w.requests), "full_size": w.full_size,
                          "batch_size": w.batch_size, "texts": w.texts,
                          "spec": w.spec.to_dict() if w.spec is not None else None}
                      for m, w in workloads.items()},
        "scenarios": [{**s.to_dict(), "records": f"records/{s.slug}.jsonl"} for s in scenarios],
    })


def subset_notes(workloads: Mapping[str, Workload]) -> list[str]:
    return [f"{m}: only the first {w.texts} of {w.full_size} items of {w.source} "
            "(--limit)" for m, w in workloads.items() if w.subset]


def run_benchmark(endpoint: str, scenarios: Sequence[Scenario], workloads: Mapping[str, Workload],
                  out_dir: Path, prices: PriceSheet, client: ClientOptions | None = None,
                  reporting: Reporting | None = None,
                  runner: Callable[..., list[RequestRecord]] = run_scenario) -> BenchmarkRun:
    """Print the plan, run every scenario, save records, summarise, write the report."""
    rep = reporting or Reporting()
    stdout = rep.out if rep.out is not None else sys.stdout
    client = client or ClientOptions()
    prices.granularity_ms(rep.billing)  # refuse an unknown billing before sending anything
    out_dir.mkdir(parents=True, exist_ok=True)
    print("\n".join(describe_plan(endpoint, scenarios, workloads)), file=stdout, flush=True)
    write_plan(out_dir, {"endpoint": endpoint}, scenarios, workloads, prices, rep.billing)
    rows: list[ResultRow] = []
    for s in scenarios:
        records = runner(endpoint, workloads[s.model], s, client, progress=rep.progress,
                         stream=rep.err)
        write_records(out_dir / "records" / f"{s.slug}.jsonl", records)
        rows.append(add_per_text(summarize(s, records, prices, s.config.cost_options(rep.billing)),
                                 records, workloads[s.model]))
    run = finish(out_dir, rows, prices, header=[f"Endpoint: `{endpoint}`"], plots=rep.plots,
                 extra_notes=subset_notes(workloads), sections=per_text_section(rows))
    print(run.report, file=stdout, flush=True)
    return run


def bench_endpoint(endpoint: str, workload: Workload, out_dir: Path, sweep: Sweep,
                   config: Configuration | None = None, prices: PriceSheet | None = None,
                   client: ClientOptions | None = None,
                   reporting: Reporting | None = None) -> BenchmarkRun:
    """Benchmark a running endpoint on a workload (what ``millicent bench --endpoint``
    does; for the demo and scripts)."""
    from millicent.economics.prices import load_prices

    rep = reporting or Reporting()
    prices = prices or load_prices()
    conf = config or Configuration("endpoint")
    conf.cost_options(rep.billing)  # validate before sending anything
    scenarios = plan_scenarios(conf, workload, sweep.concurrency, sweep.repeat, sweep.warmup)
    return run_benchmark(endpoint, scenarios, {workload.model: workload}, out_dir, prices, client,
                         rep)


def load_run(out_dir: Path) -> tuple[dict[str, Any], list[tuple[Scenario, list[RequestRecord]]]]:
    """``plan.json`` and every scenario's records from a finished run's directory."""
    plan = read_json(out_dir / "plan.json")
    if not isinstance(plan, dict) or "scenarios" not in plan:
        raise DataError(f"{out_dir / 'plan.json'} is not a millicent benchmark plan")
    runs = []
    for s in plan["scenarios"]:
        scenario = Scenario.from_dict(s)
        runs.append((scenario, read_records(out_dir / s["records"])))
    return plan, runs


def recompute(out_dir: Path, prices: PriceSheet, billing: str | None = None,
              overrides: Mapping[str, Any] | None = None) -> list[ResultRow]:
    """Rows of a saved run, re-summarised from the raw records with other pricing options
    (``overrides`` are :class:`CostOptions` fields, e.g. ``{"memory_mb": 256}``)."""
    plan, runs = load_run(out_dir)
    rows = []
    for scenario, records in runs:
        opts: CostOptions = scenario.config.cost_options(billing or plan.get("billing", "1ms"))
        if overrides:
            opts = opts.with_(**dict(overrides))
        row = summarize(scenario, records, prices, opts)
        batched = planned_workload(scenario.model, plan.get("workloads", {}).get(scenario.model, {}))
        rows.append(add_per_text(row, records, batched) if batched else row)
    return _stamp_prices(rows, prices)
