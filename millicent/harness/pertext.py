"""Per-text figures of a benchmark row whose requests carry batches (``bench --batch-size``).

A batch request answers N texts for one Lambda request fee, so beside requests/s and cost
per million requests a row reports texts/s and cost per million texts:

* ``throughput_tps`` = texts answered by successful measured requests / the measured window;
* ``cost_per_million_texts_usd`` = the priced requests' total cost / the texts they
  answered × 10⁶, by component — i.e. the row's cost per million requests × (priced
  requests / their texts); the same for the Lambda projection (warm requests only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from millicent.economics.cost import Cost
from millicent.harness.records import RequestRecord
from millicent.harness.rows import PerText, ResultRow
from millicent.harness.workload import PlannedRequest, Workload
from millicent.markdown import num, table, usd


def _scaled(cost: Cost | None, factor: float | None) -> Cost | None:
    if cost is None or factor is None:
        return None
    return cost.scaled(factor)


def _factor(records: Sequence[RequestRecord], workload: Workload) -> float | None:
    """Requests per text over ``records`` (None when they answered no text)."""
    texts = sum(workload.requests[r.index].texts for r in records)
    return len(records) / texts if texts else None


def add_per_text(row: ResultRow, records: Sequence[RequestRecord], workload: Workload) -> ResultRow:
    """Add the per-text figures (module docstring) to ``row``, summarised from ``records``."""
    ok = [r for r in records if r.phase == "measure" and r.ok]
    texts = sum(workload.requests[r.index].texts for r in ok)
    window = row.window_s or 0.0
    priced = [r for r in ok if r.duration_ms is not None]
    warm = [r for r in priced if not r.cold and r.cpu_ms is not None]
    projection = row.lambda_projection
    row.per_text = PerText(
        batch_size=workload.batch_size, texts=texts,
        texts_per_request=texts / len(ok) if ok else None,
        throughput_tps=texts / window if window > 0 else 0.0,
        cost_per_million_texts=_scaled(row.cost.per_million if row.cost else None,
                                       _factor(priced, workload)),
        lambda_projection_per_million_texts=_scaled(
            projection.cost_per_million if projection else None, _factor(warm, workload)))
    return row


def planned_workload(model: str, info: dict[str, Any]) -> Workload | None:
    """The texts per request of a saved run's batched workload (``plan.json``'s entry:
    ``requests``, ``texts``, ``batch_size``), to re-summarise its records; None for single
    requests (or a plan written before batches)."""
    size, texts, n = (int(info.get(k) or 0) for k in ("batch_size", "texts", "requests"))
    if size <= 1 or n < 1:
        return None
    counts = [size] * (n - 1) + [texts - size * (n - 1)]
    return Workload(model, str(info.get("source", "")),
                    tuple(PlannedRequest("", b"", c) for c in counts),
                    int(info.get("full_size") or texts), size)


def per_text_table(rows: Sequence[ResultRow]) -> str:
    """Requests and texts side by side: throughput and cost per million of each."""
    body = []
    for r in rows:
        pt = r.per_text
        c = pt.cost_per_million_texts if pt else None
        lam = pt.lambda_projection_per_million_texts if pt else None
        body.append([r.config, r.model, str(r.concurrency),
                     num(pt.texts_per_request if pt else None), num(r.throughput_qps),
                     num(pt.throughput_tps if pt else None), usd(r.cost_of("total") if r.cost else None),
                     usd(c.total if c else None), usd(c.compute if c else None),
                     usd(c.requests if c else None), usd(c.store if c else None),
                     usd(c.gateway if c else None), usd(lam.total if lam else None)])
    return table(["config", "model", "C", "texts / request", "requests/s", "texts/s",
                  "$ / M requests", "$ / M texts", "compute", "requests", "store", "gateway",
                  "$ / M texts on Lambda"], body)


def per_text_section(rows: Sequence[ResultRow]) -> list[str]:
    """The report section for rows of batch requests (none when every request held one text)."""
    if not any(r.per_text is not None and r.per_text.batch_size > 1 for r in rows):
        return []
    return ["## Per text (batch requests)\n\nEach request carries a batch of texts and pays "
            "one Lambda request fee: throughput and cost per million texts beside those per "
            "request. \"On Lambda\": the projection to the configured memory's CPU share "
            "(warm requests).\n\n" + per_text_table(rows)]
