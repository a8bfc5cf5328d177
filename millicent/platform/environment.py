"""One execution environment: a separate process running the unmodified AWS Lambda Runtime
Interface Client (``python -m awslambdaric HANDLER``), fed through its own Runtime API queue.

The process gets Lambda's reserved environment variables (``AWS_LAMBDA_RUNTIME_API``,
``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, ...), so the client builds
the real ``LambdaContext`` from the headers the platform sends with each event. Each
environment has its own loopback port and queue: a killed process's pending ``/next`` can
never swallow an event meant for another environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from millicent.platform import procstat

#: Lambda's limit on a synchronous response payload.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024

#: Error types Lambda reports for failures outside the handler.
CRASH_ERROR = "Runtime.ExitError"
TIMEOUT_ERROR = "Sandbox.Timedout"
INIT_TIMEOUT_ERROR = "Runtime.InitTimeout"
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"


@dataclass
class Outcome:
    """How an invocation ended. ``kind``: response | error | crash | timeout."""

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


@dataclass(frozen=True)
class Launch:
    """How to start the process of an environment."""

    handler: str
    function: str
    memory_mb: int
    timeout_s: float
    environment: Mapping[str, str]
    region: str = "us-east-1"
    python: str = sys.executable
    cwd: str | None = None
    #: inherited variables holding one of these values are not passed on (secrets)
    withheld_values: frozenset[str] = frozenset()


class ExecutionEnvironment:
    """A process plus the Runtime API state that belongs to it (one request at a time)."""

    def __init__(self, env_id: str, launch: Launch, log: Callable[[str, str], None]) -> None:
        self.env_id = env_id
        self.launch = launch
        self._log = log  # (env_id, line) -> None
        self.proc: asyncio.subprocess.Process | None = None
        self.spawned: float | None = None
        self.init_ms: float | None = None
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
        return self.proc is not None and self.returncode is None

    def process_env(self, runtime_api: str) -> dict[str, str]:
        """The process environment: the platform's own, minus millicent/Lambda settings and
        withheld (secret) values, plus Lambda's reserved variables and the function's
        configuration."""
        fn = self.launch.function
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MILLICENT_", "AWS_LAMBDA_", "_HANDLER", "LAMBDA_"))
            and v not in self.launch.withheld_values
        }
        day = time.strftime("%Y/%m/%d", time.gmtime())
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": runtime_api,
                "AWS_LAMBDA_FUNCTION_NAME": fn,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.launch.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"{day}/[$LATEST]{self.env_id}",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}",
                "AWS_REGION": self.launch.region,
                "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", self.launch.region),
                "_HANDLER": self.launch.handler,
                "LAMBDA_TASK_ROOT": self.launch.cwd or os.getcwd(),
                "TZ": ":UTC",
            }
        )
        env.update(self.launch.environment)
        return env

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self, runtime_api: str) -> None:
        """Spawn the process; it connects to ``runtime_api`` (``host:port``)."""
        self.spawned = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            self.launch.python, "-m", "awslambdaric", self.launch.handler,
            env=self.process_env(runtime_api),
            cwd=self.launch.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # own process group: the platform's Ctrl-C does not reach it, and a kill takes
            # down anything the handler spawned
            start_new_session=True,
        )
        self._probe = procstat.ProcessProbe(self.proc.pid)
        self._tasks.append(asyncio.create_task(self._pump_output()))
        self._tasks.append(asyncio.create_task(self._watch_exit()))

    async def wait_ready(self, timeout_s: float) -> float:
        """Wait for the first ``/next``; returns the init duration (ms) or raises InitFailed."""
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except TimeoutError:
            raise InitFailed(
                {"errorMessage": f"init did not finish within {timeout_s:.0f} s",
                 "errorType": INIT_TIMEOUT_ERROR}
            ) from None
        assert self.init_ms is not None
        return self.init_ms

    async def kill(self) -> None:
        """SIGKILL the process group (Lambda does not ask a frozen sandbox to stop)."""
        if self.proc is not None and self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        if self._probe is not None:
            self._probe.close()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _watch_exit(self) -> None:
        assert self.proc is not None
        self.returncode = await self.proc.wait()
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
        why = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
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
            self.init_ms = (time.perf_counter() - self.spawned) * 1000.0
            self.cpu_mark_ms = self._probe.sample()[0] if self._probe is not None else None
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
        between two invocations counts too — and its peak RSS so far. CPU is None once
        the process is gone."""
        if self._probe is None:
            return None, None
        now, peak = self._probe.sample()
        if not self.alive:
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
        """``POST /init/error``: the handler module could not be loaded (the client exits next)."""
        try:
            error = json.loads(body)
            if not isinstance(error, dict):
                raise ValueError
        except ValueError:
            error = {"errorMessage": body.decode("utf-8", "replace")}
        error.setdefault("errorType", error_type or "Runtime.Unknown")
        self._init_error = error

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
        if outcome.kind == "timeout":
            await self.kill()
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
