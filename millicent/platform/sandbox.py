"""One execution environment: a separate process running the unmodified AWS Lambda Runtime
Interface Client, fed through its own Runtime API queue.

The process is spawned (``python -m awslambdaric HANDLER``: the INIT phase runs in it) or
forked from the function's snapshot template (:mod:`.snapshot`: INIT ran once, the child
restores); :mod:`.launch` starts it. It gets Lambda's reserved environment variables
(``AWS_LAMBDA_RUNTIME_API``, ``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``,
...), so the client builds the real ``LambdaContext`` from the headers the platform sends
with each event. Each environment has its own loopback port and queue: a killed process's
pending ``/next`` can never swallow an event meant for another environment.

Lambda's INIT contract: the environment is ready at its first ``/next``; a runtime that
posts ``/init/error`` (or, restored from a snapshot, ``/restore/error``) has failed its
INIT — the error it posted, as ``awslambdaric`` built it, is the answer, and the
environment is discarded (the next request starts a new one).

With a memory limit (``limit_mb``), an environment whose memory passes it is killed
(:mod:`.memory`): during an invocation, the invocation fails with ``Runtime.OutOfMemory``;
during INIT or a restore, the start fails with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from millicent.platform import memory, procstat
from millicent.platform.launch import Launch, ProcessHandle, spawn

#: Lambda's limit on a synchronous response payload.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024

#: Error types Lambda reports for failures outside the handler.
CRASH_ERROR = "Runtime.ExitError"
TIMEOUT_ERROR = "Sandbox.Timedout"
INIT_TIMEOUT_ERROR = "Runtime.InitTimeout"
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"


@dataclass
class Outcome:
    """How an invocation ended. ``kind``: response | error | crash | timeout | oom (killed
    for passing the memory size)."""

    kind: str
    body: bytes
    error_type: str | None = None
    ended: float = field(default_factory=time.perf_counter)


@dataclass(eq=False)
class Invocation:
    """One event on its way through an environment."""

    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    client_context: str | None = None
    #: perf_counter when ``/next`` handed the event to the runtime client
    delivered: float | None = None
    logs: list[str] = field(default_factory=list)
    done: asyncio.Future[Outcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class InitFailed(Exception):
    """The environment never reached its first ``/next``; ``error`` is Lambda-shaped."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("errorMessage", "init failed"))
        self.error = error


def error_body(message: str, error_type: str, request_id: str | None = None) -> bytes:
    """A Lambda-shaped error payload (what ``awslambdaric`` posts for a handler exception)."""
    body: dict[str, Any] = {"errorMessage": message, "errorType": error_type}
    if request_id is not None:
        body["requestId"] = request_id
    body["stackTrace"] = []
    return json.dumps(body).encode()


#: Starts an environment's process: ``(environment, runtime_api) -> handle``.
Starter = Callable[["ExecutionEnvironment", str], Awaitable[ProcessHandle]]


class ExecutionEnvironment:
    """A process plus the Runtime API state that belongs to it (one request at a time).

    ``starter`` starts the process (default: spawn the runtime client, an INIT);
    ``start_kind`` says which: ``"init"`` or ``"restore"`` (forked from a snapshot).
    ``limit_mb``: kill the environment when its memory passes this (None: only report it).
    """

    def __init__(self, env_id: str, launch: Launch, log: Callable[[str, str], None],
                 starter: Starter | None = None, start_kind: str = "init",
                 limit_mb: int | None = None) -> None:
        self.env_id = env_id
        self.limit_mb = limit_mb
        #: the memory (MiB) at which it was killed for passing ``limit_mb``, else None
        self.oom_mb: float | None = None
        #: the largest memory (MiB) seen so far: the REPORT's Max Memory Used
        self.max_memory_mb: float | None = None
        self._sampled: tuple[float | None, float | None] | None = None
        self.launch = launch
        self._log = log  # (env_id, line) -> None
        self._starter = starter
        self.start_kind = start_kind
        self.proc: ProcessHandle | None = None
        self.spawned: float | None = None
        #: start → first ``/next``: the Init Duration, or the Restore Duration of a fork
        self.ready_ms: float | None = None
        self.exited = False
        self.returncode: int | None = None
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._init_error: dict[str, Any] | None = None
        self._waiter: asyncio.Future[Invocation] | None = None
        self._queued: Invocation | None = None
        self.current: Invocation | None = None
        self._tasks: list[asyncio.Task[None]] = []
        #: the process's CPU time (ms) when its last invocation was accounted (at first the
        #: end of init): the next invocation's CPU is counted from here, so every ms after
        #: init belongs to exactly one invocation and ``/proc`` is read once per invocation
        self.cpu_mark_ms: float | None = None
        self._probe: procstat.ProcessProbe | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and not self.exited

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self, runtime_api: str) -> None:
        """Start the process; it connects to ``runtime_api`` (``host:port``)."""
        self.spawned = time.perf_counter()
        if self._starter is None:
            self.proc = await spawn(self.launch, self.env_id, runtime_api)
        else:
            self.proc = await self._starter(self, runtime_api)
        self._probe = procstat.ProcessProbe(self.proc.pid)
        self._tasks.append(asyncio.create_task(self._pump_output()))
        self._tasks.append(asyncio.create_task(self._watch_exit()))

    async def wait_ready(self, timeout_s: float) -> float:
        """Wait for the first ``/next``; returns the start duration (ms) or raises InitFailed."""
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except TimeoutError:
            raise InitFailed(
                {"errorMessage": f"init did not finish within {timeout_s:.0f} s",
                 "errorType": INIT_TIMEOUT_ERROR}
            ) from None
        assert self.ready_ms is not None
        return self.ready_ms

    async def kill(self) -> None:
        """SIGKILL the process group (Lambda does not ask a frozen sandbox to stop)."""
        if self.proc is not None and not self.exited:
            self._send_kill()
            await self.proc.wait()
        if self._probe is not None:
            self._probe.close()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _send_kill(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # its group: what the handler spawned
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()  # itself, should it not lead its own group yet

    # --- memory ------------------------------------------------------------------------
    def check_memory(self) -> None:
        """The guard's poll: kill the environment if its memory is over the limit now."""
        if (self.limit_mb is None or self._probe is None or not self.alive
                or self.oom_mb is not None):
            return
        used = self._probe.resident_mb()
        if used is not None:
            self._seen(used)
            if used > self.limit_mb:
                self._out_of_memory(used)

    def _seen(self, used: float | None) -> float | None:
        if used is not None and (self.max_memory_mb is None or used > self.max_memory_mb):
            self.max_memory_mb = used
        return self.max_memory_mb

    def _over_limit(self, peak: float | None) -> bool:
        return self.limit_mb is not None and peak is not None and peak > self.limit_mb

    def _out_of_memory(self, used: float) -> None:
        """Kill it now, as Lambda's sandbox would have been, and fail what was waiting:
        the invocation in flight, or the start (INIT / restore)."""
        assert self.limit_mb is not None
        self.oom_mb = used
        phase = "invoke" if self._ready.done() else self.start_kind
        self._log(self.env_id, memory.explain(used, self.limit_mb, phase))
        inv = self.current
        if not self._ready.done():
            self._ready.set_exception(InitFailed({"errorMessage": memory.KILLED,
                                                  "errorType": memory.OUT_OF_MEMORY_ERROR}))
            self._ready.exception()  # mark retrieved: the waiter may be gone
        elif inv is not None and not inv.done.done():
            inv.done.set_result(self._oom_outcome(inv))
        if self.proc is not None and not self.exited:
            self._send_kill()

    def _oom_outcome(self, inv: Invocation) -> Outcome:
        """Lambda's answer to an invocation whose sandbox was killed for its memory, and its
        two log lines (as CloudWatch shows them)."""
        message = memory.lambda_message(inv.request_id)
        for line in (message, memory.OUT_OF_MEMORY_ERROR):
            inv.logs.append(line)
            self._log(self.env_id, line)
        body = {"errorType": memory.OUT_OF_MEMORY_ERROR, "errorMessage": message}  # no trace
        return Outcome("oom", json.dumps(body).encode(), memory.OUT_OF_MEMORY_ERROR)

    async def _watch_exit(self) -> None:
        assert self.proc is not None
        self.returncode = await self.proc.wait()
        self.exited = True
        self._exited()

    async def _pump_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            # awslambdaric separates the lines of one error record with "\r" (CloudWatch
            # keeps the record whole); show them as lines here
            text = line.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "\n    ")
            if self.current is not None:
                self.current.logs.append(text)
            self._log(self.env_id, text)

    def _exited(self) -> None:
        code = self.returncode
        why = ("an unknown status" if code is None
               else f"signal {-code}" if code < 0 else f"exit status {code}")
        if not self._ready.done():
            error = self._init_error or {
                "errorMessage": f"Runtime exited with error: {why}",
                "errorType": CRASH_ERROR,
            }
            self._ready.set_exception(InitFailed(error))
            self._ready.exception()  # mark retrieved: nobody may be waiting any more
        inv = self.current
        if inv is not None and not inv.done.done():
            msg = f"RequestId: {inv.request_id} Error: Runtime exited with error: {why}"
            inv.done.set_result(Outcome("crash", error_body(msg, CRASH_ERROR), CRASH_ERROR))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.cancel()

    # --- the Runtime API side (called by runtime_api.py) -------------------------------
    async def next_event(self) -> Invocation:
        """``GET /invocation/next``: the first call ends init; then wait for an event."""
        if not self._ready.done():
            assert self.spawned is not None
            self.ready_ms = (time.perf_counter() - self.spawned) * 1000.0
            cpu, peak = self._probe.sample() if self._probe is not None else (None, None)
            self.cpu_mark_ms = cpu
            if self._over_limit(self._seen(peak)):  # a peak between two polls: INIT failed
                assert peak is not None
                self._out_of_memory(peak)
                raise InitFailed({"errorMessage": memory.KILLED,
                                  "errorType": memory.OUT_OF_MEMORY_ERROR})
            self._ready.set_result(None)
        if self._queued is not None:
            inv, self._queued = self._queued, None
        else:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                inv = await self._waiter
            finally:
                self._waiter = None
        inv.delivered = time.perf_counter()
        return inv

    def account(self) -> tuple[float | None, float | None]:
        """``(cpu_ms, max_memory_mb)`` of the invocation just answered: the CPU the process
        used since the previous call (or since init ended) — so the runtime client's work
        between two invocations counts too — and its peak memory so far (the process's
        peak RSS plus its descendants'). CPU is None once the process is gone."""
        if self._probe is None:
            return None, None
        sampled, self._sampled = self._sampled, None
        now, peak = sampled if sampled is not None else self._probe.sample()
        peak = self._seen(peak)
        if not self.alive or self.oom_mb is not None:
            now = None
        before, self.cpu_mark_ms = self.cpu_mark_ms, now
        return (None if now is None or before is None else max(0.0, now - before)), peak

    def respond(self, request_id: str, body: bytes) -> bool:
        """``POST /invocation/{id}/response``; False when the id is not the current event."""
        inv = self._current(request_id)
        if inv is None:
            return False
        if len(body) > MAX_RESPONSE_BYTES:
            msg = f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            inv.done.set_result(Outcome("error", error_body(msg, RESPONSE_TOO_LARGE), RESPONSE_TOO_LARGE))
        else:
            inv.done.set_result(Outcome("response", body))
        return True

    def fail(self, request_id: str, body: bytes, error_type: str | None) -> bool:
        """``POST /invocation/{id}/error``: the handler raised."""
        inv = self._current(request_id)
        if inv is None:
            return False
        inv.done.set_result(Outcome("error", body, error_type or _error_type(body)))
        return True

    def init_error(self, body: bytes, error_type: str | None) -> None:
        """``POST /init/error`` (or ``/restore/error``): the INIT (or the restore) failed and
        the client exits next. The environment has failed from now on — waiting for the
        exit would only add the interpreter's shutdown to the failed request."""
        try:
            error = json.loads(body)
            if not isinstance(error, dict):
                raise ValueError
        except ValueError:
            error = {"errorMessage": body.decode("utf-8", "replace")}
        if not error.get("errorType"):
            error["errorType"] = error_type or "Runtime.Unknown"
        self._init_error = error
        if not self._ready.done():
            self._ready.set_exception(InitFailed(error))
            self._ready.exception()  # mark retrieved: the waiter may be gone (timed out)

    def restore_next(self) -> None:
        """``GET /restore/next``: a restored runtime asks whether its restore happened — it
        has (the fork), so it goes on to its after-restore hooks and then its first
        ``/next``."""

    def _current(self, request_id: str) -> Invocation | None:
        inv = self.current
        if inv is None or inv.request_id != request_id or inv.done.done():
            return None
        return inv

    # --- the platform side -------------------------------------------------------------
    async def invoke(self, inv: Invocation, timeout_s: float) -> Outcome:
        """Deliver one event and wait for its outcome; past ``timeout_s`` kill the process."""
        if self.current is not None and not self.current.done.done():
            raise RuntimeError(f"{self.env_id} is busy")  # the pool never lets this happen
        self.current = inv
        if not self.alive:
            self._exited()
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(inv)
        else:
            self._queued = inv  # the client has not called /next again yet
        # a timer rather than asyncio.wait_for (two more futures and a task per invocation);
        # shield: a cancelled caller must not cancel the invocation the runtime client holds
        timer = asyncio.get_running_loop().call_later(timeout_s, self._expire, inv, timeout_s)
        try:
            outcome = await asyncio.shield(inv.done)
        finally:
            timer.cancel()
        if outcome.kind in ("response", "error") and self._probe is not None:
            # the answer's sample, which account() reports: its peak also catches a spike
            # that came and went between two polls — Lambda would have killed it then
            self._sampled = self._probe.sample()
            peak = self._seen(self._sampled[1])
            if self._over_limit(peak):  # (also when a poll killed it after it answered)
                assert peak is not None
                if self.oom_mb is None:
                    self._out_of_memory(peak)
                outcome = self._oom_outcome(inv)  # the answer is discarded
        if outcome.kind == "timeout":
            await self.kill()
        # killed for its memory: SIGKILL is sent; the platform reaps it in the background
        # (a process's exit frees its memory at ≈ 0.4 ms per MB here: 50 ms at 128 MB)
        return outcome

    @staticmethod
    def _expire(inv: Invocation, timeout_s: float) -> None:
        if not inv.done.done():
            msg = f"RequestId: {inv.request_id} Error: Task timed out after {timeout_s:.2f} seconds"
            inv.done.set_result(Outcome("timeout", error_body(msg, TIMEOUT_ERROR), TIMEOUT_ERROR))


def _error_type(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("errorType")
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None
