"""What a batch job did and what it cost, per million texts, by component.

Every answer that reports its invocation's duration (the local platform's
``x-millicent-*`` headers, else the body's ``timings``) is priced with the cost model
(:func:`millicent.economics.cost.request_cost`) — refused batches and failed attempts too,
since Lambda bills them; a throttled request (429) never ran and costs nothing. The sum
is spread over the texts those requests answered. On the local platform (durations from
its headers, a full core per environment) the same invocations are also priced with their
CPU time stretched to the configured memory's share of a vCPU on Lambda
(:func:`millicent.economics.tuning.project_duration`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from millicent.economics.cost import MILLION, Cost, CostOptions, request_cost
from millicent.economics.prices import PriceSheet
from millicent.economics.tuning import project_duration
from millicent.harness.records import RequestRecord


def per_million_texts(total: Cost, texts: int) -> Cost | None:
    """``total`` USD spent on ``texts`` texts, per million texts (None without texts)."""
    return total.scaled(MILLION / texts) if texts > 0 else None


def cost_from_dict(d: dict[str, Any]) -> Cost:
    return Cost(float(d["compute"]), float(d["requests"]), float(d["store"]), float(d["gateway"]))


@dataclass
class Tally:
    """Counters and cost sums of one run (a *session*) of a job."""

    prices: PriceSheet
    options: CostOptions
    started: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    requests: int = 0  #: answers received, whatever their status (no answer: not counted)
    retries: int = 0
    retry_kinds: Counter[str] = field(default_factory=Counter)
    splits: int = 0
    cold_starts: int = 0
    requests_priced: int = 0  #: answers that reported their invocation's duration
    texts_priced: int = 0  #: texts answered by those requests
    cost: Cost = field(default_factory=Cost)
    projected: Cost = field(default_factory=Cost)
    #: whether every priced request could be projected (platform headers with CPU time)
    projectable: bool = True

    def answer(self, rec: RequestRecord, answered_texts: int) -> None:
        """Account one answer (``rec`` filled by :func:`millicent.harness.records.apply_response`)."""
        if rec.status:
            self.requests += 1
        if rec.cold:
            self.cold_starts += 1
        if rec.duration_ms is None:
            return
        usage = rec.usage()
        self.requests_priced += 1
        self.cost = self.cost + request_cost(usage, self.prices, self.options)
        self.texts_priced += answered_texts
        if rec.duration_source == "header" and usage.cpu_ms is not None:
            d = project_duration(usage.duration_ms, usage.cpu_ms, self.options.memory_mb,
                                 self.prices.mb_per_vcpu)
            self.projected = self.projected + request_cost(replace(usage, duration_ms=d),
                                                           self.prices, self.options)
        else:
            self.projectable = False

    def retry(self, status: int) -> None:
        self.retries += 1
        self.retry_kinds[str(status) if status else "no answer"] += 1

    def session(self, seconds: float, lines: int, ok: int, errors: int) -> dict[str, Any]:
        """This run as the journal keeps it (``lines`` = result lines it wrote)."""
        return {
            "started": self.started, "seconds": round(seconds, 3), "lines": lines, "ok": ok,
            "errors": errors, "requests": self.requests, "retries": self.retries,
            "retry_kinds": dict(sorted(self.retry_kinds.items())), "splits": self.splits,
            "cold_starts": self.cold_starts, "requests_priced": self.requests_priced,
            "texts_priced": self.texts_priced,
            "cost_usd": self.cost.to_dict(),
            "projected_cost_usd": self.projected.to_dict() if self.projectable else None,
            "options": self.options.to_dict(),
            "prices": {"name": self.prices.name, "date": self.prices.date},
        }
