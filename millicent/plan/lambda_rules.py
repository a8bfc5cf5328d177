"""Lambda's rules as the planner applies them (values and sources in ``rules.json``).

* concurrency: at most ``limit`` requests in flight for the function — its reserved
  concurrency when set, else the account's concurrency (default 1,000); past it a request
  is throttled (429, reason ``reserved`` / ``account``);
* scaling: each function adds at most 1,000 execution environments every 10 s, modelled as
  a token bucket (capacity 1,000, refilled at 100/s); a request that needs a new
  environment when none may be added is throttled (reason ``scaling``);
* one request per environment; a request takes the most recently used idle environment,
  else starts a new one (a cold start);
* an idle environment is reclaimed after an idle time drawn from :class:`IdleReclaim`
  (AWS does not publish it: the default is a public measurement, see ``rules.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from millicent.economics.rules import rule_value, sources
from millicent.errors import ConfigError
from millicent.traffic.units import format_duration, parse_duration

#: points used to represent a continuous idle-time distribution
IDLE_POINTS = 16


@dataclass(frozen=True)
class IdleReclaim:
    """The idle time after which an environment is reclaimed: equally likely points."""

    values_s: tuple[float, ...]
    spec: str

    @property
    def min_s(self) -> float:
        return min(self.values_s)

    @property
    def mean_s(self) -> float:
        return float(np.mean(self.values_s))

    def sample(self, rng: np.random.Generator) -> float:
        """One environment's idle timeout."""
        return float(self.values_s[int(rng.integers(len(self.values_s)))])

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "points_s": list(self.values_s), "mean_s": self.mean_s}


def parse_idle(spec: str) -> IdleReclaim:
    """``10m`` (fixed), ``uniform:LOW:HIGH`` or ``points:5m,10m,20m`` (equally likely)."""
    kind, _, rest = spec.partition(":")
    if not rest:
        return IdleReclaim((parse_duration(spec, "idle timeout"),), spec)
    if kind == "uniform":
        low_s, _, high_s = rest.partition(":")
        low, high = parse_duration(low_s, "idle LOW"), parse_duration(high_s, "idle HIGH")
        if not 0 < low <= high:
            raise ConfigError(f"idle timeout {spec!r}: need 0 < LOW ≤ HIGH")
        # the midpoints of IDLE_POINTS equal-probability slices
        pts = low + (high - low) * (np.arange(IDLE_POINTS) + 0.5) / IDLE_POINTS
        return IdleReclaim(tuple(float(p) for p in pts), spec)
    if kind == "points":
        points = [parse_duration(p, "idle point") for p in rest.split(",") if p.strip()]
        if not points:
            raise ConfigError(f"idle timeout {spec!r} names no points")
        return IdleReclaim(tuple(points), spec)
    raise ConfigError(f"idle timeout must be DURATION, uniform:LOW:HIGH or points:A,B,...; got {spec!r}")


@dataclass(frozen=True)
class LambdaRules:
    """The limits one function runs under."""

    account_concurrency: int
    reserved: int | None
    scale_environments: int
    scale_per_s: float
    idle: IdleReclaim
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def limit(self) -> int:
        """Requests the function may have in flight."""
        return self.reserved if self.reserved is not None else self.account_concurrency

    @property
    def limit_reason(self) -> str:
        return "reserved" if self.reserved is not None else "account"

    @property
    def bucket_rate(self) -> float:
        """New environments per second the scaling rule allows on average."""
        return self.scale_environments / self.scale_per_s

    def to_dict(self) -> dict[str, Any]:
        return {"account_concurrency": self.account_concurrency, "reserved": self.reserved,
                "limit": self.limit, "scaling": f"{self.scale_environments} environments per "
                f"{format_duration(self.scale_per_s)}", "idle_reclaim": self.idle.to_dict(),
                "sources": self.sources}


def lambda_rules(raw: dict[str, Any], *, account: int | None = None, reserved: int | None = None,
                 idle: str | None = None) -> LambdaRules:
    """The rules of ``raw["lambda"]`` with the user's overrides, checked as AWS checks them."""
    sec = raw["lambda"]
    acct = int(rule_value(sec, "account_concurrency", "lambda")) if account is None else account
    if acct < 1:
        raise ConfigError(f"account concurrency must be ≥ 1, got {acct}")
    unreserved = int(rule_value(sec, "unreserved_minimum", "lambda"))
    if reserved is not None and not 1 <= reserved <= max(acct - unreserved, 1):
        raise ConfigError(f"reserved concurrency {reserved} is not possible in an account of "
                          f"{acct}: AWS keeps {unreserved} executions unreserved "
                          f"(at most {max(acct - unreserved, 1)})")
    scaling = sec.get("scaling", {})
    envs, per = scaling.get("environments"), scaling.get("per_seconds")
    if not isinstance(envs, int | float) or not isinstance(per, int | float) or envs <= 0 or per <= 0:
        raise ConfigError("rules: lambda.scaling needs positive environments and per_seconds")
    idle_spec = idle if idle is not None else str(sec["idle_reclaim"]["default"])
    return LambdaRules(acct, reserved, int(envs), float(per), parse_idle(idle_spec), sources(sec))
