"""What a simulation needs besides the traffic: service times, Lambda's rules, the store
load, how durations are billed and which deployment option is simulated."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from millicent.errors import ConfigError
from millicent.plan.lambda_rules import LambdaRules
from millicent.plan.outcome import OPTIONS
from millicent.plan.profile import StoreLoad
from millicent.plan.service_times import ServiceTimes


@dataclass(frozen=True)
class SimSettings:
    """Inputs of one simulation run (one deployment option)."""

    times: ServiceTimes
    rules: LambdaRules
    store: StoreLoad
    granularity_ms: int = 1
    init_billed: bool = True
    option: str = "on-demand"
    #: provisioned concurrency; 0 = sized by the simulator for the peak (option provisioned)
    provisioned: int = 0
    seed: int = 0
    hot_keys: int = 8  #: hottest store keys followed per step

    def __post_init__(self) -> None:
        if self.option not in OPTIONS:
            raise ConfigError(f"unknown option {self.option!r}; use one of {list(OPTIONS)}")
        if self.provisioned < 0 or self.provisioned > self.rules.limit:
            raise ConfigError(f"provisioned concurrency {self.provisioned} must be within "
                              f"0..{self.rules.limit} (the function's concurrency limit)")

    def with_option(self, option: str, provisioned: int = 0) -> SimSettings:
        from dataclasses import replace

        return replace(self, option=option, provisioned=provisioned)

    @property
    def first_latency_ms(self) -> np.ndarray:
        """Latency of a request that starts an environment (restore for SnapStart)."""
        return self.times.restore_latency_ms if self.option == "snapstart" else self.times.cold_latency_ms

    @property
    def first_busy_s(self) -> float:
        """How long such a request keeps its new environment busy."""
        return self.times.restore_busy_mean_s if self.option == "snapstart" else self.times.cold_busy_mean_s


def billed(duration_ms: np.ndarray, granularity_ms: int) -> np.ndarray:
    """Durations rounded up to the billing unit, at least one unit each (as
    :func:`millicent.economics.cost.billed_ms`, vectorised)."""
    units = np.ceil(np.round(np.asarray(duration_ms, dtype=float) / granularity_ms, 6))
    return np.maximum(units, 1.0) * granularity_ms


def billed_means(s: SimSettings) -> tuple[float, float, float]:
    """Mean billed ms of (a warm request, a cold request, a SnapStart restore)."""
    t, g = s.times, s.granularity_ms
    warm = float(billed(t.warm_duration_ms, g).mean())
    first = t.cold_duration_ms + (t.cold_init_ms if s.init_billed and s.option != "snapstart" else 0.0)
    cold = float(billed(first, g).mean())
    restore = float(billed(t.restore_ms, g).mean()) if s.option == "snapstart" else 0.0
    return warm, cold, restore


def sized_provisioned(peak_qps: float, s: SimSettings) -> int:
    """Provisioned concurrency for option ``provisioned``: as given, else the peak step's
    mean executions in flight (rounded up) — enough for the peak on average; the
    fluctuations above it spill over to on-demand environments."""
    if s.option != "provisioned":
        return 0
    if s.provisioned:
        return s.provisioned
    return min(s.rules.limit, max(1, int(np.ceil(peak_qps * s.times.warm_mean_s - 1e-9))))
