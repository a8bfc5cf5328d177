"""From raw records to one typed result row per scenario (pure functions, no I/O).

Rules, so the numbers mean one thing:

* only ``phase == "measure"`` records count; warm-up records are ignored;
* errors (non-2xx, transport failures, timeouts) are counted by kind and excluded from
  every latency, breakdown, cache and cost figure;
* ``latency_ms`` covers successful *warm* requests; cold starts inside the measured phase
  are reported apart (``cold``); a request whose cold flag is unknown counts as warm;
* throughput = successful requests / measured window (first measured send → last
  measured response);
* cost per million = mean cost of the successful measured requests (cold ones included,
  since they were paid for) × 10⁶;
* ``init``: every cold start of the scenario, warm-up included (the first C requests
  of a fresh platform are cold): Init Duration and client latency of those requests;
* ``lambda_projection``: for runs on the local platform (durations from its headers, one
  full core per environment), the same warm requests projected to the configured memory's
  CPU share on AWS Lambda (:mod:`millicent.economics.tuning`): what the latency and the cost
  would be there. A run against real Lambda already has that share and gets none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from millicent.economics.cost import CostOptions, CostReport, cost_per_million
from millicent.economics.prices import PriceSheet
from millicent.economics.stats import latency_stats, mean
from millicent.economics.tuning import MemoryOption, sweep_memory
from millicent.harness.records import RequestRecord
from millicent.harness.rows import (
    STAGES,
    Breakdown,
    InitSummary,
    ResultRow,
    StoreTraffic,
)
from millicent.harness.scenario import Scenario


def _stage(ok: Sequence[RequestRecord], stage: str) -> float | None:
    key = f"{stage}_ms"
    vals: list[float] = []
    for r in ok:
        t = r.timings
        if key == "other_ms" and key not in t and "total_ms" in t:
            # the remainder of the invocation that is none of the three stages
            parts = [t.get(k) for k in ("tokenize_ms", "fetch_ms", "forward_ms")]
            if all(p is not None for p in parts):
                vals.append(t["total_ms"] - sum(p for p in parts if p is not None))
            continue
        if key in t:
            vals.append(t[key])
    return mean(vals)


def _breakdown(ok: Sequence[RequestRecord]) -> Breakdown:
    return Breakdown(**{stage: _stage(ok, stage) for stage in STAGES})


def _hit_rate(ok: Sequence[RequestRecord]) -> float | None:
    words = sum(int(r.lookups.get("words", 0)) for r in ok)
    hits = sum(int(r.lookups.get("pack_hits", 0)) + int(r.lookups.get("lru_hits", 0)) for r in ok)
    return hits / words if words else None


def _store(ok: Sequence[RequestRecord]) -> StoreTraffic:
    words = sum(int(r.lookups.get("words", 0)) for r in ok)
    items = [int(r.lookups.get("store_items", 0)) for r in ok]
    sizes = [b for r in ok for b in r.lookups.get("store_item_bytes", []) or []]
    n = len(ok) or 1
    return StoreTraffic(
        words_per_request=words / n,
        items_per_request=sum(items) / n,
        mean_item_bytes=sum(sizes) / len(sizes) if sizes else None,
        calls_per_request=sum(int(r.lookups.get("store_calls", 0)) for r in ok) / n,
        retries=sum(int(r.lookups.get("store_retries", 0)) for r in ok))


def _init(records: Sequence[RequestRecord]) -> InitSummary:
    """Cold starts: the phase outside the invocation (Init or Restore Duration), an INIT
    that ran inside the first invocation (lazy), and what the client saw."""
    cold = [r for r in records if r.ok and r.cold]
    outside = [r.outside_init for r in cold]
    inside = [ms for r in cold if (ms := r.inside_init_ms) is not None]
    return InitSummary(cold_starts=len(cold),
                       restores=sum(kind == "restore" for kind, _ in outside),
                       init_ms=latency_stats(ms for kind, ms in outside if kind),
                       init_inside_ms=latency_stats(inside),
                       latency_ms=latency_stats(r.latency_ms for r in cold))


def _duration_source(ok: Sequence[RequestRecord]) -> str | None:
    sources = {r.duration_source for r in ok}
    if not sources or sources == {None}:
        return None
    return sources.pop() if len(sources) == 1 else "mixed"


def _cost(scenario: Scenario, ok: Sequence[RequestRecord], prices: PriceSheet, opts: CostOptions,
          throughput: float) -> tuple[CostReport | None, list[str]]:
    """The cost per million of the successful requests, and what to note about it."""
    priced = [r for r in ok if r.duration_ms is not None]
    cost: CostReport | None = None
    notes: list[str] = []
    if scenario.config.kind == "server":
        notes.append("always-on server: see the break-even, not a per-request price")
    elif priced:
        cost = cost_per_million([r.usage() for r in priced], prices, opts, throughput or None)
        notes.extend(cost.notes)
    served_mb = {r.memory_mb for r in ok if r.memory_mb is not None}
    if served_mb and served_mb != {opts.memory_mb}:
        notes.append(f"priced at {opts.memory_mb} MB; the platform reported "
                     f"{', '.join(str(m) for m in sorted(served_mb))} MB configured")
    if _duration_source(ok) in ("timings", "mixed") and scenario.config.kind != "server":
        notes.append("no x-millicent-duration-ms header: billed duration estimated from "
                     "the body's timings.total_ms")
    return cost, notes


def _projection(scenario: Scenario, warm: Sequence[RequestRecord], prices: PriceSheet,
                opts: CostOptions, source: str | None, throughput: float) -> MemoryOption | None:
    """Warm requests of the local platform projected to the configured memory on Lambda."""
    warm_priced = [r for r in warm if r.duration_ms is not None and r.cpu_ms is not None]
    if not (scenario.config.kind == "serverless" and source == "header" and warm_priced
            and prices.memory_mb_min <= opts.memory_mb <= prices.memory_mb_max):
        return None
    (option,) = sweep_memory([r.usage() for r in warm_priced], prices, opts,
                             memories_mb=[opts.memory_mb], measured_share=1.0,
                             query_rate_qps=throughput or None).options
    return option


def summarize(scenario: Scenario, records: Sequence[RequestRecord], prices: PriceSheet,
              options: CostOptions | None = None) -> ResultRow:
    """One result row for ``scenario`` from its raw ``records``."""
    meas = [r for r in records if r.phase == "measure"]
    ok = [r for r in meas if r.ok]
    errors = [r for r in meas if not r.ok]
    cold = [r for r in ok if r.cold]
    warm = [r for r in ok if not r.cold]
    window = (max(r.done_s for r in meas) - min(r.sent_s for r in meas)) if meas else 0.0
    throughput = len(ok) / window if window > 0 else 0.0
    kinds = Counter(str(r.status) if r.status else "no response" for r in errors)
    opts = options or scenario.config.cost_options()
    cost, cost_notes = _cost(scenario, ok, prices, opts, throughput)
    source = _duration_source(ok)
    return ResultRow(
        configuration=scenario.config, model=scenario.model, concurrency=scenario.concurrency,
        requests=len(meas), ok=len(ok), errors=len(errors),
        error_kinds=dict(sorted(kinds.items())), warmup_requests=len(records) - len(meas),
        window_s=window, throughput_qps=throughput,
        latency_ms=latency_stats(r.latency_ms for r in warm),
        cold_starts=len(cold), cold_latency_ms=latency_stats(r.latency_ms for r in cold),
        # every cold start of the scenario, warm-up included (that is where they happen):
        # Lambda's Init Duration, and the client latency of those first requests
        init=_init(records), breakdown_ms=_breakdown(ok),
        cpu_ms=mean(r.cpu_ms for r in ok if r.cpu_ms is not None),
        max_memory_mb=max((r.max_memory_mb for r in ok if r.max_memory_mb is not None),
                          default=None),
        max_in_flight=max((r.in_flight for r in meas), default=0),
        duration_source=source, cost=cost, cost_notes=cost_notes,
        lambda_projection=_projection(scenario, warm, prices, opts, source, throughput),
        cache_hit_rate=_hit_rate(ok), store=_store(ok))
