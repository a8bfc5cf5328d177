"""The cost model: what one query costs, from what was measured, by component.

Components of a query's price (all from a :class:`~millicent.bench.prices.PriceSheet`):

* ``compute``  Lambda duration: billed ms (rounded up to the billing unit, INIT included when
  the sheet says it is billed) × memory in GB × price per GB-second;
* ``requests`` Lambda's per-request charge;
* ``store``    DynamoDB reads: each item actually fetched from the table (cache hits cost
  nothing) rounded up to 4 KB separately, 0.5 unit per eventually consistent read, and a
  key that was not found still costs the minimum read; on-demand per unit, or provisioned
  capacity spread over the measured query rate;
* ``gateway``  API Gateway REST / HTTP API per request (a Function URL is free).

``variable`` is compute + store: what remains when the fixed per-request charges
(Lambda requests and the gateway) are left out, to compare configurations' own work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from millicent.bench.prices import GATEWAYS, PriceSheet, normalize_arch
from millicent.errors import ConfigError, InvalidInput

STORES = ("dynamodb", "none")
DYNAMODB_MODES = ("on-demand", "provisioned")
MILLION = 1_000_000


@dataclass(frozen=True)
class CostOptions:
    """How to price a run. Defaults: today's Lambda at 128 MB, x86_64, 1 ms billing, Function URL."""

    memory_mb: int = 128
    arch: str = "x86_64"
    gateway: str = "url"
    billing: str = "1ms"
    #: "dynamodb" prices store reads as DynamoDB; "none" for stores with no per-read price
    #: (SQLite bundled in the function, a self-run Redis)
    store: str = "dynamodb"
    dynamodb_mode: str = "on-demand"
    provisioned_rcu: int = 500
    strongly_consistent: bool = False
    #: None: as the price sheet says for this billing mode (INIT billed since 2025-08-01)
    bill_init: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "arch", normalize_arch(self.arch))
        if self.memory_mb < 1:
            raise ConfigError(f"memory must be positive, got {self.memory_mb} MB")
        if self.gateway not in GATEWAYS:
            raise ConfigError(f"unknown gateway {self.gateway!r}; use one of {list(GATEWAYS)}")
        if self.store not in STORES:
            raise ConfigError(f"unknown store pricing {self.store!r}; use one of {list(STORES)}")
        if self.dynamodb_mode not in DYNAMODB_MODES:
            raise ConfigError(f"unknown DynamoDB mode {self.dynamodb_mode!r}; use one of {list(DYNAMODB_MODES)}")
        if self.provisioned_rcu < 1:
            raise ConfigError("provisioned capacity must be at least 1 RCU")

    def with_(self, **changes: Any) -> CostOptions:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Usage:
    """What one successful request used, as measured (the inputs of the cost model)."""

    #: invocation duration in ms (server-reported; estimated from timings.total_ms otherwise)
    duration_ms: float
    #: INIT duration in ms when this request was a cold start, else 0
    init_ms: float = 0.0
    #: sizes in bytes of the items read from the store (cache hits are not here)
    item_bytes: tuple[int, ...] = ()
    #: keys asked of the store and not found (each still costs the minimum read)
    missing_items: int = 0
    #: CPU time of the invocation in ms (for memory projection), when known
    cpu_ms: float | None = None
    #: client-side latency in ms (for memory projection of what users see), when known
    latency_ms: float | None = None


@dataclass(frozen=True)
class Cost:
    """USD by component (per request, or per million requests after :meth:`scaled`)."""

    compute: float = 0.0
    requests: float = 0.0
    store: float = 0.0
    gateway: float = 0.0

    @property
    def total(self) -> float:
        return self.compute + self.requests + self.store + self.gateway

    @property
    def variable(self) -> float:
        """Total without the fixed per-request charges (Lambda requests, gateway)."""
        return self.compute + self.store

    def scaled(self, factor: float) -> Cost:
        return Cost(self.compute * factor, self.requests * factor, self.store * factor,
                    self.gateway * factor)

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.compute + other.compute, self.requests + other.requests,
                    self.store + other.store, self.gateway + other.gateway)

    def to_dict(self) -> dict[str, float]:
        return {"total": self.total, "compute": self.compute, "requests": self.requests,
                "store": self.store, "gateway": self.gateway, "variable": self.variable}


def billed_ms(duration_ms: float, granularity_ms: int) -> int:
    """Duration rounded up to the billing unit; every invocation bills at least one unit."""
    if duration_ms < 0 or math.isnan(duration_ms):
        raise InvalidInput(f"duration must be a non-negative number, got {duration_ms}")
    # round() first: 700.0000000001 from float arithmetic must not bill an extra unit
    units = math.ceil(round(duration_ms / granularity_ms, 6))
    return max(units, 1) * granularity_ms


def read_units(item_bytes: Sequence[int], missing_items: int, prices: PriceSheet,
               strongly_consistent: bool = False) -> float:
    """DynamoDB read units of one request's BatchGetItem calls.

    Each item is rounded up to ``read_unit_bytes`` (4 KB) *separately*; a key that was not
    found costs the minimum, one 4 KB read.
    """
    per_read = prices.dynamodb_units_strong if strongly_consistent else prices.dynamodb_units_eventual
    unit = prices.dynamodb_read_unit_bytes
    blocks = sum(max(1, math.ceil(b / unit)) for b in item_bytes) + missing_items
    return blocks * per_read


def _init_billed(prices: PriceSheet, options: CostOptions) -> bool:
    if options.bill_init is not None:
        return options.bill_init
    return prices.init_billed.get(options.billing, True)


def request_cost(usage: Usage, prices: PriceSheet, options: CostOptions) -> Cost:
    """Cost of one request (USD). Provisioned DynamoDB is not per request: see :func:`cost_per_million`."""
    gran = prices.granularity_ms(options.billing)
    duration = usage.duration_ms + (usage.init_ms if _init_billed(prices, options) else 0.0)
    gb_seconds = billed_ms(duration, gran) / 1000.0 * options.memory_mb / 1024.0
    store = 0.0
    if options.store == "dynamodb" and options.dynamodb_mode == "on-demand":
        units = read_units(usage.item_bytes, usage.missing_items, prices, options.strongly_consistent)
        store = units * prices.dynamodb_usd_per_million_rru / MILLION
    return Cost(
        compute=gb_seconds * prices.gb_second(options.arch),
        requests=prices.lambda_usd_per_million_requests / MILLION,
        store=store,
        gateway=prices.gateway(options.gateway) / MILLION,
    )


@dataclass(frozen=True)
class CostReport:
    """Cost per million queries of a set of measured requests, and how it was priced."""

    per_million: Cost
    options: CostOptions
    requests: int
    mean_billed_ms: float
    mean_read_units: float
    #: provisioned mode only: query rate the capacity was spread over, and whether the
    #: reads per second needed exceed the provisioned capacity (requests would throttle)
    query_rate_qps: float | None = None
    capacity_exceeded: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.per_million.to_dict(),
            "requests_priced": self.requests,
            "mean_billed_ms": self.mean_billed_ms,
            "mean_read_units": self.mean_read_units,
            "query_rate_qps": self.query_rate_qps,
            "capacity_exceeded": self.capacity_exceeded,
            "options": self.options.to_dict(),
            "notes": list(self.notes),
        }


def cost_per_million(usages: Sequence[Usage], prices: PriceSheet, options: CostOptions,
                     query_rate_qps: float | None = None) -> CostReport:
    """Mean cost of ``usages`` × one million, by component.

    ``query_rate_qps`` (the measured throughput) is needed only for provisioned DynamoDB,
    whose hourly price is spread over the queries served in that hour.
    """
    if not usages:
        raise InvalidInput("no successful requests to price")
    total = Cost()
    units = 0.0
    billed = 0
    gran = prices.granularity_ms(options.billing)
    init = _init_billed(prices, options)
    for u in usages:
        total = total + request_cost(u, prices, options)
        units += read_units(u.item_bytes, u.missing_items, prices, options.strongly_consistent)
        billed += billed_ms(u.duration_ms + (u.init_ms if init else 0.0), gran)
    n = len(usages)
    per_million = total.scaled(MILLION / n)
    mean_units = units / n
    notes: list[str] = []
    exceeded = False
    if options.store == "dynamodb" and options.dynamodb_mode == "provisioned":
        if not query_rate_qps or query_rate_qps <= 0:
            raise InvalidInput("provisioned DynamoDB pricing needs the query rate (throughput)")
        per_hour = options.provisioned_rcu * prices.dynamodb_usd_per_rcu_hour
        per_million = replace(per_million, store=per_hour / (3600.0 * query_rate_qps) * MILLION)
        # an RCU serves one 4 KB strongly consistent read (or two eventual ones) per second,
        # i.e. one of our read units per second
        exceeded = mean_units * query_rate_qps > options.provisioned_rcu
        notes.append(f"{options.provisioned_rcu} RCU provisioned (${per_hour:.4f}/h) spread over "
                     f"{query_rate_qps:.1f} queries/s")
        if exceeded:
            notes.append(f"needs {mean_units * query_rate_qps:.0f} read units/s > "
                         f"{options.provisioned_rcu} RCU: DynamoDB would throttle")
    return CostReport(per_million, options, n, billed / n, mean_units,
                      query_rate_qps if options.dynamodb_mode == "provisioned" else None,
                      exceeded, notes)


def instance_cost_per_million(usd_per_hour: float, query_rate_qps: float) -> float:
    """Cost per million queries of an always-on instance serving ``query_rate_qps``."""
    if usd_per_hour < 0 or query_rate_qps <= 0:
        raise InvalidInput("instance price must be ≥ 0 and the query rate > 0")
    return usd_per_hour / (3600.0 * query_rate_qps) * MILLION
