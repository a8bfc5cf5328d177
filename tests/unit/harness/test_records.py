"""The two durations of a bench record: INIT is counted exactly once, whatever the source."""

from __future__ import annotations

import pytest

from millicent.economics.cost import CostOptions, cost_per_million
from millicent.economics.prices import load_prices
from millicent.harness.records import RequestRecord, apply_response

PRICES = load_prices()


def _record(headers: dict[str, str], timings: dict[str, object]) -> RequestRecord:
    rec = RequestRecord(index=0, phase="measure", sent_s=0.0, latency_ms=1300.0, status=200,
                        in_flight=1)
    apply_response(rec, headers, {"label": "x", "timings": timings})
    return rec


def _billed(rec: RequestRecord, **options: object) -> float:
    return cost_per_million([rec.usage()], PRICES, CostOptions(**options)).mean_billed_ms  # type: ignore[arg-type]


def test_real_aws_lazy_cold_start_counts_init_once() -> None:
    # no x-millicent-* headers; the INIT ran inside the invocation: total_ms holds it
    rec = _record({}, {"total_ms": 1110.0, "init_ms": 1000.0, "init": "lazy", "cold_start": True})
    assert rec.duration_source == "timings" and rec.duration_ms == 1110.0
    assert (rec.init_ms, rec.init_kind) == (0.0, None)
    assert _billed(rec) == 1110  # not 2110
    assert rec.timings["init_ms"] == 1000.0  # kept for the report


def test_real_aws_record_of_a_runtime_without_the_init_key_is_lazy() -> None:
    # runtimes before eager INIT built everything inside the first invocation
    rec = _record({}, {"total_ms": 1110.0, "init_ms": 1000.0, "cold_start": True})
    assert _billed(rec) == 1110


@pytest.mark.parametrize(("init", "kind"), [("eager", "init"), ("restore", "restore")])
def test_real_aws_eager_or_restore_is_outside_total_ms(init: str, kind: str) -> None:
    rec = _record({}, {"total_ms": 110.0, "init_ms": 1000.0, "init": init, "cold_start": True})
    assert (rec.duration_ms, rec.init_ms, rec.init_kind) == (110.0, 1000.0, kind)
    expected = 1110 if kind == "init" else 110 + 1000  # a local restore bills what it measured
    assert _billed(rec) == expected
    if kind == "init":
        assert _billed(rec, era="2025-07-31") == 110  # free INIT in that era


def test_warm_real_aws_record_has_no_init() -> None:
    rec = _record({}, {"total_ms": 3.2, "init_ms": 1000.0, "init": "eager", "cold_start": False})
    assert (rec.init_ms, rec.init_kind) == (0.0, None) and _billed(rec) == 4


def test_platform_headers_win_and_count_init_once() -> None:
    headers = {"x-millicent-duration-ms": "110.0", "x-millicent-init-ms": "250.0",
               "x-millicent-cold": "1"}
    # the body's timings say eager with its own init_ms: the headers are the measure
    rec = _record(headers, {"total_ms": 109.0, "init_ms": 240.0, "init": "eager", "cold_start": True})
    assert (rec.duration_source, rec.duration_ms, rec.init_ms, rec.init_kind) == (
        "header", 110.0, 250.0, "init")
    assert _billed(rec) == 360
    restore = _record({"x-millicent-duration-ms": "4.0", "x-millicent-init-ms": "0",
                       "x-millicent-restore-ms": "18.5", "x-millicent-cold": "1"},
                      {"total_ms": 3.9, "init": "restore", "cold_start": True})
    assert (restore.init_ms, restore.init_kind) == (18.5, "restore")
    warm = _record({"x-millicent-duration-ms": "4.0", "x-millicent-init-ms": "0",
                    "x-millicent-cold": "0"}, {"total_ms": 3.9})
    assert (warm.init_ms, warm.init_kind) == (0.0, None)


def test_a_record_saved_before_init_kind_existed() -> None:
    old = RequestRecord.from_dict({"index": 0, "phase": "measure", "sent_s": 0.0,
                                   "latency_ms": 400.0, "status": 200, "in_flight": 1,
                                   "cold": True, "duration_ms": 110.0,
                                   "duration_source": "header", "init_ms": 250.0})
    assert old.outside_init == ("init", 250.0) and _billed(old) == 360
    # the same from timings: the old runtime's init_ms was inside total_ms
    timed = RequestRecord.from_dict({**old.__dict__, "duration_source": "timings", "init_ms": 250.0})
    assert timed.outside_init == (None, 0.0) and _billed(timed) == 110
