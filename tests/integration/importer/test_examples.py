"""The two examples run end to end (one epoch each, the short version): PyTorch training,
torch.onnx.export, ``millicent import onnx``, ``millicent eval`` and ``millicent serve``;
the runtime's metrics equal PyTorch's and the platform answers equal PyTorch's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import REPO

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("torch")
pytestmark = [pytest.mark.integration, pytest.mark.train]


def _run(script: str, out: Path, data_dir: Path) -> dict:  # type: ignore[type-arg]
    done = subprocess.run([sys.executable, str(REPO / "examples" / script), "--data-dir", str(data_dir),
                           "--out", str(out), "--epochs", "1"], cwd=REPO, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report: dict = json.loads((out / "report.json").read_text())  # type: ignore[type-arg]
    assert (out / "artifact" / "manifest.json").is_file()
    assert report["platform_max_abs_diff"] < 1e-4
    return report


def test_sst2_bilstm(tmp_path: Path, data_dir: Path) -> None:
    report = _run("sst2_bilstm.py", tmp_path, data_dir)
    assert report["runtime"] == pytest.approx(report["torch"], abs=1e-9)
    assert report["runtime"]["test"] > 0.6  # one epoch already learns the task


def test_trecqa_biencoder(tmp_path: Path, data_dir: Path) -> None:
    report = _run("trecqa_biencoder.py", tmp_path, data_dir)
    for ours, theirs in (("dev", "raw-dev"), ("test", "raw-test")):
        assert report["runtime"][ours] == pytest.approx(report["torch"][theirs], abs=1e-9)
    assert report["runtime"]["test"]["map"] > 0.5
