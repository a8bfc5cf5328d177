"""PNG plots of a run's results (matplotlib with the Agg backend, imported only when plotting),
and the loader and saver every plot of millicent uses (:func:`pyplot`, :func:`save`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from millicent.errors import missing_extra
from millicent.harness.rows import ResultRow

COMPONENTS = ("compute", "requests", "store", "gateway")


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend; ConfigError naming the extra when absent."""
    try:
        import matplotlib
    except ImportError as exc:
        raise missing_extra("matplotlib", "bench") from exc
    matplotlib.use("Agg")  # no display; must precede importing pyplot
    import matplotlib.pyplot as plt

    return plt


def _series(rows: Sequence[ResultRow]) -> dict[str, list[ResultRow]]:
    out: dict[str, list[ResultRow]] = defaultdict(list)
    for r in rows:
        out[f"{r.config}/{r.model}"].append(r)
    for rs in out.values():
        rs.sort(key=lambda r: r.concurrency)
    return dict(out)


def _c_axis(ax: Any, rows: Sequence[ResultRow]) -> None:
    """Ticks at the measured C values, y from zero (no exaggerated slopes)."""
    ax.set_xticks(sorted({r.concurrency for r in rows}))
    ax.set_ylim(bottom=0)


def save(plt: Any, fig: Any, path: Path) -> Path:
    """Lay ``fig`` out, write it to ``path`` (110 dpi) and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(rows: Sequence[ResultRow], path: Path) -> Path:
    """p50 (solid) and p99 (dashed) client latency vs concurrency, one colour per series."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (name, rs) in enumerate(_series(rows).items()):
        cs = [r.concurrency for r in rs]
        color = f"C{i % 10}"
        ax.plot(cs, [r.latency_ms.p50 for r in rs], "o-", color=color, label=f"{name} p50")
        ax.plot(cs, [r.latency_ms.p99 for r in rs], "s--", color=color, label=f"{name} p99")
    return _finish_c_plot(plt, fig, ax, rows, ("latency (ms)", "Latency vs concurrency"), path)


def _finish_c_plot(plt: Any, fig: Any, ax: Any, rows: Sequence[ResultRow], labels: tuple[str, str],
                   path: Path) -> Path:
    """Axes, title, grid and legend of a plot against concurrency C, saved to ``path``."""
    ax.set_xlabel("concurrency C (requests in flight)")
    ax.set_ylabel(labels[0])
    ax.set_title(labels[1])
    _c_axis(ax, rows)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(plt, fig, path)


def plot_throughput(rows: Sequence[ResultRow], path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, rs in _series(rows).items():
        ax.plot([r.concurrency for r in rs], [r.throughput_qps for r in rs], "o-", label=name)
    return _finish_c_plot(plt, fig, ax, rows,
                          ("throughput (successful queries / s)", "Throughput vs concurrency"), path)


def plot_cost(rows: Sequence[ResultRow], path: Path) -> Path:
    """Stacked bars: cost per million queries by component, one bar per row."""
    plt = pyplot()
    priced = [r.cost for r in rows if r.cost is not None]
    named = [r for r in rows if r.cost is not None]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(priced) + 2), 4.5))
    labels = [f"{r.config}/{r.model}\nC={r.concurrency}" for r in named]
    bottom = [0.0] * len(priced)
    for comp in COMPONENTS:
        vals = [getattr(c.per_million, comp) for c in priced]
        ax.bar(range(len(priced)), vals, bottom=bottom, label=comp)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xticks(range(len(priced)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("USD per million queries")
    ax.set_title("Cost per million queries by component")
    ax.set_ylim(0, max(bottom, default=0.0) * 1.3 or 1.0)  # headroom for the legend
    ax.legend(fontsize=8, loc="upper left", ncols=len(COMPONENTS))
    ax.grid(axis="y", alpha=0.3)
    return save(plt, fig, path)


def plot_results(rows: Sequence[ResultRow], out_dir: Path) -> list[Path]:
    """The three plots of ``millicent bench``."""
    return [plot_latency(rows, out_dir / "latency.png"),
            plot_throughput(rows, out_dir / "throughput.png"),
            plot_cost(rows, out_dir / "cost.png")]
