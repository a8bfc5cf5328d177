"""``millicent cost --report-log``: REPORT lines in AWS's own format priced exactly, end to end."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import pytest

from millicent.cli.main import main


def _line(duration: float, billed: int, memory: int = 128, extra: str = "") -> str:
    return (f"REPORT RequestId: {uuid.UUID(int=random.getrandbits(128))}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {billed} ms\tMemory Size: {memory} MB\tMax Memory Used: 61 MB\t{extra}")


def _log(path: Path, lines: list[str]) -> Path:
    # what a CloudWatch export looks like: START / END around every REPORT, timestamps first
    out = []
    for i, line in enumerate(lines):
        out += [f"2026-11-30T10:00:{i % 60:02d}.000Z START RequestId: x Version: $LATEST",
                f"2026-11-30T10:00:{i % 60:02d}.001Z END RequestId: x",
                f"2026-11-30T10:00:{i % 60:02d}.002Z {line}"]
    path.write_text("\n".join(out) + "\n")
    return path


def test_1000_lines_of_13_ms_at_128_mb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    random.seed(13)
    log = _log(tmp_path / "report.log",
               [_line(random.uniform(12.01, 13.0), 13) for _ in range(1000)])
    assert main(["cost", "--report-log", str(log), "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    data = json.loads((tmp_path / "out" / "cost.json").read_text())
    (group,) = data["groups"]
    cost = group["cost_per_million_usd"]
    assert group["requests"] == 1000 and group["memory_mb"] == 128
    assert round(cost["compute"], 4) == 0.0271
    assert cost["compute"] == pytest.approx(0.013 * 128 / 1024 * 0.0000166667 * 1e6)
    assert cost["requests"] == pytest.approx(0.20)
    assert cost["store"] == 0.0 and cost["gateway"] == 0.0 and cost["mean_billed_ms"] == 13
    assert group["total_usd"]["total"] == pytest.approx((0.0270834 + 0.20) / 1000, rel=1e-4)
    assert "| 128 | 1,000 | 0 | 0 | ok: 1000 |" in text and "$0.0271" in text
    # the worst case at the account's limit is always stated, and a cap recommended
    worst = data["worst_case"]["" + f"{log}/128 MB"]
    assert worst["at_measured_duration"]["cap"] == 1000
    assert worst["at_measured_duration"]["per_hour_usd"] > 0 and worst["recommended_cap"] >= 1
    assert "Worst case (denial of wallet)" in text


def test_cold_starts_restores_gateway_and_eras(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    random.seed(2)
    lines = [_line(2.4, 3, 1024) for _ in range(98)]
    # 2026: INIT billed, so AWS's Billed Duration holds it (1,200.5 ms INIT + 2.4 ms)
    lines.append(_line(2.4, 1203, 1024, "Init Duration: 1200.50 ms\t"))
    lines.append(_line(2.4, 3, 1024, "Restore Duration: 180.00 ms\tBilled Restore Duration: 42 ms\t"))
    log = _log(tmp_path / "mixed.log", lines)
    out = tmp_path / "out"
    assert main(["cost", "--report-log", str(log), "--out", str(out), "--gateway", "http"]) == 0
    (g,) = json.loads((out / "cost.json").read_text())["groups"]
    gb_ms = 0.0000166667 / 1000  # per GB-ms, at 1 GB
    expected = (98 * 3 + 1203 + 3 + 42) * gb_ms + 0.0001397998  # + the restore fee
    assert g["cost_per_million_usd"]["compute"] == pytest.approx(expected / 100 * 1e6)
    assert g["cost_per_million_usd"]["gateway"] == pytest.approx(1.0)
    assert (g["init_starts"], g["restores"]) == (1, 1)
    # re-priced in the era of free INIT: the 1,200.5 ms come off, the rest is the same
    assert main(["cost", "--report-log", str(log), "--out", str(out), "--era", "2025-07-31"]) == 0
    (old,) = json.loads((out / "cost.json").read_text())["groups"]
    assert old["cost_per_million_usd"]["compute"] == pytest.approx(
        (expected - 1200 * gb_ms) / 100 * 1e6)
    text = capsys.readouterr().out
    assert "re-priced from the raw durations" in text
    cold = json.loads((out / "cost.json").read_text())["cold_starts"]
    (strategies,) = cold.values()
    names = {s["strategy"]: s for s in strategies["1024"]}
    assert names["snapstart"]["cold_latency_ms"] == pytest.approx(180.0 + 2.4)
    assert names["on-demand"]["cold_latency_ms"] == pytest.approx(1200.5 + 2.4)
    assert names["provisioned"]["cold_latency_ms"] == pytest.approx(2.4)


def test_a_malformed_line_is_named_by_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "bad.log"
    log.write_text(_line(2.0, 2) + "\n" + _line(2.0, 2).replace("2 ms\tMemory", "2.5 ms\tMemory") + "\n")
    assert main(["cost", "--report-log", str(log)]) == 1
    err = capsys.readouterr().err
    assert f"{log}:2: malformed REPORT line: Billed Duration must be a whole number" in err
    assert main(["cost", "--report-log", str(log), "--memory-mb", "256"]) == 2
    assert main(["cost"]) == 2  # nothing to price
