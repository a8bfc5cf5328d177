"""Traffic shapes and trace files of ``millicent plan``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from millicent.errors import ConfigError, DataError
from millicent.traffic.shapes import arrival_times, parse_traffic, read_trace, write_trace
from millicent.traffic.units import parse_duration


def test_durations() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("10m") == 600 and parse_duration("1.5h") == 5400 and parse_duration("2") == 2
    with pytest.raises(ConfigError, match="duration"):
        parse_duration("ten minutes")


def test_constant_and_diurnal_totals() -> None:
    c = parse_traffic("constant:10", 1, None)
    assert c.step_s == 1 and c.steps == 86400 and c.total == pytest.approx(864000)
    d = parse_traffic("diurnal:2000", 30, None)
    assert d.step_s == 60 and d.steps == 30 * 1440
    # a raised cosine from 200 to 2000: the mean is the midpoint
    assert d.mean_qps == pytest.approx(1100, rel=1e-6)
    assert d.peak_qps == pytest.approx(2000, rel=1e-4) and d.rates.min() == pytest.approx(200, rel=1e-3)
    assert np.argmax(d.rates[:1440]) == pytest.approx(720, abs=1)  # noon


def test_bursty_shape() -> None:
    b = parse_traffic("bursty:1:100:10m:1m", 1 / 24, 1.0)
    rates = b.rates
    assert rates[:60].tolist() == [100.0] * 60 and rates[60:600].max() == 1.0
    assert rates[600:660].min() == 100.0 and b.steps == 3600


@pytest.mark.parametrize("spec", ["constant", "diurnal:", "bursty:1:2:3", "weekly:5", "constant:-1",
                                  "diurnal:10:20"])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_traffic(spec, 1, None)


def test_trace_csv_per_minute(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("timestamp,requests\n0,60\n60,120\n180,6\n")
    t = read_trace(f)
    assert t.step_s == 60 and t.counts.tolist() == [60, 120, 0, 6] and t.integral
    times = arrival_times(t, seed=3)
    assert times.size == 186 and np.all(np.diff(times) >= 0)
    assert ((times >= 60) & (times < 120)).sum() == 120
    assert np.array_equal(times, arrival_times(t, seed=3))  # the same for plan and replay


def test_trace_iso_seconds(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("2026-01-01T00:00:00Z,3\n2026-01-01T00:00:01Z,0\n2026-01-01T00:00:02Z,4\n")
    t = read_trace(f)
    assert t.step_s == 1 and t.counts.tolist() == [3, 0, 4]


def test_trace_of_timestamps_keeps_exact_times(tmp_path: Path) -> None:
    f = write_trace(tmp_path / "t.txt", [100.5, 100.5, 101.25, 103.0])
    t = read_trace(f)
    assert t.counts.tolist() == [3, 0, 1]  # relative to the first: 0, 0, 0.75, 2.5
    assert arrival_times(t).tolist() == [0.0, 0.0, 0.75, 2.5]


@pytest.mark.parametrize(("text", "line"), [("0,1\n1,x\n", 2), ("0,1\n1\n", 2), ("5\n3\n", 2),
                                            ("0,1\n1,-2\n", 2), ("0,1\n1,1.5\n", 2)])
def test_bad_trace_lines_are_named(tmp_path: Path, text: str, line: int) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(DataError, match=rf"bad.csv:{line}"):
        read_trace(f)


def test_trace_rules(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("0,1\n")
    with pytest.raises(ConfigError, match="--days"):
        parse_traffic(f"trace:{f}", 3, None)
    with pytest.raises(DataError, match=r"cannot read"):
        read_trace(tmp_path / "missing.csv")
    coarse = parse_traffic("constant:1", 1, 1.0).coarsened(60)
    assert coarse.steps == 1440 and coarse.counts[0] == 60
