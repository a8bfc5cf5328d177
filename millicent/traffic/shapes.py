"""Traffic shapes: how many requests arrive in each time step of the planned period.

Specs (``--traffic``)::

    constant:QPS                      QPS requests/s all the time
    diurnal:PEAK[:TROUGH]             a 24-hour cycle: TROUGH at midnight, PEAK at noon
                                      (a raised cosine; TROUGH defaults to PEAK / 10)
    bursty:BASE:PEAK:EVERY:LENGTH     BASE requests/s, and PEAK for LENGTH every EVERY
                                      (durations such as 30s, 10m, 1h)
    trace:FILE                        a recorded trace (below)

A trace file is either CSV lines ``timestamp,requests`` (one line per second or per
minute; a header line is allowed) or one request timestamp per line. Timestamps are
seconds (any origin: the first one is time zero) or ISO 8601 date-times. A bad line is a
:class:`DataError` naming the file and the line.

Synthetic shapes give *expected* counts (rate × step); the planner treats arrivals inside a
step as a Poisson process of that rate. :func:`arrival_times` turns a traffic into concrete
request times — the exact timestamps of a timestamp trace, otherwise each step's requests
placed uniformly at random inside it (seeded) — and is the one definition shared by the
exact simulator and the replay client (``millicent bench --trace``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from millicent.errors import ConfigError, DataError
from millicent.traffic.units import format_duration, parse_duration, parse_rate

DAY_S = 86400.0
SHAPES = ("constant", "diurnal", "bursty", "trace")


@dataclass(frozen=True)
class Traffic:
    """Requests per step over a period; ``times`` holds exact arrival times when known."""

    step_s: float
    counts: np.ndarray  #: requests arriving in each step (expected, or exact for a trace)
    label: str
    times: np.ndarray | None = None  #: sorted arrival times in seconds from the start
    integral: bool = False  #: counts are whole requests (a trace), not expectations

    @property
    def steps(self) -> int:
        return int(self.counts.size)

    @property
    def period_s(self) -> float:
        return self.steps * self.step_s

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    @property
    def rates(self) -> np.ndarray:
        """Requests per second in each step."""
        return self.counts / self.step_s

    @property
    def peak_qps(self) -> float:
        return float(self.rates.max()) if self.steps else 0.0

    @property
    def mean_qps(self) -> float:
        return self.total / self.period_s if self.period_s else 0.0

    def coarsened(self, step_s: float) -> Traffic:
        """The same traffic in steps of ``step_s`` (a whole multiple of the current step)."""
        factor = step_s / self.step_s
        if factor < 1 or abs(factor - round(factor)) > 1e-9:
            raise ConfigError(f"cannot regroup {format_duration(self.step_s)} steps into "
                              f"{format_duration(step_s)} steps")
        k = round(factor)
        if k == 1:
            return self
        n = -(-self.steps // k) * k
        padded = np.zeros(n)
        padded[: self.steps] = self.counts
        return Traffic(step_s, padded.reshape(-1, k).sum(axis=1), self.label, self.times,
                       self.integral)

    def describe(self) -> str:
        return (f"{self.label}: {format_duration(self.period_s)} in {format_duration(self.step_s)} "
                f"steps, {self.total:,.0f} requests, peak {self.peak_qps:,.2f} req/s, "
                f"mean {self.mean_qps:,.2f} req/s")


def _grid(days: float, step_s: float) -> np.ndarray:
    if days <= 0 or step_s <= 0:
        raise ConfigError("--days and the step must be positive")
    n = math.ceil(days * DAY_S / step_s)
    return (np.arange(n) + 0.5) * step_s  # the middle of each step


def constant(qps: float, days: float, step_s: float) -> Traffic:
    t = _grid(days, step_s)
    return Traffic(step_s, np.full(t.size, qps * step_s), f"constant {qps:g} req/s")


def diurnal(peak: float, trough: float | None, days: float, step_s: float) -> Traffic:
    """A raised cosine over 24 h: ``trough`` at midnight, ``peak`` at noon."""
    low = peak / 10.0 if trough is None else trough
    if low > peak:
        raise ConfigError(f"diurnal trough {low:g} is above the peak {peak:g}")
    t = _grid(days, step_s)
    rate = low + (peak - low) * (1.0 - np.cos(2.0 * np.pi * t / DAY_S)) / 2.0
    return Traffic(step_s, rate * step_s, f"diurnal {low:g}–{peak:g} req/s")


def bursty(base: float, peak: float, every_s: float, length_s: float, days: float,
           step_s: float) -> Traffic:
    """``base`` req/s, and ``peak`` req/s during ``length_s`` at the start of every ``every_s``."""
    if every_s <= 0 or not 0 < length_s <= every_s:
        raise ConfigError("bursty: EVERY must be positive and 0 < LENGTH ≤ EVERY")
    if length_s < step_s:
        raise ConfigError(f"bursty: a burst of {format_duration(length_s)} is shorter than the "
                          f"{format_duration(step_s)} step; use --step 1s")
    t = _grid(days, step_s)
    in_burst = np.mod(t, every_s) < length_s
    rate = np.where(in_burst, peak, base)
    return Traffic(step_s, rate * step_s,
                   f"bursty {base:g} req/s, {peak:g} req/s for {format_duration(length_s)} "
                   f"every {format_duration(every_s)}")


def parse_traffic(spec: str, days: float | None, step_s: float | None) -> Traffic:
    """The traffic of a ``--traffic`` spec (module docstring); ``days`` defaults to 30 and
    ``step_s`` to 60 s beyond one day, 1 s otherwise (a trace keeps its own resolution)."""
    kind, _, rest = spec.partition(":")
    parts = rest.split(":") if rest else []
    if kind == "trace":
        if days is not None:
            raise ConfigError("--days does not apply to a trace: the trace is the period")
        trace = read_trace(Path(rest))
        return trace if step_s is None else trace.coarsened(step_s)
    days = 30.0 if days is None else days
    step = step_s if step_s is not None else (60.0 if days > 1 else 1.0)
    if kind == "constant" and len(parts) == 1:
        return constant(parse_rate(parts[0], "constant QPS"), days, step)
    if kind == "diurnal" and len(parts) in (1, 2):
        trough = parse_rate(parts[1], "diurnal TROUGH") if len(parts) == 2 else None
        return diurnal(parse_rate(parts[0], "diurnal PEAK"), trough, days, step)
    if kind == "bursty" and len(parts) == 4:
        return bursty(parse_rate(parts[0], "bursty BASE"), parse_rate(parts[1], "bursty PEAK"),
                      parse_duration(parts[2], "bursty EVERY"),
                      parse_duration(parts[3], "bursty LENGTH"), days, step)
    raise ConfigError(f"unknown traffic {spec!r}: use constant:QPS, diurnal:PEAK[:TROUGH], "
                      "bursty:BASE:PEAK:EVERY:LENGTH or trace:FILE")


def _timestamp(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read trace {path}: {exc}") from exc
    rows = [(i, [c.strip() for c in line.split(",")]) for i, line in enumerate(lines, 1)
            if line.strip() and not line.lstrip().startswith("#")]
    if rows and rows[0][1][0].lower() in ("timestamp", "time", "t"):
        rows = rows[1:]
    if not rows:
        raise DataError(f"trace {path} has no requests")
    return rows


def _parse_rows(path: Path, rows: Sequence[tuple[int, list[str]]]) -> tuple[np.ndarray, np.ndarray | None]:
    width = len(rows[0][1])
    if width not in (1, 2):
        raise DataError(f"{path}:{rows[0][0]}: expected 'timestamp' or 'timestamp,requests'")
    stamps, counts = [], []
    for lineno, cells in rows:
        if len(cells) != width:
            raise DataError(f"{path}:{lineno}: expected {width} column(s), got {len(cells)}")
        try:
            stamps.append(_timestamp(cells[0]))
            if width == 2:
                n = float(cells[1])
                if not math.isfinite(n) or n < 0 or n != int(n):
                    raise ValueError(f"requests must be a whole number ≥ 0, got {cells[1]!r}")
                counts.append(n)
        except ValueError as exc:
            raise DataError(f"{path}:{lineno}: {exc}") from exc
        if len(stamps) > 1 and stamps[-1] < stamps[-2]:
            raise DataError(f"{path}:{lineno}: timestamps must not go back in time")
    return np.asarray(stamps), (np.asarray(counts) if width == 2 else None)


def read_trace(path: Path) -> Traffic:
    """A trace file (module docstring) as per-step counts (exact times for timestamp lines)."""
    stamps, counts = _parse_rows(path, _rows(path))
    t0 = stamps[0]
    if counts is None:
        times = stamps - t0
        n = max(1, math.floor(times[-1]) + 1)
        binned = np.bincount(np.floor(times).astype(np.int64), minlength=n).astype(float)
        return Traffic(1.0, binned, f"trace {path.name}", times=times, integral=True)
    gaps = np.diff(stamps)
    step = float(gaps[gaps > 0].min()) if np.any(gaps > 0) else 1.0
    slots = np.rint((stamps - t0) / step).astype(np.int64)
    if np.any(np.abs((stamps - t0) / step - slots) > 1e-6):
        raise DataError(f"trace {path}: timestamps are not on a regular {format_duration(step)} grid")
    binned = np.bincount(slots, weights=counts, minlength=int(slots[-1]) + 1)
    return Traffic(step, binned, f"trace {path.name}", integral=True)


def arrival_times(traffic: Traffic, seed: int = 0) -> np.ndarray:
    """Concrete, sorted request times in seconds (module docstring)."""
    if traffic.times is not None:
        return traffic.times
    rng = np.random.default_rng(seed)
    counts = (traffic.counts.astype(np.int64) if traffic.integral
              else rng.poisson(traffic.counts))
    starts = np.repeat(np.arange(traffic.steps) * traffic.step_s, counts)
    times = starts + rng.random(starts.size) * traffic.step_s
    return np.sort(times)


def write_trace(path: Path, times: Sequence[float] | np.ndarray) -> Path:
    """Write request timestamps (seconds), one per line: a trace both the planner and the
    replay client read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{t:.6f}\n" for t in times), encoding="utf-8")
    return path
