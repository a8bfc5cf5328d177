"""Turn what the platform observed about an invocation into its REPORT record.

Duration runs from the moment ``/next`` handed the event to the runtime client to the
moment its answer arrived, as Lambda measures it; CPU time and peak memory come from
``/proc`` (:mod:`.procstat`), read once per invocation, after the answer: an invocation's
CPU time is the process's since the previous invocation's answer (the first's: since init
ended), so the runtime client's own work between two invocations — reading the
response's acknowledgement, polling ``/next``, parsing the event — is counted too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from millicent.platform.records import InvocationRecord, billed_ms
from millicent.platform.sandbox import ExecutionEnvironment, Invocation, Outcome

#: Outcome kinds (environment.py) → record statuses (records.py).
STATUS_OF_KIND = {"response": "ok", "error": "function_error", "crash": "crash", "timeout": "timeout",
                  "oom": "out_of_memory"}


@dataclass(frozen=True)
class Arrival:
    """A request as it reached the platform: ``received`` (perf_counter), ``timestamp``
    (epoch seconds), ``source`` ("http" | "invoke")."""

    received: float
    timestamp: float
    source: str


@dataclass(frozen=True)
class ColdStart:
    """What a cold start cost before the event was delivered: the INIT phase (spawn → first
    ``/next``, or a snapshot template's INIT the request waited for) and the restore of a
    snapshot (fork → first ``/next``)."""

    init_ms: float | None = None
    restore_ms: float | None = None


def _ms_since(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000.0, 3)


def invocation_record(
    function: str, env_id: str, memory_mb: int, env: ExecutionEnvironment, inv: Invocation,
    outcome: Outcome, cold: ColdStart | None, arrival: Arrival,
) -> InvocationRecord:
    """The record of an invocation that reached an environment (any outcome)."""
    pid = env.pid
    cpu, max_memory = env.account()
    start = inv.delivered if inv.delivered is not None else outcome.ended
    duration = max(0.0, (outcome.ended - start) * 1000.0)
    restore = None if cold is None else cold.restore_ms
    return InvocationRecord(
        request_id=inv.request_id,
        function=function,
        env_id=env_id,
        pid=pid,
        cold=cold is not None,
        init_ms=None if cold is None else cold.init_ms,
        duration_ms=round(duration, 3),
        billed_ms=billed_ms(duration, 1),
        billed_ms_100=billed_ms(duration, 100),
        cpu_ms=None if cpu is None else round(cpu, 3),
        memory_mb=memory_mb,
        max_memory_mb=max_memory,
        status=STATUS_OF_KIND[outcome.kind],
        error_type=outcome.error_type,
        wall_ms=_ms_since(arrival.received),
        timestamp=arrival.timestamp,
        source=arrival.source,
        restore_ms=None if restore is None else round(restore, 3),
        billed_restore_ms=None if restore is None else billed_ms(restore, 1),
    )


def init_failure_record(
    function: str, env_id: str, memory_mb: int, env: ExecutionEnvironment | None,
    request_id: str, error_type: str, arrival: Arrival,
) -> InvocationRecord:
    """The record of a cold start whose environment never reached its first ``/next``:
    the whole wait is its (failed) INIT, or restore for a snapshot's fork."""
    waited = _ms_since(arrival.received)
    restored = env is not None and env.start_kind == "restore"
    return InvocationRecord(
        request_id=request_id, function=function, env_id=env_id,
        pid=env.pid if env is not None else None, cold=True,
        init_ms=None if restored else waited, duration_ms=0.0, billed_ms=0, billed_ms_100=0,
        cpu_ms=None, memory_mb=memory_mb, max_memory_mb=env.max_memory_mb if env else None,
        status="init_error",
        error_type=error_type, wall_ms=waited, timestamp=arrival.timestamp,
        source=arrival.source, restore_ms=waited if restored else None,
        billed_restore_ms=billed_ms(waited, 1) if restored else None,
    )
