"""``train hf`` killed with SIGKILL mid-epoch and rerun with the same command resumes from
its last checkpoint and ends with exactly the weights of an uninterrupted run.

Exact (bit-for-bit) equality is expected, not a tolerance: both runs use one torch thread
and deterministic algorithms; the batches are a function of (seed, epoch); a checkpoint
restores the weights, the AdamW moments, the scheduler and torch's generator (dropout)
bit for bit, and the epoch's running loss as the same float. So the resumed steps are the
very floating-point operations the uninterrupted run performs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.functional.train.test_hf import WORDS, reviews, tensors
from tests.hf_support import tiny_bert

pytestmark = pytest.mark.train
pytest.importorskip("torch")
pytest.importorskip("transformers")


def command(base: Path, data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "millicent.cli.main", "train", "hf", "--base", str(base),
            "--task", "classify", "--train", str(data / "train.csv"),
            "--test", str(data / "test.csv"), "--text-column", "review",
            "--label-column", "sentiment", "--epochs", "3", "--batch-size", "8", "--lr", "1e-3",
            "--max-length", "32", "--threads", "1", "--checkpoint-steps", "10", "--no-progress",
            "--quantize", "none",
            "--out", str(out)]


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    base = tiny_bert(tmp_path / "base", WORDS, seed=3)
    reviews(tmp_path / "train.csv", 400, 1)
    reviews(tmp_path / "test.csv", 40, 3)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    killed = tmp_path / "killed"
    proc = subprocess.Popen(command(base, tmp_path, killed), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    pointer = killed / "checkpoints" / "latest.json"
    deadline = time.monotonic() + 300
    while not pointer.exists():  # the first checkpoint (step 10 of 45 per epoch)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "training.json").exists()  # killed mid-run, not after it
    latest = json.loads(pointer.read_text())["latest"]

    resumed = subprocess.run(command(base, tmp_path, killed), env=env, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {killed} from checkpoint {latest}" in resumed.stdout
    whole = subprocess.run(command(base, tmp_path, tmp_path / "whole"), env=env,
                           capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    assert "resuming" not in whole.stdout

    a = tensors(killed / "hf" / "model.safetensors")
    b = tensors(tmp_path / "whole" / "hf" / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    ra = json.loads((killed / "training.json").read_text())
    rb = json.loads((tmp_path / "whole" / "training.json").read_text())
    assert ra["history"] == rb["history"] and ra["metrics"] == rb["metrics"]
    assert [s["from_step"] for s in ra["sessions"]][:1] == [0] and len(ra["sessions"]) == 2
    assert ra["sessions"][1]["from_step"] >= 10
    assert not (killed / "checkpoints").exists()
