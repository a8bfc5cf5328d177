"""The cost model: what one query costs, from what was measured, by component.

Components of a query's price (all from a :class:`~millicent.economics.prices.PriceSheet`):

* ``compute``  Lambda duration: billed ms (rounded up to the billing unit; an INIT phase
  outside the invocation added when the era's rules bill it, see
  :meth:`PriceSheet.init_billed`) × memory in GB × price per GB-second; a SnapStart restore
  adds its billed restore duration and the restore fee per GB restored;
* ``requests`` Lambda's per-request charge;
* ``store``    DynamoDB reads: each item actually fetched from the table (cache hits cost
  nothing) rounded up to 4 KB separately, 0.5 unit per eventually consistent read, and a
  key that was not found still costs the minimum read; on-demand per unit, or provisioned
  capacity spread over the measured query rate;
* ``gateway``  API Gateway REST / HTTP API per request (a Function URL is free).

``variable`` is compute + store: what remains when the fixed per-request charges
(Lambda requests and the gateway) are left out, to compare configurations' own work.

INIT is counted exactly once: :attr:`Usage.duration_ms` is the invocation only and
:attr:`Usage.init_ms` an INIT phase (or snapshot restore) *outside* it
(:attr:`Usage.init_kind` says which); an INIT that ran inside the first invocation (lazy) is
already part of ``duration_ms`` and has no ``init_kind``. A REPORT line's own ``Billed
Duration`` (:attr:`Usage.billed_ms`) is the bill as AWS computed it and is priced as is,
unless an ``era`` or another billing unit asks to re-price it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from millicent.economics.prices import (
    GATEWAYS,
    PACKAGE_TYPES,
    PriceSheet,
    normalize_arch,
    parse_date,
)
from millicent.errors import ConfigError, InvalidInput

STORES = ("dynamodb", "none")
DYNAMODB_MODES = ("on-demand", "provisioned")
MILLION = 1_000_000
#: ``Usage.init_kind``: an INIT phase outside the invocation, or a SnapStart restore
INIT_KINDS = ("init", "restore")


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
    #: ISO date whose INIT-billing rules apply (free before 2025-08-01 for on-demand zip
    #: functions). None: the price sheet's date, and a REPORT line's Billed Duration as logged
    era: str | None = None
    #: "zip" (managed runtime) or "image" (container image: INIT always billed)
    package_type: str = "zip"

    def __post_init__(self) -> None:
        object.__setattr__(self, "arch", normalize_arch(self.arch))
        if self.era is not None:
            parse_date(self.era, "era")
        if self.package_type not in PACKAGE_TYPES:
            raise ConfigError(f"unknown package type {self.package_type!r}; use one of {list(PACKAGE_TYPES)}")
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

    def era_date(self, prices: PriceSheet) -> dt.date:
        """The date whose billing rules apply (the price sheet's own date by default)."""
        return parse_date(self.era or prices.date, "era")

    def init_billed(self, prices: PriceSheet) -> bool:
        """Whether an on-demand INIT phase is billed under these options."""
        return prices.init_billed(self.era_date(prices), self.package_type)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Usage:
    """What one successful request used, as measured (the inputs of the cost model)."""

    #: invocation duration in ms (server-reported; estimated from timings.total_ms otherwise);
    #: an INIT that ran inside the invocation (lazy) is part of it
    duration_ms: float
    #: an INIT phase or snapshot restore *outside* the invocation, in ms (0 when warm)
    init_ms: float = 0.0
    #: "init" | "restore" for ``init_ms``; None: warm, or the INIT was inside ``duration_ms``
    init_kind: str | None = None
    #: sizes in bytes of the items read from the store (cache hits are not here)
    item_bytes: tuple[int, ...] = ()
    #: keys asked of the store and not found (each still costs the minimum read)
    missing_items: int = 0
    #: CPU time of the invocation in ms (for memory projection), when known
    cpu_ms: float | None = None
    #: client-side latency in ms (for memory projection of what users see), when known
    latency_ms: float | None = None
    #: the billed duration as AWS logged it (a REPORT line's Billed Duration), when known
    billed_ms: int | None = None
    #: a SnapStart restore's Billed Restore Duration as logged, when known
    restore_billed_ms: int | None = None
    #: the memory the request ran with (a REPORT line's Memory Size); None: the options'
    memory_mb: int | None = None
    #: DynamoDB read units of the request when known only as a figure (REPORT lines carry
    #: no lookups); None: from ``item_bytes`` and ``missing_items``
    read_units: float | None = None

    def __post_init__(self) -> None:
        if self.init_kind is not None and self.init_kind not in INIT_KINDS:
            raise InvalidInput(f"unknown init kind {self.init_kind!r}; use one of {list(INIT_KINDS)}")


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


def usage_read_units(usage: Usage, prices: PriceSheet, options: CostOptions) -> float:
    """The request's read units: as given, or from the sizes of the items it read."""
    if usage.read_units is not None:
        return usage.read_units
    return read_units(usage.item_bytes, usage.missing_items, prices, options.strongly_consistent)


def as_logged(usage: Usage, options: CostOptions) -> bool:
    """Whether ``usage``'s logged Billed Duration is the bill under ``options`` (no era or
    billing unit asked to re-price it)."""
    return usage.billed_ms is not None and options.era is None and options.billing == "1ms"


def billed_duration_ms(usage: Usage, prices: PriceSheet, options: CostOptions) -> int:
    """Billed ms of one request: the invocation (+ an outside INIT when the era bills it) and,
    for a SnapStart restore, its billed restore duration."""
    gran = prices.granularity_ms(options.billing)
    if as_logged(usage, options):
        billed = int(usage.billed_ms or 0)
    else:
        init = usage.init_ms if usage.init_kind == "init" and options.init_billed(prices) else 0.0
        billed = billed_ms(usage.duration_ms + init, gran)
    if usage.init_kind == "restore":
        # the snapshot's restore itself is not billed; loading the runtime and the
        # after-restore hooks are (Billed Restore Duration)
        restored = usage.restore_billed_ms
        billed += restored if restored is not None else billed_ms(usage.init_ms, gran)
    return billed


def request_cost(usage: Usage, prices: PriceSheet, options: CostOptions) -> Cost:
    """Cost of one request (USD). Provisioned DynamoDB is not per request: see :func:`cost_per_million`."""
    gb = (usage.memory_mb or options.memory_mb) / 1024.0
    compute = billed_duration_ms(usage, prices, options) / 1000.0 * gb * prices.gb_second(options.arch)
    if usage.init_kind == "restore":
        compute += gb * prices.snapstart_usd_per_gb_restored
    store = 0.0
    if options.store == "dynamodb" and options.dynamodb_mode == "on-demand":
        units = usage_read_units(usage, prices, options)
        store = units * prices.dynamodb_usd_per_million_rru / MILLION
    return Cost(
        compute=compute,
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
    for u in usages:
        total = total + request_cost(u, prices, options)
        units += usage_read_units(u, prices, options)
        billed += billed_duration_ms(u, prices, options)
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
