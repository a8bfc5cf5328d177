"""Re-pricing a saved run (``millicent cost``): cost by component under other options,
the memory projection with a recommendation, cold starts bought down three ways per memory
size, the worst case at the cap in force, and the break-even against an always-on instance
— all from the raw records of ``DIR``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from millicent.analysis.decisions import (
    Bounds,
    StrategiesByLabel,
    WorstBound,
    bound,
    bounds_notes,
    cold_by_memory,
    on_lambda,
    strategy_notes,
    strategy_table,
    worst_case_table,
)
from millicent.economics.coldstart import ColdPhases, Strategy
from millicent.economics.cost import CostOptions, instance_cost_per_million
from millicent.economics.prices import PriceSheet
from millicent.economics.tuning import (
    DEFAULT_INSTANCE_USD_PER_HOUR,
    DEFAULT_MEMORIES_MB,
    BreakEven,
    MemorySweep,
    break_even,
    sweep_memory,
)
from millicent.harness.records import RequestRecord
from millicent.harness.report import cost_table
from millicent.harness.rows import ResultRow
from millicent.harness.runner import load_run
from millicent.harness.scenario import Scenario
from millicent.harness.summary import summarize
from millicent.jsonfile import write_json
from millicent.markdown import table, usd


@dataclass(frozen=True)
class WhatIf:
    """The questions asked of a saved run."""

    billing: str | None = None  #: None: as the run was priced
    overrides: Mapping[str, Any] = field(default_factory=dict)  #: CostOptions fields
    instance_usd_per_hour: float = DEFAULT_INSTANCE_USD_PER_HOUR
    #: None: the ``server`` rows' best throughput per model, when the run has them
    instance_capacity_qps: float | None = None
    latency_target_ms: float | None = None
    statistic: str = "p99"
    memories_mb: Sequence[int] = DEFAULT_MEMORIES_MB
    measured_cpu_share: float = 1.0
    bounds: Bounds = field(default_factory=Bounds)


@dataclass(frozen=True)
class ModelBreakEven:
    """One scenario's break-even, and the model it served (whose server capacity applies)."""

    model: str
    break_even: BreakEven

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, **self.break_even.to_dict()}


@dataclass
class Analysis:
    """Everything ``millicent cost`` found in a saved run, by scenario label."""

    rows: list[ResultRow]
    sweeps: dict[str, MemorySweep]
    break_evens: dict[str, ModelBreakEven]
    skipped: list[str]  #: why a row has no sweep / break-even
    #: label → memory → the three strategies
    cold_starts: dict[str, dict[int, list[Strategy]]] = field(default_factory=dict)
    #: label → worst case at the cap in force, the ceiling, the recommended cap
    worst: dict[str, WorstBound] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``cost.json``."""
        return {"rows": [r.to_dict() for r in self.rows],
                "memory": {k: s.to_dict() for k, s in self.sweeps.items()},
                "break_even": {k: b.to_dict() for k, b in self.break_evens.items()},
                "cold_starts": strategies_dict(self.cold_starts),
                "worst_case": {k: w.to_dict() for k, w in self.worst.items()},
                "skipped": self.skipped}


def strategies_dict(by_label: StrategiesByLabel) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """The strategies as ``cost.json`` holds them."""
    return {name: {m: [s.to_dict() for s in ss] for m, ss in memories.items()}
            for name, memories in by_label.items()}


def analyse(out_dir: Path, prices: PriceSheet, what: WhatIf) -> Analysis:
    """Answer ``what`` for every scenario of the run in ``out_dir``."""
    plan, runs = load_run(out_dir)
    analysis = Analysis([], {}, {}, [])
    # cold starts happen where they happen (the first C of each scenario, mostly in its
    # warm-up): every scenario of a function shares all of them
    pooled: dict[tuple[str, str], list[RequestRecord]] = {}
    for scenario, records in runs:
        pooled.setdefault((scenario.config.name, scenario.model), []).extend(records)
    for scenario, records in runs:
        opts = scenario.config.cost_options(what.billing or plan.get("billing", "1ms"))
        if what.overrides:
            opts = opts.with_(**dict(what.overrides))
        _analyse_scenario(analysis, scenario, records, prices, opts, what,
                          pooled[(scenario.config.name, scenario.model)])
    if what.instance_capacity_qps is None:
        _capacity_from_server_rows(analysis.rows, analysis.break_evens, what)
    return analysis


def _analyse_scenario(analysis: Analysis, scenario: Scenario, records: Sequence[RequestRecord],
                      prices: PriceSheet, opts: CostOptions, what: WhatIf,
                      function_records: Sequence[RequestRecord]) -> None:
    row = summarize(scenario, records, prices, opts)
    row.prices = prices
    analysis.rows.append(row)
    name = row.label
    if scenario.config.kind == "server":
        if row.throughput_qps > 0:
            row.instance_cost_per_million_usd = instance_cost_per_million(
                what.instance_usd_per_hour, row.throughput_qps)
        analysis.skipped.append(f"{name}: always-on server, priced as an instance at its throughput")
        return
    measured = [r for r in records if r.phase == "measure" and r.ok and r.duration_ms is not None]
    usages = [r.usage() for r in measured]
    if not usages or row.cost is None:
        analysis.skipped.append(f"{name}: no successful requests to price")
        return
    if all(u.cpu_ms is not None for u in usages):
        analysis.sweeps[name] = sweep_memory(
            usages, prices, opts, what.memories_mb, what.latency_target_ms, what.statistic,
            what.measured_cpu_share, row.throughput_qps or None)
    else:
        analysis.skipped.append(f"{name}: no CPU time reported, no memory projection")
    analysis.break_evens[name] = ModelBreakEven(row.model, break_even(
        row.cost.per_million.total, what.instance_usd_per_hour, what.instance_capacity_qps))
    _decide(analysis, name, function_records, measured, prices, opts, what)


def _decide(analysis: Analysis, name: str, records: Sequence[RequestRecord],
            measured: Sequence[RequestRecord], prices: PriceSheet, opts: CostOptions,
            what: WhatIf) -> None:
    """Cold starts three ways per memory (from ``records``: every cold start of the
    function), and the worst case at the cap in force."""
    warm = [r.usage() for r in measured if not r.cold]
    cold_records = [r for r in records if r.ok and r.cold and r.duration_ms is not None]
    inside = [ms for r in cold_records if (ms := r.inside_init_ms) is not None]
    cold = ColdPhases.from_usages([r.usage() for r in cold_records], inside, what.measured_cpu_share)
    if not warm:
        analysis.skipped.append(f"{name}: no warm request, no cold-start table or worst case")
        return
    rate = analysis.rows[-1].throughput_qps or None  # provisioned DynamoDB is spread over it
    analysis.cold_starts[name] = cold_by_memory(warm, cold, prices, opts, what.bounds,
                                                what.memories_mb, what.measured_cpu_share, rate)
    per_request, duration = on_lambda(warm, prices, opts, what.measured_cpu_share, rate)
    analysis.worst[name] = bound(per_request, duration, what.bounds, prices, opts)


def _capacity_from_server_rows(rows: Sequence[ResultRow], bes: dict[str, ModelBreakEven],
                               what: WhatIf) -> None:
    """A comparison that ran the always-on ``server`` measured one instance's capacity:
    its best throughput for the model. Use it where no capacity was given."""
    capacity: dict[str, float] = {}
    for r in rows:
        if r.configuration.kind == "server" and r.throughput_qps > 0:
            capacity[r.model] = max(capacity.get(r.model, 0.0), r.throughput_qps)
    for name, b in bes.items():
        cap = capacity.get(b.model)
        if cap is not None:
            per_million = b.break_even.cost_per_query_usd * 1e6
            bes[name] = ModelBreakEven(
                b.model, break_even(per_million, what.instance_usd_per_hour, cap))


def memory_table(sweeps: Mapping[str, MemorySweep]) -> str:
    body = []
    stat = "p99"
    for name, s in sweeps.items():
        stat = s.statistic
        best = s.recommended.memory_mb if s.recommended else None
        for o in s.options:
            mark = "**←**" if o.memory_mb == best else ""
            meets = {None: "–", True: "yes", False: "no"}[o.meets_target]
            body.append([name, str(o.memory_mb), f"{o.duration_ms.mean:.1f}",
                         f"{getattr(o.latency_ms, stat):.1f}", meets,
                         usd(o.cost_per_million.compute), usd(o.cost_per_million.total), mark])
    return table(["scenario", "memory (MB)", "duration mean (ms)", f"latency {stat} (ms)",
                   "meets target", "compute $/M", "total $/M", "recommended"], body, right_from=1)


def break_even_table(bes: Mapping[str, ModelBreakEven]) -> str:
    body = []
    for name, mb in bes.items():
        b = mb.break_even
        feasible = {None: "–", True: "yes", False: "no"}[b.feasible]
        cap = b.instance_capacity_qps
        body.append([name, usd(b.cost_per_query_usd * 1e6), f"${b.instance_usd_per_hour}/h",
                     f"{b.qps:,.2f}", f"{b.queries_per_month:,.0f}",
                     "–" if cap is None else f"{cap:,.1f}", feasible])
    return table(["scenario", "$ / M queries", "always-on", "break-even (queries/s)",
                  "queries / month", "instance capacity (q/s)", "one instance suffices"], body,
                 right_from=1)


def render(analysis: Analysis, prices: PriceSheet, what: WhatIf) -> str:
    target = (f"{what.statistic} ≤ {what.latency_target_ms:g} ms" if what.latency_target_ms
              else "none (cheapest option recommended)")
    parts = ["# millicent cost", "",
             f"Prices: {prices.name} dated {prices.date}. Latency target: {target}.", "",
             "## Cost per million queries by component", "", cost_table(analysis.rows), ""]
    if analysis.sweeps:
        parts += ["## Memory projection (CPU ∝ memory, 1,769 MB = 1 vCPU; "
                  f"measured CPU share {what.measured_cpu_share:g})", "",
                  memory_table(analysis.sweeps), ""]
    parts += decision_sections(analysis.cold_starts, analysis.worst, what.bounds)
    if analysis.break_evens:
        parts += ["## Break-even against an always-on instance", "",
                  break_even_table(analysis.break_evens), ""]
    notes = list(analysis.skipped)
    for r in analysis.rows:  # e.g. a provisioned table the measured reads would exceed
        notes += [f"{r.label}: {n}" for n in r.cost_notes if "throttle" in n or "provisioned" in n]
    if notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(parts)


def decision_sections(cold_starts: StrategiesByLabel, worst: Mapping[str, WorstBound],
                      bounds: Bounds) -> list[str]:
    """The cold-start and worst-case sections of ``cost.md`` (empty when nothing to show)."""
    parts: list[str] = []
    t = bounds.traffic
    if cold_starts:
        parts += [f"## Cold starts: on-demand, SnapStart, provisioned concurrency "
                  f"({t.monthly_requests:,.0f} requests/month, {t.cold_start_rate:.2%} cold)", "",
                  strategy_table(cold_starts), ""]
    if worst:
        parts += ["## Worst case (denial of wallet) and a cap to set", "",
                  worst_case_table(worst), ""]
    if parts:
        notes = bounds_notes(bounds) + strategy_notes(cold_starts)
        parts += [f"- {n}" for n in notes] + [""]
    return parts


def write_analysis(out_dir: Path, analysis: Analysis, text: str, what: WhatIf,
                   plots: bool = True) -> list[Path]:
    """``cost.json``, ``cost.md`` and (with plots) ``breakeven.png`` and ``memory.png``."""
    write_json(out_dir / "cost.json", analysis.to_dict())
    (out_dir / "cost.md").write_text(text, encoding="utf-8")
    files = [out_dir / "cost.json", out_dir / "cost.md"]
    if plots:
        from millicent.analysis.plots import plot_break_even, plot_memory

        if analysis.break_evens:
            per_million = {k: v.break_even.cost_per_query_usd * 1e6
                           for k, v in analysis.break_evens.items()}
            caps = {b.break_even.instance_capacity_qps for b in analysis.break_evens.values()}
            capacity = caps.pop() if len(caps) == 1 else what.instance_capacity_qps
            files.append(plot_break_even(per_million, what.instance_usd_per_hour,
                                         out_dir / "breakeven.png", capacity))
        if analysis.sweeps:
            files.append(plot_memory(analysis.sweeps, out_dir / "memory.png"))
    return files
