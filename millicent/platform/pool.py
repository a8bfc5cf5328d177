"""Lambda's scaling model as pure logic: which execution environment serves a request.

Rules (those of AWS Lambda, on-demand concurrency):

* an environment serves one request at a time;
* a request goes to a warm idle environment of its function when there is one (the most
  recently used, so surplus environments age out), otherwise a new environment starts
  (a *cold start*);
* the number of requests in flight across all functions (environments busy or starting)
  never exceeds ``max_concurrency``; past it the request is throttled
  (:class:`~millicent.errors.TooManyRequests`, Lambda's ``TooManyRequestsException``);
* so that local processes stay bounded too, a cold start at the process limit first
  evicts the least recently used idle environment of another function;
* an environment idle for ``idle_timeout_s`` or longer is stopped (scale to zero).

No processes, sockets or sleeping here: the clock is injected, so the unit tests drive
time by hand. :class:`~millicent.platform.platform.Platform` owns the side effects.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from millicent.errors import ConfigError, TooManyRequests

#: A monotonic clock in seconds (``time.monotonic`` in production, a fake in tests).
Clock = Callable[[], float]

H = TypeVar("H")


@dataclass(eq=False)
class Slot(Generic[H]):
    """One execution environment as the pool sees it; ``handle`` is the platform's object."""

    env_id: str
    function: str
    created: float
    last_used: float
    busy: bool = True
    invocations: int = 0
    handle: H | None = None


@dataclass
class Acquired(Generic[H]):
    """The pool's answer to a request: the slot to use and whether it is a cold start.

    ``evicted`` lists idle environments (of other functions) the caller must stop.
    """

    slot: Slot[H]
    cold: bool
    evicted: list[Slot[H]] = field(default_factory=list)


class Pool(Generic[H]):
    """Execution environments of all functions, and the decisions about them."""

    def __init__(
        self, max_concurrency: int, idle_timeout_s: float, clock: Clock = time.monotonic
    ) -> None:
        if max_concurrency < 1:
            raise ConfigError(f"max concurrency must be at least 1, got {max_concurrency}")
        if idle_timeout_s <= 0:
            raise ConfigError(f"idle timeout must be positive, got {idle_timeout_s}")
        self.max_concurrency = max_concurrency
        self.idle_timeout_s = idle_timeout_s
        self._clock = clock
        self._slots: list[Slot[H]] = []
        self._ids = itertools.count(1)

    # --- queries -----------------------------------------------------------------------
    def now(self) -> float:
        """The pool's clock."""
        return self._clock()

    @property
    def slots(self) -> list[Slot[H]]:
        """All live environments (a copy)."""
        return list(self._slots)

    def in_flight(self) -> int:
        """Requests being served or waiting for their environment to start."""
        return sum(1 for s in self._slots if s.busy)

    def count(self, function: str | None = None) -> int:
        """Live environments, of one function or of all."""
        return sum(1 for s in self._slots if function is None or s.function == function)

    def next_reap_in(self) -> float | None:
        """Seconds until the next idle environment expires, or None when none is idle."""
        idle = [s.last_used for s in self._slots if not s.busy]
        if not idle:
            return None
        return max(0.0, min(idle) + self.idle_timeout_s - self._clock())

    # --- decisions ---------------------------------------------------------------------
    def acquire(self, function: str) -> Acquired[H]:
        """Reserve an environment for one request of ``function``.

        Warm: the most recently used idle environment of the function. Cold: a new slot
        (``handle`` None — the caller starts the process). Raises TooManyRequests when
        ``max_concurrency`` requests are already in flight.
        """
        idle = [s for s in self._slots if s.function == function and not s.busy]
        if idle:
            warm = max(idle, key=lambda s: s.last_used)
            warm.busy = True
            warm.invocations += 1
            return Acquired(warm, cold=False)
        if self.in_flight() >= self.max_concurrency:
            raise TooManyRequests(
                f"Rate Exceeded: {self.max_concurrency} concurrent executions in flight",
                max_concurrency=self.max_concurrency,
            )
        evicted: list[Slot[H]] = []
        if len(self._slots) >= self.max_concurrency:
            # in_flight < max, so at least one idle environment (of another function) exists
            victim = min((s for s in self._slots if not s.busy), key=lambda s: s.last_used)
            self._slots.remove(victim)
            evicted.append(victim)
        now = self._clock()
        slot: Slot[H] = Slot(
            env_id=f"{function}-{next(self._ids)}",
            function=function,
            created=now,
            last_used=now,
            busy=True,
            invocations=1,
        )
        self._slots.append(slot)
        return Acquired(slot, cold=True, evicted=evicted)

    def release(self, slot: Slot[H]) -> None:
        """The request finished and the environment is healthy: it becomes warm and idle."""
        if slot in self._slots:
            slot.busy = False
            slot.last_used = self._clock()

    def remove(self, slot: Slot[H]) -> None:
        """The environment is gone (crashed, timed out, failed to start, stopped)."""
        if slot in self._slots:
            self._slots.remove(slot)

    def reap(self) -> list[Slot[H]]:
        """Remove and return the environments idle for ``idle_timeout_s`` or longer."""
        now = self._clock()
        expired = [
            s for s in self._slots if not s.busy and now - s.last_used >= self.idle_timeout_s
        ]
        for s in expired:
            self._slots.remove(s)
        return expired

    def drain(self) -> list[Slot[H]]:
        """Remove and return every environment (shutdown)."""
        out, self._slots = self._slots, []
        return out
