"""Artifact format: round trip, refusal of unknown versions, no pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from millicent.errors import ArtifactError
from millicent.runtime.artifact import FORMAT_VERSION, load_artifact, save_artifact

MANIFEST = {
    "kind": "kim_cnn",
    "task": "sst-2",
    "config": {"n_classes": 2, "dim": 4, "widths": [3], "n_maps": 2, "dropout": 0.5},
    "labels": ["negative", "positive"],
    "embedding": {"dim": 4, "dtype": "float32", "source": "artifact", "variant": "rand"},
}


def _save(path: Path, **kw: object) -> Path:
    weights = {"fc.weight": np.ones((2, 2)), "fc.bias": np.zeros(2)}
    return save_artifact(path, dict(MANIFEST), weights, **kw)  # type: ignore[arg-type]


def test_round_trip_with_learned_table(tmp_path: Path) -> None:
    table = (["the", "(", "naïve"], np.arange(12, dtype=np.float32).reshape(3, 4))
    _save(tmp_path / "a", embeddings=table)
    art = load_artifact(tmp_path / "a")
    assert art.kind == "kim_cnn" and art.dim == 4
    assert art.manifest.format_version == FORMAT_VERSION
    assert art.weight("fc.weight").dtype == np.float32
    words, matrix = art.embedding_table()  # type: ignore[misc]
    assert words == ["the", "(", "naïve"]
    np.testing.assert_array_equal(matrix, table[1])
    assert art.idf_table() is None


def test_resave_without_table_removes_the_stale_one(tmp_path: Path) -> None:
    _save(tmp_path / "a", embeddings=(["x"], np.zeros((1, 4), np.float32)))
    _save(tmp_path / "a")
    assert load_artifact(tmp_path / "a").embedding_table() is None


def test_unknown_format_version_is_refused(tmp_path: Path) -> None:
    _save(tmp_path / "a")
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (tmp_path / "a" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="unknown artifact format version"):
        load_artifact(tmp_path / "a")


def test_missing_and_malformed(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        load_artifact(tmp_path / "nothing")
    _save(tmp_path / "a")
    (tmp_path / "a" / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError):
        load_artifact(tmp_path / "a")
    _save(tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    manifest["kind"] = "transformer"
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="unknown model kind"):
        load_artifact(tmp_path / "b")


def test_pickled_arrays_are_refused(tmp_path: Path) -> None:
    _save(tmp_path / "a")
    np.savez(tmp_path / "a" / "weights.npz", evil=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ArtifactError, match="cannot read"):
        load_artifact(tmp_path / "a")
