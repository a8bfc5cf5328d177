"""``millicent serve --snapshot``: Lambda SnapStart on the local platform, by fork.

Per function one template process (:mod:`.snapshot_template`) runs the INIT phase once —
imports, models, store, pack — and the before-snapshot hooks, before the platform listens;
then it waits. Each cold start sends it a ``fork`` command: the child runs the
after-restore hooks and becomes an execution environment with its own Runtime API
endpoint, running the unmodified ``awslambdaric`` loop. Its REPORT record carries the
Restore Duration (fork command → first ``/next``) instead of an Init Duration.

Everything else is the on-demand platform's: the child is a separate process in its own
session (a kill or a timeout takes it down as today), the pool decides cold starts,
throttles and scale to zero. A template whose INIT fails, or that dies, leaves the
function without a snapshot: the next cold start builds a new one (INIT again, the store
may be back) and, if INIT fails again, answers with the init error awslambdaric built.

:class:`SnapshotTemplate` is the platform's side of one template: start it, fork from it
(:meth:`SnapshotTemplate.fork` is an environment's starter), learn its children's exit
statuses. A child's end is seen through a pidfd (so it is noticed even after the template
died); its status comes from the template, which reaps it.

With a memory limit, the template's INIT is held to the function's memory size as
SnapStart holds it (its INIT runs in a sandbox of that size): one that passes it is killed
and fails with ``Runtime.OutOfMemory``. Each restored child is an environment like any
other, held to the limit by :mod:`.sandbox`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from millicent.platform import memory, procstat
from millicent.platform.launch import SNAP_START, Launch, lambda_environment, log_stream
from millicent.platform.sandbox import (
    CRASH_ERROR,
    INIT_TIMEOUT_ERROR,
    ExecutionEnvironment,
    InitFailed,
)
from millicent.platform.snapshot_template import FD_VAR, MAX_MESSAGE

#: How long a child's exit status may trail its pidfd's "ended" signal.
STATUS_GRACE_S = 1.0


class ForkedProcess:
    """A restored environment's process, as :class:`~.sandbox.ExecutionEnvironment`
    holds it: pid, its output, and its end (pidfd) with the status the template reports."""

    def __init__(self, pid: int, pidfd: int, stdout: asyncio.StreamReader,
                 status: asyncio.Future[int | None]) -> None:
        self.pid = pid
        self.stdout: asyncio.StreamReader | None = stdout
        self._status = status
        loop = asyncio.get_running_loop()
        self._gone: asyncio.Future[None] = loop.create_future()
        self._pidfd = pidfd
        loop.add_reader(pidfd, self._ended)

    def _ended(self) -> None:
        if self._pidfd >= 0:
            asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1
        if not self._gone.done():
            self._gone.set_result(None)

    def kill(self) -> None:
        """SIGKILL the process itself, through its pidfd (never another process that got
        its pid after the template reaped it)."""
        if self._pidfd >= 0:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    async def wait(self) -> int | None:
        """Wait for the process to end; its return code, None if the template is gone."""
        if not self._status.done():
            await asyncio.wait([self._gone], return_when=asyncio.FIRST_COMPLETED)
        if not self._status.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._status), STATUS_GRACE_S)
        return self._status.result() if self._status.done() else None


class SnapshotTemplate:
    """One function's template process, seen from the platform."""

    def __init__(self, launch: Launch, log: Callable[[str, str], None],
                 init_timeout_s: float = 10.0, limit_mb: int | None = None) -> None:
        self.launch = launch
        self.name = f"{launch.function}-template"
        self._log = log
        self.init_timeout_s = init_timeout_s
        #: kill an INIT whose memory passes this (None: no limit)
        self.limit_mb = limit_mb
        self._probe: procstat.ProcessProbe | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.init_ms: float | None = None
        self.forks = 0
        self.builds = 0
        self.error: dict[str, Any] | None = None  #: the last INIT's error, if it failed
        self._sock: socket.socket | None = None
        self._building: asyncio.Future[float] | None = None
        self._ready = False
        self._replies: dict[str, asyncio.Future[tuple[dict[str, Any], list[int]]]] = {}
        self._statuses: dict[int, asyncio.Future[int | None]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def ready(self) -> bool:
        """INIT done and the template alive: a cold start can fork from it."""
        return self._ready and self.proc is not None and self.proc.returncode is None

    @property
    def building(self) -> bool:
        """INIT is running (the memory guard watches it)."""
        return self._building is not None and not self._building.done()

    @property
    def state(self) -> str:
        if self.ready:
            return "ready"
        if self._building is not None and not self._building.done():
            return "building"
        return "failed" if self.error is not None else "stopped"

    # --- building ----------------------------------------------------------------------
    async def ensure(self) -> float | None:
        """A ready template: None when one was ready already, else the INIT ms of the
        (re)build this call waited for. Raises :class:`InitFailed` when INIT fails."""
        if self.ready:
            return None
        if self._building is None or self._building.done():
            self._building = asyncio.ensure_future(self._build())
        return await asyncio.shield(self._building)

    async def _build(self) -> float:
        await self.stop()
        self.builds += 1
        self._ready, self.error = False, None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        started = time.perf_counter()
        env = {**lambda_environment(self.launch, self.name, None, SNAP_START),
               FD_VAR: str(theirs.fileno())}
        try:
            self.proc = await asyncio.create_subprocess_exec(
                self.launch.python, "-m", "millicent.platform.snapshot_template",
                self.launch.handler, env=env, cwd=self.launch.cwd, pass_fds=[theirs.fileno()],
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            ours.close()
            raise self._failed({"errorMessage": f"could not start the snapshot template: {exc}",
                                "errorType": "Runtime.StartError"}) from exc
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._probe = procstat.ProcessProbe(self.proc.pid)
        first: asyncio.Future[tuple[dict[str, Any], list[int]]] = (
            asyncio.get_running_loop().create_future())
        self._replies["init"] = first
        asyncio.get_running_loop().add_reader(ours.fileno(), self._receive)
        self._tasks = [asyncio.create_task(self._pump_output()), asyncio.create_task(self._watch())]
        return await self._await_init(first, started)

    async def _await_init(self, first: asyncio.Future[tuple[dict[str, Any], list[int]]],
                          started: float) -> float:
        try:
            message, _ = await asyncio.wait_for(asyncio.shield(first), self.init_timeout_s)
        except TimeoutError:
            await self.stop()
            raise self._failed({"errorMessage": f"INIT did not finish within "
                                f"{self.init_timeout_s:.0f} s", "errorType": INIT_TIMEOUT_ERROR},
                               ) from None
        elapsed = (time.perf_counter() - started) * 1000.0
        if message.get("op") == "ready" and self._over_limit():  # a peak between two polls
            message = {"op": "init_error", "error": self._oom_error()}
        if message.get("op") != "ready":
            await self.stop()
            raise self._failed(dict(message.get("error") or {}), elapsed)
        self.init_ms, self._ready = elapsed, True
        self._log(self.name, f"INIT_REPORT Init Duration: {elapsed:.2f} ms\tPhase: snapshot"
                             f"\tStatus: ready\tPid: {message.get('pid')}")
        return elapsed

    # --- memory ------------------------------------------------------------------------
    def check_memory(self) -> None:
        """The memory guard's poll during INIT: an INIT over the limit is killed and fails."""
        waiter = self._replies.get("init")
        if self.limit_mb is None or self._probe is None or waiter is None or waiter.done():
            return
        used = self._probe.resident_mb()
        if used is not None and used > self.limit_mb:
            waiter.set_result(({"op": "init_error", "error": self._oom_error(used)}, []))
            if self.proc is not None and self.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)

    def _over_limit(self) -> bool:
        """The INIT's peak memory passed the limit (read when it reports ready)."""
        if self.limit_mb is None or self._probe is None:
            return False
        peak = self._probe.sample()[1]
        return peak is not None and peak > self.limit_mb

    def _oom_error(self, used: float | None = None) -> dict[str, Any]:
        if used is None and self._probe is not None:
            used = self._probe.sample()[1]
        assert self.limit_mb is not None
        self._log(self.name, memory.explain(used, self.limit_mb, "snapshot"))
        return {"errorMessage": memory.KILLED, "errorType": memory.OUT_OF_MEMORY_ERROR,
                "max_memory_mb": used}

    def _failed(self, error: dict[str, Any], elapsed: float | None = None) -> InitFailed:
        error.setdefault("errorType", "Runtime.Unknown")
        error.setdefault("errorMessage", "INIT failed")
        self.error = error
        took = f"Init Duration: {elapsed:.2f} ms\t" if elapsed is not None else ""
        self._log(self.name, f"INIT_REPORT {took}Phase: snapshot\tStatus: error"
                             f"\tError Type: {error['errorType']}")
        return InitFailed(error)

    # --- forking -----------------------------------------------------------------------
    async def fork(self, env: ExecutionEnvironment, runtime_api: str) -> ForkedProcess:
        """Restore one environment (an :class:`~.sandbox.ExecutionEnvironment` starter)."""
        if not self.ready or self._sock is None:
            raise InitFailed(self.error or {"errorMessage": "the snapshot template is not running",
                                           "errorType": CRASH_ERROR})
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        reply: asyncio.Future[tuple[dict[str, Any], list[int]]] = loop.create_future()
        self._replies[env.env_id] = reply
        command = {"op": "fork", "id": env.env_id,
                   "env": {"AWS_LAMBDA_RUNTIME_API": runtime_api,
                           "AWS_LAMBDA_LOG_STREAM_NAME": log_stream(env.env_id)}}
        try:
            socket.send_fds(self._sock, [json.dumps(command).encode()], [write_fd])
        except OSError as exc:
            os.close(read_fd)
            self._replies.pop(env.env_id, None)
            raise InitFailed({"errorMessage": f"the snapshot template is gone: {exc}",
                             "errorType": CRASH_ERROR}) from exc
        finally:
            os.close(write_fd)
        try:
            message, fds = await reply
        except BaseException:
            os.close(read_fd)
            raise
        if message.get("op") != "forked" or len(fds) != 1:
            os.close(read_fd)
            raise InitFailed({"errorMessage": f"fork failed: {message.get('message', message)}",
                             "errorType": CRASH_ERROR})
        self.forks += 1
        pid = int(message["pid"])
        status = self._statuses.setdefault(pid, loop.create_future())
        return ForkedProcess(pid, fds[0], await _reader(read_fd), status)

    # --- the template's messages and output --------------------------------------------
    def _receive(self) -> None:
        """Every message waiting on the socket (the loop calls this when it is readable)."""
        sock = self._sock
        while sock is not None:
            try:
                data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 2)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data:  # the template closed its end (it is exiting)
                asyncio.get_running_loop().remove_reader(sock.fileno())
                return
            self._dispatch(json.loads(data), list(fds))

    def _dispatch(self, message: dict[str, Any], fds: list[int]) -> None:
        op = message.get("op")
        if op == "exited":
            pid = int(message["pid"])
            fut = self._statuses.setdefault(pid, asyncio.get_running_loop().create_future())
            if not fut.done():
                fut.set_result(int(message["code"]))
            return
        key = "init" if op in ("ready", "init_error") else str(message.get("id"))
        waiter = self._replies.pop(key, None)
        if waiter is None or waiter.done():
            for fd in fds:
                os.close(fd)
            return
        waiter.set_result((message, fds))

    async def _pump_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "\n    ")
            self._log(self.name, text)

    async def _watch(self) -> None:
        assert self.proc is not None
        code = await self.proc.wait()
        self._ready = False
        self._receive()  # what it sent before it ended (its init error) comes first
        gone = {"errorMessage": f"Runtime exited with error: exit status {code}",
                "errorType": CRASH_ERROR}
        for waiter in self._replies.values():
            if not waiter.done():
                waiter.set_result(({"op": "init_error", "error": gone}, []))
        self._replies.clear()
        for status in self._statuses.values():  # nobody is left to reap them
            if not status.done():
                status.set_result(None)
        if self._sock is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    async def stop(self) -> None:
        """Kill the template (its restored environments live on; the platform stops them)."""
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        self._ready = False
        if self._probe is not None:
            self._probe.close()
            self._probe = None

    def describe(self) -> dict[str, Any]:
        """The template's state for ``/_millicent/stats``."""
        return {"state": self.state, "pid": self.proc.pid if self.proc is not None else None,
                "init_ms": self.init_ms, "forks": self.forks, "builds": self.builds,
                "error": self.error}


async def _reader(fd: int) -> asyncio.StreamReader:
    """An asyncio stream reading the pipe ``fd`` (a child's stdout)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    pipe = os.fdopen(fd, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    return reader
