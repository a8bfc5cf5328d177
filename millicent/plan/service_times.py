"""A profile's measurements turned into service times on the planned target.

``projection="lambda"`` stretches the CPU part of every duration to the CPU share Lambda
gives the planned memory size, exactly as :func:`millicent.economics.tuning.project_duration`
does (``off_cpu + cpu / share``, the share capped at one vCPU); the INIT phase is taken as
CPU-bound and stretched by the same ratio. ``projection="none"`` keeps the durations as
measured — the right choice when the plan is compared with the platform they were
measured on (the replay check). A SnapStart restore is kept as measured (it is restoring
memory, not running our code); a profile without restores uses its INIT durations for them,
an upper bound, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from millicent.economics.tuning import cpu_share
from millicent.errors import ConfigError
from millicent.plan.profile import Phase, ServiceProfile

PROJECTIONS = ("lambda", "none")


@dataclass(frozen=True)
class ServiceTimes:
    """Paired per-request times in ms on the target (one entry per measured request)."""

    memory_mb: int
    projection: str
    warm_duration_ms: np.ndarray
    warm_latency_ms: np.ndarray
    cold_duration_ms: np.ndarray
    cold_init_ms: np.ndarray
    cold_latency_ms: np.ndarray
    restore_ms: np.ndarray
    restore_latency_ms: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def warm_mean_s(self) -> float:
        return float(self.warm_duration_ms.mean()) / 1000.0

    @property
    def cold_busy_mean_s(self) -> float:
        """How long a cold start keeps its environment busy: INIT + first invocation."""
        return float((self.cold_init_ms + self.cold_duration_ms).mean()) / 1000.0

    @property
    def restore_busy_mean_s(self) -> float:
        return float((self.restore_ms + self.cold_duration_ms.mean()).mean()) / 1000.0


def _stretch(phase: Phase, ratio: float, target: float, mb_per_vcpu: int) -> np.ndarray:
    if phase.cpu_ms is None:
        return phase.duration_ms.copy()
    # project_duration, vectorised: off-CPU time stays, CPU time scales with the share
    wall_cpu = phase.cpu_ms / ratio
    off_cpu = np.maximum(0.0, phase.duration_ms - wall_cpu)
    return off_cpu + phase.cpu_ms / target


def service_times(profile: ServiceProfile, memory_mb: int, mb_per_vcpu: int,
                  projection: str = "lambda") -> ServiceTimes:
    """Warm, cold and restore times of ``profile`` at ``memory_mb`` (module docstring)."""
    if projection not in PROJECTIONS:
        raise ConfigError(f"unknown projection {projection!r}; use one of {list(PROJECTIONS)}")
    notes: list[str] = []
    measured = profile.measured_cpu_share
    if projection == "lambda":
        target = cpu_share(memory_mb, mb_per_vcpu)
        warm = _stretch(profile.warm, measured, target, mb_per_vcpu)
        cold = _stretch(profile.cold, measured, target, mb_per_vcpu)
        init_ratio = measured / target
        if profile.warm.cpu_ms is None:
            notes.append("the profile has no CPU times: durations are not projected to the memory size")
            init_ratio = 1.0
        notes.append(f"durations projected to {memory_mb} MB: {target:.3f} vCPU "
                     f"(measured with {measured:.3f}); INIT taken as CPU-bound")
    else:
        warm, cold, init_ratio = profile.warm.duration_ms, profile.cold.duration_ms, 1.0
        notes.append("durations as measured (no projection to Lambda's CPU share)")
    init = (profile.cold.init_ms if profile.cold.init_ms is not None
            else np.zeros(profile.cold.n)) * init_ratio
    if profile.restore_ms is not None:
        restore = profile.restore_ms
    else:
        restore = init
        notes.append("no SnapStart restore measured: a restore is taken to last as long as an "
                     "INIT (an upper bound)")
    over_c = float(profile.cold.overhead_ms.mean())
    cold_first = float(cold.mean())
    return ServiceTimes(
        memory_mb=memory_mb, projection=projection,
        warm_duration_ms=warm, warm_latency_ms=warm + profile.warm.overhead_ms,
        cold_duration_ms=cold, cold_init_ms=init,
        cold_latency_ms=init + cold + profile.cold.overhead_ms,
        restore_ms=restore, restore_latency_ms=restore + cold_first + over_c, notes=notes)
