"""One result row per scenario, typed: what :func:`~millicent.harness.summary.summarize`
computes from the raw records and every report, plot and comparison reads.

:meth:`ResultRow.to_dict` is the row of ``results.json`` (its keys are the file format:
``cost_per_million_usd``, ``lambda_projection``, the per-text figures flattened into the
row ...); code reads the typed fields, never a row by string keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from millicent.economics.cost import Cost, CostReport
from millicent.economics.prices import PriceSheet
from millicent.economics.stats import LatencyStats
from millicent.economics.tuning import MemoryOption
from millicent.harness.scenario import Configuration

#: the server-side stages of an invocation, as ``timings`` names them
STAGES = ("tokenize", "fetch", "forward", "other", "total")


@dataclass(frozen=True)
class Breakdown:
    """Mean server-side milliseconds per stage over the successful requests (None: not reported)."""

    tokenize: float | None = None
    fetch: float | None = None
    forward: float | None = None
    other: float | None = None  #: the invocation's remainder that is none of the three
    total: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {s: getattr(self, s) for s in STAGES}


@dataclass(frozen=True)
class StoreTraffic:
    """What the successful requests asked of the store, per request."""

    words_per_request: float
    items_per_request: float
    mean_item_bytes: float | None
    calls_per_request: float
    retries: int

    def to_dict(self) -> dict[str, Any]:
        return {"words_per_request": self.words_per_request,
                "items_per_request": self.items_per_request,
                "mean_item_bytes": self.mean_item_bytes,
                "calls_per_request": self.calls_per_request, "retries": self.retries}


@dataclass(frozen=True)
class InitSummary:
    """Every cold start of a scenario, warm-up included: the phase outside the invocation
    (Init or Restore Duration), a lazy INIT inside the first invocation, the client's wait."""

    cold_starts: int
    restores: int
    init_ms: LatencyStats
    init_inside_ms: LatencyStats
    latency_ms: LatencyStats

    def to_dict(self) -> dict[str, Any]:
        return {"cold_starts": self.cold_starts, "restores": self.restores,
                "init_ms": self.init_ms.to_dict(), "init_inside_ms": self.init_inside_ms.to_dict(),
                "latency_ms": self.latency_ms.to_dict()}


@dataclass(frozen=True)
class PerText:
    """The per-text figures of a row whose requests carry batches (:mod:`.pertext`)."""

    batch_size: int
    texts: int
    texts_per_request: float | None
    throughput_tps: float
    cost_per_million_texts: Cost | None
    lambda_projection_per_million_texts: Cost | None

    def to_dict(self) -> dict[str, Any]:
        def d(c: Cost | None) -> dict[str, float] | None:
            return None if c is None else c.to_dict()

        return {"batch_size": self.batch_size, "texts": self.texts,
                "texts_per_request": self.texts_per_request, "throughput_tps": self.throughput_tps,
                "cost_per_million_texts_usd": d(self.cost_per_million_texts),
                "lambda_projection_per_million_texts_usd": d(self.lambda_projection_per_million_texts)}


@dataclass
class ResultRow:
    """One scenario's figures (the rules they follow: :mod:`millicent.harness.summary`)."""

    configuration: Configuration
    model: str
    concurrency: int
    requests: int  #: measured requests
    ok: int
    errors: int
    error_kinds: dict[str, int]  #: HTTP status (or "no response") → count
    warmup_requests: int
    window_s: float
    throughput_qps: float
    latency_ms: LatencyStats  #: successful warm requests
    cold_starts: int
    cold_latency_ms: LatencyStats
    init: InitSummary
    breakdown_ms: Breakdown
    cpu_ms: float | None
    max_memory_mb: float | None
    max_in_flight: int
    duration_source: str | None  #: "header" | "timings" | "mixed" | None
    cost: CostReport | None  #: None for an always-on server, or nothing priced
    cost_notes: list[str]
    #: warm requests of the local platform projected to the configured memory on Lambda
    lambda_projection: MemoryOption | None
    cache_hit_rate: float | None
    store: StoreTraffic
    prices: PriceSheet | None = None  #: the sheet the row was priced with, once stamped
    #: an always-on server fully used at its throughput, per million queries
    instance_cost_per_million_usd: float | None = None
    per_text: PerText | None = None

    @property
    def config(self) -> str:
        """The configuration's name."""
        return self.configuration.name

    @property
    def label(self) -> str:
        """``config/model/C=n``: how reports name the row."""
        return f"{self.config}/{self.model}/C={self.concurrency}"

    def cost_of(self, component: str) -> float | None:
        """Cost per million queries of ``component`` (``total``, ``variable`` ...); an
        always-on instance has no per-request charges, so all of its cost is each of them."""
        if self.cost is not None:
            return float(getattr(self.cost.per_million, component))
        return self.instance_cost_per_million_usd

    def to_dict(self) -> dict[str, Any]:
        """The row of ``results.json``."""
        out: dict[str, Any] = {
            "config": self.config, "configuration": self.configuration.to_dict(),
            "model": self.model, "concurrency": self.concurrency, "requests": self.requests,
            "ok": self.ok, "errors": self.errors, "error_kinds": dict(self.error_kinds),
            "warmup_requests": self.warmup_requests, "window_s": self.window_s,
            "throughput_qps": self.throughput_qps, "latency_ms": self.latency_ms.to_dict(),
            "cold_starts": self.cold_starts, "cold_latency_ms": self.cold_latency_ms.to_dict(),
            "init": self.init.to_dict(), "breakdown_ms": self.breakdown_ms.to_dict(),
            "cpu_ms": self.cpu_ms, "max_memory_mb": self.max_memory_mb,
            "max_in_flight": self.max_in_flight, "duration_source": self.duration_source,
            "cost_per_million_usd": None if self.cost is None else self.cost.to_dict(),
            "cost_notes": list(self.cost_notes),
            "lambda_projection": _projection(self.lambda_projection),
            "cache_hit_rate": self.cache_hit_rate, "store": self.store.to_dict(),
        }
        if self.prices is not None:
            out["prices"] = {"name": self.prices.name, "date": self.prices.date}
        if self.instance_cost_per_million_usd is not None:
            out["instance_cost_per_million_usd"] = self.instance_cost_per_million_usd
        if self.per_text is not None:
            out.update(self.per_text.to_dict())
        return out


def _projection(option: MemoryOption | None) -> dict[str, Any] | None:
    """The row's Lambda projection as ``results.json`` has it (no target: nothing to meet)."""
    if option is None:
        return None
    return {k: v for k, v in option.to_dict().items() if k != "meets_target"}
