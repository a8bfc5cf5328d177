"""One record per invocation, like Lambda's ``REPORT`` log line, and their running totals.

Lambda prints, after every invocation::

    REPORT RequestId: … Duration: 2.31 ms Billed Duration: 3 ms Memory Size: 128 MB
    Max Memory Used: 61 MB Init Duration: 212.40 ms

and, for the first invocation of an environment restored from a SnapStart snapshot,
``Restore Duration: 52.10 ms Billed Restore Duration: 53 ms`` instead of the Init Duration.
The two cold-start phases are kept apart from the invocation's own Duration: ``init_ms``
(the INIT phase: process start → the runtime's first ``/next``) or ``restore_ms`` (the
snapshot's restore: fork → first ``/next``, after-restore hooks included), never both.

:class:`InvocationRecord` carries the same fields plus what a cost model needs that Lambda
does not print: the environment's CPU time during the invocation (to project Lambda's
memory-proportional CPU share) and the 2018 billing granularity (100 ms).
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: Outcomes of an invocation. ``function_error``: the handler raised (Lambda answers
#: ``X-Amz-Function-Error: Unhandled``); ``crash``: the environment process died;
#: ``timeout``: it ran past the function timeout and was killed; ``out_of_memory``: its
#: memory passed the function's memory size and it was killed; ``init_error``: it never
#: reached its first ``/next``.
STATUSES = ("ok", "function_error", "crash", "timeout", "out_of_memory", "init_error")

#: The REPORT line's ``Status`` where Lambda's word differs from the record's status.
LAMBDA_STATUS = {"out_of_memory": "error"}


def billed_ms(duration_ms: float, granularity_ms: int = 1) -> int:
    """Lambda's billed duration: the duration rounded *up* to the granularity.

    1 ms since December 2020; 100 ms in 2018 (the paper's pricing). At least one unit.
    """
    units = max(1, math.ceil(round(duration_ms, 6) / granularity_ms))
    return units * granularity_ms


@dataclass
class InvocationRecord:
    """What happened in one invocation (one line of the platform's JSON-lines log)."""

    request_id: str
    function: str
    env_id: str
    pid: int | None
    cold: bool
    #: spawn → first ``/next`` of the environment, on cold starts (Lambda's Init Duration);
    #: None for warm invocations and for restores
    init_ms: float | None
    #: event delivered (``/next`` answered) → response or error posted
    duration_ms: float
    billed_ms: int
    billed_ms_100: int
    #: CPU time (user + system) the environment used during the invocation
    cpu_ms: float | None
    memory_mb: int
    #: peak resident set size of the environment so far (VmHWM)
    max_memory_mb: float | None
    status: str = "ok"
    error_type: str | None = None
    #: wall time from the platform receiving the request to having the answer
    #: (includes waiting for a cold environment to start)
    wall_ms: float = 0.0
    #: wall-clock epoch seconds at which the platform received the request
    timestamp: float = 0.0
    #: "http" (gateway) or "invoke" (Lambda Invoke API)
    source: str = "http"
    #: fork of the snapshot's template → first ``/next`` (after-restore hooks included), on
    #: cold starts of a ``--snapshot`` platform (Lambda's Restore Duration); else None
    restore_ms: float | None = None
    #: the restore rounded up to 1 ms (Lambda's Billed Restore Duration)
    billed_restore_ms: int | None = None

    @property
    def init_kind(self) -> str | None:
        """``"init"`` | ``"restore"`` for a cold start, None for a warm invocation."""
        if self.restore_ms is not None:
            return "restore"
        return "init" if self.cold else None

    def to_dict(self) -> dict[str, Any]:
        # every field is a scalar: a shallow copy is asdict() at a tenth of the cost
        return dict(vars(self))

    def report_line(self) -> str:
        """The record in the format of Lambda's REPORT line (for logs and ``LogType=Tail``)."""
        parts = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_ms} ms",
            f"Memory Size: {self.memory_mb} MB",
        ]
        if self.max_memory_mb is not None:
            parts.append(f"Max Memory Used: {math.ceil(self.max_memory_mb)} MB")
        if self.init_ms is not None:
            parts.append(f"Init Duration: {self.init_ms:.2f} ms")
        if self.restore_ms is not None:
            parts.append(f"Restore Duration: {self.restore_ms:.2f} ms")
            parts.append(f"Billed Restore Duration: {self.billed_restore_ms} ms")
        if self.status != "ok":
            parts.append(f"Status: {LAMBDA_STATUS.get(self.status, self.status)}")
            if self.error_type:
                parts.append(f"Error Type: {self.error_type}")
        return "\t".join(parts)


@dataclass
class Totals:
    """Running counts for ``GET /_millicent/stats``."""

    invocations: int = 0
    cold_starts: int = 0
    throttles: int = 0
    errors: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_function: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, record: InvocationRecord) -> None:
        self.invocations += 1
        self.cold_starts += int(record.cold)
        if record.status != "ok":
            self.errors += 1
        self.by_status[record.status] += 1
        per = self.by_function.setdefault(record.function, Counter())
        per["invocations"] += 1
        per["cold_starts"] += int(record.cold)
        per["errors"] += int(record.status != "ok")

    def throttled(self, function: str) -> None:
        self.throttles += 1
        self.by_function.setdefault(function, Counter())["throttles"] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "invocations": self.invocations,
            "cold_starts": self.cold_starts,
            "throttles": self.throttles,
            "errors": self.errors,
            "by_status": dict(self.by_status),
            "by_function": {name: dict(c) for name, c in self.by_function.items()},
        }


class RecordLog:
    """Appends records as JSON lines to a file (or nowhere when ``path`` is None).

    Block-buffered: a line reaches the file on :meth:`flush` (or when the buffer fills, or
    at :meth:`close`). The platform flushes as soon as no invocation is in flight and at
    most :data:`~millicent.platform.platform.FLUSH_S` after a write, so under load one
    write(2) carries many records instead of one each; a crash of the platform loses at
    most the lines of that interval.
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._file: IO[str] | None = None
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8", buffering=1 << 16)  # noqa: SIM115

    def write(self, record: InvocationRecord) -> None:
        """Append one line (nothing after :meth:`close`)."""
        if self._file is None:
            return
        line = json.dumps(record.to_dict(), separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")

    def flush(self) -> None:
        """Write the buffered lines to the file."""
        if self._file is not None:
            with self._lock:
                self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_records(path: str | Path) -> list[InvocationRecord]:
    """Read a JSON-lines record log back (for tests, benchmarks and the cost model)."""
    out: list[InvocationRecord] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(InvocationRecord(**json.loads(line)))
    return out
