"""Raw per-request records: one JSON line per request the harness sent.

Everything a report shows is computed from these, so a run can be re-priced or
re-summarised later (``millicent cost --results DIR``) without sending a request again.

Server-side fields come from the response body's ``timings`` (tokenize/fetch/forward/other/
total/cpu ms, cold_start, init_ms, init, lookups) and, when the local platform's gateway added
them, the ``x-millicent-*`` headers (duration, billed, init, restore, cpu, max memory, cold). A
real Lambda Function URL sends no such headers: the invocation duration is then estimated from
``timings.total_ms`` and the record says so (``duration_source == "timings"``).

The two durations (shared with the platform and the runtime), so INIT is counted once:
``duration_ms`` is the invocation only; ``init_ms`` an INIT phase or snapshot restore
*outside* it (0 when warm) and ``init_kind`` says which (``"init"`` | ``"restore"`` | None).
From the headers when present; else ``duration_ms = timings.total_ms`` and ``init_ms =
timings.init_ms`` only when ``timings.init`` is ``"eager"`` or ``"restore"`` — a ``"lazy"``
INIT (and, from runtimes older than eager INIT, one with no ``init`` key) ran inside the
invocation and is already in ``total_ms``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from millicent.economics.cost import Usage
from millicent.errors import DataError

PHASES = ("warmup", "measure")
TIMING_KEYS = ("tokenize_ms", "fetch_ms", "forward_ms", "other_ms", "total_ms", "cpu_ms", "init_ms")
#: ``timings.init`` values whose ``init_ms`` ran outside the invocation
OUTSIDE_INIT = {"eager": "init", "restore": "restore"}
LOOKUP_INT_KEYS = ("words", "pack_hits", "lru_hits", "store_hits", "missing", "store_calls",
                   "store_items", "store_retries")
HEADER_PREFIX = "x-millicent-"


@dataclass
class RequestRecord:
    """One request as the client saw it, plus what the server reported about it."""

    index: int  #: position of the request in the plan (the eval-set item)
    phase: str  #: "warmup" (excluded from every statistic) or "measure"
    sent_s: float  #: seconds since the run started (monotonic clock) when it was sent
    latency_ms: float  #: client-side: send → whole body read
    status: int  #: HTTP status; 0 when no response came (connection error, client timeout)
    in_flight: int  #: requests outstanding (client side) right after this one was sent
    error: str | None = None  #: error code / message for any non-2xx answer or transport failure
    cold: bool | None = None  #: cold start (header, else body), None when not reported
    duration_ms: float | None = None  #: invocation duration (header, else timings.total_ms)
    duration_source: str | None = None  #: "header" | "timings" | None
    billed_ms: float | None = None  #: as the platform billed it (x-millicent-billed-ms)
    #: INIT phase or restore outside the invocation (see the module docstring)
    init_ms: float | None = None
    init_kind: str | None = None  #: "init" | "restore" | None
    #: the body's ``timings.init`` ("lazy" | "eager" | "restore"; None: not said, as before
    #: eager INIT) — whether ``timings.init_ms`` ran inside this invocation
    init_mode: str | None = None
    cpu_ms: float | None = None
    max_memory_mb: float | None = None
    memory_mb: int | None = None  #: the function's configured memory (x-millicent-memory-mb)
    request_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    lookups: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.error is None

    @property
    def done_s(self) -> float:
        return self.sent_s + self.latency_ms / 1000.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RequestRecord:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)

    @property
    def inside_init_ms(self) -> float | None:
        """A build that ran inside this (cold) invocation, part of its duration: a lazy INIT."""
        if not self.cold or self.init_mode in OUTSIDE_INIT:
            return None
        return self.timings.get("init_ms")

    @property
    def outside_init(self) -> tuple[str | None, float]:
        """(init_kind, init_ms) of the phase outside the invocation; (None, 0.0) if none."""
        kind = self.init_kind
        if kind is None and self.cold and self.duration_source == "header" and self.init_ms:
            kind = "init"  # a record written before init_kind: the platform's Init Duration
        return (kind, float(self.init_ms or 0.0)) if kind else (None, 0.0)

    def usage(self) -> Usage:
        """The cost model's view of this request (only meaningful when :attr:`ok`)."""
        if self.duration_ms is None:
            raise DataError(f"request {self.index} has no duration (neither header nor timings)")
        item_bytes = tuple(int(b) for b in self.lookups.get("store_item_bytes", []) or [])
        asked = int(self.lookups.get("store_items", len(item_bytes)) or 0)
        kind, init_ms = self.outside_init
        return Usage(
            duration_ms=self.duration_ms,
            init_ms=init_ms,
            init_kind=kind,
            item_bytes=item_bytes,
            missing_items=max(0, asked - len(item_bytes)),
            cpu_ms=self.cpu_ms,
            latency_ms=self.latency_ms,
        )


def _float(v: Any) -> float | None:
    try:
        return None if v is None or v == "" else float(v)
    except (TypeError, ValueError):
        return None


def _flag(v: Any) -> bool | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in {"1", "true", "yes"}:
        return True
    if s in {"0", "false", "no"}:
        return False
    return None


def apply_response(rec: RequestRecord, headers: Mapping[str, str], body: Any) -> None:
    """Fill ``rec``'s server fields from the response headers and decoded JSON body."""
    h = {k.lower(): v for k, v in headers.items() if k.lower().startswith(HEADER_PREFIX)}
    raw = body.get("timings") if isinstance(body, dict) else None
    t = raw if isinstance(raw, dict) else {}
    rec.timings = {k: float(t[k]) for k in TIMING_KEYS if _float(t.get(k)) is not None}
    lk = t.get("lookups")
    if isinstance(lk, dict):
        rec.lookups = {k: int(lk[k]) for k in LOOKUP_INT_KEYS if isinstance(lk.get(k), int | float)}
        sizes = lk.get("store_item_bytes")
        if isinstance(sizes, list):
            rec.lookups["store_item_bytes"] = [int(s) for s in sizes if isinstance(s, int | float)]
    mode = t.get("init")
    rec.init_mode = mode if isinstance(mode, str) else None
    rec.request_id = h.get("x-millicent-request-id")
    rec.cold = _flag(h.get("x-millicent-cold"))
    if rec.cold is None:
        rec.cold = _flag(t.get("cold_start"))
    header_duration = _float(h.get("x-millicent-duration-ms"))
    if header_duration is not None:
        rec.duration_ms, rec.duration_source = header_duration, "header"
    elif "total_ms" in rec.timings:
        rec.duration_ms, rec.duration_source = rec.timings["total_ms"], "timings"
    rec.billed_ms = _float(h.get("x-millicent-billed-ms"))
    if header_duration is not None:
        _init_from_headers(rec, h)
    else:
        _init_from_timings(rec, t)
    rec.cpu_ms = _float(h.get("x-millicent-cpu-ms"))
    if rec.cpu_ms is None:
        rec.cpu_ms = rec.timings.get("cpu_ms")
    rec.max_memory_mb = _float(h.get("x-millicent-max-memory-mb"))
    configured = _float(h.get("x-millicent-memory-mb"))
    rec.memory_mb = int(configured) if configured is not None else None


def _init_from_headers(rec: RequestRecord, h: Mapping[str, str]) -> None:
    """The platform measured the phase outside the invocation: Init or Restore Duration."""
    restore = _float(h.get("x-millicent-restore-ms"))
    init = _float(h.get("x-millicent-init-ms"))
    if restore:
        rec.init_ms, rec.init_kind = restore, "restore"
    elif init:
        rec.init_ms, rec.init_kind = init, "init"
    else:
        rec.init_ms, rec.init_kind = 0.0, None


def _init_from_timings(rec: RequestRecord, t: Mapping[str, Any]) -> None:
    """No platform headers (real AWS): only an eager INIT or a restore is outside total_ms."""
    kind = OUTSIDE_INIT.get(str(t.get("init"))) if rec.cold else None
    init = rec.timings.get("init_ms")
    if kind is not None and init:
        rec.init_ms, rec.init_kind = init, kind
    else:
        rec.init_ms, rec.init_kind = 0.0, None


def error_text(status: int, body: Any, fallback: str = "") -> str:
    """A short error description from a JSON error body (``{"error", "message"}``) or text."""
    if isinstance(body, dict) and ("error" in body or "message" in body):
        return f"{status} {body.get('error', '')}: {body.get('message', '')}".strip()
    return f"{status} {fallback[:200]}".strip()


def write_records(path: Path, records: Iterable[RequestRecord]) -> int:
    """Write records as JSON lines; returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(rec.to_json() + "\n")
            n += 1
    return n


def iter_records(path: Path) -> Iterator[RequestRecord]:
    """Read records back; a malformed line is a DataError naming the file and line."""
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield RequestRecord.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError) as exc:
                raise DataError(f"{path}:{lineno}: not a request record: {exc}") from exc


def read_records(path: Path) -> list[RequestRecord]:
    if not path.exists():
        raise DataError(f"records file {path} not found")
    return list(iter_records(path))
