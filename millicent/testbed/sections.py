"""The comparison report's own sections: ratios to the reference configuration, cold starts
and their goals, and the cold start, memory and package size of each configuration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from millicent.baselines.footprint import MB, Footprint, function_footprint
from millicent.economics.stats import ratio
from millicent.harness.rows import ResultRow
from millicent.jsonfile import write_json
from millicent.markdown import num, table
from millicent.testbed import coldprobe
from millicent.testbed.coldprobe import ColdStarts, ColdSummary

#: (configuration, model) → its cold starts
ColdByKey = dict[tuple[str, str], ColdStarts]


@dataclass(frozen=True)
class Ratio:
    """One configuration against the reference at one model and C (None: not measured)."""

    config: str
    reference: str
    model: str
    concurrency: int
    p50: float | None
    p99: float | None
    throughput: float | None
    cost_total: float | None
    cost_variable: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratios(rows: Sequence[ResultRow], reference: str) -> list[Ratio]:
    """Per model and C: each configuration's p50, p99, throughput and cost over the reference's."""
    base = {(r.model, r.concurrency): r for r in rows if r.config == reference}
    out: list[Ratio] = []
    for r in rows:
        ref = base.get((r.model, r.concurrency))
        if r.config == reference or ref is None:
            continue
        out.append(Ratio(
            r.config, reference, r.model, r.concurrency,
            ratio(r.latency_ms.p50, ref.latency_ms.p50),
            ratio(r.latency_ms.p99, ref.latency_ms.p99),
            ratio(r.throughput_qps, ref.throughput_qps),
            ratio(r.cost_of("total"), ref.cost_of("total")),
            ratio(r.cost_of("variable"), ref.cost_of("variable"))))
    return out


def ratio_table(rs: Sequence[Ratio]) -> str:
    def x(v: float | None) -> str:
        if v is None:
            return "–"
        return f"{v:.2f}×" if v >= 0.1 else f"{v:.3g}×"

    body = [[r.config, r.reference, r.model, str(r.concurrency), x(r.p50), x(r.p99),
             x(r.throughput), x(r.cost_total), x(r.cost_variable)] for r in rs]
    return table(["config", "vs", "model", "C", "p50", "p99", "throughput", "$/M total",
                  "$/M variable"], body, right_from=3)


def cold_sections(cold: Mapping[tuple[str, str], ColdStarts],
                  rows: Sequence[ResultRow]) -> list[str]:
    """The report's cold-start table and, per model, the cold-start goals."""
    summaries = [c.summary() for c in cold.values()]
    text = ("## Cold starts\n\nIsolated: the first request from zero (no environment), alone, "
            "median of the samples — a spawn and its INIT (Init Duration), or a fork of the "
            "snapshot (Restore Duration); the first invocation's Duration; the function's own "
            "reported build (eager INIT: outside the Duration; lazy: inside the first "
            "invocation; a restore: its after-restore hook). Burst: C first requests at once "
            "from zero, all cold starts.\n\n"
            + coldprobe.cold_table(summaries))
    sections = [text]
    for model in sorted({c.model for c in cold.values()}):
        by_config = {s.config: s for s in summaries if s.model == model}
        warm = {(r.config, r.concurrency): r.latency_ms.p50 for r in rows
                if r.model == model and r.latency_ms.p50 is not None}
        gs = coldprobe.goals(by_config, warm)
        if gs:
            sections.append(f"## Cold-start goals ({model}, ✓ = reached)\n\n"
                            + coldprobe.goals_table(gs))
    return sections


def footprint_section(engines: Sequence[str], cold: Mapping[tuple[str, str], ColdStarts],
                      rows: Sequence[ResultRow], out_dir: Path) -> tuple[str, list[Path]]:
    """The report's cold start, memory and package size section; writes footprint.json
    and cold_starts.json (the files written)."""
    sizes = {e: function_footprint(e) for e in engines}
    summaries = {key: c.summary() for key, c in cold.items()}
    write_json(out_dir / "footprint.json", {
        "dependencies": {e: f.to_dict() for e, f in sizes.items()},
        "isolated_cold_start": [{"config": k[0], "model": k[1], **asdict(c.samples[0])}
                                for k, c in cold.items() if c.samples],
        "cold_starts": [s.to_dict() for s in summaries.values()]})
    write_json(out_dir / "cold_starts.json", [c.to_dict() for c in cold.values()])
    text = ("## Cold start, memory and package size\n\nIsolated: the first request from zero, "
            "alone (median of the samples) — the platform's Init Duration (process start → "
            "runtime ready) or Restore Duration (fork of the snapshot → runtime ready), the "
            "function's own reported build and the client latency. Under load: the C cold "
            "starts of the largest C, all at once on this machine. Peak RSS of an "
            "environment; installed size of the function's dependencies (numpy + "
            "millicent's function modules; for `torch`, plus torch and its requirements)."
            "\n\n" + footprint_table(rows, sizes, summaries))
    return text, [out_dir / "footprint.json", out_dir / "cold_starts.json"]


def _start_text(iso: ColdSummary | None) -> str:
    """Isolated cold start: the platform's Restore Duration of a fork, else its Init Duration."""
    if iso is None or (iso.init_duration_ms is None and iso.restore_duration_ms is None):
        return "–"
    if iso.restore_duration_ms is not None:
        return f"restore {num(iso.restore_duration_ms)}"
    return num(iso.init_duration_ms)


def footprint_table(rows: Sequence[ResultRow], sizes: Mapping[str, Footprint],
                    cold: Mapping[tuple[str, str], ColdSummary]) -> str:
    """Per serverless configuration and model: its isolated cold starts (``cold``: the
    medians of :meth:`~millicent.testbed.coldprobe.ColdStarts.summary`), the cold starts of
    the largest C (all at once), peak memory of an environment and the installed size of
    the function's dependencies."""
    last: dict[tuple[str, str], ResultRow] = {}
    for r in rows:  # the row of the largest C of each configuration and model
        key = (r.config, r.model)
        if r.configuration.kind == "serverless" and (
                key not in last or r.concurrency > last[key].concurrency):
            last[key] = r
    body = []
    for (config, model), r in last.items():
        engine = r.configuration.engine
        iso = cold.get((config, model))
        peak = max((v for v in (r.max_memory_mb, iso.max_memory_mb if iso else None)
                    if v is not None), default=None)
        fp = sizes.get(engine)
        body.append([config, model, engine, _start_text(iso),
                     num(iso.function_init_ms if iso else None),
                     num(iso.first_request_ms if iso else None),
                     f"{r.init.cold_starts} at C={r.concurrency}",
                     num(r.init.latency_ms.p50), num(peak),
                     "–" if fp is None else f"{fp.total_bytes / MB:,.0f}"])
    return table(["config", "model", "engine", "isolated: Init / Restore Duration (ms)",
                  "function init", "first request", "under load: cold starts",
                  "first request p50 (ms)", "peak memory (MB)", "dependencies (MB)"], body,
                 right_from=3)
