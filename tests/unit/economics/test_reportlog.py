"""REPORT lines: found in every export format, parsed strictly, errors named by file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from millicent.economics.reportlog import (
    find_report,
    parse_report,
    read_report_log,
    read_report_logs,
)
from millicent.errors import DataError

COLD = ("REPORT RequestId: 3f1c2a8e-0b7d-4c35-9a43-1e2f3a4b5c6d\tDuration: 12.34 ms\t"
        "Billed Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t"
        "Init Duration: 150.00 ms\t")
WARM = ("REPORT RequestId: 9a8b7c6d-1111-2222-3333-444455556666\tDuration: 2.01 ms\t"
        "Billed Duration: 3 ms\tMemory Size: 1024 MB\tMax Memory Used: 71 MB\t")
RESTORE = ("REPORT RequestId: 5e5e5e5e-aaaa-bbbb-cccc-dddddddddddd\tDuration: 4.50 ms\t"
           "Billed Duration: 5 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\t"
           "Restore Duration: 180.12 ms\tBilled Restore Duration: 42 ms\t")


def test_a_cold_line_with_init_duration() -> None:
    r = parse_report(COLD, "f:1")
    assert (r.request_id, r.duration_ms, r.billed_ms, r.memory_mb, r.max_memory_mb, r.init_ms) == (
        "3f1c2a8e-0b7d-4c35-9a43-1e2f3a4b5c6d", 12.34, 13, 128, 60, 150.0)
    assert r.cold and r.restore_ms is None and r.status is None
    u = r.usage()
    assert (u.duration_ms, u.init_ms, u.init_kind, u.billed_ms, u.memory_mb) == (
        12.34, 150.0, "init", 13, 128)


def test_a_warm_line_and_a_snapstart_restore() -> None:
    warm = parse_report(WARM, "f:2")
    assert not warm.cold and warm.usage().init_kind is None and warm.usage().init_ms == 0.0
    r = parse_report(RESTORE, "f:3")
    assert (r.restore_ms, r.billed_restore_ms, r.init_ms) == (180.12, 42, None)
    u = r.usage()
    assert (u.init_kind, u.init_ms, u.restore_billed_ms) == ("restore", 180.12, 42)


def test_timeout_status_and_xray_fields_are_accepted() -> None:
    line = ("REPORT RequestId: abc\tDuration: 15000.00 ms\tBilled Duration: 15000 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 64 MB\tStatus: timeout\t\n"
            "XRAY TraceId: 1-5e1b4151-5ac6c58f5b5daa6532e4f2e8\tSegmentId: 2c1d0a0b0c0d0e0f\tSampled: true")
    r = parse_report(line.replace("\n", ""), "f:1")
    assert r.status == "timeout" and r.billed_ms == 15000


@pytest.mark.parametrize("prefix, suffix", [
    ("", ""),
    ("2026-11-30T10:00:00.123000+00:00 2026/11/30/[$LATEST]0123456789abcdef ", ""),  # aws logs tail
    ("2026-11-30T10:00:00.123Z\t", ""),
    ('2026-11-30 10:00:00.123,"', '"'),  # a CSV cell of a Logs Insights export
])
def test_found_behind_prefixes_and_in_csv(prefix: str, suffix: str) -> None:
    r = find_report(prefix + COLD + suffix, "f:1")
    assert r is not None and r.billed_ms == 13 and r.init_ms == 150.0


def test_found_in_json_events_and_lambdas_json_log_format() -> None:
    event = {"timestamp": 1764496800123, "message": COLD, "logStreamName": "s", "eventId": "1"}
    r = find_report(json.dumps(event), "f:1")
    assert r is not None and r.init_ms == 150.0
    platform = {"time": "2026-11-30T10:00:00.123Z", "type": "platform.report",
                "record": {"requestId": "abc", "status": "success",
                           "metrics": {"durationMs": 12.34, "billedDurationMs": 13,
                                       "memorySizeMB": 128, "maxMemoryUsedMB": 60,
                                       "initDurationMs": 150.0}}}
    r = find_report(json.dumps(platform), "f:2")
    assert r is not None and (r.request_id, r.billed_ms, r.init_ms) == ("abc", 13, 150.0)
    # the JSON log format exported through filter-log-events: JSON inside a message
    r = find_report(json.dumps({"message": json.dumps(platform)}), "f:3")
    assert r is not None and r.duration_ms == 12.34
    # a JSON-escaped line seen as plain text (a pretty-printed export)
    r = find_report('        "message": ' + json.dumps(COLD) + ",", "f:4")
    assert r is not None and r.init_ms == 150.0


def test_other_lines_are_not_reports() -> None:
    for line in ("START RequestId: abc Version: $LATEST", "END RequestId: abc",
                 "INIT_REPORT Init Duration: 10000.21 ms\tPhase: init\tStatus: timeout",
                 '{"message": "hello"}', "{not json", ""):
        assert find_report(line, "f:1") is None


@pytest.mark.parametrize("line, reason", [
    (COLD.replace("Billed Duration: 13 ms\t", ""), "lacks Billed Duration"),
    (COLD.replace("13 ms", "13.5 ms"), "Billed Duration must be a whole number"),
    (COLD.replace("128 MB", "128 GB"), "Memory Size must be in MB, got '128 GB'"),
    (COLD.replace("12.34 ms", "12.34 s"), "Duration must be in ms, got '12.34 s'"),
    (COLD.replace("12.34 ms", "twelve ms"), "Duration must be a number"),
    (COLD.replace("Memory Size: 128 MB", "Memory Size: 128"), "Memory Size must be in MB"),
    (COLD + "Duration: 1.00 ms", "Duration appears twice"),
    (COLD + "Coffee: 2 ms", "unexpected 'Coffee"),
    (COLD + "Restore Duration: 1.00 ms\tBilled Restore Duration: 1 ms", "both Init and Restore"),
    (RESTORE.replace("Billed Restore Duration: 42 ms\t", ""), "come together"),
    ("REPORT RequestId: \tDuration: 1.00 ms", "no RequestId"),
])
def test_malformed_lines_name_file_line_and_reason(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "lambda.log"
    path.write_text(f"START RequestId: x Version: $LATEST\n{WARM}\n{line}\nEND RequestId: x\n")
    with pytest.raises(DataError) as err:
        read_report_log(path)
    assert err.value.message.startswith(f"{path}:3: malformed REPORT line")
    assert reason in err.value.message


def test_a_log_file_mixed_formats_and_an_events_document(tmp_path: Path) -> None:
    log = tmp_path / "mixed.log"
    log.write_text("\n".join([
        "START RequestId: a Version: $LATEST", "2026-11-30T10:00:00Z a INFO hello", COLD,
        json.dumps({"timestamp": 1, "message": WARM}), "END RequestId: a", RESTORE]) + "\n")
    got = read_report_log(log)
    assert [(r.where.rsplit(":", 1)[1], r.billed_ms) for r in got] == [("3", 13), ("4", 3), ("6", 5)]
    doc = tmp_path / "events.json"
    doc.write_text(json.dumps({"events": [{"message": "START RequestId: a"},
                                          {"message": COLD}, {"message": WARM}]}, indent=2))
    got = read_report_log(doc)
    assert [r.where for r in got] == [f"{doc}: events[1]", f"{doc}: events[2]"]
    with pytest.raises(DataError, match="not found"):
        read_report_log(tmp_path / "nope.log")
    empty = tmp_path / "empty.log"
    empty.write_text("START RequestId: a\n")
    with pytest.raises(DataError, match="no REPORT lines"):
        read_report_logs([empty])


def test_tabs_turned_into_spaces_by_an_export_still_parse() -> None:
    r = find_report("x " + COLD.replace("\t", " "), "f:1")
    assert r is not None and (r.billed_ms, r.memory_mb, r.init_ms) == (13, 128, 150.0)
    crash = ("REPORT RequestId: abc Duration: 40.00 ms Billed Duration: 40 ms Memory Size: 128 MB "
             "Max Memory Used: 50 MB Status: error Error Type: Runtime.ExitError")
    r = parse_report(crash, "f:2")
    assert r.status == "error" and r.billed_ms == 40
