"""The exact simulator: every request, one at a time, as Lambda would place it.

Event-driven over the traffic's concrete arrival times (:func:`~millicent.traffic.shapes.arrival_times`):
finished executions free their environments (most recently used on top of a stack);
an arrival takes a provisioned environment if one is idle, else the most recently used idle
on-demand one that has not passed its own idle-reclaim time (drawn when it was created);
else it starts a new environment — a cold start — if fewer than the limit are in flight
and the scaling rule's token bucket has a token; else it is throttled, with the reason.
Each request's service time, latency and store keys are drawn from the profile's measured
requests (seeded). Meant for small traces (≈ 10⁵–10⁶ requests) and for checking the
aggregated simulator; it is plain Python, ≈ 10 µs per request.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from millicent.plan.outcome import Outcome
from millicent.plan.settings import SimSettings, billed, sized_provisioned
from millicent.traffic.shapes import Traffic, arrival_times


@dataclass
class _Pool:
    """Environments: when each was created, last used, its idle timeout and death."""

    limit: int
    created: list[float] = field(default_factory=list)
    last_used: list[float] = field(default_factory=list)
    idle_s: list[float] = field(default_factory=list)
    died: list[float] = field(default_factory=list)
    busy: list[tuple[float, int]] = field(default_factory=list)  # heap of (free at, env)
    idle_od: list[int] = field(default_factory=list)  # stack: most recently used on top
    idle_prov: list[int] = field(default_factory=list)
    provisioned: int = 0

    def new(self, t: float, idle_s: float) -> int:
        self.created.append(t)
        self.last_used.append(t)
        self.idle_s.append(idle_s)
        self.died.append(np.inf)
        return len(self.created) - 1

    def release_until(self, t: float) -> None:
        while self.busy and self.busy[0][0] <= t:
            free_at, env = heapq.heappop(self.busy)
            self.last_used[env] = free_at
            (self.idle_prov if env < self.provisioned else self.idle_od).append(env)

    def warm(self, t: float) -> int | None:
        """An idle environment for a request at ``t`` (reclaiming expired ones), or None."""
        if self.idle_prov:
            return self.idle_prov.pop()
        while self.idle_od:
            env = self.idle_od.pop()
            if t - self.last_used[env] < self.idle_s[env]:
                return env
            self.died[env] = self.last_used[env] + self.idle_s[env]
        return None

    def finish(self, end: float) -> None:
        for env in self.idle_od:
            self.died[env] = min(self.last_used[env] + self.idle_s[env], self.died[env])
        for env in range(self.provisioned):
            self.died[env] = end


@dataclass
class _Tokens:
    """Lambda's scaling rule as a token bucket."""

    capacity: float
    rate: float
    tokens: float
    at: float = 0.0

    def take(self, t: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (t - self.at) * self.rate)
        self.at = t
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class _Draws:
    """Per-request draws from the profile's measured requests."""

    warm: np.ndarray
    cold: np.ndarray
    restore: np.ndarray
    item: np.ndarray


def _draws(s: SimSettings, n: int) -> _Draws:
    rng = np.random.default_rng(s.seed + 1)
    items = len(s.store.request_keys) if s.store.request_keys else 1
    return _Draws(rng.integers(s.times.warm_duration_ms.size, size=n),
                  rng.integers(s.times.cold_duration_ms.size, size=n),
                  rng.integers(s.times.restore_ms.size, size=n), rng.integers(items, size=n))

#: request kinds
WARM, WARM_PROVISIONED, COLD, THROTTLED_LIMIT, THROTTLED_SCALING = range(5)


def _first_busy_s(s: SimSettings, d: _Draws) -> np.ndarray:
    """How long each request would keep a new environment busy (INIT or restore + invocation)."""
    t = s.times
    start = t.restore_ms[d.restore] if s.option == "snapstart" else t.cold_init_ms[d.cold]
    return (start + t.cold_duration_ms[d.cold]) / 1000.0


def _place(arrivals: np.ndarray, s: SimSettings, pool: _Pool, d: _Draws) -> tuple[np.ndarray, np.ndarray]:
    """(kind, busy seconds) of every request, in arrival order."""
    rng = np.random.default_rng(s.seed + 2)
    tokens = _Tokens(float(s.rules.scale_environments), s.rules.bucket_rate,
                     float(s.rules.scale_environments))
    warm_busy = (s.times.warm_duration_ms / 1000.0)[d.warm].tolist()
    first_busy = _first_busy_s(s, d).tolist()
    kinds = np.empty(arrivals.size, dtype=np.int8)
    busy_s = np.zeros(arrivals.size)
    for i, now in enumerate(arrivals.tolist()):
        pool.release_until(now)
        env = pool.warm(now)
        if env is not None:
            kinds[i] = WARM_PROVISIONED if env < pool.provisioned else WARM
            busy = warm_busy[i]
        elif len(pool.busy) >= pool.limit:
            kinds[i] = THROTTLED_LIMIT
            continue
        elif not tokens.take(now):
            kinds[i] = THROTTLED_SCALING
            continue
        else:
            env = pool.new(now, s.rules.idle.sample(rng))
            kinds[i] = COLD
            busy = first_busy[i]
        busy_s[i] = busy
        heapq.heappush(pool.busy, (now + busy, env))
    return kinds, busy_s


def _environments(pool: _Pool, steps: int, step_s: float) -> np.ndarray:
    """Environments alive at some time during each step."""
    diff = np.zeros(steps + 1)
    first = np.clip(np.floor(np.asarray(pool.created) / step_s), 0, steps - 1).astype(np.int64)
    last = np.clip(np.floor(np.minimum(np.asarray(pool.died), steps * step_s - 1e-9) / step_s),
                   0, steps - 1).astype(np.int64)
    np.add.at(diff, first, 1.0)
    np.add.at(diff, last + 1, -1.0)
    return np.cumsum(diff)[:steps]


def _store(s: SimSettings, step: np.ndarray, items: np.ndarray, steps: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Store reads per step and reads of the hottest keys, from each served request's keys."""
    top = [k for k, _ in s.store.key_shares[: s.hot_keys]]
    if s.store.request_keys is None:
        served = np.bincount(step, minlength=steps).astype(float)
        return served * s.store.keys_per_request, {k: served * sh for k, sh in s.store.key_shares[: s.hot_keys]}
    n_keys = np.array([len(k) for k in s.store.request_keys], dtype=float)
    reads = np.bincount(step, weights=n_keys[items], minlength=steps)
    hot = {}
    for key in top:
        has = np.array([key in k for k in s.store.request_keys])
        hot[key] = np.bincount(step[has[items]], minlength=steps).astype(float)
    return reads, hot


def simulate_exact(traffic: Traffic, s: SimSettings) -> Outcome:
    """Simulate one deployment option request by request (module docstring)."""
    arrivals = arrival_times(traffic, s.seed)
    d = _draws(s, arrivals.size)
    pool = _Pool(s.rules.limit, provisioned=sized_provisioned(traffic.peak_qps, s))
    for _ in range(pool.provisioned):
        pool.idle_prov.append(pool.new(0.0, np.inf))
    kinds, busy_s = _place(arrivals, s, pool, d)
    pool.finish(traffic.period_s)
    steps = traffic.steps
    step = np.minimum((arrivals / traffic.step_s).astype(np.int64), steps - 1)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(step[mask], minlength=steps).astype(float)

    t, g = s.times, s.granularity_ms
    cold = kinds == COLD
    ok = kinds <= COLD
    first = t.restore_latency_ms if s.option == "snapstart" else t.cold_latency_ms
    latency = np.where(cold, (t.cold_latency_ms - t.cold_init_ms)[d.cold]
                       + (t.restore_ms[d.restore] if s.option == "snapstart" else t.cold_init_ms[d.cold]),
                       t.warm_latency_ms[d.warm])
    init = t.cold_init_ms[d.cold] if s.init_billed and s.option != "snapstart" else 0.0
    warm_billed = billed(t.warm_duration_ms[d.warm], g)
    cold_billed = billed(t.cold_duration_ms[d.cold] + init, g)
    reads, hot = _store(s, step[ok], d.item[ok], steps)
    return Outcome(
        option=s.option, method="exact", step_s=traffic.step_s, requests=count(np.ones_like(ok)),
        cold=count(cold), throttled={s.rules.limit_reason: count(kinds == THROTTLED_LIMIT),
                                     "scaling": count(kinds == THROTTLED_SCALING)},
        environments=_environments(pool, steps, traffic.step_s),
        concurrency=np.bincount(step, weights=busy_s, minlength=steps) / traffic.step_s,
        latency_ms=latency[ok], latency_weights=np.ones(int(ok.sum())),
        billed_ms=float(warm_billed[kinds == WARM].sum() + cold_billed[cold].sum()),
        restore_billed_ms=float(billed(t.restore_ms[d.restore], g)[cold].sum()) if s.option == "snapstart" else 0.0,
        provisioned=pool.provisioned, provisioned_served=float((kinds == WARM_PROVISIONED).sum()),
        provisioned_billed_ms=float(warm_billed[kinds == WARM_PROVISIONED].sum()),
        store_reads=reads, key_reads=hot, request_steps=step[ok],
        warm_latency_ms=t.warm_latency_ms, cold_latency_ms=first)
