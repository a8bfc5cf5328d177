"""DynamoDB under the simulated traffic: read units, the hot key, and what throttles.

Every successful request reads its store keys (the words the frequent-word pack lacks; no
in-function LRU is modelled, so this is what the paper's design does and an upper bound for
millicent's LRU) with one BatchGetItem. From the simulation's reads per step:

* read units = reads × units per read (0.5 per started 4 KB, eventually consistent);
* the hot-key limit: the request rate above which the most requested key alone needs more
  than one partition's 3,000 read units/s — ``key_reads_limit / share of requests reading
  it`` (None when no key reaches the store); reads of any followed key beyond its limit
  are throttled;
* table capacity (:func:`~millicent.plan.dynamodb_rules.table_served`): on-demand's 2×
  previous peak and 30-minute scaling, or the provisioned RCU with burst capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from millicent.plan.dynamodb_rules import DynamoDBRules, table_served
from millicent.plan.outcome import Outcome
from millicent.plan.profile import StoreLoad


@dataclass(frozen=True)
class StoreResult:
    """DynamoDB's side of one simulated option."""

    used: bool
    read_units: float
    demand_units_per_s: np.ndarray
    served_units_per_s: np.ndarray
    hot_key: str | None
    hot_key_share: float
    hot_key_limit_qps: float | None
    hot_reads_per_s: np.ndarray
    throttled_hot_reads: float
    throttled_table_units: float
    units_per_read: float
    notes: list[str] = field(default_factory=list)
    #: reads throttled per step (hot keys beyond one partition, and table capacity)
    throttled_per_step: np.ndarray | None = None

    @property
    def throttled_reads(self) -> float:
        return self.throttled_hot_reads + self.throttled_table_units / self.units_per_read

    def to_dict(self) -> dict[str, Any]:
        return {"used": self.used, "read_units": self.read_units,
                "peak_read_units_per_s": float(self.demand_units_per_s.max(initial=0.0)),
                "hot_key": self.hot_key, "hot_key_share": self.hot_key_share,
                "hot_key_limit_qps": self.hot_key_limit_qps,
                "hot_key_peak_reads_per_s": float(self.hot_reads_per_s.max(initial=0.0)),
                "throttled_reads": {"hot_key": self.throttled_hot_reads,
                                    "table": self.throttled_table_units / self.units_per_read,
                                    "total": self.throttled_reads},
                "notes": list(self.notes)}


def hot_key_limit_qps(store: StoreLoad, rules: DynamoDBRules) -> float | None:
    """Requests per second above which the most requested store key throttles."""
    hot = store.hot_key
    if hot is None or hot[1] <= 0:
        return None
    return rules.key_reads_limit(store.item_bytes) / hot[1]


def evaluate_store(outcome: Outcome, store: StoreLoad, rules: DynamoDBRules,
                   used: bool = True) -> StoreResult:
    """DynamoDB reads, capacity and throttles of ``outcome`` (module docstring)."""
    dt = outcome.step_s
    reads = outcome.store_reads if outcome.store_reads is not None else np.zeros_like(outcome.requests)
    per_read = rules.units(store.item_bytes)
    zeros = np.zeros_like(outcome.requests, dtype=float)
    hot = store.hot_key
    if not used:
        return StoreResult(False, 0.0, zeros, zeros, hot[0] if hot else None,
                           hot[1] if hot else 0.0, hot_key_limit_qps(store, rules), zeros, 0.0,
                           0.0, per_read, ["the vectors are not in DynamoDB (--store none)"])
    demand = reads / dt * per_read
    served = table_served(demand, dt, rules)
    limit = rules.key_reads_limit(store.item_bytes)
    key_rates = [series / dt for series in outcome.key_reads.values()]
    hottest = np.max(np.vstack(key_rates), axis=0) if key_rates else zeros
    per_step = sum((np.maximum(0.0, r - limit) * dt for r in key_rates), zeros.copy())
    per_step = per_step + (demand - served) * dt / per_read
    throttled_hot = float(sum(np.maximum(0.0, r - limit).sum() * dt for r in key_rates))
    notes = []
    if hot is None:
        notes.append("no request reads the store: every word is in the pack")
    return StoreResult(True, float(reads.sum()) * per_read, demand, served,
                       hot[0] if hot else None, hot[1] if hot else 0.0,
                       hot_key_limit_qps(store, rules), hottest, throttled_hot,
                       float((demand - served).sum() * dt), per_read, notes, per_step)
