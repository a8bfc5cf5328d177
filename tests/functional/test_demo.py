"""``millicent demo`` (first version): the shipped Kim CNN through the service on SST-1 dev."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from millicent.cli import demo
from millicent.cli.main import main
from millicent.errors import ArtifactError
from millicent.runtime.artifact import load_artifact
from millicent.train.shipped import artifacts_dir


def test_demo_classifies_sst1_dev_through_the_service(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--data-dir", str(data_dir), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "p50" in printed and "p99" in printed
    results = json.loads((tmp_path / "demo.json").read_text())
    recorded = load_artifact(artifacts_dir() / demo.DEMO_MODEL).manifest["metrics"]["dev"]
    # the service path (tokenize → store lookup → numpy) reproduces the recorded dev accuracy
    assert results["classify"]["n"] == 1101
    assert results["classify"]["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-12)
    lat = results["classify"]["latency_ms"]
    assert 0 < lat["p50"] <= lat["p99"]


def test_missing_artifact_without_torch_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    monkeypatch.setattr("millicent.train.shipped.artifacts_dir", lambda: tmp_path / "none")
    real_import = builtins.__import__

    def no_torch(name: str, *args: object, **kwargs: object) -> object:
        if name == "torch":
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ArtifactError, match=r"torch is not installed.*millicent\[train\]"):
        demo.ensure_artifact(demo.DEMO_MODEL, tmp_path, tmp_path / "out")
