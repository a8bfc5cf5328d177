"""millicent's layout against the ``whole`` model (issue 21's goals; reported, not pass/fail).

For a transformer compared with ``whole`` — the same network with its token table inside,
token ids in — each configuration served by millicent's runtime (the table-less graph, the
table's rows from the store and the pack) is set against ``whole`` at the same model and C:

* Max Memory Used: the largest an environment reached (the scenario's REPORT records and
  its isolated cold starts) — goal: lower than whole's;
* INIT: the median Init Duration of the isolated cold starts (a snapshot's Restore
  Duration) — goal: ≤ 0.5× whole's;
* p50 client latency and cost per million requests (each priced at its own memory size and
  gateway) — goal: within 10 % of whole's (ratio ≤ 1.10).

The memory sizes are shown: the goal compares layouts at the same size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from millicent.economics.stats import ratio
from millicent.harness.rows import ResultRow
from millicent.markdown import num, table
from millicent.testbed.coldprobe import ColdSummary

WHOLE = "whole"
MEMORY_GOAL = 1.0  #: millicent's Max Memory Used / whole's, strictly below
INIT_GOAL = 0.5
WITHIN = 1.10  #: p50 and cost per million: at most 10 % above whole's


@dataclass(frozen=True)
class LayoutGoal:
    """One millicent configuration against ``whole`` at one model and C (None: unmeasured)."""

    config: str
    model: str
    concurrency: int
    memory_mb: int  #: the configuration's memory size
    whole_memory_mb: int
    max_memory_mb: float | None
    whole_max_memory_mb: float | None
    init_ms: float | None
    whole_init_ms: float | None
    p50_ms: float | None
    whole_p50_ms: float | None
    cost_per_million: float | None
    whole_cost_per_million: float | None
    #: whole's answers: none at a memory size it does not fit (killed, out of memory)
    whole_ok: int = 0
    whole_error_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def memory_ratio(self) -> float | None:
        return ratio(self.max_memory_mb, self.whole_max_memory_mb)

    @property
    def init_ratio(self) -> float | None:
        return ratio(self.init_ms, self.whole_init_ms)

    @property
    def p50_ratio(self) -> float | None:
        return ratio(self.p50_ms, self.whole_p50_ms)

    @property
    def cost_ratio(self) -> float | None:
        return ratio(self.cost_per_million, self.whole_cost_per_million)

    def met(self) -> dict[str, bool | None]:
        """Each goal: reached, missed, or None when a figure is missing."""

        def check(v: float | None, goal: float, strict: bool = False) -> bool | None:
            return None if v is None else (v < goal if strict else v <= goal)

        return {"memory": check(self.memory_ratio, MEMORY_GOAL, strict=True),
                "init": check(self.init_ratio, INIT_GOAL),
                "p50": check(self.p50_ratio, WITHIN), "cost": check(self.cost_ratio, WITHIN)}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "memory_ratio": self.memory_ratio, "init_ratio": self.init_ratio,
                "p50_ratio": self.p50_ratio, "cost_ratio": self.cost_ratio, "met": self.met()}


def _peak(row: ResultRow, iso: ColdSummary | None) -> float | None:
    return max((v for v in (row.max_memory_mb, iso.max_memory_mb if iso else None)
                if v is not None), default=None)


def _init(iso: ColdSummary | None) -> float | None:
    if iso is None:
        return None
    return iso.init_duration_ms if iso.init_duration_ms is not None else iso.restore_duration_ms


def layout_goals(rows: Sequence[ResultRow],
                 cold: Mapping[tuple[str, str], ColdSummary]) -> list[LayoutGoal]:
    """Every millicent-runtime serverless row that has a ``whole`` row at its model and C."""
    whole = {(r.model, r.concurrency): r for r in rows if r.config == WHOLE}
    out: list[LayoutGoal] = []
    for r in rows:
        w = whole.get((r.model, r.concurrency))
        c = r.configuration
        if w is None or c.kind != "serverless" or c.engine in (WHOLE, "torch"):
            continue
        iso, wiso = cold.get((r.config, r.model)), cold.get((WHOLE, r.model))
        out.append(LayoutGoal(
            r.config, r.model, r.concurrency, c.memory_mb, w.configuration.memory_mb,
            _peak(r, iso), _peak(w, wiso), _init(iso), _init(wiso),
            r.latency_ms.p50, w.latency_ms.p50, r.cost_of("total"), w.cost_of("total"),
            w.ok, dict(w.error_kinds)))
    return out


def layout_table(goals: Sequence[LayoutGoal]) -> str:
    """The report's table: each figure against whole's, ✓ where the goal is reached."""

    def cell(ours: float | None, theirs: float | None, r: float | None, ok: bool | None,
             money: bool = False) -> str:
        if ours is None or theirs is None or r is None:
            return "–"
        fmt = (lambda v: f"${v:.3f}") if money else num
        return f"{fmt(ours)} / {fmt(theirs)} = {r:.2f}×" + (" ✓" if ok else "")

    body = []
    for g in goals:
        met = g.met()
        if g.whole_ok == 0:  # whole answered nothing at this size: nothing to be within 10 % of
            failed = "whole answered none (" + ", ".join(
                f"{n} × {k}" for k, n in sorted(g.whole_error_kinds.items())) + ")"
            body.append([g.config, g.model, str(g.concurrency),
                         f"{g.memory_mb} / {g.whole_memory_mb}",
                         cell(g.max_memory_mb, g.whole_max_memory_mb, g.memory_ratio,
                              met["memory"]), failed, f"{num(g.p50_ms)} / –",
                         f"${g.cost_per_million or 0:.3f} / –"])
            continue
        body.append([g.config, g.model, str(g.concurrency), f"{g.memory_mb} / {g.whole_memory_mb}",
                     cell(g.max_memory_mb, g.whole_max_memory_mb, g.memory_ratio, met["memory"]),
                     cell(g.init_ms, g.whole_init_ms, g.init_ratio, met["init"]),
                     cell(g.p50_ms, g.whole_p50_ms, g.p50_ratio, met["p50"]),
                     cell(g.cost_per_million, g.whole_cost_per_million, g.cost_ratio, met["cost"],
                          money=True)])
    return table(["config", "model", "C", "memory size (MB) / whole",
                  "Max Memory Used (MB) / whole (< 1×)", "INIT (ms) / whole (≤ 0.5×)",
                  f"p50 (ms) / whole (≤ {WITHIN:.2f}×)",
                  f"$/M requests / whole (≤ {WITHIN:.2f}×)"], body, right_from=2)


def layout_section(goals: Sequence[LayoutGoal]) -> str:
    """The report's section on the layouts."""
    return ("## millicent's layout vs `whole` (✓ = goal reached)\n\n`whole`: the same network "
            "with its token table inside the graph, token ids in, no store — as others deploy "
            "it. Max Memory Used: the largest of the scenario's environments and its isolated "
            "cold starts; INIT: the median Init Duration (Restore Duration for a snapshot) of "
            "the isolated cold starts (process start to ready: both layouts start Python and import "
            "numpy, onnxruntime and tokenizers, about half of it); $/M: each at its own memory "
            "size and gateway.\n\n"
            + layout_table(goals))
