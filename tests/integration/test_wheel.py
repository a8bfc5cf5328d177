"""A wheel built from the repository, installed in a fresh virtualenv, runs ``millicent
demo``'s in-process check outside the repository: the shipped artifacts are package data,
so no torch and no checkout are needed.

The virtualenv sees the machine's site-packages for the dependencies (tests never
download) but imports millicent from the installed wheel, which the test checks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.servers import REPO

pytestmark = pytest.mark.integration

CHECK = r"""
import contextlib, json, sys
from pathlib import Path
import millicent
from millicent.testbed import demo
out, data_dir = Path(sys.argv[1]), Path(sys.argv[2])
options = demo.DemoOptions(data_dir, out, vocab="datasets", pack_top=2000, pack_mb=None, limit=25,
                           progress=False, plots=False)
with contextlib.ExitStack() as stack:
    ctx = demo.DemoContext(options, stack)
    steps = dict((n, f) for n, _, f in demo.STEPS)
    for name in ("artifacts", "store", "pack", "check"):
        steps[name](ctx)
print(json.dumps({"millicent": millicent.__file__, "torch": "torch" in sys.modules,
                  "artifacts": ctx.results["artifacts"], "check": ctx.results["check"]}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(REPO / "millicent", src / "millicent",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(dist)], check=True, timeout=300)
    (built,) = dist.glob("millicent-*.whl")
    return built


def test_the_wheel_carries_the_shipped_artifacts(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for artifact in ("kim-sst1-static", "sm-trecqa-overlap", "kim-sst2-glue-nonstatic"):
        assert f"millicent/artifacts/{artifact}/manifest.json" in names
        assert f"millicent/artifacts/{artifact}/weights.npz" in names


def test_an_installed_wheel_runs_the_demo_check_outside_the_repo(
        wheel: Path, tmp_path: Path, data_dir: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=300)
    run = tmp_path / "elsewhere"
    run.mkdir()
    done = subprocess.run([str(python), "-c", CHECK, str(run / "demo"), str(data_dir)], cwd=run,
                          capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["millicent"].startswith(str(venv)), result["millicent"]  # not the checkout
    assert not result["torch"]
    assert all(p.startswith(str(venv)) for p in result["artifacts"].values())
    for fn in ("kim", "sm"):
        got, recorded = result["check"][fn]["metrics"], result["check"][fn]["recorded"]
        metric = "accuracy" if fn == "kim" else "map"
        assert got[metric] == pytest.approx(recorded[metric], abs=1e-12)
