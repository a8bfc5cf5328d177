"""A dependency-free progress bar for training epochs (stderr).

On a terminal it redraws one line per epoch; elsewhere (CI logs, pipes) it prints only
the end-of-epoch summary, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``with Progress(total, label) as bar: bar.update(n, loss=...)``."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(1, total)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0
        self.t0 = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_draw = 0.0

    def update(self, n: int = 1, **info: float) -> None:
        """Advance by ``n`` steps; ``info`` values (e.g. the running loss) are shown."""
        self.done = min(self.total, self.done + n)
        now = time.perf_counter()
        if self.tty and (now - self._last_draw > 0.1 or self.done == self.total):
            self._last_draw = now
            self.stream.write("\r" + self._line(info))
            self.stream.flush()

    def _line(self, info: dict[str, float]) -> str:
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        extra = " ".join(f"{k} {v:.4f}" for k, v in info.items())
        elapsed = time.perf_counter() - self.t0
        return f"{self.label} [{bar}] {self.done}/{self.total} {elapsed:5.1f}s {extra}"

    def close(self, summary: str = "") -> None:
        """Finish the line with a summary (e.g. the dev metric)."""
        line = self._line({}) + (f" | {summary}" if summary else "")
        self.stream.write(("\r" if self.tty else "") + line + "\n")
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None and self.tty:
            self.stream.write("\n")
