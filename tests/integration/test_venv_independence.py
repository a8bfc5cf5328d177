"""Issue 20, item 1: what a test's fresh virtualenv sees does not depend on the interpreter
the tests were started from.

A newcomer's virtualenv holds its packages in its own site-packages; the base interpreter
it was made from may hold none of them. ``python -m venv --system-site-packages`` started
from such a virtualenv exposes the base's packages, not the virtualenv's — so the wheel
test ran without the GloVe package and the demo's numbers changed. Here a virtualenv P
with a package of its own (a module file in P's site-packages) builds the test's
environment with :mod:`tests.venvs`, as the wheel test does, and the package is visible.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import REPO
from tests.venvs import make_venv

pytestmark = pytest.mark.integration

MARKER = "millicent_issue20_marker"


def _imports(python: Path, module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-c", f"import {module}; print({module}.__file__)"],
                          capture_output=True, text=True, timeout=60, cwd="/")


@pytest.fixture(scope="module")
def outer_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv without the system's packages, holding one package of its own."""
    root = tmp_path_factory.mktemp("outer")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(root / "venv")], check=True,
                   timeout=120)
    python = root / "venv" / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / f"{MARKER}.py").write_text("WHERE = 'the outer venv'\n", encoding="utf-8")
    assert _imports(python, MARKER).returncode == 0
    return python


def test_a_venv_built_from_inside_another_venv_sees_that_venvs_packages(
        outer_venv: Path, tmp_path: Path) -> None:
    done = subprocess.run([str(outer_venv), str(REPO / "tests" / "venvs.py"), str(tmp_path / "inner")],
                          capture_output=True, text=True, timeout=300, cwd="/")
    assert done.returncode == 0, done.stderr
    inner = Path(json.loads(done.stdout)["python"])
    seen = _imports(inner, MARKER)
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.strip().startswith(str(outer_venv.parents[1]))
    # the way the wheel test used to build it: the outer venv's package is invisible
    subprocess.run([str(outer_venv), "-m", "venv", "--without-pip", "--system-site-packages",
                    str(tmp_path / "old")], check=True, timeout=120)
    assert _imports(tmp_path / "old" / "bin" / "python", MARKER).returncode != 0


def test_the_built_venv_does_not_see_the_checkout(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv", pip=False)
    numpy = _imports(python, "numpy")  # the running interpreter's packages are there
    assert numpy.returncode == 0, numpy.stderr
    found = _imports(python, "millicent")  # an editable install of the checkout is not run
    assert found.returncode != 0 or not found.stdout.strip().startswith(str(REPO)), found.stdout
