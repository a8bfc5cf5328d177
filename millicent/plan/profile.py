"""The service profile: what one request costs the function and the store, as measured.

A profile is read from a saved bench run (:mod:`millicent.plan.bench_profile`) or written by
hand as JSON. Schema (``format`` ``millicent-plan-profile/1``; every *distribution* is a
number — a constant — or a list of measured values; the lists of one phase are paired
request by request, scalars are repeated)::

    {
      "format": "millicent-plan-profile/1",
      "name": "kim on millicent serve",          free text
      "memory_mb": 128,                           memory the durations were measured at
      "measured_cpu_share": 1.0,                  vCPU share they were measured with (1.0 on
                                                  the local platform; M/1769 on Lambda at M MB)
      "warm": {"duration_ms": D, "cpu_ms": D|null, "overhead_ms": D},
      "cold": {"init_ms": D, "duration_ms": D, "cpu_ms": D|null, "overhead_ms": D},
      "restore": {"restore_ms": D} | null,        SnapStart restores, when measured
      "texts_per_request": 1,
      "store": {"request_keys": [["the", "film"], ...]}    the store keys of each request
            or {"keys_per_request": 3.2, "hot_key_share": 0.55},
      "item_bytes": 208                           mean size of a stored item
    }

``duration_ms`` is the invocation (billed) duration, ``init_ms`` the INIT phase outside it,
``overhead_ms`` what the client waits beyond both (gateway, network). ``cpu_ms`` lets the
planner stretch the CPU part of a duration to a Lambda memory size's CPU share
(:func:`millicent.economics.tuning.project_duration`); without it durations are used as given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from millicent.errors import ConfigError
from millicent.jsonfile import read_json_object

FORMAT = "millicent-plan-profile/1"
PHASE_FIELDS = {"warm": ("duration_ms", "cpu_ms", "overhead_ms"),
                "cold": ("init_ms", "duration_ms", "cpu_ms", "overhead_ms")}


@dataclass(frozen=True)
class Phase:
    """Paired per-request measurements of warm (or cold) requests, in ms."""

    duration_ms: np.ndarray
    overhead_ms: np.ndarray
    cpu_ms: np.ndarray | None = None
    init_ms: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.duration_ms.size)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"duration_ms": _out(self.duration_ms),
                               "cpu_ms": None if self.cpu_ms is None else _out(self.cpu_ms),
                               "overhead_ms": _out(self.overhead_ms)}
        if self.init_ms is not None:
            out["init_ms"] = _out(self.init_ms)
        return out


@dataclass(frozen=True)
class StoreLoad:
    """Which store keys the requests read (after the frequent-word pack)."""

    keys_per_request: float
    #: fraction of requests that read each key, most requested first (top keys only)
    key_shares: tuple[tuple[str, float], ...]
    item_bytes: float
    request_keys: tuple[tuple[str, ...], ...] | None = None

    @property
    def hot_key(self) -> tuple[str, float] | None:
        return self.key_shares[0] if self.key_shares else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"keys_per_request": self.keys_per_request,
                               "hot_key_share": self.key_shares[0][1] if self.key_shares else 0.0}
        if self.request_keys is not None:
            out["request_keys"] = [list(k) for k in self.request_keys]
        return out


def store_load(request_keys: Sequence[Sequence[str]], item_bytes: float, top: int = 32) -> StoreLoad:
    """Key statistics of a list of requests' store keys."""
    if not request_keys:
        raise ConfigError("a profile needs at least one request")
    uniq = [tuple(dict.fromkeys(keys)) for keys in request_keys]
    counts = Counter(k for keys in uniq for k in keys)
    n = len(uniq)
    shares = tuple((k, c / n) for k, c in sorted(counts.items(), key=lambda kc: (-kc[1], kc[0]))[:top])
    return StoreLoad(sum(len(k) for k in uniq) / n, shares, item_bytes, tuple(uniq))


@dataclass(frozen=True)
class ServiceProfile:
    """Warm and cold service times, the store keys per request, and where they came from."""

    name: str
    memory_mb: int
    measured_cpu_share: float
    warm: Phase
    cold: Phase
    store: StoreLoad
    restore_ms: np.ndarray | None = None
    texts_per_request: float = 1.0
    source: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "name": self.name, "memory_mb": self.memory_mb,
                "measured_cpu_share": self.measured_cpu_share, "warm": self.warm.to_dict(),
                "cold": self.cold.to_dict(),
                "restore": None if self.restore_ms is None else {"restore_ms": _out(self.restore_ms)},
                "texts_per_request": self.texts_per_request, "store": self.store.to_dict(),
                "item_bytes": self.store.item_bytes, "source": self.source}

    @property
    def cpu_ms_per_vcpu(self) -> float:
        """A warm request's mean CPU time at one full vCPU (its duration when CPU was not
        measured): what sizes an always-on server."""
        cpu = self.warm.cpu_ms if self.warm.cpu_ms is not None else self.warm.duration_ms
        return float(cpu.mean()) * self.measured_cpu_share

    def summary(self) -> dict[str, Any]:
        """Means and counts for reports (no sample lists)."""
        cold_init = self.cold.init_ms if self.cold.init_ms is not None else np.zeros(1)
        return {"name": self.name, "memory_mb": self.memory_mb,
                "measured_cpu_share": self.measured_cpu_share,
                "warm_requests": self.warm.n, "warm_duration_ms_mean": float(self.warm.duration_ms.mean()),
                "cold_starts": self.cold.n, "init_ms_mean": float(cold_init.mean()),
                "cold_duration_ms_mean": float(self.cold.duration_ms.mean()),
                "restore_ms_mean": None if self.restore_ms is None else float(self.restore_ms.mean()),
                "store_keys_per_request": self.store.keys_per_request,
                "hot_key": None if self.store.hot_key is None else
                {"key": self.store.hot_key[0], "share": self.store.hot_key[1]},
                "item_bytes": self.store.item_bytes, "source": self.source}


def _out(a: np.ndarray) -> float | list[float]:
    vals = [round(float(v), 4) for v in a]
    return vals[0] if len(set(vals)) == 1 else vals


def _dist(raw: Any, where: str) -> np.ndarray:
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise ConfigError(f"profile: {where} is an empty list")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) or v < 0:
            raise ConfigError(f"profile: {where} must hold numbers ≥ 0, got {v!r}")
        out.append(float(v))
    return np.asarray(out)


def _phase(raw: Any, name: str, required: tuple[str, ...]) -> Phase:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"profile: '{name}' must be an object with {list(PHASE_FIELDS[name])}")
    arrays: dict[str, np.ndarray | None] = {}
    for key in PHASE_FIELDS[name]:
        if raw.get(key) is None:
            if key in required:
                raise ConfigError(f"profile: {name}.{key} is required")
            arrays[key] = None if key == "cpu_ms" else np.zeros(1)
        else:
            arrays[key] = _dist(raw[key], f"{name}.{key}")
    n = max(a.size for a in arrays.values() if a is not None)
    for key, a in arrays.items():
        if a is not None and a.size not in (1, n):
            raise ConfigError(f"profile: {name}.{key} has {a.size} values, the other lists {n}")
        if a is not None and a.size == 1:
            arrays[key] = np.repeat(a, n)
    # duration is required and overhead defaulted above: both are arrays here
    dur, over = cast(np.ndarray, arrays["duration_ms"]), cast(np.ndarray, arrays["overhead_ms"])
    return Phase(dur, over, arrays["cpu_ms"], arrays.get("init_ms"))


def _store(raw: Mapping[str, Any], item_bytes: float) -> StoreLoad:
    store = raw.get("store")
    if not isinstance(store, Mapping):
        raise ConfigError("profile: 'store' must be an object with request_keys, or "
                          "keys_per_request and hot_key_share")
    keys = store.get("request_keys")
    if keys is not None:
        if not isinstance(keys, list) or not all(isinstance(k, list) and all(isinstance(w, str) for w in k)
                                                 for k in keys):
            raise ConfigError("profile: store.request_keys must be a list of lists of keys")
        return store_load(keys, item_bytes)
    per = _dist(store.get("keys_per_request", 0), "store.keys_per_request")[0]
    share = _dist(store.get("hot_key_share", 0), "store.hot_key_share")[0]
    if share > 1 or (share > 0 and per == 0):
        raise ConfigError("profile: store.hot_key_share must be in [0, 1] and need keys_per_request > 0")
    return StoreLoad(per, (("(hot key)", share),) if share > 0 else (), item_bytes)


def profile_from_dict(raw: Any, origin: str = "profile") -> ServiceProfile:
    """A profile from its JSON form (schema in the module docstring)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{origin}: a profile must be a JSON object")
    if raw.get("format", FORMAT) != FORMAT:
        raise ConfigError(f"{origin}: unknown profile format {raw.get('format')!r}; expected {FORMAT}")
    memory = raw.get("memory_mb", 128)
    share = raw.get("measured_cpu_share", 1.0)
    if not isinstance(memory, int) or memory < 1:
        raise ConfigError(f"{origin}: memory_mb must be a positive integer")
    if not isinstance(share, int | float) or not 0 < share <= 1:
        raise ConfigError(f"{origin}: measured_cpu_share must be in (0, 1]")
    restore = raw.get("restore")
    item_bytes = float(_dist(raw.get("item_bytes", 256), "item_bytes")[0])
    return ServiceProfile(
        name=str(raw.get("name", origin)), memory_mb=memory, measured_cpu_share=float(share),
        warm=_phase(raw.get("warm"), "warm", ("duration_ms",)),
        cold=_phase(raw.get("cold"), "cold", ("duration_ms", "init_ms")),
        store=_store(raw, item_bytes),
        restore_ms=None if restore is None else _dist(restore.get("restore_ms"), "restore.restore_ms"),
        texts_per_request=float(_dist(raw.get("texts_per_request", 1), "texts_per_request")[0]) or 1.0,
        source=dict(raw.get("source", {"file": origin})))


def read_profile(path: Path) -> ServiceProfile:
    """A hand-written (or saved) profile file."""
    return profile_from_dict(read_json_object(path, "profile"), str(path))
