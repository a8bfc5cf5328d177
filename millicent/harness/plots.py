"""PNG plots of the results (matplotlib with the Agg backend, imported only when plotting)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from millicent.errors import missing_extra

Row = dict[str, Any]
COMPONENTS = ("compute", "requests", "store", "gateway")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise missing_extra("matplotlib", "bench") from exc
    matplotlib.use("Agg")  # no display; must precede importing pyplot
    import matplotlib.pyplot as plt

    return plt


def _series(rows: Sequence[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        out[f"{r['config']}/{r['model']}"].append(r)
    for rs in out.values():
        rs.sort(key=lambda r: r["concurrency"])
    return dict(out)


def _c_axis(ax: Any, rows: Sequence[Row]) -> None:
    """Ticks at the measured C values, y from zero (no exaggerated slopes)."""
    ax.set_xticks(sorted({r["concurrency"] for r in rows}))
    ax.set_ylim(bottom=0)


def _save(plt: Any, fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(rows: Sequence[Row], path: Path) -> Path:
    """p50 (solid) and p99 (dashed) client latency vs concurrency, one colour per series."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (name, rs) in enumerate(_series(rows).items()):
        cs = [r["concurrency"] for r in rs]
        color = f"C{i % 10}"
        ax.plot(cs, [r["latency_ms"]["p50"] for r in rs], "o-", color=color, label=f"{name} p50")
        ax.plot(cs, [r["latency_ms"]["p99"] for r in rs], "s--", color=color, label=f"{name} p99")
    return _finish_c_plot(plt, fig, ax, rows, ("latency (ms)", "Latency vs concurrency"), path)


def _finish_c_plot(plt: Any, fig: Any, ax: Any, rows: Sequence[Row], labels: tuple[str, str],
                   path: Path) -> Path:
    """Axes, title, grid and legend of a plot against concurrency C, saved to ``path``."""
    ax.set_xlabel("concurrency C (requests in flight)")
    ax.set_ylabel(labels[0])
    ax.set_title(labels[1])
    _c_axis(ax, rows)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_throughput(rows: Sequence[Row], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, rs in _series(rows).items():
        ax.plot([r["concurrency"] for r in rs], [r["throughput_qps"] for r in rs], "o-", label=name)
    return _finish_c_plot(plt, fig, ax, rows,
                          ("throughput (successful queries / s)", "Throughput vs concurrency"), path)


def plot_cost(rows: Sequence[Row], path: Path) -> Path:
    """Stacked bars: cost per million queries by component, one bar per row."""
    plt = _pyplot()
    priced = [r for r in rows if r.get("cost_per_million_usd")]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(priced) + 2), 4.5))
    labels = [f"{r['config']}/{r['model']}\nC={r['concurrency']}" for r in priced]
    bottom = [0.0] * len(priced)
    for comp in COMPONENTS:
        vals = [r["cost_per_million_usd"][comp] for r in priced]
        ax.bar(range(len(priced)), vals, bottom=bottom, label=comp)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xticks(range(len(priced)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("USD per million queries")
    ax.set_title("Cost per million queries by component")
    ax.set_ylim(0, max(bottom, default=0.0) * 1.3 or 1.0)  # headroom for the legend
    ax.legend(fontsize=8, loc="upper left", ncols=len(COMPONENTS))
    ax.grid(axis="y", alpha=0.3)
    return _save(plt, fig, path)


def plot_break_even(per_million: Mapping[str, float], instance_usd_per_hour: float, path: Path,
                    instance_capacity_qps: float | None = None) -> Path:
    """Monthly cost vs steady query rate: each pay-per-request configuration against
    always-on instances (a step each time one instance's capacity is exceeded)."""
    import numpy as np

    plt = _pyplot()
    lo = min(instance_usd_per_hour / 3600 / (c / 1e6) for c in per_million.values() if c > 0)
    qps = np.logspace(np.log10(lo) - 2, np.log10(lo) + 2, 400)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    seconds_per_month = 3600 * 730
    for name, c in per_million.items():
        ax.plot(qps, qps * seconds_per_month * c / 1e6, label=f"{name} (${c:,.2f}/M)")
    instances = np.ones_like(qps)
    if instance_capacity_qps:
        instances = np.maximum(1, np.ceil(qps / instance_capacity_qps))
    ax.plot(qps, instances * instance_usd_per_hour * 730, "k--",
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
    return _save(plt, fig, path)


def plot_memory(sweeps: Mapping[str, Mapping[str, Any]], path: Path) -> Path:
    """Projected cost per million (left) and p99 latency (right) vs Lambda memory."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    stat = "p99"
    ticks: set[int] = set()
    for name, sweep in sweeps.items():
        stat = sweep.get("statistic", "p99")
        mem = [o["memory_mb"] for o in sweep["options"]]
        ticks.update(mem)
        left.plot(mem, [o["cost_per_million_usd"]["total"] for o in sweep["options"]], "o-", label=name)
        right.plot(mem, [o["latency_ms"][stat] for o in sweep["options"]], "o-", label=name)
        target = sweep.get("target_ms")
        if target:
            right.axhline(target, color="grey", linestyle=":")
        best = sweep.get("recommended_mb")
        if best is not None:
            left.axvline(best, color="grey", linestyle=":", alpha=0.6)
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
    return _save(plt, fig, path)


def plot_results(rows: Sequence[Row], out_dir: Path) -> list[Path]:
    """The three plots of ``millicent bench``."""
    return [plot_latency(rows, out_dir / "latency.png"),
            plot_throughput(rows, out_dir / "throughput.png"),
            plot_cost(rows, out_dir / "cost.png")]
