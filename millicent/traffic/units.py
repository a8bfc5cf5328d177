"""Durations as people write them: ``500ms``, ``30s``, ``10m``, ``1.5h``, ``2d`` (a bare
number is seconds)."""

from __future__ import annotations

import math
import re

from millicent.errors import ConfigError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]*)\s*$")


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds in ``text``; ConfigError naming ``what`` for anything else or a negative value."""
    match = _PATTERN.match(str(text).lower())
    if match is None or match.group(2) not in ("", *_UNITS):
        raise ConfigError(f"{what} must be a duration such as 500ms, 30s, 10m, 1h or 2d; "
                          f"got {text!r}")
    value = float(match.group(1)) * _UNITS.get(match.group(2) or "s", 1.0)
    if not math.isfinite(value):
        raise ConfigError(f"{what} must be finite, got {text!r}")
    return value


def parse_rate(text: str, what: str) -> float:
    """A non-negative number of requests per second."""
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{what} must be a number of requests per second, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{what} must be a finite rate ≥ 0, got {text!r}")
    return value


def format_duration(seconds: float) -> str:
    """``600`` → ``10m``; ``2.5`` → ``2.5s`` (for reports)."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and abs(seconds / size - round(seconds / size)) < 1e-9:
            return f"{round(seconds / size)}{unit}"
    return f"{seconds:g}s"
