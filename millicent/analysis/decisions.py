"""What ``millicent cost`` decides beyond the price per query, for bench runs and REPORT logs
alike: how to buy down cold starts (per memory size, :mod:`millicent.economics.coldstart`) and
what a flood can cost at the cap in force, with a recommended cap
(:mod:`millicent.economics.worstcase`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from millicent.economics.coldstart import (
    ColdPhases,
    Strategy,
    Traffic,
    WarmProfile,
    by_memory,
    strategies,
)
from millicent.economics.cost import Cost, CostOptions, Usage, cost_per_million
from millicent.economics.prices import HOURS_PER_MONTH, PriceSheet
from millicent.economics.stats import latency_stats, mean
from millicent.economics.tuning import DEFAULT_MEMORIES_MB, project_duration, sweep_memory
from millicent.economics.worstcase import (
    AWS_DEFAULT_ACCOUNT_CONCURRENCY,
    DEFAULT_PEAK_TO_MEAN,
    WorstCase,
    cap_for_budget,
    recommended_cap,
    worst_case,
)
from millicent.errors import ConfigError, DataError
from millicent.markdown import table, usd


@dataclass(frozen=True)
class Bounds:
    """The knobs of the cold-start and worst-case questions (CLI flags of ``millicent cost``)."""

    traffic: Traffic = field(default_factory=Traffic)
    init_ms: float | None = None  #: replaces the measured INIT
    restore_ms: float | None = None  #: replaces the measured restore
    reserved_concurrency: int | None = None  #: the cap in force; None: the account's limit
    account_concurrency: int = AWS_DEFAULT_ACCOUNT_CONCURRENCY
    peak_qps: float | None = None  #: None: DEFAULT_PEAK_TO_MEAN × the monthly mean rate
    budget_usd: float | None = None

    def __post_init__(self) -> None:
        if self.reserved_concurrency is not None and self.reserved_concurrency < 1:
            raise ConfigError("a reserved concurrency of 0 blocks every request on AWS; leave "
                              "--reserved-concurrency out for none")
        if self.account_concurrency < 1:
            raise ConfigError("the account concurrency limit is at least 1")
        for name in ("init_ms", "restore_ms", "peak_qps", "budget_usd"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be ≥ 0, got {value}")

    @property
    def cap(self) -> tuple[int, str]:
        if self.reserved_concurrency is not None:
            return self.reserved_concurrency, "reserved concurrency"
        return self.account_concurrency, "the account's concurrency limit"

    @property
    def peak(self) -> float:
        return self.peak_qps if self.peak_qps is not None else DEFAULT_PEAK_TO_MEAN * self.traffic.mean_qps


def cold_by_memory(warm: Sequence[Usage], cold: ColdPhases, prices: PriceSheet,
                   options: CostOptions, bounds: Bounds,
                   memories_mb: Sequence[int] = DEFAULT_MEMORIES_MB,
                   measured_share: float = 1.0,
                   query_rate_qps: float | None = None) -> dict[int, list[Strategy]]:
    """The three strategies per memory size; at the measured memory only when the requests
    carry no CPU time to project with. ``query_rate_qps``: for provisioned DynamoDB."""
    cold = cold.with_overrides(bounds.init_ms, bounds.restore_ms)
    if warm and all(u.cpu_ms is not None for u in warm):
        sweep = sweep_memory(warm, prices, options, memories_mb, measured_share=measured_share,
                             query_rate_qps=query_rate_qps)
        return by_memory(sweep, cold, bounds.traffic, prices, options)
    memory = warm[0].memory_mb if warm and warm[0].memory_mb else options.memory_mb
    report = cost_per_million(warm, prices, options, query_rate_qps)
    lat = latency_stats(u.latency_ms if u.latency_ms is not None else u.duration_ms for u in warm)
    profile = WarmProfile(memory, report.per_million.scaled(1e-6),
                          mean(u.duration_ms for u in warm) or 0.0, lat.p50 or 0.0)
    return {memory: strategies(profile, cold, bounds.traffic, prices, options.with_(memory_mb=memory))}


@dataclass(frozen=True)
class WorstBound:
    """The worst case at the cap in force, the 1 ms ceiling and the cap to set."""

    at_measured_duration: WorstCase
    ceiling_1ms: WorstCase
    peak_qps: float
    recommended_cap: int
    at_recommended_cap: WorstCase
    budget_usd: float | None = None
    cap_within_budget: int | None = None  #: the largest cap whose worst case fits the budget

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "at_measured_duration": self.at_measured_duration.to_dict(),
            "ceiling_1ms": self.ceiling_1ms.to_dict(), "peak_qps": self.peak_qps,
            "recommended_cap": self.recommended_cap,
            "at_recommended_cap": self.at_recommended_cap.to_dict(),
            "sentence": self.at_measured_duration.sentence()}
        if self.budget_usd is not None:
            out["budget_usd"] = self.budget_usd
            out["cap_within_budget"] = self.cap_within_budget
        return out


def bound(per_request: Cost, duration_ms: float, bounds: Bounds, prices: PriceSheet,
          options: CostOptions) -> WorstBound:
    """Worst case at the cap in force (measured duration), the 1 ms ceiling and a cap to set."""
    # the ceiling: every request billed the minimum unit, the same charges per request
    unit_s = prices.granularity_ms(options.billing) / 1000.0
    floor = Cost(unit_s * options.memory_mb / 1024.0 * prices.gb_second(options.arch),
                 per_request.requests, per_request.store, per_request.gateway)
    cap, source = bounds.cap
    at = worst_case(cap, source, duration_ms, per_request)
    rec = recommended_cap(bounds.peak, duration_ms)
    return WorstBound(
        at, worst_case(cap, source, 1.0, floor), bounds.peak, rec,
        worst_case(rec, "recommended cap", duration_ms, per_request), bounds.budget_usd,
        None if bounds.budget_usd is None else cap_for_budget(bounds.budget_usd, at))


def on_lambda(warm: Sequence[Usage], prices: PriceSheet, options: CostOptions,
              measured_share: float = 1.0, query_rate_qps: float | None = None) -> tuple[Cost, float]:
    """Cost per warm request and mean duration at the options' memory on Lambda: projected
    to its CPU share when the requests carry CPU time, as measured otherwise."""
    if warm and all(u.cpu_ms is not None for u in warm):
        warm = [replace(u, duration_ms=project_duration(
                    u.duration_ms, float(u.cpu_ms or 0.0), options.memory_mb, prices.mb_per_vcpu,
                    measured_share), billed_ms=None, memory_mb=None) for u in warm]
    report = cost_per_million(warm, prices, options, query_rate_qps)
    return report.per_million.scaled(1e-6), mean(u.duration_ms for u in warm) or 1.0


#: Strategies per memory size, per scenario (or REPORT-line group) label
StrategiesByLabel = Mapping[str, Mapping[int, Sequence[Strategy]]]


def strategy_table(by_label: StrategiesByLabel) -> str:
    """Per scenario and memory: each strategy's cold-start latency and monthly cost."""
    body = []
    for name, memories in by_label.items():
        for memory, rows in memories.items():
            cells = [name, str(memory)]
            for s in rows:
                lat = s.cold_latency_ms
                cells += ["–" if lat is None else f"{lat:,.0f}", usd(s.monthly_usd)]
            body.append(cells)
    return table(["scenario", "memory (MB)", "on-demand cold (ms)", "on-demand $/month",
                  "SnapStart cold (ms)", "SnapStart $/month", "provisioned cold (ms)",
                  "provisioned $/month"], body, right_from=1)


def worst_case_table(bounds_by_label: Mapping[str, WorstBound]) -> str:
    """Per scenario: the worst case at the cap in force, the ceiling and the recommended cap."""
    body = []
    for name, b in bounds_by_label.items():
        at = b.at_measured_duration
        budget = "–" if b.cap_within_budget is None else str(b.cap_within_budget)
        body.append([name, f"{at.cap:,} ({at.cap_source})", f"{at.duration_ms:.2f}",
                     usd(at.per_hour_usd), usd(at.per_month_usd),
                     usd(b.ceiling_1ms.per_month_usd),
                     f"{b.recommended_cap} (peak {b.peak_qps:,.2f} q/s)",
                     usd(b.at_recommended_cap.per_month_usd), budget])
    return table(["scenario", "cap in force", "duration (ms)", "worst $/hour", "worst $/month",
                  "ceiling at 1 ms $/month", "recommended cap", "its worst $/month",
                  "largest cap within budget"], body, right_from=1)


def bounds_notes(bounds: Bounds) -> list[str]:
    """How the cold-start and worst-case tables were computed (their defaults included)."""
    t = bounds.traffic
    peak = (f"{bounds.peak_qps:g} q/s" if bounds.peak_qps is not None
            else f"{DEFAULT_PEAK_TO_MEAN:g} × the mean rate = {bounds.peak:,.2f} q/s")
    return [
        f"Cold starts: {t.monthly_requests:,.0f} requests a month (--monthly-requests, default "
        f"1,000,000), {t.cold_start_rate:.2%} of them cold (--cold-start-rate, default 1 %: AWS "
        "reports under 1 % of invocations are INITs); provisioned concurrency "
        + (f"{t.provisioned} environment(s)" if t.provisioned else "enough for the mean rate")
        + f"; a month is {HOURS_PER_MONTH} h. INIT projected as CPU-bound work; a restore as "
        "measured.",
        "Worst case: every environment the cap allows busy all the time at the measured "
        "duration (a flood); the 1 ms ceiling is the most any flood can be billed. "
        f"Recommended cap: throttles ≤ 0.1 % of random arrivals at the peak rate ({peak}; "
        "--peak-qps) by Erlang's B formula.",
    ]


def strategy_notes(by_label: StrategiesByLabel) -> list[str]:
    """Each strategy's notes, once (what was not measured, what does not combine)."""
    seen: dict[str, None] = {}
    for memories in by_label.values():
        for rows in memories.values():
            for s in rows:
                for n in s.notes:
                    seen.setdefault(f"{s.name}: {n}", None)
    return list(seen)


def measured_duration(results: str | Path, memory_mb: int, arch: str = "x86_64") -> float:
    """The mean warm invocation duration of a ``millicent bench`` run, projected to
    ``memory_mb`` on Lambda when the run carries CPU times (a local-platform run): the
    duration ``millicent deploy --results DIR`` prices its worst case at."""
    from millicent.economics.prices import load_prices
    from millicent.harness.runner import load_run

    _, runs = load_run(Path(results))
    warm = [r.usage() for scenario, records in runs if scenario.config.kind == "serverless"
            for r in records if r.phase == "measure" and r.ok and not r.cold
            and r.duration_ms is not None]
    if not warm:
        raise DataError(f"{results}: no successful warm request to take the duration from")
    opts = CostOptions(memory_mb=memory_mb, arch=arch, store="none")
    return on_lambda(warm, load_prices(), opts)[1]
