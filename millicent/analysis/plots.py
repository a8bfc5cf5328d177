"""The plots of ``millicent cost``: break-even against an always-on instance, memory projection."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from millicent.economics.prices import HOURS_PER_MONTH, SECONDS_PER_MONTH
from millicent.economics.tuning import MemorySweep
from millicent.harness.plots import pyplot, save


def plot_break_even(per_million: Mapping[str, float], instance_usd_per_hour: float, path: Path,
                    instance_capacity_qps: float | None = None) -> Path:
    """Monthly cost vs steady query rate: each pay-per-request configuration against
    always-on instances (a step each time one instance's capacity is exceeded)."""
    import numpy as np

    plt = pyplot()
    lo = min(instance_usd_per_hour / 3600 / (c / 1e6) for c in per_million.values() if c > 0)
    qps = np.logspace(np.log10(lo) - 2, np.log10(lo) + 2, 400)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, c in per_million.items():
        ax.plot(qps, qps * SECONDS_PER_MONTH * c / 1e6, label=f"{name} (${c:,.2f}/M)")
    instances = np.ones_like(qps)
    if instance_capacity_qps:
        instances = np.maximum(1, np.ceil(qps / instance_capacity_qps))
    ax.plot(qps, instances * instance_usd_per_hour * HOURS_PER_MONTH, "k--",
            label=f"always-on ${instance_usd_per_hour}/h")
    for c in per_million.values():
        if c > 0:  # the break-even rate of each configuration
            ax.axvline(instance_usd_per_hour / 3600 / (c / 1e6), color="grey", linestyle=":",
                       alpha=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("steady query rate (queries / s)")
    ax.set_ylabel("USD per month")
    ax.set_title("Break-even: pay-per-request vs always-on")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return save(plt, fig, path)


def plot_memory(sweeps: Mapping[str, MemorySweep], path: Path) -> Path:
    """Projected cost per million (left) and p99 latency (right) vs Lambda memory."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    stat = "p99"
    ticks: set[int] = set()
    for name, sweep in sweeps.items():
        stat = sweep.statistic
        mem = [o.memory_mb for o in sweep.options]
        ticks.update(mem)
        left.plot(mem, [o.cost_per_million.total for o in sweep.options], "o-", label=name)
        right.plot(mem, [getattr(o.latency_ms, stat) for o in sweep.options], "o-", label=name)
        target = sweep.target_ms
        if target:
            right.axhline(target, color="grey", linestyle=":")
        if sweep.recommended is not None:
            left.axvline(sweep.recommended.memory_mb, color="grey", linestyle=":", alpha=0.6)
    for ax, ylabel in ((left, "USD per million queries"), (right, f"projected {stat} latency (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(ticks))
        ax.set_xticklabels([str(t) for t in sorted(ticks)], fontsize=7, rotation=45)
        ax.minorticks_off()
        ax.set_ylim(bottom=0)
        ax.set_xlabel("Lambda memory (MB)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Memory projection (CPU share ∝ memory, 1,769 MB = 1 vCPU)")
    return save(plt, fig, path)
