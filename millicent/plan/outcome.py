"""What a simulation produced: per-step series, the totals the bill needs, the latencies.

Both simulators (:mod:`~millicent.plan.aggregate` and :mod:`~millicent.plan.exact`) fill
one :class:`Outcome`, so costs, reports and the agreement test read them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from millicent.plan.latency import binned_mixture_quantiles, weighted_quantiles

OPTIONS = ("on-demand", "snapstart", "provisioned")
THROTTLE_REASONS = ("account", "reserved", "scaling")


@dataclass
class Outcome:
    """One deployment option simulated over the traffic."""

    option: str
    method: str
    step_s: float
    requests: np.ndarray  #: arrivals per step
    cold: np.ndarray  #: cold starts (restores for SnapStart) per step
    throttled: dict[str, np.ndarray]  #: per reason, requests throttled per step
    environments: np.ndarray  #: execution environments alive per step
    concurrency: np.ndarray  #: mean executions in flight per step
    #: latencies of the successful requests with their weights (requests each stands for)
    latency_ms: np.ndarray
    latency_weights: np.ndarray
    billed_ms: float  #: billed duration of requests served on demand, INIT included when billed
    restore_billed_ms: float = 0.0  #: SnapStart: billed restore duration
    provisioned: int = 0  #: provisioned concurrency (environments always initialised)
    provisioned_served: float = 0.0  #: requests served by provisioned environments
    provisioned_billed_ms: float = 0.0  #: their billed duration
    store_reads: np.ndarray | None = None  #: store reads per step
    key_reads: dict[str, np.ndarray] = field(default_factory=dict)  #: per hot key, per step
    #: exact simulation: each served request's step and latency (for per-step percentiles);
    #: aggregated: None, and the per-step percentiles come from the warm/cold mixture
    request_steps: np.ndarray | None = None
    warm_latency_ms: np.ndarray | None = None
    cold_latency_ms: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def throttled_total(self) -> np.ndarray:
        out = np.zeros_like(self.requests, dtype=float)
        for series in self.throttled.values():
            out = out + series
        return out

    @property
    def served(self) -> np.ndarray:
        return self.requests - self.throttled_total

    def totals(self) -> dict[str, Any]:
        """Whole-period counts and shares."""
        requests = float(self.requests.sum())
        served = float(self.served.sum())
        cold = float(self.cold.sum())
        q = weighted_quantiles(self.latency_ms, self.latency_weights, [50, 99]) if served > 0 else [None, None]
        return {"requests": requests, "served": served, "cold_starts": cold,
                "cold_start_share": cold / served if served else 0.0,
                "throttled": {k: float(v.sum()) for k, v in self.throttled.items()},
                "throttled_total": float(self.throttled_total.sum()),
                "throttle_share": float(self.throttled_total.sum()) / requests if requests else 0.0,
                "latency_ms": {"p50": q[0], "p99": q[1]},
                "peak_environments": float(self.environments.max()) if self.environments.size else 0.0,
                "peak_concurrency": float(self.concurrency.max()) if self.concurrency.size else 0.0,
                "provisioned": self.provisioned,
                "provisioned_served": self.provisioned_served}

    def latency_series(self, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bin start s, p50, p99) over ``bins`` equal time bins (NaN where nothing was served)."""
        n = self.requests.size
        edges = np.linspace(0, n, min(bins, n) + 1).astype(np.int64)
        starts = edges[:-1] * self.step_s
        if self.request_steps is not None:
            bin_of = np.searchsorted(edges, self.request_steps, side="right") - 1
            p50 = np.full(starts.size, np.nan)
            p99 = np.full(starts.size, np.nan)
            order = np.argsort(bin_of, kind="stable")
            groups = np.split(self.latency_ms[order], np.searchsorted(bin_of[order], np.arange(1, starts.size)))
            for i, g in enumerate(groups):
                if g.size:
                    p50[i], p99[i] = np.percentile(g, [50, 99], method="inverted_cdf")
            return starts, p50, p99
        served = np.add.reduceat(self.served, edges[:-1])
        cold = np.add.reduceat(self.cold, edges[:-1])
        if self.warm_latency_ms is None or self.cold_latency_ms is None:
            raise ValueError("an aggregated outcome needs its warm and cold latencies")
        share = np.divide(cold, served, out=np.zeros_like(cold, dtype=float), where=served > 0)
        p50, p99 = binned_mixture_quantiles(self.warm_latency_ms, self.cold_latency_ms,
                                            np.clip(share, 0, 1), [50, 99])
        p50[served <= 0] = np.nan
        p99[served <= 0] = np.nan
        return starts, p50, p99
