"""A dependency-free progress bar for the benchmark (stderr).

On a terminal it redraws one line; elsewhere (CI logs, pipes) it prints a line every 10 %
so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts finished requests of one scenario and shows rate and errors."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None,
                 enabled: bool = True, width: int = 30) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.width = width
        self.done = 0
        self.errors = 0
        self._t0 = time.perf_counter()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_decile = -1
        self._last_draw = 0.0

    def advance(self, ok: bool = True) -> None:
        self.done += 1
        if not ok:
            self.errors += 1
        if not self.enabled:
            return
        if self._tty:
            now = time.perf_counter()
            # redraw at most ~20 times a second: drawing must not slow the client down
            if now - self._last_draw >= 0.05 or self.done >= self.total:
                self._last_draw = now
                self.stream.write("\r" + self.line())
                self.stream.flush()
        else:
            decile = self.done * 10 // self.total
            if decile != self._last_decile and (decile > 0 or self.done == self.total):
                self._last_decile = decile
                self.stream.write(self.line() + "\n")
                self.stream.flush()

    def line(self) -> str:
        frac = min(self.done / self.total, 1.0)
        filled = int(frac * self.width)
        elapsed = time.perf_counter() - self._t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        bar = "#" * filled + "." * (self.width - filled)
        return (f"{self.label} [{bar}] {self.done}/{self.total} "
                f"{rate:7.1f} req/s  errors {self.errors}")

    def close(self) -> None:
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()
