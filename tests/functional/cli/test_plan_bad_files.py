"""Issue 20, item 6: ``millicent plan`` with a bad trace line or a bad profile ends with
``FILE:LINE: what is wrong`` (the profile: ``FILE: field ...``), never a traceback.

A ``nan`` timestamp used to reach ``numpy.bincount`` (``ValueError: 'list' argument must
have no negative elements``); a profile's errors said ``profile:`` without naming it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROFILE = {"warm": {"duration_ms": 2.0}, "cold": {"init_ms": 60.0, "duration_ms": 9.0},
           "store": {"keys_per_request": 3, "hot_key_share": 0.2}}


def _plan(tmp_path: Path, traffic: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "millicent.cli.main", "plan", "--traffic", traffic,
                           "--profile", str(profile), "--out", str(tmp_path / "out"), "--no-plots"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(PROFILE), encoding="utf-8")
    return path


@pytest.mark.parametrize(("lines", "line", "message"), [
    (["0", "1.5", "nan", "3"], 3, "a timestamp must be a finite number of seconds, got 'nan'"),
    (["0", "inf"], 2, "a timestamp must be a finite number of seconds"),
    (["0,5", "60,nan"], 2, "requests must be a whole number"),
    (["0,5", "60,-1"], 2, "requests must be a whole number"),
    (["0", "1e300"], 2, "the trace spans more than"),
    (["0", "yesterday"], 2, "expected a timestamp (seconds, or an ISO 8601 date-time)"),
])
def test_a_bad_trace_line_is_named_by_file_and_line(
        tmp_path: Path, profile: Path, lines: list[str], line: int, message: str) -> None:
    trace = tmp_path / "requests.trace"
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = _plan(tmp_path, f"trace:{trace}", profile)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{trace}:{line}: {message}" in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("change", "message"), [
    ({"warm": {"duration_ms": -1}}, "warm.duration_ms must hold numbers ≥ 0, got -1"),
    ({"restore": [1, 2]}, "'restore' must be null or an object"),
    ({"memory_mb": True}, "memory_mb must be a positive integer"),
    ({"source": "x"}, "'source' must be an object"),
    ({"store": {"request_keys": []}}, "store.request_keys is empty"),
])
def test_a_bad_profile_names_its_file(tmp_path: Path, change: dict[str, object], message: str) -> None:
    path = tmp_path / "bad-profile.json"
    path.write_text(json.dumps({**PROFILE, **change}), encoding="utf-8")
    done = _plan(tmp_path, "constant:1", path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"millicent: error: {path}: {message}" in done.stderr, done.stderr
