"""A dependency-free progress line on stderr: done/total, rate and ETA.

A stream of unknown length (``total=None``) shows what is done and the rate.

On a terminal the line is redrawn in place (at most every 0.2 s); otherwise (logs, CI,
a test capturing stderr) one line is printed every ``log_every_s`` seconds and at the end.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``with Progress("loading", total) as p: p.advance(n)``."""

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        unit: str = "words",
        stream: TextIO | None = None,
        enabled: bool = True,
        log_every_s: float = 5.0,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = 0.2 if self.tty else log_every_s
        self.done = 0
        self.started = time.monotonic()
        self._last = self.started

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Items per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._draw(final=False)

    def line(self) -> str:
        if self.total is None:
            return f"{self.label} {self.done:,} {self.unit} {self.rate:,.0f} {self.unit}/s"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        rate = self.rate
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        width = 24
        filled = int(width * min(1.0, pct / 100.0))
        bar = "#" * filled + "." * (width - filled)
        return (f"{self.label} [{bar}] {self.done:,}/{self.total:,} {self.unit} {pct:5.1f}% "
                f"{rate:,.0f} {self.unit}/s ETA {eta:,.0f}s")

    def _draw(self, final: bool) -> None:
        if not self.enabled:
            return
        if self.tty:
            end = "\n" if final else ""
            self.stream.write("\r" + self.line() + "\x1b[K" + end)
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._draw(final=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
