"""The batch job's progress display on stderr: lines done, rate, ETA, errors, retries.

On a terminal one line is redrawn (at most 5 times a second); elsewhere (a log, a pipe)
a plain line is printed every 10 % of the input, or every 30 s when the size is unknown
(a gzipped input) or progress is slow, and once at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_S = 0.2
PLAIN_EVERY_S = 30.0


def clock_text(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class BatchProgress:
    """Told after every written batch how far the job is (:meth:`update`)."""

    def __init__(self, total_lines: int | None, start_line: int, stream: TextIO | None = None,
                 enabled: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total_lines
        self.start_line = start_line
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.clock = clock
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = clock()
        self.line = start_line
        self.errors = 0
        self.retries = 0
        self._drawn_at = self.t0
        self._printed_at: int | None = None  # the line shown by the last plain line
        self._decile = self._tenth(start_line)

    def _tenth(self, line: int) -> int:
        return line * 10 // self.total if self.total else 0

    def update(self, last_line: int, errors: int, retries: int) -> None:
        """The job has answered every input line up to ``last_line``."""
        self.line, self.errors, self.retries = last_line, errors, retries
        if not self.enabled:
            return
        now = self.clock()
        if self.tty:
            if now - self._drawn_at >= REDRAW_S:
                self._drawn_at = now
                self.stream.write("\r" + self.text() + "\x1b[K")
                self.stream.flush()
            return
        decile = self._tenth(last_line)
        if decile > self._decile or now - self._drawn_at >= PLAIN_EVERY_S:
            self._decile = max(decile, self._decile)
            self._drawn_at = now
            self._print(self.text())

    def text(self) -> str:
        elapsed = self.clock() - self.t0
        done = self.line - self.start_line
        rate = done / elapsed if elapsed > 0 else 0.0
        if self.total:
            left = max(self.total - self.line, 0)
            eta = clock_text(left / rate) if rate > 0 else "–"
            where = f"line {self.line:,}/{self.total:,} ({self.line / self.total:.0%})"
        else:
            eta, where = "–", f"line {self.line:,}"
        return (f"batch: {where}  {rate:,.0f} lines/s  ETA {eta}  errors {self.errors:,}  "
                f"retries {self.retries:,}")

    def _print(self, text: str) -> None:
        self._printed_at = self.line
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r" + self.text() + "\x1b[K\n")
            self.stream.flush()
        elif self._printed_at != self.line:  # the last position, unless just printed
            self._print(self.text())
