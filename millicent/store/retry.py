"""Exponential backoff with full jitter, bounded by a deadline.

Every backend retries the same way: a throttled or partial answer waits
``uniform(0, min(cap, base * 2**attempt))`` seconds and tries again, until the next
wait would end past the deadline; then :class:`~millicent.errors.StoreUnavailable` is
raised. Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter") spreads
retries of concurrent clients so they do not hammer a throttled table in lockstep.

The clock and the sleep are injectable so the policy is unit-testable without sleeping.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from millicent.errors import StoreUnavailable


@dataclass
class Backoff:
    """One retry budget: create it when an operation starts, call :meth:`wait` per retry."""

    deadline_s: float
    base_s: float = 0.01
    cap_s: float = 0.5
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0
    started: float = -1.0

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    @property
    def deadline(self) -> float:
        return self.started + self.deadline_s

    def remaining(self) -> float:
        """Seconds left before the deadline (may be negative)."""
        return self.deadline - self.clock()

    def wait(self, what: str, cause: BaseException | None = None) -> None:
        """Sleep before the next retry, or raise :class:`StoreUnavailable` past the deadline.

        ``what`` says what kept failing (it ends up in the error message).
        """
        delay = self.rng.uniform(0.0, min(self.cap_s, self.base_s * (2.0**self.attempts)))
        self.attempts += 1
        remaining = self.remaining()
        if remaining <= 0 or delay >= remaining:
            # the last error says why (unreachable, timed out, throttled): the one thing an
            # operator reading a 503 needs first
            last = f"; last error: {_short(cause)}" if cause is not None else ""
            raise StoreUnavailable(
                f"{what}: still failing after {self.attempts} attempt{'s' if self.attempts != 1 else ''} "
                f"and {self.clock() - self.started:.2f}s (deadline {self.deadline_s:g}s){last}",
                attempts=self.attempts,
            ) from cause
        self.sleep(delay)


def _short(exc: BaseException, limit: int = 200) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
