"""The aggregated simulator: a month of traffic in seconds, by time step, vectorised.

Inside a step of length Δ arrivals are a Poisson process of rate λ and each request keeps
one environment busy for a service time of mean S, so the executions in flight N follow
Poisson(a = λS) (an M/G/∞ system: the distribution of S does not matter). Environments are
taken most-recently-used first, so the k-th environment is needed whenever N reaches k:

* the chance that N reaches level k during the step is
  ``q_k = 1 − P(N₀ < k) · exp(−λΔ · P(N = k − 1))`` (arrivals that find exactly k − 1
  busy cross the level; Poisson clumping);
* environment k is alive at the start of a step when level k was reached within the last
  idle-reclaim time T: ``1 − Π (1 − q_k)`` over those steps, averaged over the points of
  the idle-time distribution;
* a cold start at level k happens when the level is reached and its environment is not
  alive; the cold starts of a step are the sum over levels (provisioned levels are always
  alive);
* throttles: beyond the concurrency limit L an arrival that finds L executions in flight is
  refused — the Erlang loss formula B(L, a), exact for Poisson arrivals whatever S — and
  cold starts beyond the scaling rule's token bucket are refused too, with the requests that
  found every available environment busy.

Two passes: the second adds the longer busy time of the first pass's cold starts to a.
Levels are processed in blocks so memory stays small; everything else is numpy over steps.
The exact simulator (:mod:`millicent.plan.exact`) checks these approximations on small traces.
"""

from __future__ import annotations

import math

import numpy as np

from millicent.errors import missing_extra

try:
    from scipy.special import gammaln, pdtr, xlogy
except ImportError as exc:  # pragma: no cover - scipy is in the plan extra
    raise missing_extra("scipy", "plan") from exc

from millicent.plan.latency import mixture
from millicent.plan.outcome import Outcome
from millicent.plan.settings import SimSettings, billed_means, sized_provisioned
from millicent.traffic.shapes import Traffic

BLOCK = 64  #: levels per block
PASSES = 4  #: fixed-point passes for the busy time of cold starts
EPS = 1e-12


def reach(k: np.ndarray, a: np.ndarray, lam_dt: np.ndarray) -> np.ndarray:
    """P(the executions in flight reach level k during a step), broadcasting.

    The incomplete gamma function (``pdtr``) is costly, and for most (level, step) pairs the
    answer is 0 or 1 to double precision: far below the mean (more than 9 standard deviations)
    the level is always reached; far above it, when even ``λΔ · P(N = k − 1)`` bounds a
    chance below e⁻³⁵, never. Only the band between is computed.
    """
    k, a, lam_dt = np.broadcast_arrays(k, a, lam_dt)
    log_at = xlogy(k - 1, a) - a - gammaln(k)  # log P(N = k − 1)
    sure = (k - 1) < a - 9.0 * np.sqrt(a + 1.0)
    above = k - 1 > a
    # P(N ≥ k) ≤ P(N = k − 1)·a/(k − a) above the mean; the crossings add λΔ·P(N = k − 1)
    bound = log_at + np.log(np.maximum(lam_dt, 1.0) + np.where(above, a / np.maximum(k - a, 1e-9), 1e9))
    never = above & (bound < -35.0)
    out = np.where(sure, 1.0, 0.0)
    band = ~(sure | never)
    if band.any():
        kb, ab = k[band], a[band]
        below = pdtr(kb - 1, ab)  # P(N₀ ≤ k − 1)
        out[band] = np.clip(1.0 - below * np.exp(-lam_dt[band] * np.exp(log_at[band])), 0.0, 1.0)
    return out


def top_level(a: np.ndarray, lam_dt: np.ndarray, limit: int) -> int:
    """The highest level any step can reach with a chance above EPS (at most ``limit``)."""
    if not a.size or a.max() <= 0:
        return 0
    i = int(np.argmax(a + lam_dt * 1e-9))
    am = float(a[i])
    ks = np.arange(1, min(limit, int(am + 12 * math.sqrt(am) + 60)) + 1, dtype=float)
    q = reach(ks, np.full(ks.size, am), np.full(ks.size, float(lam_dt.max())))
    above = np.nonzero(q > EPS)[0]
    return int(ks[above[-1]]) if above.size else 1


def _always_reached(a: np.ndarray, top: int) -> int:
    """The highest level k whose P(N₀ ≥ k) exceeds 1 − EPS in every step."""
    am = float(a.min(initial=0.0))
    if am <= 0:
        return 0
    ks = np.arange(1, top + 1, dtype=float)
    # P(N₀ ≤ k − 1) grows with k, so the sure levels are a prefix
    return int(np.count_nonzero(pdtr(ks - 1, am) < EPS))


def _windows(s: SimSettings, step_s: float) -> list[int]:
    return [max(1, round(t / step_s)) for t in s.rules.idle.values_s]


def _block(ks: np.ndarray, weights: np.ndarray, a: np.ndarray, lam_dt: np.ndarray,
           windows: list[int], provisioned: int) -> tuple[np.ndarray, np.ndarray]:
    """(cold starts, environments alive at the start) per step, summed over levels ``ks``
    (each standing for ``weights`` levels)."""
    n = a.size
    q = reach(ks[:, None], a[None, :], lam_dt[None, :])
    cum = np.zeros((ks.size, n + 1))
    np.cumsum(np.log1p(-np.minimum(q, 1.0 - 1e-16)), axis=1, out=cum[:, 1:])
    alive = np.zeros_like(q)
    for w in windows:
        # log P(level not reached in the w steps before t) = cum[t] − cum[max(t − w, 0)]
        lagged = np.zeros_like(q)
        if w < n:
            lagged[:, w:] = cum[:, : n - w]
        alive += 1.0 - np.exp(cum[:, :n] - lagged)
    alive /= len(windows)
    alive[ks <= provisioned, :] = 1.0
    return ((q * (1.0 - alive)) * weights[:, None]).sum(axis=0), (alive * weights[:, None]).sum(axis=0)


def _levels(floor: int, top: int) -> tuple[np.ndarray, np.ndarray]:
    """The levels computed and how many each stands for. Neighbouring levels behave alike on
    the scale of the standard deviation √a, so above 64 levels every s-th is computed
    (s ≈ √top / 4) and stands for its s neighbours; below, every level."""
    stride = 1 if top <= 64 else max(1, int(math.sqrt(top) / 4))
    ks = np.arange(floor + 1, top + 1, stride, dtype=float)
    weights = np.minimum(stride, top + 1 - ks)
    return ks, weights


def cold_starts(a: np.ndarray, lam_dt: np.ndarray, s: SimSettings, step_s: float,
                provisioned: int) -> tuple[np.ndarray, np.ndarray]:
    """(cold starts, environments alive at the start) per step over every level."""
    top = max(top_level(a, lam_dt, s.rules.limit), provisioned)
    cold, alive = np.zeros(a.size), np.zeros(a.size)
    # levels the executions in flight never fall below: reached in every step, their
    # environments start once, in the first step, and stay (a shortcut, same result)
    floor = min(top, max(provisioned, _always_reached(a, top)))
    if floor:
        cold[0] += max(0, floor - provisioned)
        alive[1:] += floor
        alive[0] += provisioned
    windows = _windows(s, step_s)
    levels, weights = _levels(floor, top)
    for lo in range(0, levels.size, BLOCK):
        c, e = _block(levels[lo: lo + BLOCK], weights[lo: lo + BLOCK], a, lam_dt, windows,
                      provisioned)
        cold += c
        alive += e
    return cold, alive


def erlang_b(servers: np.ndarray | int, a: np.ndarray) -> np.ndarray:
    """Erlang's loss probability B(servers, a), elementwise (stable recursion)."""
    c = np.broadcast_to(np.asarray(servers, dtype=np.int64), a.shape)
    out = np.zeros(a.shape)
    # far below the limit the loss is nil: run the O(servers) recursion only near it
    busy = (a > 0) & (a > c - 12.0 * np.sqrt(np.maximum(c, 1)) - 12.0)
    idx = np.nonzero(busy)[0]
    if idx.size:
        av, cv = a[idx], c[idx]
        b = np.ones(idx.size)
        for k in range(1, int(cv.max()) + 1):
            step = k <= cv
            b = np.where(step, av * b / (k + av * b), b)
        out[idx] = b
    return out


def scaling(cold: np.ndarray, step_s: float, s: SimSettings) -> np.ndarray:
    """New environments the scaling rule's token bucket allows in each step."""
    rate = s.rules.bucket_rate
    # a step longer than the rule's window may use every window's allowance
    cap = max(float(s.rules.scale_environments), rate * step_s)
    if cold.max(initial=0.0) <= min(cap, rate * step_s):
        return cold  # never short of tokens: skip the sequential pass
    allowed = np.empty_like(cold)
    tokens = cap
    for i, need in enumerate(cold.tolist()):
        tokens = min(cap, tokens + rate * step_s) if i else tokens
        allowed[i] = min(need, tokens)
        tokens -= allowed[i]
    return allowed


def _demand(traffic: Traffic, s: SimSettings, provisioned: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offered load a, cold starts, environments alive) after the two passes."""
    lam = traffic.rates
    lam_dt = traffic.counts
    base = lam * s.times.warm_mean_s
    extra = max(0.0, s.first_busy_s - s.times.warm_mean_s)
    a = base
    for _ in range(PASSES):
        cold, alive = cold_starts(a, lam_dt, s, traffic.step_s, provisioned)
        # cold requests keep their environment busy longer (INIT or restore + first
        # invocation), which makes later arrivals of the step need more environments
        again = base + cold / traffic.step_s * extra
        # converged when the cold starts' extra busy time moved no step's load by 1 %
        if np.all(np.abs(again - a) <= 0.01 * np.maximum(a, 0.1)):
            break
        a = again
    return a, cold, alive


def _throttles(traffic: Traffic, s: SimSettings, a: np.ndarray, cold: np.ndarray,
               alive: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(throttled requests per reason, cold starts allowed) per step."""
    n = traffic.counts
    limit_loss = erlang_b(s.rules.limit, a)
    allowed = scaling(cold, traffic.step_s, s)
    short = cold - allowed > 0.5
    scale_loss = np.zeros_like(a)
    if short.any():
        # environments the rule let exist this step: the alive ones plus those it allowed
        servers = np.maximum(1, np.floor(alive[short] + allowed[short])).astype(np.int64)
        scale_loss[short] = np.maximum(0.0, erlang_b(servers, a[short]) - limit_loss[short])
    throttled = {s.rules.limit_reason: n * limit_loss, "scaling": n * scale_loss}
    return throttled, allowed


def simulate_aggregated(traffic: Traffic, s: SimSettings) -> Outcome:
    """Simulate one deployment option over ``traffic`` (module docstring)."""
    provisioned = sized_provisioned(traffic.peak_qps, s)
    a, cold, alive = _demand(traffic, s, provisioned)
    throttled, cold = _throttles(traffic, s, a, cold, alive)
    served = traffic.counts - sum(throttled.values())
    cold = np.minimum(cold, served)
    # provisioned environments are taken first: an ordered-entry system, whose first P
    # servers lose (pass on to on-demand) the share B(P, a) of the arrivals
    prov_served = served * (1.0 - erlang_b(provisioned, a)) if provisioned else np.zeros_like(served)
    warm_b, cold_b, restore_b = billed_means(s)
    on_demand_warm = float((served - cold - prov_served).sum())
    lat, weights = mixture(s.times.warm_latency_ms, s.first_latency_ms,
                           float((served - cold).sum()), float(cold.sum()))
    reads = served * s.store.keys_per_request
    keys = {k: served * share for k, share in s.store.key_shares[: s.hot_keys]}
    return Outcome(
        option=s.option, method="aggregated", step_s=traffic.step_s, requests=traffic.counts,
        cold=cold, throttled=throttled, environments=alive + cold,
        concurrency=np.minimum(a, s.rules.limit), latency_ms=lat, latency_weights=weights,
        billed_ms=on_demand_warm * warm_b + float(cold.sum()) * cold_b,
        restore_billed_ms=float(cold.sum()) * restore_b, provisioned=provisioned,
        provisioned_served=float(prov_served.sum()),
        provisioned_billed_ms=float(prov_served.sum()) * warm_b,
        store_reads=reads, key_reads=keys, warm_latency_ms=s.times.warm_latency_ms,
        cold_latency_ms=s.first_latency_ms)
