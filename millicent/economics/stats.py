"""Latency statistics: numeric sort, stated percentile definitions, no silent coercion.

The paper's harness sorted latencies as strings ("100" < "9") and took percentiles one
position off. Here values must be real numbers (a ``str`` is a TypeError, NaN a ValueError)
and two percentile definitions are offered, both exact and tested:

* ``nearest-rank`` (the default for every report): the smallest observed value such that at
  least ``q`` % of the observations are ≤ it, i.e. ``sorted[ceil(q/100 · n) − 1]`` (and the
  minimum for ``q = 0``). It always returns a latency that was actually measured.
* ``linear``: linear interpolation between closest ranks at position ``(n − 1) · q/100``
  (Hyndman & Fan type 7, numpy's default).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

Method = Literal["nearest-rank", "linear"]
DEFAULT_METHOD: Method = "nearest-rank"


def _clean(values: Iterable[Any]) -> list[float]:
    out: list[float] = []
    for v in values:
        # bool is an int subclass; a str would sort lexically — both are caller bugs
        if isinstance(v, str | bytes | bool) or not isinstance(v, int | float):
            raise TypeError(f"latency values must be numbers, got {type(v).__name__} {v!r}")
        f = float(v)
        if math.isnan(f):
            raise ValueError("latency values must not be NaN")
        out.append(f)
    return out


def percentile_sorted(ordered: Sequence[float], q: float, method: Method = DEFAULT_METHOD) -> float:
    """The ``q``-th percentile (0 ≤ q ≤ 100) of an ascending, non-empty sequence."""
    if not ordered:
        raise ValueError("percentile of an empty sequence")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be within [0, 100], got {q}")
    n = len(ordered)
    if method == "nearest-rank":
        # 1-based rank; ceil() of an exact product such as 0.9*10 must stay 9, hence round()
        rank = math.ceil(round(q / 100.0 * n, 9))
        return ordered[max(rank, 1) - 1]
    if method == "linear":
        pos = (n - 1) * q / 100.0
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        frac = pos - lo
        return ordered[lo] + (ordered[hi] - ordered[lo]) * frac
    raise ValueError(f"unknown percentile method {method!r}; use 'nearest-rank' or 'linear'")


def percentile(values: Iterable[Any], q: float, method: Method = DEFAULT_METHOD) -> float:
    """The ``q``-th percentile of ``values`` (sorted numerically here)."""
    return percentile_sorted(sorted(_clean(values)), q, method)


@dataclass(frozen=True)
class LatencyStats:
    """Summary of one set of latencies in milliseconds (``n == 0``: all fields ``None``)."""

    n: int
    mean: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    min: float | None
    method: str = DEFAULT_METHOD

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def latency_stats(values: Iterable[Any], method: Method = DEFAULT_METHOD) -> LatencyStats:
    """Mean, p50, p90, p99, max and min of ``values``; an empty input gives ``n == 0``."""
    ordered = sorted(_clean(values))
    if not ordered:
        return LatencyStats(0, None, None, None, None, None, None, method)
    return LatencyStats(
        n=len(ordered),
        mean=math.fsum(ordered) / len(ordered),
        p50=percentile_sorted(ordered, 50, method),
        p90=percentile_sorted(ordered, 90, method),
        p99=percentile_sorted(ordered, 99, method),
        max=ordered[-1],
        min=ordered[0],
        method=method,
    )


def mean(values: Iterable[Any]) -> float | None:
    """Arithmetic mean, ``None`` for no values."""
    xs = _clean(values)
    return math.fsum(xs) / len(xs) if xs else None


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``; None when either is unknown or ``b`` is zero (a ratio not measured)."""
    return None if a is None or b is None or b == 0 else a / b
