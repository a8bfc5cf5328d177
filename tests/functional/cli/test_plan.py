"""``millicent plan`` end to end on a hand-written profile: the files, the figures, the errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from millicent.cli.main import main

PROFILE = {"format": "millicent-plan-profile/1", "name": "hand", "memory_mb": 128,
           "measured_cpu_share": 1.0,
           "warm": {"duration_ms": [1.5, 2.0, 2.5], "cpu_ms": [1.0, 1.2, 1.4], "overhead_ms": 1.0},
           "cold": {"init_ms": 70.0, "duration_ms": 10.0, "cpu_ms": 8.0, "overhead_ms": 2.0},
           "store": {"request_keys": [["the", "film"], ["the"], ["dull", "the"], ["a"]]}}


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    f = tmp_path / "profile.json"
    f.write_text(json.dumps(PROFILE))
    return f


def test_a_day_of_bursts(tmp_path: Path, profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    rc = main(["plan", "--traffic", "bursty:5:3000:6h:10m", "--days", "1", "--step", "1m", "--profile", str(profile),
               "--account-concurrency", "20", "--gateway", "http", "--instance-capacity-qps", "500",
               "--save-profile", str(tmp_path / "saved.json"), "--out", str(out)])
    assert rc == 0
    for f in ("results.json", "report.md", "timeline.png", "cost.png", "breakeven.png"):
        assert (out / f).stat().st_size > 0
    res = json.loads((out / "results.json").read_text())
    od = res["options"]["on-demand"]
    # 3,000 req/s × 30 ms projected at 128 MB ≈ 90 in flight, the account allows 20
    assert od["throttled"]["account"] > 0 and od["throttle_share"] > 0
    assert res["always_on"]["instances"] == 6  # ⌈3,000 / 500⌉
    assert res["options"]["provisioned"]["provisioned"] == 20
    # the hottest key is read by 3 of 4 requests: one partition's 6,000 reads/s → 8,000 req/s
    assert res["dynamodb"]["hot_key"] == "the"
    assert res["hot_key_limit_qps"] == pytest.approx(8000)
    assert res["options"]["on-demand"]["cost"]["monthly_usd"]["gateway"] > 0
    assert "Monthly cost by component" in capsys.readouterr().out
    assert json.loads((tmp_path / "saved.json").read_text())["format"] == "millicent-plan-profile/1"


def test_no_store_means_no_hot_key(tmp_path: Path, profile: Path) -> None:
    out = tmp_path / "out"
    assert main(["plan", "--traffic", "constant:50", "--days", "0.1", "--profile", str(profile),
                 "--store", "none", "--no-plots", "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["hot_key_limit_qps"] is None and res["options"]["on-demand"]["cost"]["monthly_usd"]["dynamodb"] == 0
    assert not (out / "timeline.png").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--traffic", "weekly:5"], "unknown traffic"),
    (["--traffic", "constant:5", "--pack", "x.pack"], "--pack and --scenario apply to --from-bench"),
    (["--traffic", "constant:5", "--reserved-concurrency", "950"], "unreserved"),
    (["--traffic", "constant:5", "--idle-timeout", "soon"], "duration"),
    (["--traffic", "constant:5", "--era", "2025-13-01"], "--era"),
    (["--traffic", "constant:5", "--memory-mb", "64"], "--memory-mb"),
])
def test_bad_arguments_are_clear_errors(tmp_path: Path, profile: Path, args: list[str], message: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["plan", *args, "--days", "0.01", "--profile", str(profile), "--no-plots",
               "--out", str(tmp_path / "o")])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_a_bad_profile_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**PROFILE, "cold": {"duration_ms": 3}}))
    assert main(["plan", "--traffic", "constant:1", "--days", "0.01", "--profile", str(bad),
                 "--out", str(tmp_path / "o")]) == 2
    assert "cold.init_ms is required" in capsys.readouterr().err
