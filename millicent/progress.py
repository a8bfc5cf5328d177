"""The one progress display of the tool, on stderr: loads, benchmarks, training, batch jobs.

On a terminal it is a tqdm bar (done/total, rate, ETA, and the counters given — errors,
retries, the running loss) redrawn in place; without tqdm installed (it comes with the
tooling extras), a line redrawn in place. Elsewhere — a CI log, a pipe, a test capturing
stderr — it prints plain lines: one at each tenth of a known total (or every 30 s when
the total is unknown or progress is slow) and one at the end, or only the
end (``plain="end"``: one line per training epoch). ``enabled=False`` (``--no-progress``,
``--quiet``) shows nothing.

Tooling only: the function never imports it (the store's loader takes a display from its
caller, see :class:`millicent.types.ProgressDisplay`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Literal, TextIO

from millicent.types import ProgressFactory

#: a terminal line is redrawn at most this often (drawing must not slow the work down)
REDRAW_S = 0.2
#: without a terminal, a plain line at least this often (unknown total, slow progress)
PLAIN_EVERY_S = 30.0


def clock_text(seconds: float) -> str:
    """``h:mm:ss``."""
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Progress:
    """``with Progress("loading", total, unit="words") as p: p.advance(n)``."""

    def __init__(self, label: str, total: int | None = None, *, unit: str = "items",
                 initial: int = 0, enabled: bool = True, stream: TextIO | None = None,
                 plain: Literal["tenths", "end"] = "tenths",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled, self.plain = enabled, plain
        self.start = self.done = initial
        self.counters: dict[str, float] = {}
        self.clock = clock
        self.t0 = self._drawn_at = clock()
        self._tenth = self._tenths(initial)
        self._printed: int | None = None
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar: Any = self._tqdm() if enabled and self.tty else None

    def _tqdm(self) -> Any:
        try:
            from tqdm import tqdm
        except ImportError:  # the base install: a line redrawn by hand
            return None
        return tqdm(total=self.total, initial=self.done, desc=self.label, unit=_singular(self.unit),
                    file=self.stream, mininterval=REDRAW_S, dynamic_ncols=True, leave=True)

    def _tenths(self, done: int) -> int:
        return done * 10 // self.total if self.total else 0

    def advance(self, n: int = 1, **counters: float) -> None:
        """``n`` more done; ``counters`` (errors, retries, loss ...) replace the shown ones."""
        self.update_to(self.done + n, **counters)

    def update_to(self, done: int, **counters: float) -> None:
        """``done`` items done in all (a resumed job starts at ``initial``)."""
        step, self.done = done - self.done, done
        self.counters.update(counters)
        if not self.enabled:
            return
        if self._bar is not None:
            if self.counters:
                self._bar.set_postfix(self.counters, refresh=False)
            self._bar.update(step)
            return
        now = self.clock()
        if self.tty:
            if now - self._drawn_at >= REDRAW_S:
                self._drawn_at = now
                self._write("\r" + self.line() + "\x1b[K")
            return
        tenth = self._tenths(done)
        if self.plain == "tenths" and (tenth > self._tenth or now - self._drawn_at >= PLAIN_EVERY_S):
            self._tenth, self._drawn_at = max(tenth, self._tenth), now
            self._print(self.line())

    def line(self) -> str:
        """``label: word 10/100 (10%)  5 words/s  ETA 0:00:18  errors 0``."""
        elapsed = self.clock() - self.t0
        rate = (self.done - self.start) / elapsed if elapsed > 0 else 0.0
        noun = _singular(self.unit)
        if self.total:
            eta = clock_text(max(self.total - self.done, 0) / rate) if rate > 0 else "–"
            where = f"{noun} {self.done:,}/{self.total:,} ({self.done / self.total:.0%})"
        else:
            eta, where = "–", f"{noun} {self.done:,}"
        extra = "".join(f"  {k} {_number(v)}" for k, v in self.counters.items())
        speed = f"{rate:,.0f}" if rate >= 10 or rate == 0 else f"{rate:.2g}"  # slow: 0.47
        return f"{self.label}: {where}  {speed} {self.unit}/s  ETA {eta}{extra}"

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _print(self, text: str) -> None:
        self._printed = self.done
        self._write(text + "\n")

    def close(self, summary: str = "") -> None:
        """End the display (``summary``: appended to its last line, e.g. the dev metric);
        closing again does nothing."""
        if not self.enabled:
            return
        self.enabled = False
        tail = f" | {summary}" if summary else ""
        if self._bar is not None:
            if summary:
                self._bar.set_postfix_str(summary, refresh=False)
            self._bar.close()
        elif self.tty:
            self._write("\r" + self.line() + tail + "\x1b[K\n")
        elif self._printed != self.done or summary:  # the last position, unless just printed
            self._print(self.line() + tail)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def displays(enabled: bool = True, unit: str = "items") -> ProgressFactory | None:
    """What a job that takes a display factory is given (None: ``--quiet``, none)."""
    if not enabled:
        return None

    def make(label: str, total: int | None) -> Progress:
        return Progress(label, total, unit=unit)

    return make


def _singular(unit: str) -> str:
    """``lines`` → ``line``, ``batches`` → ``batch`` (the units the tool counts in)."""
    if unit.endswith(("ches", "shes", "xes", "sses")):
        return unit[:-2]
    return unit[:-1] if unit.endswith("s") else unit


def _number(v: float) -> str:
    return f"{v:,.4f}" if isinstance(v, float) and not v.is_integer() else f"{int(v):,}"
