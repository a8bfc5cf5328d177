"""The plan: traffic × service profile × rules → every deployment option simulated and
priced, DynamoDB checked, the always-on alternative and the break-even rate.

``method="auto"`` simulates request by request (:mod:`.exact`) when the traffic has at most
:data:`EXACT_MAX_REQUESTS` requests, else by time step (:mod:`.aggregate`), in steps of a
minute when the period is longer than a day and the idle time allows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from millicent.economics.prices import PriceSheet
from millicent.errors import ConfigError
from millicent.plan.aggregate import simulate_aggregated
from millicent.plan.costs import Bill, CostSettings, Server, break_even_qps, option_bill
from millicent.plan.dynamodb_rules import DynamoDBRules
from millicent.plan.exact import simulate_exact
from millicent.plan.lambda_rules import LambdaRules
from millicent.plan.outcome import OPTIONS, Outcome
from millicent.plan.profile import ServiceProfile
from millicent.plan.service_times import ServiceTimes, service_times
from millicent.plan.settings import SimSettings
from millicent.plan.store_load import StoreResult, evaluate_store, hot_key_limit_qps
from millicent.traffic.shapes import DAY_S, Traffic

METHODS = ("auto", "aggregated", "exact")
EXACT_MAX_REQUESTS = 200_000


@dataclass(frozen=True)
class PlanSettings:
    """Everything the plan is asked, besides the traffic and the profile."""

    lam: LambdaRules
    ddb: DynamoDBRules
    prices: PriceSheet
    cost: CostSettings
    server: Server
    billing: str = "1ms"
    era: dt.date = field(default_factory=dt.date.today)
    projection: str = "lambda"
    method: str = "auto"
    provisioned: int = 0
    seed: int = 0


@dataclass
class OptionResult:
    outcome: Outcome
    store: StoreResult
    bill: Bill


@dataclass
class Plan:
    """What :func:`make_plan` produced."""

    traffic: Traffic
    simulated: Traffic
    profile: ServiceProfile
    times: ServiceTimes
    settings: PlanSettings
    method: str
    options: dict[str, OptionResult]
    notes: list[str]

    @property
    def break_even(self) -> float | None:
        bill = self.options["on-demand"].bill
        return break_even_qps(bill.total / bill.served, self.settings.server) if bill.served else None

    @property
    def hot_key_limit_qps(self) -> float | None:
        if self.settings.cost.store != "dynamodb":
            return None
        return hot_key_limit_qps(self.profile.store, self.settings.ddb)


def init_billed(prices: PriceSheet, era: dt.date, billing: str) -> bool:
    """Whether an on-demand zip function's INIT is billed in ``era`` (the price sheet's
    rule; older sheets said it per billing unit)."""
    rule = getattr(prices, "init_billed", None)
    if callable(rule):
        return bool(rule(era))
    since = getattr(prices, "init_billed_since", None)
    if since is not None:
        return era >= since
    return bool(rule.get(billing, True)) if isinstance(rule, dict) else True


def choose_method(traffic: Traffic, s: PlanSettings) -> tuple[str, Traffic]:
    """The simulator and the step it runs at (module docstring)."""
    method = s.method
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; use one of {list(METHODS)}")
    if method == "auto":
        method = "exact" if traffic.total <= EXACT_MAX_REQUESTS else "aggregated"
    if method == "exact" and traffic.total > 20 * EXACT_MAX_REQUESTS:
        raise ConfigError(f"{traffic.total:,.0f} requests are too many for the exact simulator; "
                          "use --method aggregated")
    if (method == "aggregated" and traffic.step_s < 60 and traffic.period_s > DAY_S
            and s.lam.idle.min_s >= 120 and abs(60 % traffic.step_s) < 1e-9):
        return method, traffic.coarsened(60.0)
    return method, traffic


def _simulate(traffic: Traffic, method: str, sim: SimSettings) -> Outcome:
    return simulate_exact(traffic, sim) if method == "exact" else simulate_aggregated(traffic, sim)


def make_plan(traffic: Traffic, profile: ServiceProfile, s: PlanSettings) -> Plan:
    """Simulate and price every option over ``traffic``."""
    times = service_times(profile, s.cost.memory_mb, s.prices.mb_per_vcpu, s.projection)
    method, simulated = choose_method(traffic, s)
    notes = list(times.notes)
    if simulated is not traffic:
        notes.append(f"simulated in {simulated.step_s:g} s steps (the traffic had {traffic.step_s:g} s)")
    if method == "aggregated" and s.lam.idle.min_s < 2 * simulated.step_s:
        notes.append("the idle time is shorter than two steps: the aggregated simulation is "
                     "coarse here; --method exact is exact")
    base = SimSettings(times, s.lam, profile.store, s.prices.granularity_ms(s.billing),
                       init_billed(s.prices, s.era, s.billing), seed=s.seed)
    options = {}
    for option in OPTIONS:
        sim = base.with_option(option, s.provisioned if option == "provisioned" else 0)
        outcome = _simulate(simulated, method, sim)
        store = evaluate_store(outcome, profile.store, s.ddb, used=s.cost.store == "dynamodb")
        options[option] = OptionResult(outcome, store, option_bill(outcome, store, s.prices, s.cost,
                                                                   simulated.period_s))
    if profile.source.get("run_lru_hits"):
        notes.append("the benchmarked function had an LRU (some lookups were LRU hits); the "
                     "plan models none: every word missing the pack is read from the store")
    return Plan(traffic, simulated, profile, times, s, method, options, notes)


def summary(plan: Plan) -> dict[str, Any]:
    """The headline figures (also the top of results.json)."""
    od = plan.options["on-demand"]
    totals = od.outcome.totals()
    return {"monthly_usd": {k: v.bill.monthly() for k, v in plan.options.items()},
            "cold_start_share": totals["cold_start_share"],
            "throttle_share": totals["throttle_share"], "throttled": totals["throttled"],
            "latency_ms": totals["latency_ms"], "break_even_qps": plan.break_even,
            "hot_key_limit_qps": plan.hot_key_limit_qps}
