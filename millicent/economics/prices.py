"""The price sheet: AWS list prices as data (``prices.json``), with their date and sources.

Prices are never constants in code: :func:`load_prices` reads the bundled sheet (or any
file in the same shape, ``--prices FILE``) into a :class:`PriceSheet` the cost model uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millicent.errors import ConfigError
from millicent.jsonfile import read_json_object

#: The sheet shipped with millicent (us-east-1, dated inside the file).
DEFAULT_PRICES = Path(__file__).with_name("prices.json")
#: AWS prices a month as 730 hours (365 days × 24 h / 12): every monthly figure uses it
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

ARCHES = ("x86_64", "arm64")
BILLINGS = ("1ms", "100ms")
GATEWAYS = ("url", "http", "rest", "none")
#: How the function is packaged: a zip on a managed runtime, or a container image.
PACKAGE_TYPES = ("zip", "image")

_ARCH_ALIASES = {"x86": "x86_64", "x86_64": "x86_64", "amd64": "x86_64", "arm64": "arm64",
                 "arm": "arm64", "aarch64": "arm64"}


def normalize_arch(arch: str) -> str:
    """``x86`` / ``amd64`` → ``x86_64``; ``arm`` / ``aarch64`` → ``arm64``."""
    try:
        return _ARCH_ALIASES[arch.lower()]
    except KeyError:
        raise ConfigError(f"unknown architecture {arch!r}; use x86_64 or arm64") from None


@dataclass(frozen=True)
class PriceSheet:
    """Typed view of a price sheet file. All prices in USD."""

    name: str
    date: str
    region: str
    sources: dict[str, str]
    notes: tuple[str, ...]
    lambda_usd_per_gb_second: dict[str, float]
    lambda_usd_per_million_requests: float
    billing_granularity_ms: dict[str, int]
    #: from this date on, the INIT phase of on-demand zip functions is billed as duration
    init_billed_since: dt.date
    mb_per_vcpu: int
    memory_mb_min: int
    memory_mb_max: int
    dynamodb_usd_per_million_rru: float
    dynamodb_usd_per_rcu_hour: float
    dynamodb_read_unit_bytes: int
    dynamodb_units_eventual: float
    dynamodb_units_strong: float
    gateway_usd_per_million: dict[str, float]
    #: SnapStart: snapshot cache per GB-second (active version), restore per GB restored
    snapstart_usd_per_gb_second_cache: float
    snapstart_usd_per_gb_restored: float
    snapstart_cache_minimum_hours: float
    #: provisioned concurrency per arch: GB-second allocated, GB-second of duration served
    provisioned_usd_per_gb_second_allocated: dict[str, float]
    provisioned_usd_per_gb_second_duration: dict[str, float]

    def provisioned_allocated(self, arch: str) -> float:
        """Provisioned-concurrency price per GB-second allocated for ``arch``."""
        return self.provisioned_usd_per_gb_second_allocated[normalize_arch(arch)]

    def provisioned_duration(self, arch: str) -> float:
        """Duration price per GB-second of invocations served by provisioned concurrency."""
        return self.provisioned_usd_per_gb_second_duration[normalize_arch(arch)]

    def init_billed(self, era: dt.date, package_type: str = "zip", provisioned: bool = False) -> bool:
        """Whether an INIT phase is billed as duration on ``era``'s rules.

        Always for container images and provisioned concurrency; for on-demand zip functions
        on managed runtimes only from :attr:`init_billed_since` on (free before). The billing
        unit has nothing to do with it.
        """
        if package_type not in PACKAGE_TYPES:
            raise ConfigError(f"unknown package type {package_type!r}; use one of {list(PACKAGE_TYPES)}")
        return package_type == "image" or provisioned or era >= self.init_billed_since

    def gb_second(self, arch: str) -> float:
        """Lambda duration price per GB-second for ``arch``."""
        return self.lambda_usd_per_gb_second[normalize_arch(arch)]

    def granularity_ms(self, billing: str) -> int:
        """Billing unit in ms for ``billing`` (``1ms`` today, ``100ms`` before Dec 2020)."""
        try:
            return self.billing_granularity_ms[billing]
        except KeyError:
            raise ConfigError(f"unknown billing {billing!r}; use one of {sorted(self.billing_granularity_ms)}") from None

    def gateway(self, kind: str) -> float:
        """Gateway price per million requests (``url`` = Lambda Function URL, free)."""
        try:
            return self.gateway_usd_per_million[kind]
        except KeyError:
            raise ConfigError(f"unknown gateway {kind!r}; use one of {sorted(self.gateway_usd_per_million)}") from None

    def to_dict(self) -> dict[str, Any]:
        """The identifying part of the sheet, for reports."""
        return {"name": self.name, "date": self.date, "region": self.region, "sources": self.sources}


def parse_date(value: Any, what: str) -> dt.date:
    """An ISO date (``2025-08-01``); ConfigError naming ``what`` otherwise."""
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{what} must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def _get(d: dict[str, Any], *path: str) -> Any:
    cur: Any = d
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            raise ConfigError(f"price sheet lacks {'.'.join(path)}")
        cur = cur[key]
    return cur


def _positive_map(raw: Any, what: str, allow_zero: bool = False) -> dict[str, float]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"price sheet: {what} must be a non-empty mapping")
    out: dict[str, float] = {}
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0 or (v == 0 and not allow_zero):
            name = f"{what}.{k}" if what else str(k)
            raise ConfigError(f"price sheet: {name} must be a positive number, got {v!r}")
        out[str(k)] = float(v)
    return out


def parse_prices(raw: dict[str, Any]) -> PriceSheet:
    """Validate a decoded price sheet; every missing or negative price is a ConfigError."""
    lam = _get(raw, "lambda")
    ddb = _get(raw, "dynamodb")
    gb_s = _positive_map(_get(lam, "usd_per_gb_second"), "lambda.usd_per_gb_second")
    missing = [a for a in ARCHES if a not in gb_s]
    if missing:
        raise ConfigError(f"price sheet: lambda.usd_per_gb_second lacks {missing}")
    gran = {k: int(v) for k, v in _positive_map(_get(lam, "billing_granularity_ms"),
                                                "lambda.billing_granularity_ms").items()}
    init_since = parse_date(_get(lam, "init_billed_since"), "price sheet: lambda.init_billed_since")
    scalars = {
        "lambda.usd_per_million_requests": _get(lam, "usd_per_million_requests"),
        "lambda.mb_per_vcpu": _get(lam, "mb_per_vcpu"),
        "dynamodb.usd_per_million_read_request_units": _get(ddb, "usd_per_million_read_request_units"),
        "dynamodb.usd_per_rcu_hour": _get(ddb, "usd_per_rcu_hour"),
        "dynamodb.read_unit_bytes": _get(ddb, "read_unit_bytes"),
    }
    _positive_map(scalars, "")
    snap = _positive_map(_get(lam, "snapstart"), "lambda.snapstart")
    for key in ("usd_per_gb_second_cache", "usd_per_gb_restored", "cache_minimum_hours"):
        if key not in snap:
            raise ConfigError(f"price sheet lacks lambda.snapstart.{key}")
    provisioned = {
        key: _positive_map(_get(lam, "provisioned", key), f"lambda.provisioned.{key}")
        for key in ("usd_per_gb_second_allocated", "usd_per_gb_second_duration")
    }
    for key, prices in provisioned.items():
        if any(a not in prices for a in ARCHES):
            raise ConfigError(f"price sheet: lambda.provisioned.{key} must price {list(ARCHES)}")
    return PriceSheet(
        name=str(raw.get("name", "prices")),
        date=str(_get(raw, "date")),
        region=str(raw.get("region", "")),
        sources={str(k): str(v) for k, v in _get(raw, "sources").items()},
        notes=tuple(str(n) for n in raw.get("notes", [])),
        lambda_usd_per_gb_second=gb_s,
        lambda_usd_per_million_requests=float(scalars["lambda.usd_per_million_requests"]),
        billing_granularity_ms=gran,
        init_billed_since=init_since,
        mb_per_vcpu=int(scalars["lambda.mb_per_vcpu"]),
        memory_mb_min=int(_get(lam, "memory_mb_min")),
        memory_mb_max=int(_get(lam, "memory_mb_max")),
        dynamodb_usd_per_million_rru=float(scalars["dynamodb.usd_per_million_read_request_units"]),
        dynamodb_usd_per_rcu_hour=float(scalars["dynamodb.usd_per_rcu_hour"]),
        dynamodb_read_unit_bytes=int(scalars["dynamodb.read_unit_bytes"]),
        dynamodb_units_eventual=float(_get(ddb, "units_per_eventually_consistent_read")),
        dynamodb_units_strong=float(_get(ddb, "units_per_strongly_consistent_read")),
        gateway_usd_per_million=_positive_map(_get(raw, "gateway", "usd_per_million_requests"),
                                              "gateway.usd_per_million_requests", allow_zero=True),
        snapstart_usd_per_gb_second_cache=snap["usd_per_gb_second_cache"],
        snapstart_usd_per_gb_restored=snap["usd_per_gb_restored"],
        snapstart_cache_minimum_hours=snap["cache_minimum_hours"],
        provisioned_usd_per_gb_second_allocated=provisioned["usd_per_gb_second_allocated"],
        provisioned_usd_per_gb_second_duration=provisioned["usd_per_gb_second_duration"],
    )


def load_prices(path: str | Path | None = None) -> PriceSheet:
    """Read a price sheet (default: the bundled ``prices.json``)."""
    return parse_prices(read_json_object(Path(path) if path else DEFAULT_PRICES, "price sheet"))
