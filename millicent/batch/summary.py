"""The closing summary of a batch job: lines, errors, throughput, cost per million texts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from millicent.batch.journal import Checkpoint
from millicent.batch.tally import cost_from_dict, per_million_texts
from millicent.economics.cost import Cost


@dataclass
class JobReport:
    """A job's state after a run: the result file's checkpoint and every run's tally."""

    input: str
    out: str
    checkpoint: Checkpoint
    complete: bool
    sessions: list[dict[str, Any]]
    #: nothing was left to do: the job had completed before this run
    already_complete: bool = False

    @property
    def session(self) -> dict[str, Any] | None:
        """This run's tally (None when the job had already completed)."""
        return None if self.already_complete or not self.sessions else self.sessions[-1]

    def priced(self) -> tuple[list[dict[str, Any]], int, Cost, Cost | None]:
        """The runs priced like the last one, their texts, cost and projected cost."""
        if not self.sessions:
            return [], 0, Cost(), None
        options = self.sessions[-1]["options"]
        runs = [s for s in self.sessions if s["options"] == options]
        texts = sum(int(s["texts_priced"]) for s in runs)
        total = sum((cost_from_dict(s["cost_usd"]) for s in runs), Cost())
        projected = None
        if all(s.get("projected_cost_usd") for s in runs):
            projected = sum((cost_from_dict(s["projected_cost_usd"]) for s in runs), Cost())
        return runs, texts, total, projected

    def to_dict(self) -> dict[str, Any]:
        runs, texts, total, projected = self.priced()
        measured = per_million_texts(total, texts)
        lambda_ = per_million_texts(projected, texts) if projected is not None else None
        return {
            "input": self.input, "out": self.out, "complete": self.complete,
            "already_complete": self.already_complete, "lines": self.checkpoint.records,
            "ok": self.checkpoint.ok, "errors": self.checkpoint.errors,
            "session": self.session, "runs": len(self.sessions), "texts_priced": texts,
            "requests_priced": sum(int(s["requests_priced"]) for s in runs),
            "cost_per_million_texts_usd": measured.to_dict() if measured else None,
            "lambda_cost_per_million_texts_usd": lambda_.to_dict() if lambda_ else None,
            "options": runs[-1]["options"] if runs else None,
        }


def usd(v: float) -> str:
    return f"${v:,.4f}" if v < 1 else f"${v:,.2f}"


def components(c: dict[str, float]) -> str:
    return (f"{usd(c['total'])} = Lambda compute {usd(c['compute'])} + requests "
            f"{usd(c['requests'])} + gateway {usd(c['gateway'])} + DynamoDB {usd(c['store'])}")


def _session_line(s: dict[str, Any]) -> str:
    rate = s["lines"] / s["seconds"] if s["seconds"] > 0 else 0.0
    texts = s["ok"] / s["seconds"] if s["seconds"] > 0 else 0.0
    kinds = ", ".join(f"{k}: {v}" for k, v in s["retry_kinds"].items())
    return (f"  this run: {s['lines']:,} lines in {s['seconds']:.1f} s = {rate:,.0f} lines/s "
            f"({texts:,.0f} texts/s); {s['requests']:,} requests, {s['retries']:,} retries"
            + (f" ({kinds})" if kinds else "") + f", {s['splits']} splits, "
            f"{s['cold_starts']} cold starts")


def render(report: JobReport) -> str:
    """The summary printed when a job ends (complete or not)."""
    d = report.to_dict()
    state = "complete" if report.complete else "NOT complete: run again with the same arguments"
    out = [f"millicent batch: {report.input} → {report.out}: {state}",
           f"  {d['lines']:,} lines: {d['ok']:,} answered, {d['errors']:,} error lines"]
    if report.already_complete:
        out.append("  nothing to do: the job had already completed")
    elif report.session is not None:
        out.append(_session_line(report.session))
        if len(report.sessions) > 1:
            out.append(f"  ({len(report.sessions)} runs of this job in all)")
    measured = d["cost_per_million_texts_usd"]
    if measured:
        o = d["options"]
        out.append(f"  cost per million texts ({d['texts_priced']:,} texts in "
                   f"{d['requests_priced']:,} requests; {o['memory_mb']} MB {o['arch']}, "
                   f"{o['billing']} billing, gateway {o['gateway']}, store {o['store']}):")
        out.append(f"    as measured:               {components(measured)}")
        if d["lambda_cost_per_million_texts_usd"]:
            out.append(f"    on Lambda at {o['memory_mb']} MB's CPU:  "
                       f"{components(d['lambda_cost_per_million_texts_usd'])}")
    return "\n".join(out)
