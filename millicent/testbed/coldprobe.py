"""Cold starts measured apart from warm requests: the first request from zero, alone, several
times, and C first requests at once.

Against a deployment whose idle timeout is short (it scales to zero between samples):

* **isolated**: ``samples`` times, wait until the function has no environment, then send
  one request alone — the first request of a new environment (a spawn and its INIT, or a
  fork of the snapshot and its restore). Medians of the client latency, of the platform's
  Init Duration / Restore Duration, of the first invocation's Duration and of the
  function's own reported build (``timings.init_ms``: eager INIT, the lazy build inside the
  first invocation, or the after-restore hook);
* **burst**: from zero, ``C`` distinct requests at once: C simultaneous cold starts, their
  client latency p50 — against the warm p50 at the same C from the comparison's scenario.

The durations come from the platform's REPORT records (``invocations.jsonl`` in the
deployment's log directory, joined by request id), the latencies from the client.

:func:`goals` checks the issue's targets on the medians: the snapshot's first request
≤ 0.02× the paper's PyTorch function's, ≤ 0.2× millicent's without snapshot (eager INIT),
≤ 0.1× millicent's before eager INIT (``before``, measured by ``experiments/cold_start.py``
from the older tree); C simultaneous cold starts at p50 ≤ 10× the warm p50.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from millicent.economics.stats import ratio
from millicent.errors import ConfigError
from millicent.harness.closed_loop import ClientOptions, run_closed_loop
from millicent.harness.records import RequestRecord
from millicent.harness.workload import Workload
from millicent.markdown import num, table

Row = dict[str, Any]

#: The issue's goals: (subject, reference, at most this ratio of first-request latencies).
FIRST_REQUEST_GOALS = (("snapshot", "torch", 0.02), ("snapshot", "before", 0.1),
                       ("snapshot", "millicent", 0.2))
BURST_GOAL = 10.0  #: C simultaneous cold starts: p50 ≤ this × the warm p50 at that C


@dataclass(frozen=True)
class BurstSummary:
    """C first requests at once from zero: how many were cold, their latency."""

    concurrency: int
    ok: int
    cold: int
    p50_ms: float | None
    max_ms: float | None


@dataclass(frozen=True)
class ColdSummary:
    """Medians of one configuration and model's isolated cold starts, and its burst."""

    config: str
    model: str
    samples: int
    ok: int
    cold: int
    first_request_ms: float | None
    first_request_ms_all: list[float]
    init_duration_ms: float | None  #: the platform's Init Duration (a spawn)
    restore_duration_ms: float | None  #: the platform's Restore Duration (a fork)
    duration_ms: float | None  #: the first invocation's Duration
    function_init_ms: float | None  #: the function's own reported build
    max_memory_mb: float | None
    burst: BurstSummary

    def to_dict(self) -> Row:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Row) -> ColdSummary:
        """A summary as ``cold_starts.json`` holds it."""
        return cls(**{**d, "burst": BurstSummary(**d["burst"])})


def _median(values: Sequence[float | None]) -> float | None:
    vs = [v for v in values if v is not None]
    return statistics.median(vs) if vs else None


@dataclass
class ColdStarts:
    """The cold starts of one configuration and model (records as the client saw them,
    plus the platform's REPORT record of each)."""

    config: str
    model: str
    samples: list[RequestRecord] = field(default_factory=list)
    burst: list[RequestRecord] = field(default_factory=list)
    reports: dict[str, Row] = field(default_factory=dict)  #: request id → REPORT record

    def _report(self, rec: RequestRecord, key: str) -> float | None:
        value = self.reports.get(rec.request_id or "", {}).get(key)
        return None if value is None else float(value)

    def summary(self) -> ColdSummary:
        """Medians of the isolated samples; the burst's cold count and latency p50."""
        ok = [r for r in self.samples if r.ok]
        burst_ok = [r for r in self.burst if r.ok]
        return ColdSummary(
            config=self.config, model=self.model, samples=len(self.samples), ok=len(ok),
            cold=sum(bool(r.cold) for r in ok),
            first_request_ms=_median([r.latency_ms for r in ok]),
            first_request_ms_all=[round(r.latency_ms, 3) for r in ok],
            init_duration_ms=_median([self._report(r, "init_ms") for r in ok]),
            restore_duration_ms=_median([self._report(r, "restore_ms") for r in ok]),
            duration_ms=_median([self._report(r, "duration_ms") for r in ok]),
            function_init_ms=_median([r.timings.get("init_ms") for r in ok]),
            max_memory_mb=max((r.max_memory_mb for r in ok if r.max_memory_mb is not None),
                              default=None),
            burst=BurstSummary(len(self.burst), len(burst_ok), sum(bool(r.cold) for r in burst_ok),
                               _median([r.latency_ms for r in burst_ok]),
                               max((r.latency_ms for r in burst_ok), default=None)))

    def to_dict(self) -> Row:
        return {"summary": self.summary().to_dict(), "samples": [asdict(r) for r in self.samples],
                "burst": [asdict(r) for r in self.burst], "reports": self.reports}


def _environments(url: str, function: str, client: ClientOptions) -> int:
    req = urllib.request.Request(url.rstrip("/") + "/_millicent/stats", headers=dict(client.headers))
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(json.loads(resp.read())["environments"].get(function, 0))


def wait_for_zero(url: str, function: str, client: ClientOptions, timeout_s: float = 60.0) -> None:
    """Until the platform has scaled ``function`` to zero (its idle timeout), or ConfigError."""
    deadline = time.monotonic() + timeout_s
    while _environments(url, function, client) > 0:
        if time.monotonic() > deadline:
            raise ConfigError(f"{function} at {url} did not scale to zero in {timeout_s:g} s")
        time.sleep(0.1)


def read_reports(log_dir: Path, ids: set[str], timeout_s: float = 5.0) -> dict[str, Row]:
    """The platform's REPORT records of ``ids`` (they reach the file within 0.2 s)."""
    path = log_dir / "invocations.jsonl"
    deadline = time.monotonic() + timeout_s
    found: dict[str, Row] = {}
    while True:
        if path.exists():
            for line in path.read_text().splitlines():
                rec = json.loads(line) if line.strip() else {}
                if rec.get("request_id") in ids:
                    found[rec["request_id"]] = rec
        if set(found) >= ids or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


#: Lambda's error type for an environment killed past its memory size (the platform's too)
OUT_OF_MEMORY = "Runtime.OutOfMemory"


def measure(url: str, log_dir: Path, config: str, function: str, workload: Workload,
            samples: int, burst: int, client: ClientOptions | None = None) -> ColdStarts:
    """``samples`` isolated cold starts, then ``burst`` at once (none when 0), from zero."""
    opts = client or ClientOptions()
    out = ColdStarts(config, workload.model)
    n = len(workload.requests)
    for i in range(samples):
        wait_for_zero(url, function, opts)
        (rec,) = asyncio.run(run_closed_loop(url, workload.requests, 1, measured=[i % n],
                                             options=opts))
        out.samples.append(rec)
    if burst > 0:
        wait_for_zero(url, function, opts)
        out.burst = asyncio.run(run_closed_loop(url, workload.requests, burst,
                                                measured=[i % n for i in range(burst)],
                                                options=opts))
    ids = {r.request_id for r in (*out.samples, *out.burst) if r.request_id}
    out.reports = read_reports(log_dir, ids)
    failed = [r.error or "" for r in out.samples if not r.ok]
    # a function past its memory size is killed, as on Lambda: a result of this size (its
    # rows count the errors), not a broken comparison
    if failed and not all(OUT_OF_MEMORY in e for e in failed):
        raise ConfigError(f"cold starts of {config} at {url} failed: {failed[0]}")
    return out


@dataclass(frozen=True)
class Goal:
    """One of the issue's cold-start targets, and how far a comparison got."""

    goal: str
    target: str
    value: float | None  #: the measured ratio
    met: bool
    detail: str  #: the medians it is the ratio of

    def to_dict(self) -> Row:
        return asdict(self)


def goals(summaries: Mapping[str, ColdSummary],
          warm_p50: Mapping[tuple[str, int], float]) -> list[Goal]:
    """The issue's cold-start targets on ``summaries`` (config → :meth:`ColdStarts.summary`
    of one model); ``warm_p50``: (config, C) → warm client p50 at that C."""
    out: list[Goal] = []
    for subject, reference, goal in FIRST_REQUEST_GOALS:
        s, r = summaries.get(subject), summaries.get(reference)
        if s is None or r is None:
            continue
        value = ratio(s.first_request_ms, r.first_request_ms)
        out.append(Goal(f"first request: {subject} / {reference}", f"≤ {goal:g}×", value,
                        value is not None and value <= goal,
                        f"{num(s.first_request_ms)} ms vs {num(r.first_request_ms)} ms"))
    for name, s in summaries.items():
        b = s.burst
        warm = warm_p50.get((name, b.concurrency))
        if not b.concurrency or warm is None:
            continue
        value = ratio(b.p50_ms, warm)
        out.append(Goal(f"{b.cold} simultaneous cold starts: {name} p50 / warm p50 "
                        f"at C = {b.concurrency}",
                        f"≤ {BURST_GOAL:g}×" if name == "snapshot" else "–", value,
                        name == "snapshot" and value is not None and value <= BURST_GOAL,
                        f"{num(b.p50_ms)} ms vs {num(warm)} ms"))
    return out


def goals_table(gs: Sequence[Goal]) -> str:
    body = [[g.goal, g.target, "–" if g.value is None else f"{g.value:.3g}×"
             + (" ✓" if g.met else ""), g.detail] for g in gs]
    return table(["cold-start goal", "target", "measured", "medians"], body, right_from=2)


def cold_table(summaries: Sequence[ColdSummary]) -> str:
    """One row per configuration and model: the medians of the isolated cold starts and the
    burst."""
    body = []
    for s in summaries:
        b = s.burst
        body.append([s.config, s.model, f"{s.ok}/{s.samples}",
                     num(s.first_request_ms), num(s.init_duration_ms),
                     num(s.restore_duration_ms), num(s.function_init_ms),
                     num(s.duration_ms, 2),
                     f"{b.cold} at C={b.concurrency}" if b.concurrency else "–",
                     num(b.p50_ms), num(s.max_memory_mb)])
    return table(["config", "model", "samples", "first request (ms)", "Init Duration",
                  "Restore Duration", "function init (ms)", "Duration",
                  "burst: cold starts", "burst p50 (ms)", "peak memory (MB)"], body,
                 right_from=2)
