"""The real bill: REPORT lines (a log file, or a CloudWatch log group) priced exactly.

Each REPORT line is one invocation as AWS billed it: its ``Billed Duration`` (INIT included
when AWS billed it) at its ``Memory Size``, plus for a SnapStart restore the ``Billed Restore
Duration`` and the restore fee, plus Lambda's request charge; the gateway is priced as
``--gateway`` says and the store as ``--store`` says (REPORT lines carry no lookups: read
units per query from ``--read-units-per-query``, or from a bench run given with
``--results``). ``--era`` or ``--billing 100ms`` re-price the raw durations instead.
Lines are grouped by memory size (a log may span configuration changes), and each group
gets the cold-start strategies and the worst case at the cap in force.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from millicent.analysis.decisions import WorstBound, bound, cold_by_memory, on_lambda
from millicent.analysis.whatif import WhatIf, decision_sections, strategies_dict
from millicent.economics.coldstart import ColdPhases, Strategy
from millicent.economics.cost import Cost, CostOptions, CostReport, Usage, cost_per_million
from millicent.economics.prices import PriceSheet
from millicent.economics.reportlog import ReportLine
from millicent.economics.stats import LatencyStats, latency_stats
from millicent.economics.tuning import cpu_share
from millicent.jsonfile import write_json
from millicent.markdown import num, table, usd


@dataclass(frozen=True)
class BillGroup:
    """The REPORT lines of one memory size, priced."""

    memory_mb: int
    requests: int
    init_starts: int
    restores: int
    statuses: dict[str, int]  #: "ok", or the line's Status, → count
    duration_ms: LatencyStats
    billed_ms: LatencyStats
    init_ms: LatencyStats
    restore_ms: LatencyStats
    max_memory_used_mb: int | None
    cost: CostReport  #: per million requests
    total: Cost  #: these requests

    def to_dict(self) -> dict[str, Any]:
        return {"memory_mb": self.memory_mb, "requests": self.requests,
                "init_starts": self.init_starts, "restores": self.restores,
                "statuses": dict(self.statuses), "duration_ms": self.duration_ms.to_dict(),
                "billed_ms": self.billed_ms.to_dict(), "init_ms": self.init_ms.to_dict(),
                "restore_ms": self.restore_ms.to_dict(),
                "max_memory_used_mb": self.max_memory_used_mb,
                "cost_per_million_usd": self.cost.to_dict(), "total_usd": self.total.to_dict()}


@dataclass
class LogBill:
    """What a set of REPORT lines cost, per memory size, and what follows from it."""

    source: str
    groups: list[BillGroup] = field(default_factory=list)
    cold_starts: dict[str, dict[int, list[Strategy]]] = field(default_factory=dict)
    worst: dict[str, WorstBound] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "groups": [g.to_dict() for g in self.groups],
                "cold_starts": strategies_dict(self.cold_starts),
                "worst_case": {k: w.to_dict() for k, w in self.worst.items()}, "notes": self.notes}


def _options(base: CostOptions, what: WhatIf, memory_mb: int) -> CostOptions:
    opts = base.with_(memory_mb=memory_mb)
    if what.billing:
        opts = opts.with_(billing=what.billing)
    overrides = {k: v for k, v in what.overrides.items() if k != "memory_mb"}
    return opts.with_(**overrides) if overrides else opts


def _group(lines: Sequence[ReportLine], usages: Sequence[Usage], prices: PriceSheet,
           opts: CostOptions) -> BillGroup:
    report = cost_per_million(usages, prices, opts)
    statuses = Counter(line.status or "ok" for line in lines)
    return BillGroup(
        memory_mb=opts.memory_mb, requests=len(lines),
        init_starts=sum(line.init_ms is not None for line in lines),
        restores=sum(line.restore_ms is not None for line in lines),
        statuses=dict(sorted(statuses.items())),
        duration_ms=latency_stats(line.duration_ms for line in lines),
        billed_ms=latency_stats(float(line.billed_ms) for line in lines),
        init_ms=latency_stats(line.init_ms for line in lines if line.init_ms is not None),
        restore_ms=latency_stats(line.restore_ms for line in lines if line.restore_ms is not None),
        max_memory_used_mb=max((line.max_memory_mb for line in lines
                                if line.max_memory_mb is not None), default=None),
        cost=report, total=report.per_million.scaled(len(lines) / 1e6))


def price_reports(lines: Sequence[ReportLine], prices: PriceSheet, what: WhatIf, source: str,
                  base: CostOptions | None = None, read_units: float = 0.0) -> LogBill:
    """Price every REPORT line exactly; one group per memory size."""
    bill = LogBill(source)
    by_memory: dict[int, list[ReportLine]] = {}
    for line in lines:
        by_memory.setdefault(line.memory_mb, []).append(line)
    for memory, group in sorted(by_memory.items()):
        opts = _options(base or CostOptions(), what, memory)
        usages = [replace(line.usage(), read_units=read_units) for line in group]
        bill.groups.append(_group(group, usages, prices, opts))
        name = f"{source}/{memory} MB"
        warm = [u for u in usages if u.init_kind is None]
        # REPORT lines ran on Lambda at their memory: that is the CPU share they had
        share = cpu_share(memory, prices.mb_per_vcpu)
        cold = ColdPhases.from_usages([u for u in usages if u.init_kind], measured_share=share)
        if warm:
            bill.cold_starts[name] = cold_by_memory(warm, cold, prices, opts, what.bounds,
                                                    measured_share=share)
            per_request, duration = on_lambda(warm, prices, opts, share)
            bill.worst[name] = bound(per_request, duration, what.bounds, prices, opts)
    bill.notes += _notes(lines, read_units, what)
    return bill


def _notes(lines: Sequence[ReportLine], read_units: float, what: WhatIf) -> list[str]:
    out = []
    ids = Counter(line.request_id for line in lines)
    repeated = sum(1 for n in ids.values() if n > 1)
    if repeated:
        out.append(f"{repeated} request id(s) appear more than once: each line is priced (an "
                   "asynchronous retry is billed again), but overlapping exports are not — check")
    out.append(f"store: {read_units:g} DynamoDB read units per query (REPORT lines carry no "
               "lookups; --read-units-per-query, or taken from --results)")
    if what.billing or what.overrides.get("era"):
        out.append("re-priced from the raw durations (--era / --billing), not as AWS billed them")
    else:
        out.append("Billed Duration as AWS logged it (INIT included where AWS billed it)")
    out.append("architecture and gateway are not in REPORT lines: priced as --arch / --gateway "
               "say (default x86_64, Function URL)")
    return out


def bill_table(bill: LogBill) -> str:
    body = []
    for g in bill.groups:
        c = g.cost.per_million
        statuses = ", ".join(f"{k}: {v}" for k, v in g.statuses.items())
        body.append([str(g.memory_mb), f"{g.requests:,}", str(g.init_starts),
                     str(g.restores), statuses, num(g.duration_ms.mean, 2),
                     num(g.cost.mean_billed_ms, 2), usd(c.compute), usd(c.requests),
                     usd(c.store), usd(c.gateway), usd(c.total), usd(g.total.total)])
    return table(["memory (MB)", "requests", "INITs", "restores", "status", "duration mean (ms)",
                  "billed mean (ms)", "compute $/M", "requests $/M", "store $/M", "gateway $/M",
                  "total $/M", "these requests"], body, right_from=1)


def render_bill(bill: LogBill, prices: PriceSheet, what: WhatIf) -> str:
    """``cost.md`` for REPORT lines."""
    parts = ["# millicent cost: the bill of REPORT lines", "",
             f"Source: {bill.source}. Prices: {prices.name} dated {prices.date}.", "",
             "## Cost by component", "", bill_table(bill), ""]
    parts += decision_sections(bill.cold_starts, bill.worst, what.bounds)
    parts += ["## Notes", ""] + [f"- {n}" for n in bill.notes] + [""]
    return "\n".join(parts)


def read_units_of_run(results: Path, prices: PriceSheet) -> float:
    """Mean DynamoDB read units per query of a bench run's priced rows (0 when none is
    priced): what REPORT lines, which carry no lookups, are charged for store reads."""
    from millicent.harness.runner import recompute

    units = [r.cost.mean_read_units for r in recompute(results, prices) if r.cost is not None]
    return sum(units) / len(units) if units else 0.0


def write_bill(out: Path, bill: LogBill, text: str) -> list[Path]:
    """``cost.json`` and ``cost.md`` of REPORT lines in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "cost.json", bill.to_dict())
    (out / "cost.md").write_text(text, encoding="utf-8")
    return [out / "cost.json", out / "cost.md"]
