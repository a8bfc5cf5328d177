"""Runnable, untrained artifacts for the benchmark tests (random weights, numpy only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from millicent.runtime.artifact import save_artifact

if TYPE_CHECKING:
    from millicent.economics.cost import Cost
    from millicent.harness.rows import ResultRow

SST1_LABELS = ["very negative", "negative", "neutral", "positive", "very positive"]


def kim_artifact(path: Path, dim: int = 50, n_maps: int = 8, seed: int = 0) -> Path:
    """A 5-class Kim CNN over GloVe 50-d (the shape of the SST-1 model, random weights)."""
    rng = np.random.default_rng(seed)
    weights = {}
    for i, k in enumerate((3, 4, 5)):
        weights[f"convs.{i}.weight"] = rng.normal(0, 0.1, (n_maps, dim, k))
        weights[f"convs.{i}.bias"] = rng.normal(0, 0.1, n_maps)
    weights["fc.weight"] = rng.normal(0, 0.1, (5, 3 * n_maps))
    weights["fc.bias"] = rng.normal(0, 0.1, 5)
    manifest = {
        "kind": "kim_cnn", "task": "sst-1",
        "config": {"n_classes": 5, "dim": dim, "widths": [3, 4, 5], "n_maps": n_maps,
                   "dropout": 0.5},
        "labels": SST1_LABELS,
        "embedding": {"dim": dim, "dtype": "float32", "source": "glove-50", "variant": "static"},
        "tokenizer": {"version": "ptb-1"},
    }
    return save_artifact(path, manifest, weights)


def sm_artifact(path: Path, dim: int = 50, n_maps: int = 8, hidden: int = 6, seed: int = 0) -> Path:
    """An SM CNN over GloVe 50-d without overlap features (random weights)."""
    rng = np.random.default_rng(seed)
    weights = {
        "conv_q.weight": rng.normal(0, 0.1, (n_maps, dim, 5)), "conv_q.bias": rng.normal(0, 0.1, n_maps),
        "conv_a.weight": rng.normal(0, 0.1, (n_maps, dim, 5)), "conv_a.bias": rng.normal(0, 0.1, n_maps),
        "hidden.weight": rng.normal(0, 0.3, (hidden, 2 * n_maps)), "hidden.bias": rng.normal(0, 0.1, hidden),
        "out.weight": rng.normal(0, 0.3, (2, hidden)), "out.bias": rng.normal(0, 0.1, 2),
    }
    manifest = {
        "kind": "sm_cnn", "task": "trecqa",
        "config": {"dim": dim, "width": 5, "n_maps": n_maps, "hidden": hidden, "dropout": 0.5,
                   "n_classes": 2, "n_features": 0},
        "labels": ["irrelevant", "relevant"],
        "embedding": {"dim": dim, "dtype": "float32", "source": "glove-50", "variant": "static"},
        "tokenizer": {"version": "ptb-1"},
    }
    return save_artifact(path, manifest, weights)


def result_row(config: str, model: str, concurrency: int, *, window_s: float = 0.0,
               throughput_qps: float = 0.0, p50: float | None = None, mean: float | None = None,
               fetch: float | None = None, cost: Cost | None = None,
               projection_cost: Cost | None = None) -> ResultRow:
    """A result row holding only the given figures (the rest empty), for pure logic reading rows."""
    from millicent.economics.cost import CostOptions, CostReport
    from millicent.economics.stats import LatencyStats
    from millicent.economics.tuning import MemoryOption
    from millicent.harness.rows import Breakdown, InitSummary, ResultRow, StoreTraffic
    from millicent.harness.scenario import Configuration

    none = LatencyStats(0, None, None, None, None, None, None)
    latency = LatencyStats(1, mean, p50, None, None, None, None) if p50 is not None or mean is not None else none
    return ResultRow(
        configuration=Configuration(config), model=model, concurrency=concurrency, requests=0,
        ok=0, errors=0, error_kinds={}, warmup_requests=0, window_s=window_s,
        throughput_qps=throughput_qps, latency_ms=latency, cold_starts=0, cold_latency_ms=none,
        init=InitSummary(0, 0, none, none, none), breakdown_ms=Breakdown(fetch=fetch),
        cpu_ms=None, max_memory_mb=None, max_in_flight=0, duration_source=None,
        cost=None if cost is None else CostReport(cost, CostOptions(), 1, 0.0, 0.0),
        cost_notes=[],
        lambda_projection=None if projection_cost is None else MemoryOption(
            128, none, none, projection_cost, None),
        cache_hit_rate=None, store=StoreTraffic(0.0, 0.0, None, 0.0, 0))
