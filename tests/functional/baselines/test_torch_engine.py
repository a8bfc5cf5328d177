"""The `torch` baseline's models answer exactly like the numpy runtime's (same artifact)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from millicent.config import FunctionConfig, Limits
from millicent.runtime.registry import load_model
from tests.bench_support import kim_artifact, sm_artifact

pytestmark = pytest.mark.train
pytest.importorskip("torch")


def _config(**models: Path) -> FunctionConfig:
    return FunctionConfig(models=tuple((n, str(p)) for n, p in models.items()), store_url=None,
                          pack_path=None, lru_size=0, store_deadline_s=1.0, limits=Limits())


def test_torch_models_match_numpy(tmp_path: Path) -> None:
    from millicent.baselines.torch_engine import TorchClassifier, TorchRanker, load_torch_models

    kim, sm = kim_artifact(tmp_path / "kim"), sm_artifact(tmp_path / "sm")
    models = load_torch_models(_config(kim=kim, sm=sm))
    assert isinstance(models["kim"], TorchClassifier) and isinstance(models["sm"], TorchRanker)
    rng = np.random.default_rng(1)
    texts = [rng.normal(size=(n, 50)).astype(np.float32) for n in (1, 2, 7, 19)]
    ref_kim = load_model(kim)
    np.testing.assert_allclose(models["kim"].predict_batch(texts), ref_kim.predict_batch(texts),
                               rtol=1e-4, atol=1e-6)
    ref_sm = load_model(sm)
    q = texts[2]
    np.testing.assert_allclose(models["sm"].score_batch(q, texts), ref_sm.score_batch(q, texts),
                               rtol=1e-4, atol=1e-6)
    assert models["sm"].score_batch(q, []).shape == (0,)
