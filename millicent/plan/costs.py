"""The bill of each deployment option, and of an always-on server sized for the peak.

Definitions match :mod:`millicent.economics.cost` (the price sheet is the same): billed
duration rounded up per request to the billing unit, INIT billed as the era's rule says,
$0.20 per million invocations (throttled requests are not invoked, but the gateway saw
them), DynamoDB reads rounded up to 4 KB per item at 0.5 unit each (a missing key the
same). Per option:

* ``on-demand``: duration (INIT included when billed) + requests + gateway + DynamoDB;
* ``snapstart``: cold starts are restores: the first invocation's duration, the billed
  restore duration, a restore fee per GB restored, and the snapshot cache per GB-second
  for the whole period (at least the sheet's minimum hours);
* ``provisioned``: N environments allocated for the whole period (per GB-second), the
  requests they serve at the lower provisioned duration price, the spill-over on demand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from millicent.economics.prices import SECONDS_PER_MONTH, PriceSheet
from millicent.plan.outcome import Outcome
from millicent.plan.store_load import StoreResult

MILLION = 1_000_000
MONTH_S = float(SECONDS_PER_MONTH)  #: AWS's month (millicent.economics.prices)


@dataclass(frozen=True)
class CostSettings:
    """How the deployment is priced."""

    memory_mb: int = 128
    arch: str = "x86_64"
    gateway: str = "url"
    store: str = "dynamodb"  #: or "none": the vectors bundled, no per-read price
    dynamodb_mode: str = "on-demand"
    provisioned_rcu: int = 500

    @property
    def gb(self) -> float:
        return self.memory_mb / 1024.0


@dataclass(frozen=True)
class Bill:
    """USD over the simulated period, by component."""

    option: str
    period_s: float
    served: float
    compute: float
    requests: float
    gateway: float
    dynamodb: float
    snapstart: float = 0.0
    provisioned: float = 0.0

    @property
    def total(self) -> float:
        return (self.compute + self.requests + self.gateway + self.dynamodb + self.snapstart
                + self.provisioned)

    @property
    def lambda_compute(self) -> float:
        """What Lambda bills for running the function: duration, SnapStart and provisioned."""
        return self.compute + self.snapstart + self.provisioned

    def monthly(self) -> float:
        return self.total * MONTH_S / self.period_s

    def per_million(self) -> float | None:
        return self.total / self.served * MILLION if self.served else None

    def to_dict(self) -> dict[str, Any]:
        scale = MONTH_S / self.period_s
        parts = {"compute": self.compute, "requests": self.requests, "gateway": self.gateway,
                 "dynamodb": self.dynamodb, "snapstart": self.snapstart,
                 "provisioned": self.provisioned}
        per_m = MILLION / self.served if self.served else None
        return {"period_usd": {**parts, "total": self.total},
                "monthly_usd": {**{k: v * scale for k, v in parts.items()}, "total": self.monthly()},
                "per_million_usd": None if per_m is None else
                {**{k: v * per_m for k, v in parts.items()}, "total": self.total * per_m,
                 "lambda_compute": self.lambda_compute * per_m}}


def _gb_s_cost(ms: float, gb: float, price: float) -> float:
    return ms / 1000.0 * gb * price


def option_bill(outcome: Outcome, store: StoreResult, prices: PriceSheet,
                cs: CostSettings, period_s: float) -> Bill:
    """The bill of one simulated option (module docstring)."""
    served = float(outcome.served.sum())
    gb = cs.gb
    compute = _gb_s_cost(outcome.billed_ms + outcome.restore_billed_ms, gb, prices.gb_second(cs.arch))
    if cs.store != "dynamodb":
        ddb = 0.0
    elif cs.dynamodb_mode == "provisioned":
        ddb = cs.provisioned_rcu * prices.dynamodb_usd_per_rcu_hour * period_s / 3600.0
    else:
        ddb = store.read_units * prices.dynamodb_usd_per_million_rru / MILLION
    snap = prov = 0.0
    if outcome.option == "snapstart":
        cached_s = max(period_s, prices.snapstart_cache_minimum_hours * 3600.0)
        snap = (gb * cached_s * prices.snapstart_usd_per_gb_second_cache
                + float(outcome.cold.sum()) * gb * prices.snapstart_usd_per_gb_restored)
    if outcome.option == "provisioned":
        prov = (outcome.provisioned * gb * period_s * prices.provisioned_allocated(cs.arch)
                + _gb_s_cost(outcome.provisioned_billed_ms, gb, prices.provisioned_duration(cs.arch)))
    return Bill(outcome.option, period_s, served, compute,
                served * prices.lambda_usd_per_million_requests / MILLION,
                float(outcome.requests.sum()) * prices.gateway(cs.gateway) / MILLION, ddb, snap, prov)


@dataclass(frozen=True)
class Server:
    """The always-on alternative: ``instances`` × ``usd_per_hour``."""

    usd_per_hour: float
    instances: int
    capacity_qps: float | None
    sized_by: str

    def cost(self, period_s: float) -> float:
        return self.instances * self.usd_per_hour * period_s / 3600.0

    def to_dict(self, period_s: float) -> dict[str, Any]:
        return {"instances": self.instances, "usd_per_hour": self.usd_per_hour,
                "capacity_qps": self.capacity_qps, "sized_by": self.sized_by,
                "period_usd": self.cost(period_s), "monthly_usd": self.cost(MONTH_S)}


#: the estimate of an instance's capacity when none is given: this many vCPUs, each busy
#: this share of the time with requests of the profile's CPU time
ESTIMATE_VCPUS, ESTIMATE_UTILISATION = 2, 0.7


def estimated_capacity(cpu_ms: float) -> float:
    """Requests/s an always-on 2-vCPU instance carries with the vectors in memory, estimated
    from a warm request's CPU time at one full vCPU (70 % busy)."""
    return ESTIMATE_VCPUS * ESTIMATE_UTILISATION * 1000.0 / max(cpu_ms, 1e-3)


def size_server(peak_qps: float, usd_per_hour: float, instances: int | None,
                capacity_qps: float | None, estimate: float | None = None) -> Server:
    """Instances to carry ``peak_qps``: as given, else ⌈peak / capacity⌉ with the given
    capacity or the ``estimate``."""
    if instances is not None:
        return Server(usd_per_hour, instances, capacity_qps, "given")
    how = "per instance"
    if (capacity_qps is None or capacity_qps <= 0) and estimate:
        capacity_qps, how = estimate, (f"per instance, estimated: {ESTIMATE_VCPUS} vCPUs "
                                       f"{ESTIMATE_UTILISATION:.0%} busy with the profile's CPU time")
    if capacity_qps is None or capacity_qps <= 0:
        return Server(usd_per_hour, 1, None, "one instance (no capacity given)")
    n = max(1, math.ceil(peak_qps / capacity_qps))
    return Server(usd_per_hour, n, capacity_qps, f"peak {peak_qps:,.1f} req/s / {capacity_qps:,.1f} {how}")


def break_even_qps(cost_per_request: float, server: Server) -> float | None:
    """Steady rate above which the server is cheaper than paying per request: the lowest
    rate at which the month's requests cost as much as the instances carrying it."""
    if cost_per_request <= 0:
        return None
    per_instance = server.usd_per_hour * MONTH_S / 3600.0
    if not server.capacity_qps:
        return server.instances * per_instance / (cost_per_request * MONTH_S)
    # with a capacity, more instances are needed as the rate grows: scan the steps
    for n in range(1, 100_000):
        q = n * per_instance / (cost_per_request * MONTH_S)
        if q <= n * server.capacity_qps:
            return max(q, (n - 1) * server.capacity_qps)
    return None
