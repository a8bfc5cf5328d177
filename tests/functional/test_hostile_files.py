"""The hostile-file corpus (:mod:`tests.hostile_corpus`) through the real CLI, one
subprocess per case: every case ends with ``millicent: error:`` and a clear message naming
the file (``FILE:LINE`` where there is a line), the right exit status, no traceback, and
nothing written outside the user's paths — the working directory holds what it held (the
inputs; an output the command was told to write may exist only empty of results) and the
home directory stays empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile_corpus import CASES, Case


def test_the_corpus_is_large_and_named_uniquely() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_file(case: Case, tmp_path: Path, data_dir: Path) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    (work / "out").mkdir()  # where the commands are told to write
    for name, raw in case.files().items():
        (work / name).write_bytes(raw)
    before = _tree(work)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "MILLICENT_DATA_DIR": str(data_dir), "LANG": "C.UTF-8",
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "millicent.cli.main", *case.command()],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    err = done.stderr
    assert "Traceback" not in err, err
    assert done.returncode == case.exit, f"exit {done.returncode}:\n{err}"
    errors = [line for line in err.splitlines() if line.startswith("millicent: error: ")]
    assert errors, err
    message = " ".join(errors[-1:] + err.splitlines()[err.splitlines().index(errors[-1]) + 1:])
    assert case.message in message, message
    assert case.file in message, f"the file is not named: {message}"
    if case.line is not None:
        assert f"{case.file}:{case.line}:" in message, f"no {case.file}:{case.line}: in {message}"
    created = _tree(work) - before
    assert not created - {"out/v.db", "out/v.db-journal", "out/v.db-wal", "out/v.db-shm"}, created
    assert not list(home.iterdir()), f"written to HOME: {_tree(home)}"
