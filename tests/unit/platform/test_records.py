"""REPORT records: billing granularity, the REPORT line, totals, the JSON-lines log."""

from __future__ import annotations

from pathlib import Path

import pytest

from millicent.platform.records import InvocationRecord, RecordLog, Totals, billed_ms, read_records


@pytest.mark.parametrize(
    ("duration", "gran", "billed"),
    [
        (0.0, 1, 1), (0.2, 1, 1), (1.0, 1, 1), (1.0001, 1, 2), (2.31, 1, 3),
        (0.2, 100, 100), (100.0, 100, 100), (100.5, 100, 200), (250, 100, 300),
    ],
)
def test_billed_duration_rounds_up(duration: float, gran: int, billed: int) -> None:
    assert billed_ms(duration, gran) == billed


def _record(**kw: object) -> InvocationRecord:
    base: dict[str, object] = dict(
        request_id="r1", function="kim", env_id="kim-1", pid=42, cold=True, init_ms=212.4,
        duration_ms=2.31, billed_ms=3, billed_ms_100=100, cpu_ms=1.9, memory_mb=128,
        max_memory_mb=60.2,
    )
    base.update(kw)
    return InvocationRecord(**base)  # type: ignore[arg-type]


def test_report_line_has_lambda_fields() -> None:
    line = _record().report_line()
    assert line.startswith("REPORT RequestId: r1\t")
    for part in ("Duration: 2.31 ms", "Billed Duration: 3 ms", "Memory Size: 128 MB",
                 "Max Memory Used: 61 MB", "Init Duration: 212.40 ms"):
        assert part in line
    warm = _record(cold=False, init_ms=None, status="timeout", error_type="Sandbox.Timedout")
    line = warm.report_line()
    assert "Init Duration" not in line and "Status: timeout\tError Type: Sandbox.Timedout" in line
    assert (_record().init_kind, warm.init_kind) == ("init", None)


def test_a_restore_reports_restore_duration_instead_of_init_duration() -> None:
    rec = _record(init_ms=None, restore_ms=41.234, billed_restore_ms=42)
    line = rec.report_line()
    assert "Restore Duration: 41.23 ms\tBilled Restore Duration: 42 ms" in line
    assert "Init Duration" not in line and rec.init_kind == "restore"


def test_totals_count_by_status_and_function() -> None:
    t = Totals()
    t.add(_record())
    t.add(_record(cold=False, init_ms=None))
    t.add(_record(function="sm", status="crash", cold=False))
    t.throttled("kim")
    d = t.to_dict()
    assert (d["invocations"], d["cold_starts"], d["errors"], d["throttles"]) == (3, 1, 1, 1)
    assert d["by_status"] == {"ok": 2, "crash": 1}
    assert d["by_function"]["kim"] == {"invocations": 2, "cold_starts": 1, "errors": 0, "throttles": 1}


def test_record_log_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "invocations.jsonl"
    log = RecordLog(path)
    records = [_record(), _record(request_id="r2", cold=False, init_ms=None)]
    for r in records:
        log.write(r)
    log.close()
    assert read_records(path) == records
    RecordLog(None).write(records[0])  # no path: totals only, nothing written
