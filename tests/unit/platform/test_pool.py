"""Lambda's scaling rules as pure logic, driven by a fake clock (no processes, no sleeping)."""

from __future__ import annotations

import pytest

from millicent.errors import ConfigError, TooManyRequests
from millicent.platform.pool import Pool


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_first_request_is_cold_then_warm_reuse(clock: FakeClock) -> None:
    pool: Pool[str] = Pool(4, 300, clock)
    first = pool.acquire("kim")
    assert first.cold and first.slot.busy and first.evicted == []
    pool.release(first.slot)
    second = pool.acquire("kim")
    assert not second.cold
    assert second.slot is first.slot
    assert second.slot.invocations == 2


def test_busy_environment_is_never_shared(clock: FakeClock) -> None:
    pool: Pool[str] = Pool(4, 300, clock)
    a = pool.acquire("kim")
    b = pool.acquire("kim")  # a is busy: Lambda starts another environment
    assert b.cold and b.slot is not a.slot
    assert pool.count("kim") == 2 and pool.in_flight() == 2


def test_warm_pick_is_most_recently_used(clock: FakeClock) -> None:
    pool: Pool[str] = Pool(4, 300, clock)
    a, b = pool.acquire("kim").slot, pool.acquire("kim").slot
    pool.release(a)
    clock.advance(1)
    pool.release(b)
    assert pool.acquire("kim").slot is b  # so the surplus environment a can age out


def test_environments_are_per_function(clock: FakeClock) -> None:
    pool: Pool[str] = Pool(4, 300, clock)
    kim = pool.acquire("kim").slot
    pool.release(kim)
    sm = pool.acquire("sm")
    assert sm.cold and sm.slot.function == "sm"


def test_throttle_beyond_max_concurrency(clock: FakeClock) -> None:
    pool: Pool[str] = Pool(2, 300, clock)
    a = pool.acquire("kim")
    pool.acquire("sm")
    with pytest.raises(TooManyRequests) as info:
        pool.acquire("kim")
    assert info.value.status == 429
    pool.release(a.slot)
    assert not pool.acquire("kim").cold  # the released one serves the next request


def test_cold_start_at_process_limit_evicts_lru_idle_of_other_function(clock: FakeClock) -> None:
    pool: Pool[str] = Pool(2, 300, clock)
    s1 = pool.acquire("sm").slot
    clock.advance(1)
    s2 = pool.acquire("sm").slot
    pool.release(s1)
    clock.advance(1)
    pool.release(s2)
    got = pool.acquire("kim")
    assert got.cold
    assert got.evicted == [s1]  # least recently used idle environment
    assert pool.count() == 2 and pool.count("sm") == 1


def test_idle_environments_are_reaped_after_timeout(clock: FakeClock) -> None:
    pool: Pool[str] = Pool(4, 10, clock)
    a, b = pool.acquire("kim").slot, pool.acquire("kim").slot
    pool.release(a)
    assert pool.next_reap_in() == pytest.approx(10)
    clock.advance(9.999)
    assert pool.reap() == []
    clock.advance(0.001)
    assert pool.reap() == [a]
    assert pool.slots == [b]  # busy environments are never reaped, however old
    clock.advance(100)
    assert pool.reap() == []
    pool.release(b)
    clock.advance(10)
    assert pool.reap() == [b]
    assert pool.count() == 0 and pool.next_reap_in() is None
    assert pool.acquire("kim").cold  # scaled to zero: the next request is cold again


def test_use_resets_idle_timer(clock: FakeClock) -> None:
    pool: Pool[str] = Pool(4, 10, clock)
    a = pool.acquire("kim").slot
    pool.release(a)
    clock.advance(8)
    pool.acquire("kim")
    pool.release(a)
    clock.advance(8)
    assert pool.reap() == []


def test_removed_environment_is_replaced_by_a_cold_start(clock: FakeClock) -> None:
    pool: Pool[str] = Pool(4, 10, clock)
    a = pool.acquire("kim").slot
    pool.remove(a)  # crashed / timed out
    pool.release(a)  # a late release of a removed slot changes nothing
    assert pool.count() == 0
    assert pool.acquire("kim").cold


def test_drain_and_settings_checked(clock: FakeClock) -> None:
    pool: Pool[str] = Pool(4, 10, clock)
    pool.acquire("kim")
    pool.acquire("sm")
    assert len(pool.drain()) == 2 and pool.count() == 0
    with pytest.raises(ConfigError):
        Pool(0, 10, clock)
    with pytest.raises(ConfigError):
        Pool(1, 0, clock)
