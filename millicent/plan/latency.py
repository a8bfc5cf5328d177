"""Percentiles of weighted latency samples, and of warm/cold mixtures per time bin.

The aggregated simulator knows, per step, how many requests were warm and how many cold,
not each latency: a step's latency distribution is then the mixture of the measured warm
and cold distributions in those proportions. Percentiles are nearest rank on the weighted
samples (the smallest value with at least p % of the weight at or below it), as in
:mod:`millicent.economics.stats`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

GRID = 512  #: latency grid points for per-bin mixture percentiles


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Nearest-rank ``qs`` percentiles of ``values`` where value i stands for ``weights[i]``."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    total = cum[-1]
    out = []
    for q in qs:
        idx = int(np.searchsorted(cum, total * q / 100.0 - 1e-9 * total, side="left"))
        out.append(float(v[min(idx, v.size - 1)]))
    return out


def mixture(warm: np.ndarray, cold: np.ndarray, warm_weight: float,
            cold_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples and weights of ``warm_weight`` warm and ``cold_weight`` cold requests."""
    values = np.concatenate([warm, cold])
    weights = np.concatenate([np.full(warm.size, warm_weight / max(warm.size, 1)),
                              np.full(cold.size, cold_weight / max(cold.size, 1))])
    return values, weights


def binned_mixture_quantiles(warm: np.ndarray, cold: np.ndarray, cold_share: np.ndarray,
                             qs: Sequence[float]) -> list[np.ndarray]:
    """Per bin, the ``qs`` percentiles of (1 − share) × warm + share × cold (on a grid)."""
    lo = max(min(float(warm.min()), float(cold.min())), 1e-3)
    hi = max(float(warm.max()), float(cold.max()), lo * 1.001)
    grid = np.geomspace(lo, hi, GRID)
    f_warm = np.searchsorted(np.sort(warm), grid, side="right") / warm.size
    f_cold = np.searchsorted(np.sort(cold), grid, side="right") / cold.size
    cdf = (1.0 - cold_share)[:, None] * f_warm[None, :] + cold_share[:, None] * f_cold[None, :]
    out = []
    for q in qs:
        idx = np.argmax(cdf >= q / 100.0 - 1e-12, axis=1)
        out.append(grid[idx])
    return out
