"""The plan written out: ``results.json`` (every figure), ``report.md`` (the tables) and
``series.csv`` (the on-demand option per simulated step — per minute for a month, per
second for short traces: arrivals, executions in flight, environments alive, cold starts,
throttles by reason, DynamoDB reads in total and of the hottest key, DynamoDB throttles,
p50/p99 with cold starts)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from millicent.economics.prices import HOURS_PER_MONTH
from millicent.jsonfile import write_json
from millicent.markdown import table
from millicent.plan.costs import MONTH_S
from millicent.plan.planner import Plan, summary
from millicent.traffic.units import format_duration


def _clean(v: Any) -> Any:
    """JSON-safe: NaN/inf → None, numpy scalars → Python numbers."""
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def option_dict(plan: Plan, name: str) -> dict[str, Any]:
    res = plan.options[name]
    totals = res.outcome.totals()
    return {**totals, "cost": res.bill.to_dict(), "dynamodb": res.store.to_dict(),
            "notes": res.outcome.notes}


def results(plan: Plan) -> dict[str, Any]:
    """Everything results.json holds."""
    s = plan.settings
    od = plan.options["on-demand"]
    return _clean({
        **summary(plan),
        "plan": {"traffic": plan.traffic.describe(), "period_s": plan.traffic.period_s,
                 "step_s": plan.simulated.step_s, "method": plan.method,
                 "projection": s.projection, "memory_mb": s.cost.memory_mb, "arch": s.cost.arch,
                 "gateway": s.cost.gateway, "billing": s.billing, "era": s.era.isoformat(),
                 "store": s.cost.store, "seed": s.seed, "months": plan.simulated.period_s / MONTH_S},
        "requests": {"total": plan.traffic.total, "peak_qps": plan.traffic.peak_qps,
                     "mean_qps": plan.traffic.mean_qps},
        "profile": plan.profile.summary(),
        "service_times_ms": {"warm_mean": float(plan.times.warm_duration_ms.mean()),
                             "cold_init_mean": float(plan.times.cold_init_ms.mean()),
                             "cold_first_invocation_mean": float(plan.times.cold_duration_ms.mean()),
                             "restore_mean": float(plan.times.restore_ms.mean())},
        "options": {name: option_dict(plan, name) for name in plan.options},
        "dynamodb": {**od.store.to_dict(), "mode": s.ddb.mode,
                     "hot_key_limit_qps": plan.hot_key_limit_qps},
        "always_on": s.server.to_dict(plan.simulated.period_s),
        "break_even": {"qps": plan.break_even, "against": "on-demand",
                       "cost_per_million_usd": od.bill.per_million()},
        "rules": {"lambda": s.lam.to_dict(), "dynamodb": s.ddb.to_dict()},
        "prices": s.prices.to_dict(),
        "notes": plan.notes,
    })


def _usd(v: float | None) -> str:
    if v is None:
        return "–"
    return f"${v:,.2f}" if abs(v) >= 1 else f"${v:,.4f}"


def _n(v: float | None, digits: int = 0) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def cost_table(data: dict[str, Any]) -> str:
    parts = ("compute", "requests", "gateway", "dynamodb", "snapstart", "provisioned", "total")
    body = [[name] + [_usd(o["cost"]["monthly_usd"][p]) for p in parts]
            + [_usd((o["cost"]["per_million_usd"] or {}).get("total"))]
            for name, o in data["options"].items()]
    server = data["always_on"]
    body.append([f"always-on ({server['instances']} × ${server['usd_per_hour']}/h)"]
                + ["–"] * 6 + [_usd(server["monthly_usd"]), "–"])
    return table(["option", *parts, "$ / M requests"], body, right_from=1)


def behaviour_table(data: dict[str, Any]) -> str:
    body = []
    for name, o in data["options"].items():
        thr = ", ".join(f"{k} {_n(v)}" for k, v in o["throttled"].items() if v >= 0.5) or "0"
        body.append([name, _n(o["requests"]), _n(o["cold_starts"]),
                     f"{100 * o['cold_start_share']:.4f} %", thr,
                     f"{100 * o['throttle_share']:.3f} %", _n(o["latency_ms"]["p50"], 1),
                     _n(o["latency_ms"]["p99"], 1), _n(o["peak_environments"], 1),
                     str(o["provisioned"]) if name == "provisioned" else "–"])
    return table(["option", "requests", "cold starts", "cold share", "throttled (why)",
                  "throttled share", "p50 (ms)", "p99 (ms)", "peak environments",
                  "provisioned"], body, right_from=1)


def render(plan: Plan, data: dict[str, Any]) -> str:
    """report.md."""
    p, d = data["plan"], data["dynamodb"]
    hot = d["hot_key_limit_qps"]
    lines = [
        "# Plan: Lambda + DynamoDB", "",
        f"Traffic: {p['traffic']}; simulated {p['method']} in {format_duration(p['step_s'])} steps. "
        f"Profile: {data['profile']['name']}. Priced at {p['memory_mb']} MB {p['arch']}, "
        f"{p['billing']} billing, gateway `{p['gateway']}`, store `{p['store']}` "
        f"({d['mode']}), era {p['era']}; prices {data['prices']['name']} {data['prices']['date']}.",
        "", f"## Monthly cost by component ({HOURS_PER_MONTH} h)", "", cost_table(data), "",
        f"Break-even: an always-on server ({data['always_on']['sized_by']}) is cheaper above "
        f"{_n(data['break_even']['qps'], 1)} req/s steady (on-demand at "
        f"{_usd(data['break_even']['cost_per_million_usd'])} per million).", "",
        "## Cold starts, throttles, latency", "", behaviour_table(data), "",
        "## DynamoDB", "",
        f"- read units: {_n(d['read_units'])}; peak {_n(d['peak_read_units_per_s'], 1)} units/s",
        f"- hottest store key: `{d['hot_key']}` read by {100 * d['hot_key_share']:.1f} % of requests; "
        + (f"it throttles above **{hot:,.0f} req/s** (one partition: "
           f"{data['rules']['dynamodb']['partition_read_units_per_s']:,.0f} read units/s)"
           if hot else "no key reaches the store: no hot-key limit"),
        f"- throttled reads: {_n(d['throttled_reads']['hot_key'])} on hot keys, "
        f"{_n(d['throttled_reads']['table'])} on table capacity", "",
        "## Notes", "", *[f"- {n}" for n in data["notes"]],
        f"- idle environments reclaimed after {data['rules']['lambda']['idle_reclaim']['spec']} "
        "(AWS does not publish this; see docs/plan.md for the measurements it rests on)",
    ]
    return "\n".join(lines) + "\n"


SERIES_COLUMNS = ("t_s", "requests_per_s", "executions_in_flight", "environments", "cold_starts",
                  "throttled_concurrency", "throttled_scaling", "dynamodb_reads_per_s",
                  "hot_key_reads_per_s", "dynamodb_throttled_reads", "p50_ms", "p99_ms")


def write_series(plan: Plan, path: Path) -> Path:
    """series.csv: the on-demand option per simulated step (module docstring of outcome)."""
    res = plan.options["on-demand"]
    o, st = res.outcome, res.store
    dt = o.step_s
    _, p50, p99 = o.latency_series(o.requests.size)
    limit = o.throttled.get(plan.settings.lam.limit_reason, np.zeros_like(o.requests))
    reads = o.store_reads if o.store_reads is not None else np.zeros_like(o.requests)
    throttled = st.throttled_per_step if st.throttled_per_step is not None else np.zeros_like(o.requests)
    cols = [np.arange(o.requests.size) * dt, o.requests / dt, o.concurrency, o.environments, o.cold,
            limit, o.throttled.get("scaling", np.zeros_like(o.requests)), reads / dt,
            st.hot_reads_per_s, throttled, p50, p99]
    table_ = np.column_stack(cols)
    header = ",".join(SERIES_COLUMNS)
    np.savetxt(path, table_, delimiter=",", header=header, comments="", fmt="%.6g")
    return path


def write_plan(plan: Plan, out_dir: Path, plots: bool = True) -> list[Path]:
    """results.json, report.md, series.csv and (with the bench extra) the PNG plots."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = results(plan)
    write_json(out_dir / "results.json", data)
    (out_dir / "report.md").write_text(render(plan, data), encoding="utf-8")
    files = [out_dir / "results.json", out_dir / "report.md", write_series(plan, out_dir / "series.csv")]
    if plots:
        from millicent.plan.plots import plot_plan

        files += plot_plan(plan, data, out_dir)
    return files
