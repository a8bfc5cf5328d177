"""Backoff policy: exponential growth with full jitter, bounded by the deadline."""

from __future__ import annotations

import random

import pytest

from millicent.errors import StoreUnavailable
from millicent.store.retry import Backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def test_delays_grow_exponentially_with_jitter_and_cap() -> None:
    clock = FakeClock()
    b = Backoff(1000.0, base_s=0.01, cap_s=0.5, clock=clock, sleep=clock.sleep,
                rng=random.Random(1))
    for _ in range(12):
        b.wait("x")
    bounds = [min(0.5, 0.01 * 2**i) for i in range(12)]
    assert all(0 <= s <= bound for s, bound in zip(clock.sleeps, bounds, strict=True))
    # jitter: not all equal to the bound, and later waits are on average longer
    assert sum(clock.sleeps[6:]) > sum(clock.sleeps[:6])
    assert len(set(clock.sleeps)) == 12


def test_raises_store_unavailable_once_the_deadline_would_pass() -> None:
    clock = FakeClock()
    b = Backoff(2.0, base_s=0.1, cap_s=1.0, clock=clock, sleep=clock.sleep, rng=random.Random(0))
    cause = RuntimeError("throttled")
    with pytest.raises(StoreUnavailable) as info:
        for _ in range(1000):
            b.wait("BatchGetItem", cause)
    assert clock.now - 100.0 <= 2.0  # never slept past the deadline
    assert "BatchGetItem" in info.value.message and "deadline 2s" in info.value.message
    assert info.value.__cause__ is cause
    assert info.value.status == 503


def test_shared_start_makes_one_deadline_for_several_chunks() -> None:
    clock = FakeClock()
    a = Backoff(1.0, clock=clock, sleep=clock.sleep, started=clock.now)
    clock.now += 5.0
    b = Backoff(1.0, clock=clock, sleep=clock.sleep, started=a.started)
    assert b.remaining() < 0
    with pytest.raises(StoreUnavailable):
        b.wait("late chunk")
