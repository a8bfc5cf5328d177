"""Denial of wallet: the most a pay-per-request endpoint can cost, and a cap that bounds it.

A public endpoint can be flooded. Lambda then runs as many environments as the cap in force
allows — the function's reserved concurrency, else the account's unreserved concurrency —
each serving requests back to back. At a measured invocation duration ``d`` one environment
serves ``1000 / d`` requests per second, each at its cost per request (compute, Lambda's
request charge, the gateway, store reads), so::

    worst case per hour = cap × 3600 × (1000 / d) × cost per request

Compute is then the whole cap busy all hour; the per-request charges grow as ``d`` shrinks.
Every request bills at least 1 ms, so ``d = 1 ms`` (1,000 requests per second per
environment) is a ceiling no flood can pass whatever the function does.

The recommended cap serves a peak rate with random (Poisson) arrivals and throttles at most
:data:`THROTTLE_TARGET` of the requests: the smallest ``n`` with Erlang's B formula
``B(n, a) ≤ target`` at offered load ``a = peak qps × d / 1000`` (the classic telephone-trunk
sizing, which is what a concurrency cap is).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from millicent.economics.cost import Cost
from millicent.economics.prices import HOURS_PER_MONTH
from millicent.economics.rules import lambda_limit
from millicent.errors import ConfigError

#: AWS's default regional concurrency quota (new accounts may get far less: read yours),
#: from ``rules.json`` as the planner reads it
AWS_DEFAULT_ACCOUNT_CONCURRENCY = int(lambda_limit("account_concurrency"))
#: Lambda keeps this many executions unreserved in every account and region (``rules.json``)
UNRESERVED_MINIMUM = int(lambda_limit("unreserved_minimum"))
#: the share of requests the recommended cap may throttle at the peak rate
THROTTLE_TARGET = 0.001
#: default peak rate: this many times the mean rate of the monthly volume
DEFAULT_PEAK_TO_MEAN = 10.0


@dataclass(frozen=True)
class WorstCase:
    """The bill at ``cap`` environments busy all the time."""

    cap: int
    cap_source: str
    duration_ms: float  #: invocation duration each request takes (measured, or the 1 ms floor)
    requests_per_second: float
    per_request_usd: float
    per_hour_usd: float

    @property
    def per_month_usd(self) -> float:
        return self.per_hour_usd * HOURS_PER_MONTH

    def to_dict(self) -> dict[str, Any]:
        return {"cap": self.cap, "cap_source": self.cap_source, "duration_ms": self.duration_ms,
                "requests_per_second": self.requests_per_second,
                "per_request_usd": self.per_request_usd, "per_hour_usd": self.per_hour_usd,
                "per_month_usd": self.per_month_usd}

    def sentence(self) -> str:
        return (f"worst case at {self.cap} concurrent executions ({self.cap_source}), "
                f"{self.duration_ms:g} ms per request ({self.requests_per_second:,.0f} requests/s): "
                f"${self.per_hour_usd:,.2f} per hour, ${self.per_month_usd:,.0f} per month")


def worst_case(cap: int, cap_source: str, duration_ms: float, per_request: Cost) -> WorstCase:
    """The bill per hour with ``cap`` environments serving ``duration_ms`` requests back to back."""
    if cap < 1:
        raise ConfigError(f"a concurrency cap is at least 1, got {cap}")
    if not duration_ms > 0:
        raise ConfigError(f"the duration must be positive, got {duration_ms}")
    rate = cap * 1000.0 / duration_ms
    return WorstCase(cap, cap_source, duration_ms, rate, per_request.total,
                     rate * 3600 * per_request.total)


def erlang_b(servers: int, load: float) -> float:
    """Erlang's B: the share of arrivals finding all ``servers`` busy at ``load`` Erlangs."""
    b = 1.0
    for n in range(1, servers + 1):
        b = load * b / (n + load * b)
    return b


def recommended_cap(peak_qps: float, duration_ms: float, target: float = THROTTLE_TARGET) -> int:
    """The smallest cap that throttles at most ``target`` of random arrivals at ``peak_qps``."""
    if peak_qps < 0 or not duration_ms > 0:
        raise ConfigError("the peak rate must be ≥ 0 and the duration positive")
    load = peak_qps * duration_ms / 1000.0
    n = 1
    while erlang_b(n, load) > target:
        n += 1
    return n


def cap_for_budget(budget_usd_per_month: float, per_environment: WorstCase) -> int:
    """The largest cap whose worst case stays within a monthly budget (0: none does)."""
    one = per_environment.per_month_usd / per_environment.cap
    return math.floor(budget_usd_per_month / one) if one > 0 else 0
