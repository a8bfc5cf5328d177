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
    bound,
    bounds_notes,
    cold_by_memory,
    on_lambda,
    strategy_notes,
    strategy_table,
    worst_case_table,
)
from millicent.economics.coldstart import ColdPhases
from millicent.economics.cost import CostOptions, instance_cost_per_million
from millicent.economics.prices import PriceSheet
from millicent.economics.tuning import DEFAULT_MEMORIES_MB, break_even, sweep_memory
from millicent.harness.records import RequestRecord
from millicent.harness.report import cost_table
from millicent.harness.runner import load_run
from millicent.harness.scenario import Scenario
from millicent.harness.summary import summarize
from millicent.jsonfile import write_json
from millicent.markdown import table, usd

Row = dict[str, Any]


@dataclass(frozen=True)
class WhatIf:
    """The questions asked of a saved run."""

    billing: str | None = None  #: None: as the run was priced
    overrides: Mapping[str, Any] = field(default_factory=dict)  #: CostOptions fields
    instance_usd_per_hour: float = 0.0168
    #: None: the ``server`` rows' best throughput per model, when the run has them
    instance_capacity_qps: float | None = None
    latency_target_ms: float | None = None
    statistic: str = "p99"
    memories_mb: Sequence[int] = DEFAULT_MEMORIES_MB
    measured_cpu_share: float = 1.0
    bounds: Bounds = field(default_factory=Bounds)


@dataclass
class Analysis:
    rows: list[Row]
    sweeps: dict[str, dict[str, Any]]  #: label → MemorySweep.to_dict()
    break_evens: dict[str, dict[str, Any]]  #: label → BreakEven.to_dict()
    skipped: list[str]  #: why a row has no sweep / break-even
    #: label → memory → the three strategies (Strategy.to_dict())
    cold_starts: dict[str, dict[int, list[dict[str, Any]]]] = field(default_factory=dict)
    #: label → worst case at the cap in force, the ceiling, the recommended cap
    worst: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "memory": self.sweeps, "break_even": self.break_evens,
                "cold_starts": self.cold_starts, "worst_case": self.worst,
                "skipped": self.skipped}


def label(row: Mapping[str, Any]) -> str:
    return f"{row['config']}/{row['model']}/C={row['concurrency']}"


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
    row["prices"] = {"name": prices.name, "date": prices.date}
    analysis.rows.append(row)
    name = label(row)
    if scenario.config.kind == "server":
        if row["throughput_qps"] > 0:
            row["instance_cost_per_million_usd"] = instance_cost_per_million(
                what.instance_usd_per_hour, row["throughput_qps"])
        analysis.skipped.append(f"{name}: always-on server, priced as an instance at its throughput")
        return
    measured = [r for r in records if r.phase == "measure" and r.ok and r.duration_ms is not None]
    usages = [r.usage() for r in measured]
    if not usages or not row["cost_per_million_usd"]:
        analysis.skipped.append(f"{name}: no successful requests to price")
        return
    if all(u.cpu_ms is not None for u in usages):
        analysis.sweeps[name] = sweep_memory(
            usages, prices, opts, what.memories_mb, what.latency_target_ms, what.statistic,
            what.measured_cpu_share, row["throughput_qps"] or None).to_dict()
    else:
        analysis.skipped.append(f"{name}: no CPU time reported, no memory projection")
    analysis.break_evens[name] = {"model": row["model"], **break_even(
        row["cost_per_million_usd"]["total"], what.instance_usd_per_hour,
        what.instance_capacity_qps).to_dict()}
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
    rate = analysis.rows[-1]["throughput_qps"] or None  # provisioned DynamoDB is spread over it
    by_memory = cold_by_memory(warm, cold, prices, opts, what.bounds, what.memories_mb,
                               what.measured_cpu_share, rate)
    analysis.cold_starts[name] = {m: [s.to_dict() for s in ss] for m, ss in by_memory.items()}
    per_request, duration = on_lambda(warm, prices, opts, what.measured_cpu_share, rate)
    analysis.worst[name] = bound(per_request, duration, what.bounds, prices, opts)


def _capacity_from_server_rows(rows: Sequence[Row], bes: dict[str, dict[str, Any]],
                               what: WhatIf) -> None:
    """A comparison that ran the always-on ``server`` measured one instance's capacity:
    its best throughput for the model. Use it where no capacity was given."""
    capacity: dict[str, float] = {}
    for r in rows:
        if r["configuration"].get("kind") == "server" and r["throughput_qps"] > 0:
            capacity[r["model"]] = max(capacity.get(r["model"], 0.0), r["throughput_qps"])
    for name, b in bes.items():
        cap = capacity.get(b["model"])
        if cap is not None:
            per_million = b["cost_per_query_usd"] * 1e6
            bes[name] = {"model": b["model"],
                         **break_even(per_million, what.instance_usd_per_hour, cap).to_dict()}


def memory_table(sweeps: Mapping[str, Mapping[str, Any]]) -> str:
    body = []
    stat = "p99"
    for name, s in sweeps.items():
        stat = s["statistic"]
        for o in s["options"]:
            mark = "**←**" if o["memory_mb"] == s["recommended_mb"] else ""
            meets = {None: "–", True: "yes", False: "no"}[o["meets_target"]]
            body.append([name, str(o["memory_mb"]), f"{o['duration_ms']['mean']:.1f}",
                         f"{o['latency_ms'][stat]:.1f}", meets,
                         usd(o["cost_per_million_usd"]["compute"]),
                         usd(o["cost_per_million_usd"]["total"]), mark])
    return table(["scenario", "memory (MB)", "duration mean (ms)", f"latency {stat} (ms)",
                   "meets target", "compute $/M", "total $/M", "recommended"], body, right_from=1)


def break_even_table(bes: Mapping[str, Mapping[str, Any]]) -> str:
    body = []
    for name, b in bes.items():
        feasible = {None: "–", True: "yes", False: "no"}[b["feasible"]]
        cap = b["instance_capacity_qps"]
        body.append([name, usd(b["cost_per_query_usd"] * 1e6), f"${b['instance_usd_per_hour']}/h",
                     f"{b['break_even_qps']:,.2f}", f"{b['break_even_queries_per_month']:,.0f}",
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
        notes += [f"{r['config']}/{r['model']}/C={r['concurrency']}: {n}"
                  for n in r.get("cost_notes", []) if "throttle" in n or "provisioned" in n]
    if notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(parts)


def decision_sections(cold_starts: Mapping[str, Any], worst: Mapping[str, Any],
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
            per_million = {k: v["cost_per_query_usd"] * 1e6 for k, v in analysis.break_evens.items()}
            caps = {b["instance_capacity_qps"] for b in analysis.break_evens.values()}
            capacity = caps.pop() if len(caps) == 1 else what.instance_capacity_qps
            files.append(plot_break_even(per_million, what.instance_usd_per_hour,
                                         out_dir / "breakeven.png", capacity))
        if analysis.sweeps:
            files.append(plot_memory(analysis.sweeps, out_dir / "memory.png"))
    return files
