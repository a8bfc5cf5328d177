"""DynamoDB's rules as the planner applies them (values and sources in ``rules.json``).

* every read of an item costs ``units_per_read`` (0.5 for an eventually consistent read,
  millicent's) per started ``read_unit_bytes`` (4 KB), a missing key the minimum;
* one partition serves at most 3,000 read units/s and one item lives in one partition, so
  a single key can be read at most ``3000 / units`` times per second (6,000 for a ≤ 4 KB
  item read eventually consistent) — the *hot-key limit*;
* on-demand: a new table serves 12,000 read units/s at once; later it absorbs up to twice
  its previous peak at once, and a higher demand is throttled until it has lasted the
  scaling time (30 min), after which the table serves it; never beyond the table quota;
* provisioned: ``rcu`` read units/s plus up to 300 s of unused capacity as burst.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from millicent.economics.rules import rule_value, sources
from millicent.errors import ConfigError

MODES = ("on-demand", "provisioned")


@dataclass(frozen=True)
class DynamoDBRules:
    """The table's limits and how a read is counted."""

    mode: str
    provisioned_rcu: int
    partition_units_per_s: float
    initial_units_per_s: float
    peak_factor: float
    scale_s: float
    table_quota_units_per_s: float
    burst_s: float
    read_unit_bytes: int
    units_per_read: float
    sources: dict[str, str] = field(default_factory=dict)

    def units(self, item_bytes: float) -> float:
        """Read units of one read of an item of ``item_bytes`` (a missing key: the minimum)."""
        return max(1, math.ceil(item_bytes / self.read_unit_bytes)) * self.units_per_read

    def key_reads_limit(self, item_bytes: float) -> float:
        """Reads per second one key (one partition) can serve."""
        return self.partition_units_per_s / self.units(item_bytes)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "provisioned_rcu": self.provisioned_rcu if self.mode == "provisioned" else None,
                "partition_read_units_per_s": self.partition_units_per_s,
                "on_demand_initial_read_units_per_s": self.initial_units_per_s,
                "on_demand_peak_factor": self.peak_factor, "on_demand_scale_s": self.scale_s,
                "table_read_units_per_s_quota": self.table_quota_units_per_s,
                "provisioned_burst_s": self.burst_s, "units_per_read": self.units_per_read,
                "sources": self.sources}


def dynamodb_rules(raw: dict[str, Any], *, mode: str = "on-demand", rcu: int = 500,
                   read_unit_bytes: int = 4096, units_per_read: float = 0.5) -> DynamoDBRules:
    """The rules of ``raw["dynamodb"]``; how a read is counted comes from the price sheet."""
    if mode not in MODES:
        raise ConfigError(f"unknown DynamoDB mode {mode!r}; use one of {list(MODES)}")
    if rcu < 1:
        raise ConfigError("provisioned capacity must be at least 1 RCU")
    sec = raw["dynamodb"]
    return DynamoDBRules(
        mode=mode, provisioned_rcu=rcu,
        partition_units_per_s=rule_value(sec, "partition_read_units_per_s", "dynamodb"),
        initial_units_per_s=rule_value(sec, "on_demand_initial_read_units_per_s", "dynamodb"),
        peak_factor=rule_value(sec, "on_demand_peak_factor", "dynamodb"),
        scale_s=60.0 * rule_value(sec, "on_demand_scale_minutes", "dynamodb"),
        table_quota_units_per_s=rule_value(sec, "table_read_units_per_s_quota", "dynamodb"),
        burst_s=rule_value(sec, "provisioned_burst_seconds", "dynamodb"),
        read_unit_bytes=read_unit_bytes, units_per_read=units_per_read, sources=sources(sec))


def table_served(demand: np.ndarray, step_s: float, rules: DynamoDBRules) -> np.ndarray:
    """Read units per second the table serves in each step, for ``demand`` units per second
    (the rest is throttled). Sequential by nature: capacity depends on what was served."""
    out = np.empty_like(demand, dtype=float)
    if rules.mode == "provisioned":
        cap, burst_max = float(rules.provisioned_rcu), rules.provisioned_rcu * rules.burst_s
        burst = burst_max
        for i, d in enumerate(demand.tolist()):
            # unused capacity accrues as burst, up to burst_s seconds' worth
            extra = min(max(0.0, d - cap), burst / step_s)
            out[i] = min(d, cap) + extra
            burst = min(burst_max, burst + (cap - min(d, cap)) * step_s - extra * step_s)
        return out
    lag = max(1, round(rules.scale_s / step_s))
    values = demand.tolist()
    peak = 0.0  # highest rate served so far: served again at once, and doubled
    scaled = 0.0  # highest demand seen at least the scaling time ago: the table split for it
    for i, d in enumerate(values):
        if i >= lag:
            scaled = max(scaled, values[i - lag])
        cap = max(rules.initial_units_per_s, rules.peak_factor * peak, scaled)
        out[i] = min(d, cap, rules.table_quota_units_per_s)
        peak = max(peak, out[i])
    return out
