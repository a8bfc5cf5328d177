"""The short versions of the transformer deployment experiments: a tiny BERT ``embed``
artifact on the local platform (``experiments/hf_serve_memory.py``: SQLite, a float16
pack, dynalite, batch 32, ``serve --snapshot`` and eager INIT cold starts) and the
beyond-a-zip run (``experiments/hf_big_vocab.py --short``: built, imported, table in
dynalite, packaged without it, served, the whole model measured)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("transformers")

from tests.servers import REPO

pytestmark = [pytest.mark.integration, pytest.mark.train]


def _experiment(script: str, *args: str, out: Path) -> dict[str, Any]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    done = subprocess.run([sys.executable, script, *args, "--out", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(out.read_text()))


def test_serve_memory_short(tmp_path: Path, data_dir: Path, dynalite: Any) -> None:
    from millicent.importer.hf.run import import_hf
    from tests.hf_support import bert_dir

    artifact = tmp_path / "tiny"
    import_hf(bert_dir(tmp_path / "bert"), "embed", artifact, name="tiny")
    out = _experiment("experiments/hf_serve_memory.py", "--short", "--artifact", str(artifact),
                      "--data-dir", str(data_dir), "--work", str(tmp_path / "work"),
                      out=tmp_path / "memory.json")
    assert set(out["memory"]) == {"sqlite", "pack", "dynalite", "sqlite-b32"}
    for name, r in out["memory"].items():
        assert r["ok"] == r["requests"] > 0, (name, r)
        assert 20 < r["max_memory_used_mb"] <= r["memory_mb"], (name, r)
    assert out["memory"]["sqlite-b32"]["batch"] == 32
    snap, eager = out["cold"]["snapshot"], out["cold"]["eager INIT"]
    snap_ddb = out["cold"]["snapshot, DynamoDB"]
    for r in (snap, eager, snap_ddb):
        assert r["all_cold"] and r["ok"] == r["samples"] == 2
    for r in (snap, snap_ddb):
        assert r["restore_ms"] > 0 and r["init_ms"] == 0  # restored, not initialized
    assert eager["init_ms"] > 0 and eager["restore_ms"] == 0


def test_big_vocabulary_short(tmp_path: Path, data_dir: Path) -> None:
    from tests.deploy_support import wheel_dir

    out = _experiment("experiments/hf_big_vocab.py", "--short", "--work", str(tmp_path / "work"),
                      "--data-dir", str(data_dir), "--wheel-dir", str(wheel_dir("cp312")),
                      out=tmp_path / "big.json")
    assert out["vocab"] == 4000
    package = out["package"]
    assert package["artifact_files"] == ["artifacts/big/manifest.json", "artifacts/big/model.onnx",
                                         "artifacts/big/tokenizer.json"]
    assert not package["table_inside"] and package["unzipped_mb"] < 250
    assert out["millicent"]["ok"] == 5 and out["millicent"]["max_memory_used_mb"] > 20
    assert out["whole"]["peak_rss_mb"] > 20 and out["whole"]["files_mb"] > 0
