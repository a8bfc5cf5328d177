"""Runnable, untrained artifacts for the benchmark tests (random weights, numpy only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from millicent.runtime.artifact import save_artifact

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
