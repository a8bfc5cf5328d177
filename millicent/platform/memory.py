"""The function's memory size, enforced as Lambda enforces it.

Lambda runs each execution environment in a sandbox of the function's memory size; a
function whose memory passes it is killed on the spot — the invocation fails with
``Runtime.OutOfMemory``, the caller gets Lambda's exit error, and the next request starts a
new environment. Locally an environment is a process, so the platform measures it the way
the REPORT line's *Max Memory Used* does (:mod:`.procstat`: the environment process's
resident memory, plus its descendants') and kills it once that passes the memory size:

* **while it is starting or busy**, :class:`MemoryGuard` reads each such environment's
  resident memory every ``poll_s`` (``/proc/<pid>/statm``, ≈ 5 µs) and kills one over the
  limit — a runaway allocation is stopped within a poll, ≈ 10 MB past the limit at this
  machine's page-fault rate;
* **at its answer** (and at the end of INIT), the environment's *peak* (``VmHWM``, which the
  REPORT line prints anyway) is compared with the limit: a spike that came and went between
  two polls still fails the invocation, whose answer is then discarded. So whether an
  invocation fails does not depend on the poll interval; only how soon a runaway one dies.

Not a hard limit (a cgroup's ``memory.max``, which needs privileges the platform does not
assume) and not an address-space limit (``RLIMIT_AS`` / ``RLIMIT_DATA`` count *virtual*
memory: importing numpy alone reserves 137 MB of address space, a Kim CNN environment has
145 MB of it at 38 MB resident, and a refused allocation raises ``MemoryError`` in the
handler instead of killing the sandbox). Lambda's kernel reclaims file-backed pages (shared
libraries, memory-mapped files) before it kills; resident memory counts them, so near the
limit the local platform is the stricter of the two by at most those pages.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable
from typing import Any, Protocol

#: Lambda's error type for an environment that ran out of memory (REPORT ``Error Type``).
OUT_OF_MEMORY_ERROR = "Runtime.OutOfMemory"

#: How often a starting or busy environment's memory is read by default.
DEFAULT_POLL_S = 0.01

#: Lambda's message for an environment it killed (the runtime "exited with signal: killed").
KILLED = "Runtime exited with error: signal: killed"


def lambda_message(request_id: str | None) -> str:
    """The ``errorMessage`` Lambda gives the caller of an invocation killed for memory."""
    return f"RequestId: {request_id} Error: {KILLED}" if request_id else KILLED


def explain(used_mb: float | None, limit_mb: int, phase: str) -> str:
    """What happened, for the 502 body and the platform's log. ``phase``: ``invoke``,
    ``init``, ``restore`` (from a snapshot) or ``snapshot`` (the snapshot's INIT)."""
    during = {"invoke": "", "init": " during its INIT", "snapshot": " during its snapshot's INIT",
              "restore": " during its restore from the snapshot"}.get(phase, "")
    used = f"{math.ceil(used_mb)} MB" if used_mb is not None else "more memory"
    then = ("the next cold start runs INIT again" if phase == "snapshot"
            else "the next request starts a new environment")
    return (f"the function ran out of memory{during}: its execution environment used {used}, "
            f"over the function's memory size of {limit_mb} MB, and was stopped, as Lambda "
            f"stops it ({OUT_OF_MEMORY_ERROR}); {then}. "
            "Give the function more memory (serve --memory-mb) or make it use less.")


def init_report(init_ms: float | None, phase: str = "init") -> str:
    """Lambda's INIT_REPORT line for an INIT that ran out of memory."""
    took = f"Init Duration: {init_ms:.2f} ms\t" if init_ms is not None else ""
    return f"INIT_REPORT {took}Phase: {phase}\tStatus: error\tError Type: {OUT_OF_MEMORY_ERROR}"


class Watched(Protocol):
    """Something whose memory the guard reads: an environment, or a snapshot's template
    while its INIT runs. ``check_memory`` kills it when it is over its limit."""

    def check_memory(self) -> Any: ...


class MemoryGuard:
    """One timer for the whole platform: every ``poll_s``, ``check_memory`` of each thing
    ``watched()`` yields (the environments starting or busy). The timer stops when nothing
    is watched; :meth:`wake` arms it again. A plain ``call_later`` callback, not a task: a
    request costs one timer at most, where a task's wake-up, sleep and resumption cost
    ≈ 0.1 ms of the platform's CPU per request on the development machine."""

    def __init__(self, watched: Callable[[], Iterable[Watched]], poll_s: float) -> None:
        if not poll_s > 0:
            raise ValueError(f"the memory poll interval must be positive, got {poll_s}")
        self._watched = watched
        self.poll_s = poll_s
        self._timer: asyncio.TimerHandle | None = None
        self._running = False

    def start(self) -> None:
        self._running = True

    def wake(self) -> None:
        """Something may be watched from now on (a request arrived, a template builds)."""
        if self._running and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.poll_s, self._tick)

    async def stop(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = None
        watched = list(self._watched())
        if watched:
            self.wake()  # first: a check that raised must not stop the polls
        for item in watched:
            item.check_memory()
