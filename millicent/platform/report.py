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

from millicent.platform.environment import ExecutionEnvironment, Invocation, Outcome
from millicent.platform.records import InvocationRecord, billed_ms

#: Outcome kinds (environment.py) → record statuses (records.py).
STATUS_OF_KIND = {"response": "ok", "error": "function_error", "crash": "crash", "timeout": "timeout"}


def _ms_since(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000.0, 3)


def invocation_record(
    function: str, env_id: str, memory_mb: int, env: ExecutionEnvironment, inv: Invocation,
    outcome: Outcome, init_ms: float | None, received: float, timestamp: float, source: str,
) -> InvocationRecord:
    """The record of an invocation that reached an environment (any outcome)."""
    pid = env.pid
    cpu, max_memory = env.account()
    start = inv.delivered if inv.delivered is not None else outcome.ended
    duration = max(0.0, (outcome.ended - start) * 1000.0)
    return InvocationRecord(
        request_id=inv.request_id,
        function=function,
        env_id=env_id,
        pid=pid,
        cold=init_ms is not None,
        init_ms=init_ms,
        duration_ms=round(duration, 3),
        billed_ms=billed_ms(duration, 1),
        billed_ms_100=billed_ms(duration, 100),
        cpu_ms=None if cpu is None else round(cpu, 3),
        memory_mb=memory_mb,
        max_memory_mb=max_memory,
        status=STATUS_OF_KIND[outcome.kind],
        error_type=outcome.error_type,
        wall_ms=_ms_since(received),
        timestamp=timestamp,
        source=source,
    )


def init_failure_record(
    function: str, env_id: str, memory_mb: int, env: ExecutionEnvironment | None,
    request_id: str, error_type: str, received: float, timestamp: float, source: str,
) -> InvocationRecord:
    """The record of a cold start whose environment never reached its first ``/next``."""
    return InvocationRecord(
        request_id=request_id, function=function, env_id=env_id,
        pid=env.pid if env is not None else None, cold=True,
        init_ms=_ms_since(received), duration_ms=0.0, billed_ms=0, billed_ms_100=0,
        cpu_ms=None, memory_mb=memory_mb, max_memory_mb=None, status="init_error",
        error_type=error_type, wall_ms=_ms_since(received), timestamp=timestamp, source=source,
    )
