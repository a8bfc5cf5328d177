"""The plan's PNG plots (matplotlib, the bench extra): traffic and environments over time
with cold starts and throttles marked, monthly cost by component per option, and monthly
cost against a steady request rate with the break-even point."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from millicent.harness.plots import pyplot, save
from millicent.plan.costs import MONTH_S
from millicent.plan.planner import Plan

BINS = 1500  #: points per time series (steps are summed into bins)
COMPONENTS = ("compute", "requests", "gateway", "dynamodb", "snapstart", "provisioned")


def _binned(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.add.reduceat(values, edges[:-1]) if values.size else values


def _time_axis(plan: Plan) -> tuple[np.ndarray, np.ndarray, float, str]:
    n = plan.simulated.steps
    edges = np.linspace(0, n, min(BINS, n) + 1).astype(np.int64)
    period = plan.simulated.period_s
    scale, unit = (86400.0, "days") if period > 3 * 86400 else (
        (3600.0, "hours") if period > 3 * 3600 else (60.0, "minutes") if period > 180 else (1.0, "seconds"))
    return edges, edges[:-1] * plan.simulated.step_s / scale, scale, unit


def plot_timeline(plan: Plan, path: Path) -> Path:
    plt = pyplot()
    out = plan.options["on-demand"].outcome
    edges, t, _, unit = _time_axis(plan)
    width = np.diff(edges) * out.step_s
    fig, axes = plt.subplots(3, 1, figsize=(11, 8.5), sharex=True)
    axes[0].plot(t, _binned(out.requests, edges) / width, lw=0.8, label="arrivals")
    thr = _binned(out.throttled_total, edges) / width
    if thr.max(initial=0) > 0:
        axes[0].plot(t, thr, lw=0.8, color="tab:red", label="throttled (429)")
    axes[0].set_ylabel("requests / s")
    axes[1].plot(t, np.maximum.reduceat(out.environments, edges[:-1]), lw=0.8, label="environments alive")
    axes[1].plot(t, np.maximum.reduceat(out.concurrency, edges[:-1]), lw=0.8, label="executions in flight")
    axes[1].set_ylabel("on-demand")
    twin = axes[1].twinx()
    twin.plot(t, _binned(out.cold, edges), lw=0.8, color="tab:purple", label="cold starts per bin")
    twin.set_ylabel("cold starts", color="tab:purple")
    twin.set_ylim(bottom=0)
    twin.legend(loc="upper left", fontsize=8)
    _, p50, p99 = out.latency_series(min(BINS, out.requests.size))
    axes[2].plot(t[: p50.size], p50, lw=0.8, label="p50")
    axes[2].plot(t[: p99.size], p99, lw=0.8, label="p99 (cold starts included)")
    axes[2].set_ylabel("latency (ms)")
    axes[2].set_yscale("log")
    axes[2].set_xlabel(unit)
    for ax in axes:
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_title(plan.traffic.label)
    return save(plt, fig, path)


def plot_costs(data: dict[str, Any], path: Path) -> Path:
    plt = pyplot()
    names = list(data["options"])
    fig, ax = plt.subplots(figsize=(8, 5))
    bottom = np.zeros(len(names))
    for comp in COMPONENTS:
        vals = np.array([data["options"][n]["cost"]["monthly_usd"][comp] for n in names])
        if vals.any():
            ax.bar(names, vals, bottom=bottom, label=comp)
            bottom += vals
    ax.axhline(data["always_on"]["monthly_usd"], color="black", ls="--", lw=1,
               label=f"always-on ({data['always_on']['instances']} instance(s))")
    ax.set_ylabel("USD per month")
    ax.set_ylim(0, max(bottom.max(initial=0), data["always_on"]["monthly_usd"]) * 1.25 or 1)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Monthly cost by component")
    return save(plt, fig, path)


def plot_breakeven(plan: Plan, data: dict[str, Any], path: Path) -> Path:
    plt = pyplot()
    server = plan.settings.server
    be = data["break_even"]["qps"]
    top = max(plan.traffic.peak_qps, (be or 0) * 2, 1.0)
    q = np.linspace(0, top, 400)
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, res in plan.options.items():
        per = res.bill.total / res.bill.served if res.bill.served else math.nan
        ax.plot(q, q * MONTH_S * per, label=f"{name} (${per * 1e6:,.3f}/M)")
    n = np.maximum(1, np.ceil(q / server.capacity_qps)) if server.capacity_qps else np.full(q.size, server.instances)
    ax.plot(q, n * server.usd_per_hour * MONTH_S / 3600.0, color="black", ls="--", label="always-on")
    if be is not None and be <= top:
        ax.axvline(be, color="tab:red", lw=0.8)
        ax.annotate(f"break-even {be:,.1f} req/s", (be, 0), xytext=(5, 10), textcoords="offset points")
    ax.set_xlabel("steady requests / s")
    ax.set_ylabel("USD per month")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title("Cost against a steady rate")
    return save(plt, fig, path)


def plot_plan(plan: Plan, data: dict[str, Any], out_dir: Path) -> list[Path]:
    """timeline.png, cost.png, breakeven.png in ``out_dir``."""
    return [plot_timeline(plan, out_dir / "timeline.png"), plot_costs(data, out_dir / "cost.png"),
            plot_breakeven(plan, data, out_dir / "breakeven.png")]
