"""What a deployment can cost at worst: the lines ``millicent deploy`` prints ("denial of wallet").

At the cap in force (the reservation, else the account's unreserved concurrency) every
environment may serve requests back to back. The ceiling — every request billed the 1 ms
minimum, 1,000 per second per environment — holds whatever the function does; at a measured
duration (``--duration-ms``) the worst case is what a flood of real requests costs. Prices
from the bundled sheet: compute at the function's memory and architecture, Lambda's request
charge, the gateway; DynamoDB reads of words outside the pack come on top (at most the
tokens a request may carry).
"""

from __future__ import annotations

from typing import Any

from millicent.deploy.stack import Deployment
from millicent.economics.cost import CostOptions, Usage, request_cost
from millicent.economics.prices import load_prices
from millicent.economics.worstcase import recommended_cap, worst_case


def bill_lines(result: Deployment, duration_ms: float | None,
               peak_qps: float = 10.0) -> tuple[list[str], dict[str, Any]]:
    """The printed lines and the record's ``bill`` section."""
    prices = load_prices()
    o = result.options
    opts = CostOptions(memory_mb=o.memory_mb, arch=o.target.arch, gateway=o.gateway, store="none")
    cap = result.cap
    if cap is None:
        return ["worst case: unknown (the account's concurrency was not read)"], {}
    n, source = cap
    ceiling = worst_case(n, source, 1.0, request_cost(Usage(duration_ms=1.0), prices, opts))
    lines = [f"cap in force: {n:,} concurrent executions ({source})",
             f"{ceiling.sentence()} — the ceiling: every request billed the 1 ms minimum"]
    summary: dict[str, Any] = {"cap": n, "cap_source": source, "ceiling": ceiling.to_dict(),
                               "prices": prices.to_dict()}
    if duration_ms is not None:
        at = worst_case(n, source, duration_ms, request_cost(Usage(duration_ms=duration_ms), prices, opts))
        rec = recommended_cap(peak_qps, duration_ms)
        at_rec = worst_case(rec, "recommended", duration_ms,
                            request_cost(Usage(duration_ms=duration_ms), prices, opts))
        lines += [f"{at.sentence()} — at the measured duration",
                  f"recommended cap: --reserved-concurrency {rec} (throttles ≤ 0.1 % of random "
                  f"arrivals at {peak_qps:g} requests/s of {duration_ms:g} ms; worst case "
                  f"${at_rec.per_month_usd:,.0f} per month)"]
        summary.update(at_measured_duration=at.to_dict(), recommended_cap=rec, peak_qps=peak_qps)
    else:
        lines.append("recommended cap: measure the duration (`millicent bench --endpoint URL`, then "
                     "`millicent cost --results DIR`) or pass --duration-ms MS")
    lines.append("plus DynamoDB reads of words outside the pack"
                 + ("; with --auth iam only this account's signed requests are served"
                    if o.auth == "iam" else ""))
    return lines, summary
