"""Installed sizes of the function's dependencies, and the vector source a comparison loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from millicent.baselines.footprint import closure, function_footprint, installed_bytes
from millicent.data.embedding_source import EmbeddingSource
from millicent.errors import ConfigError
from millicent.runtime.artifact import save_artifact
from tests.bench_support import kim_artifact


def test_lean_footprint_is_numpy_and_the_function_modules() -> None:
    lean = function_footprint("numpy")
    assert set(lean.distributions) == {"numpy"}
    assert lean.distributions["numpy"] == installed_bytes("numpy") > 1 << 20
    assert 10_000 < lean.millicent_bytes < 2 << 20
    assert installed_bytes("no-such-distribution") == 0


def test_torch_footprint_follows_torch_requirements() -> None:
    pytest.importorskip("torch")
    heavy = function_footprint("torch")
    names = closure(["torch"])
    assert "torch" in names and "sympy" in names  # a requirement of torch 2.x
    assert set(closure(["numpy"])) | set(names) == set(heavy.distributions)
    assert heavy.distributions["torch"] > heavy.distributions["numpy"]
    assert heavy.total_bytes > 5 * function_footprint("numpy").total_bytes
    # a requirement behind an extra (torch[pyyaml]) is not followed, even when installed
    if installed_bytes("pyyaml"):
        assert "pyyaml" in closure(["pyyaml"]) and "pyyaml" not in names


def _learned(path: Path, words: list[str], dim: int = 6) -> Path:
    art = kim_artifact(path, dim=dim)
    import json

    manifest = json.loads((art / "manifest.json").read_text())
    manifest["embedding"].update(source="artifact", variant="rand")
    weights = dict(np.load(art / "weights.npz"))
    save_artifact(art, manifest, weights)
    matrix = np.arange(len(words) * dim, dtype=np.float32).reshape(len(words), dim)
    np.savez(art / "embeddings.npz", words=np.array(words), matrix=matrix)
    return art


def test_pretrained_source_is_shared(tmp_path: Path) -> None:
    a, b = kim_artifact(tmp_path / "a"), kim_artifact(tmp_path / "b")
    src = EmbeddingSource.of_artifacts({"kim": a, "kim2": b})
    assert (src.spec, src.label, src.slug, src.learned, src.ranking) == (
        "glove-50", "glove-50", "glove-50", False, "glove")


def test_learned_table_is_loaded_and_ranked_by_training_counts(tmp_path: Path,
                                                               data_dir: Path) -> None:
    # table order = first seen in training; "the" and "," are far more frequent in SST-1 train
    words = ["zzyzx-unseen", "film", "the", ","]
    art = _learned(tmp_path / "rand", words)
    src = EmbeddingSource.of_artifacts({"kim": art})
    assert src.learned and src.spec == "artifact" and src.task == "sst-1"
    assert src.label.startswith("artifact:rand@") and src.slug.startswith("rand-")
    got_words, got = src.load(data_dir)
    assert set(got_words) == set(words) and got_words[-1] == "zzyzx-unseen"
    assert got_words[:2] in (["the", ","], [",", "the"])
    for w, row in zip(got_words, got, strict=True):
        np.testing.assert_array_equal(row, np.arange(6, dtype=np.float32) + 6 * words.index(w))
    # another table gets another slug (tables are never shared by two sources)
    other = _learned(tmp_path / "rand2", ["film", "the"])
    assert EmbeddingSource.of_artifacts({"kim": other}).slug != src.slug
    with pytest.raises(ConfigError, match="share one table"):
        EmbeddingSource.of_artifacts({"kim": art, "kim2": kim_artifact(tmp_path / "g")})
