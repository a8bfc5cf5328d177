"""Memory projection and break-even: the decisions the cost model supports.

Lambda gives a function CPU in proportion to its memory: at ``mb_per_vcpu`` (1,769 MB) it
has the equivalent of one vCPU, at 128 MB about 7 % of one. Our request path is single
threaded, so more than one vCPU does not make it faster. From each request's measured CPU
time we split its duration into CPU work and waiting (store round trips, the gateway) and
project the duration at other memory sizes::

    off_cpu   = max(0, duration − cpu / measured_share)
    projected = off_cpu + cpu / min(1, memory / mb_per_vcpu)

``measured_share`` is the CPU share the run had: 1.0 on a local platform (a full core,
assumed equivalent to one Lambda vCPU), ``min(1, M/1769)`` on real Lambda at M MB. Like
aws-lambda-power-tuning this finds the cheapest memory meeting a latency target, but prices
DynamoDB reads and the gateway too (they do not change with memory, so they shift every
option equally and can make the saving from a smaller memory irrelevant).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from millicent.economics.cost import Cost, CostOptions, Usage, cost_per_million
from millicent.economics.prices import HOURS_PER_MONTH, SECONDS_PER_MONTH, PriceSheet
from millicent.economics.stats import LatencyStats, latency_stats
from millicent.errors import InvalidInput

#: The sizes swept by default (aws-lambda-power-tuning's classic range, plus one vCPU).
DEFAULT_MEMORIES_MB = (128, 256, 512, 1024, 1536, 1769, 2048, 3008)
STATISTICS = ("mean", "p50", "p90", "p99", "max")
#: the always-on instance the break-even compares with, USD per hour (``--instance-usd-per-hour``)
DEFAULT_INSTANCE_USD_PER_HOUR = 0.0168


def cpu_share(memory_mb: float, mb_per_vcpu: int) -> float:
    """Fraction of one vCPU a function of ``memory_mb`` gets (capped at one: single thread)."""
    if memory_mb <= 0:
        raise InvalidInput(f"memory must be positive, got {memory_mb}")
    return min(1.0, memory_mb / mb_per_vcpu)


def project_duration(duration_ms: float, cpu_ms: float, memory_mb: float, mb_per_vcpu: int,
                     measured_share: float = 1.0) -> float:
    """Duration of the same work at ``memory_mb`` (see the module docstring)."""
    if not 0 < measured_share <= 1:
        raise InvalidInput(f"measured CPU share must be in (0, 1], got {measured_share}")
    wall_cpu = cpu_ms / measured_share
    off_cpu = max(0.0, duration_ms - wall_cpu)
    return off_cpu + cpu_ms / cpu_share(memory_mb, mb_per_vcpu)


@dataclass(frozen=True)
class MemoryOption:
    """One memory size: projected server duration, client latency and cost per million."""

    memory_mb: int
    duration_ms: LatencyStats
    latency_ms: LatencyStats
    cost_per_million: Cost
    meets_target: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"memory_mb": self.memory_mb, "duration_ms": self.duration_ms.to_dict(),
                "latency_ms": self.latency_ms.to_dict(),
                "cost_per_million_usd": self.cost_per_million.to_dict(),
                "meets_target": self.meets_target}


@dataclass(frozen=True)
class MemorySweep:
    options: list[MemoryOption]
    target_ms: float | None
    statistic: str
    recommended: MemoryOption | None

    def to_dict(self) -> dict[str, Any]:
        return {"target_ms": self.target_ms, "statistic": self.statistic,
                "recommended_mb": self.recommended.memory_mb if self.recommended else None,
                "options": [o.to_dict() for o in self.options]}


def sweep_memory(usages: Sequence[Usage], prices: PriceSheet, options: CostOptions,
                 memories_mb: Sequence[int] = DEFAULT_MEMORIES_MB,
                 target_ms: float | None = None, statistic: str = "p99",
                 measured_share: float = 1.0, query_rate_qps: float | None = None) -> MemorySweep:
    """Project every request to each memory size; recommend the cheapest meeting the target.

    The target applies to ``statistic`` of the projected *client* latency when the usages
    carry it (server duration otherwise). Without a target the cheapest option is recommended.
    """
    if statistic not in STATISTICS:
        raise InvalidInput(f"unknown statistic {statistic!r}; use one of {list(STATISTICS)}")
    if not usages:
        raise InvalidInput("no successful requests to project")
    if any(u.cpu_ms is None for u in usages):
        raise InvalidInput("memory projection needs each request's CPU time (timings.cpu_ms "
                           "or x-millicent-cpu-ms); this run did not report it")
    for m in memories_mb:
        if not prices.memory_mb_min <= m <= prices.memory_mb_max:
            raise InvalidInput(f"Lambda memory must be within {prices.memory_mb_min}–"
                               f"{prices.memory_mb_max} MB, got {m}")
    result: list[MemoryOption] = []
    for m in sorted(set(memories_mb)):
        projected: list[Usage] = []
        durations: list[float] = []
        latencies: list[float] = []
        for u in usages:
            d = project_duration(u.duration_ms, float(u.cpu_ms or 0.0), m, prices.mb_per_vcpu,
                                 measured_share)
            durations.append(d)
            # what the user sees changes by exactly the change in server duration
            latencies.append((u.latency_ms if u.latency_ms is not None else u.duration_ms)
                             - u.duration_ms + d)
            # a logged Billed Duration / Memory Size belongs to the measured memory, not to m
            projected.append(replace(u, duration_ms=d, billed_ms=None, memory_mb=None))
        cost = cost_per_million(projected, prices, options.with_(memory_mb=m), query_rate_qps)
        lat = latency_stats(latencies)
        meets = None if target_ms is None else getattr(lat, statistic) <= target_ms
        result.append(MemoryOption(m, latency_stats(durations), lat, cost.per_million, meets))
    eligible = [o for o in result if o.meets_target in (None, True)]
    best = min(eligible, key=lambda o: (o.cost_per_million.total, o.memory_mb)) if eligible else None
    return MemorySweep(result, target_ms, statistic, best)


@dataclass(frozen=True)
class BreakEven:
    """Where an always-on instance becomes cheaper than paying per request."""

    cost_per_query_usd: float
    instance_usd_per_hour: float
    #: queries per second above which one instance is cheaper (ignoring its capacity)
    qps: float
    #: the instance's measured capacity, when known; above it more instances are needed
    instance_capacity_qps: float | None

    @property
    def queries_per_month(self) -> float:
        return self.qps * SECONDS_PER_MONTH

    @property
    def feasible(self) -> bool | None:
        """Whether one instance can actually serve the break-even rate."""
        if self.instance_capacity_qps is None:
            return None
        return self.qps <= self.instance_capacity_qps

    def monthly_cost(self, qps: float) -> tuple[float, float]:
        """(pay-per-request, always-on) USD per month at a steady ``qps``."""
        serverless = qps * SECONDS_PER_MONTH * self.cost_per_query_usd
        instances = 1
        if self.instance_capacity_qps:
            instances = max(1, math.ceil(qps / self.instance_capacity_qps))
        return serverless, instances * self.instance_usd_per_hour * HOURS_PER_MONTH

    def to_dict(self) -> dict[str, Any]:
        return {"cost_per_query_usd": self.cost_per_query_usd,
                "instance_usd_per_hour": self.instance_usd_per_hour,
                "break_even_qps": self.qps, "break_even_queries_per_month": self.queries_per_month,
                "instance_capacity_qps": self.instance_capacity_qps, "feasible": self.feasible}


def break_even(cost_per_million_usd: float, instance_usd_per_hour: float,
               instance_capacity_qps: float | None = None) -> BreakEven:
    """The steady query rate at which pay-per-request costs as much as one instance:
    ``rate = price per hour / 3600 / cost per query``."""
    if cost_per_million_usd <= 0:
        raise InvalidInput("cost per million must be positive for a break-even")
    if instance_usd_per_hour <= 0:
        raise InvalidInput("the instance price per hour must be positive")
    per_query = cost_per_million_usd / 1_000_000
    return BreakEven(per_query, instance_usd_per_hour, instance_usd_per_hour / 3600.0 / per_query,
                     instance_capacity_qps)
