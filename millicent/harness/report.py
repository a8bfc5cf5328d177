"""Result rows → markdown tables (the paper's shape, then the breakdown and the cost)."""

from __future__ import annotations

from collections.abc import Sequence

from millicent.economics.prices import PriceSheet
from millicent.harness.rows import ResultRow
from millicent.markdown import num, table, usd


def latency_table(rows: Sequence[ResultRow]) -> str:
    """The paper's table: per configuration, model and C — throughput, latency, $/M."""
    body = []
    for r in rows:
        lat = r.latency_ms
        errors = str(r.errors)
        if r.errors:
            errors += " (" + ", ".join(f"{k}: {v}" for k, v in r.error_kinds.items()) + ")"
        body.append([r.config, r.model, str(r.concurrency), str(r.requests), errors,
                     str(r.cold_starts), num(r.throughput_qps), num(lat.mean),
                     num(lat.p50), num(lat.p90), num(lat.p99), num(lat.max),
                     usd(r.cost.per_million.total if r.cost else None)])
    return table(["config", "model", "C", "requests", "errors", "cold", "throughput (q/s)",
                   "mean (ms)", "p50", "p90", "p99", "max", "$ / M queries"], body)


def breakdown_table(rows: Sequence[ResultRow]) -> str:
    """Mean server-side time per stage, CPU, cache hit rate and store traffic."""
    body = []
    for r in rows:
        b = r.breakdown_ms
        hit = r.cache_hit_rate
        body.append([r.config, r.model, str(r.concurrency), num(b.tokenize, 2),
                     num(b.fetch, 2), num(b.forward, 2), num(b.other, 2),
                     num(b.total, 2), num(r.cpu_ms, 2),
                     "–" if hit is None else f"{hit:.1%}", num(r.store.items_per_request, 2),
                     str(r.max_in_flight)])
    return table(["config", "model", "C", "tokenize (ms)", "fetch", "forward", "other",
                   "server total", "CPU", "cache hits", "store items / query", "max in flight"], body)


def cost_table(rows: Sequence[ResultRow]) -> str:
    """Cost per million queries by component, and without the fixed per-request charges."""
    body = []
    for r in rows:
        if r.cost is None:
            inst = r.instance_cost_per_million_usd
            body.append([r.config, r.model, str(r.concurrency),
                         "always-on instance" if inst is not None else "–"] + ["–"] * 5
                        + [usd(inst) if inst is not None else "–"])
            continue
        o, c = r.cost.options, r.cost.per_million
        body.append([r.config, r.model, str(r.concurrency),
                     f"{o.memory_mb} MB {o.arch} {o.billing} {o.gateway}",
                     num(r.cost.mean_billed_ms), usd(c.compute), usd(c.requests),
                     usd(c.store), usd(c.gateway), usd(c.total) + " / " + usd(c.variable)])
    return table(["config", "model", "C", "priced as", "billed ms", "compute", "requests",
                   "store", "gateway", "total / variable"], body)


def projection_table(rows: Sequence[ResultRow]) -> str | None:
    """Rows measured on the local platform, projected to their memory's CPU share on Lambda."""
    body = []
    for r in rows:
        p = r.lambda_projection
        if p is None:
            continue
        c = p.cost_per_million
        body.append([r.config, r.model, str(r.concurrency), str(p.memory_mb),
                     num(p.duration_ms.mean), num(p.latency_ms.p50),
                     num(p.latency_ms.p99), usd(c.compute),
                     usd(c.total) + " / " + usd(c.variable)])
    if not body:
        return None
    return table(["config", "model", "C", "memory (MB)", "duration mean (ms)", "p50 (ms)",
                  "p99 (ms)", "compute", "total / variable $/M"], body)


def notes(rows: Sequence[ResultRow], prices: PriceSheet, extra: Sequence[str] = ()) -> list[str]:
    """The footnotes a reader needs to interpret the tables."""
    out = [
        "Latency: client-side, successful warm requests of the measured phase only; warm-up "
        "requests are excluded, errors are counted and never averaged in, cold starts are "
        "counted in `cold` and summarised apart in results.json (`cold_latency_ms`).",
        "Percentiles: nearest rank (the smallest measured latency with at least p % of the "
        "requests at or below it).",
        "Throughput: successful requests / measured window (first measured send → last response).",
        f"Prices: {prices.name} dated {prices.date} (sources in results.json). "
        "Variable cost = compute + store, without Lambda's and the gateway's per-request charges.",
    ]
    seen: set[str] = set()
    for r in rows:
        for n in r.cost_notes:
            key = n.split(":")[0]
            if key not in seen:
                seen.add(key)
                out.append(f"{r.config}/{r.model}: {n}")
    out.extend(extra)
    return out


def render_report(rows: Sequence[ResultRow], prices: PriceSheet, title: str = "millicent benchmark",
                  header: Sequence[str] = (), extra_notes: Sequence[str] = (),
                  sections: Sequence[str] = ()) -> str:
    """The whole ``report.md``."""
    parts = [f"# {title}", ""]
    parts += list(header) + ([""] if header else [])
    parts += ["## Throughput, latency and cost per million queries", "", latency_table(rows), "",
              "## Server-side breakdown (means over successful requests)", "",
              breakdown_table(rows), "", "## Cost per million queries by component", "",
              cost_table(rows), ""]
    projected = projection_table(rows)
    if projected:
        parts += ["## Projected on AWS Lambda at the configured memory", "",
                  "The local platform gives each environment a full core; Lambda gives "
                  "memory / 1,769 MB of one vCPU. Each warm request's CPU time is stretched "
                  "accordingly (see `millicent cost` for other sizes).", "", projected, ""]
    for section in sections:
        parts += [section, ""]
    parts += ["## Notes", ""]
    parts += [f"- {n}" for n in notes(rows, prices, extra_notes)]
    return "\n".join(parts) + "\n"
