"""Buying down cold starts: on-demand, SnapStart or provisioned concurrency, by the month.

At a monthly volume ``V`` and a share ``r`` of requests that are cold starts
(:class:`Traffic`), one memory size costs per month:

* **on-demand** — ``V`` warm requests + ``V·r`` INIT phases (billed as duration when the era
  bills INIT); a cold request waits for the INIT;
* **SnapStart** — ``V`` warm requests + ``V·r`` restores (the fee per GB restored and the
  billed restore duration) + the snapshot cache of the published version per GB-second for
  the whole month (at least 3 h per version); a cold request waits for the restore;
* **provisioned concurrency** — ``N`` environments allocated all month per GB-second, the
  ``V`` requests at the lower provisioned duration price, one INIT per environment; no cold
  start while at most ``N`` run at once (bursts above ``N`` spill over to on-demand; not
  modelled). Default ``N``: enough for the mean rate, ``ceil(V / month · mean duration)``.

Cold-start latency = the cold phase + the warm latency. The INIT is projected to each memory
as CPU-bound work (imports, model and client construction) stretched by the memory's CPU
share like the invocation (:func:`~millicent.economics.tuning.project_duration`); a restore is
taken as measured (restoring the snapshot is Lambda's work, not the function's). A month is
:data:`~millicent.economics.prices.HOURS_PER_MONTH` hours, as AWS prices it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from millicent.economics.cost import Cost, CostOptions, Usage
from millicent.economics.prices import SECONDS_PER_MONTH, PriceSheet
from millicent.economics.rules import lambda_limit
from millicent.economics.tuning import MemorySweep, project_duration
from millicent.errors import ConfigError

#: a million queries a month: the unit of every per-million figure
DEFAULT_MONTHLY_REQUESTS = 1_000_000
#: AWS: "INITs (cold starts) typically occur in under 1% of invocations" (the INIT-billing post)
DEFAULT_COLD_START_RATE = 0.01
#: Lambda stops an INIT phase after 10 s (``rules.json``)
INIT_LIMIT_MS = 1000.0 * lambda_limit("init_timeout_s")
STRATEGIES = ("on-demand", "snapstart", "provisioned")


@dataclass(frozen=True)
class Traffic:
    """The month being priced: volume, cold-start share, provisioned environments."""

    monthly_requests: float = DEFAULT_MONTHLY_REQUESTS
    cold_start_rate: float = DEFAULT_COLD_START_RATE
    #: provisioned environments; None: enough for the mean rate at the measured duration
    provisioned: int | None = None

    def __post_init__(self) -> None:
        if not self.monthly_requests > 0:
            raise ConfigError(f"monthly requests must be positive, got {self.monthly_requests}")
        if not 0 <= self.cold_start_rate <= 1:
            raise ConfigError(f"the cold-start rate is a share of requests in [0, 1], got {self.cold_start_rate}")
        if self.provisioned is not None and self.provisioned < 1:
            raise ConfigError(f"provisioned concurrency must be at least 1, got {self.provisioned}")

    @property
    def mean_qps(self) -> float:
        return self.monthly_requests / SECONDS_PER_MONTH

    def to_dict(self) -> dict[str, Any]:
        return {"monthly_requests": self.monthly_requests, "cold_start_rate": self.cold_start_rate,
                "provisioned": self.provisioned}


@dataclass(frozen=True)
class ColdPhases:
    """What cold starts took where they were measured (medians; None: none measured)."""

    #: the INIT phase outside the first invocation (Init Duration)
    init_ms: float | None = None
    restore_ms: float | None = None
    billed_restore_ms: float | None = None
    #: the CPU share the INIT ran with (1.0 on the local platform; M/1769 on Lambda at M MB)
    measured_share: float = 1.0
    #: a build inside the first invocation (lazy INIT): billed as duration in every era, and
    #: still paid after a restore (the snapshot was taken before it)
    inside_ms: float | None = None

    @classmethod
    def from_usages(cls, usages: Sequence[Usage], inside_init_ms: Sequence[float] = (),
                    measured_share: float = 1.0) -> ColdPhases:
        """From cold requests' outside phases, and the builds that ran inside an invocation."""
        inits = [u.init_ms for u in usages if u.init_kind == "init"]
        restores = [u for u in usages if u.init_kind == "restore"]
        billed = [float(u.restore_billed_ms) for u in restores if u.restore_billed_ms is not None]
        return cls(statistics.median(inits) if inits else None,
                   statistics.median(u.init_ms for u in restores) if restores else None,
                   statistics.median(billed) if billed else None, measured_share,
                   statistics.median(inside_init_ms) if inside_init_ms else None)

    def with_overrides(self, init_ms: float | None, restore_ms: float | None) -> ColdPhases:
        """Explicit figures (``--init-ms``: the whole INIT; ``--restore-ms``) replace the
        measured ones."""
        return ColdPhases(self.init_ms if init_ms is None else init_ms,
                          self.restore_ms if restore_ms is None else restore_ms,
                          self.billed_restore_ms if restore_ms is None else None,
                          self.measured_share, self.inside_ms if init_ms is None else None)


@dataclass(frozen=True)
class Strategy:
    """One way of serving a month at one memory size."""

    name: str
    cold_latency_ms: float | None  #: None: the cold phase was not measured
    monthly_usd: float
    fixed_usd: float  #: paid whatever the traffic (cache, allocation)
    per_cold_start_usd: float
    environments: int | None = None  #: provisioned concurrency only
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.name, "cold_latency_ms": self.cold_latency_ms,
                "monthly_usd": self.monthly_usd, "fixed_usd": self.fixed_usd,
                "per_cold_start_usd": self.per_cold_start_usd,
                "environments": self.environments, "notes": list(self.notes)}


@dataclass(frozen=True)
class WarmProfile:
    """Warm requests at one memory size: their cost per request and what they take."""

    memory_mb: int
    per_request: Cost
    mean_duration_ms: float
    latency_ms: float  #: the warm latency statistic cold starts are added to (p50)


def _at(ms: float | None, memory_mb: int, cold: ColdPhases, prices: PriceSheet) -> float | None:
    """A cold phase projected to ``memory_mb`` (None stays None)."""
    if ms is None:
        return None
    # all CPU: at the measured share s its wall time ms was ms · s of CPU time
    return project_duration(ms, ms * cold.measured_share, memory_mb, prices.mb_per_vcpu,
                            cold.measured_share)


def _billed(ms: float | None, gb: float, usd_per_gb_second: float) -> float:
    return math.ceil(ms or 0.0) / 1000.0 * gb * usd_per_gb_second


def _on_demand(warm: WarmProfile, cold: ColdPhases, traffic: Traffic, prices: PriceSheet,
               options: CostOptions) -> Strategy:
    gb = warm.memory_mb / 1024.0
    init = _at(cold.init_ms, warm.memory_mb, cold, prices)
    inside = _at(cold.inside_ms, warm.memory_mb, cold, prices)
    price = prices.gb_second(options.arch)
    billed = options.init_billed(prices)
    per_cold = (_billed(init, gb, price) if billed else 0.0) + _billed(inside, gb, price)
    cold_starts = traffic.monthly_requests * traffic.cold_start_rate
    notes = [] if billed or init is None else ["INIT not billed in this era"]
    measured = init is not None or inside is not None
    total = (init or 0.0) + (inside or 0.0)
    if not measured:
        notes.append("no INIT measured (pass --init-ms)")
    elif total > INIT_LIMIT_MS:
        notes.append(f"projected INIT {total:,.0f} ms exceeds Lambda's 10 s INIT limit")
    return Strategy("on-demand", total + warm.latency_ms if measured else None,
                    traffic.monthly_requests * warm.per_request.total + cold_starts * per_cold,
                    0.0, per_cold, notes=tuple(notes))


def _snapstart(warm: WarmProfile, cold: ColdPhases, traffic: Traffic, prices: PriceSheet,
               options: CostOptions) -> Strategy:
    gb = warm.memory_mb / 1024.0
    price = prices.gb_second(options.arch)
    restore_billed = cold.billed_restore_ms if cold.billed_restore_ms is not None else cold.restore_ms
    # a build inside the first invocation is not in the snapshot: paid after every restore
    inside = _at(cold.inside_ms, warm.memory_mb, cold, prices)
    per_cold = gb * prices.snapstart_usd_per_gb_restored + _billed(restore_billed, gb, price)
    per_cold += _billed(inside, gb, price)
    # one published version cached all month (≥ the 3 h minimum) and its one INIT
    cache = gb * SECONDS_PER_MONTH * prices.snapstart_usd_per_gb_second_cache
    fixed = cache + _billed(_at(cold.init_ms, warm.memory_mb, cold, prices), gb, price)
    cold_starts = traffic.monthly_requests * traffic.cold_start_rate
    notes = ["python3.12+ zip only; published versions behind an alias"]
    if cold.restore_ms is None:
        notes.append("no restore measured (serve --snapshot, a SnapStart REPORT log, or --restore-ms)")
    if inside:
        notes.append("the function builds inside its first invocation (lazy INIT): that is not "
                     "in the snapshot and follows every restore; eager INIT puts it there")
    latency = None if cold.restore_ms is None else cold.restore_ms + (inside or 0.0) + warm.latency_ms
    return Strategy("snapstart", latency,
                    traffic.monthly_requests * warm.per_request.total + cold_starts * per_cold + fixed,
                    fixed, per_cold, notes=tuple(notes))


def provisioned_environments(traffic: Traffic, mean_duration_ms: float) -> int:
    """``traffic.provisioned``, else enough environments for the mean rate (at least one)."""
    if traffic.provisioned is not None:
        return traffic.provisioned
    return max(1, math.ceil(traffic.mean_qps * mean_duration_ms / 1000.0))


def _provisioned(warm: WarmProfile, cold: ColdPhases, traffic: Traffic, prices: PriceSheet,
                 options: CostOptions) -> Strategy:
    gb = warm.memory_mb / 1024.0
    n = provisioned_environments(traffic, warm.mean_duration_ms)
    allocated = n * gb * SECONDS_PER_MONTH * prices.provisioned_allocated(options.arch)
    init = _at(cold.init_ms, warm.memory_mb, cold, prices)
    # INIT is always billed for provisioned environments: once each when allocated
    fixed = allocated + n * _billed(init, gb, prices.provisioned_duration(options.arch))
    ratio = prices.provisioned_duration(options.arch) / prices.gb_second(options.arch)
    per_request = warm.per_request.total - warm.per_request.compute * (1.0 - ratio)
    notes = [f"{n} environment(s) always ready; bursts above them spill over to on-demand "
             "(not modelled)", "not combinable with SnapStart"]
    return Strategy("provisioned", warm.latency_ms, traffic.monthly_requests * per_request + fixed,
                    fixed, 0.0, environments=n, notes=tuple(notes))


def strategies(warm: WarmProfile, cold: ColdPhases, traffic: Traffic, prices: PriceSheet,
               options: CostOptions) -> list[Strategy]:
    """On-demand, SnapStart and provisioned concurrency for one memory size."""
    return [f(warm, cold, traffic, prices, options) for f in (_on_demand, _snapstart, _provisioned)]


def by_memory(warm_sweep: MemorySweep, cold: ColdPhases, traffic: Traffic, prices: PriceSheet,
              options: CostOptions, statistic: str = "p50") -> dict[int, list[Strategy]]:
    """The three strategies at every memory size of a sweep of *warm* requests."""
    out: dict[int, list[Strategy]] = {}
    for o in warm_sweep.options:
        warm = WarmProfile(o.memory_mb, o.cost_per_million.scaled(1e-6), o.duration_ms.mean or 0.0,
                           getattr(o.latency_ms, statistic) or 0.0)
        out[o.memory_mb] = strategies(warm, cold, traffic, prices, options.with_(memory_mb=o.memory_mb))
    return out
