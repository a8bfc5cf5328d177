"""The platform: invoke a function the way Lambda does, and account for every invocation.

:meth:`Platform.invoke` picks an environment through the :class:`~.pool.Pool` (warm reuse,
cold start, throttle), starts a process for a cold start and waits for its first ``/next``
(the init duration), delivers the event, waits for the answer within the function timeout,
and writes an :class:`~.records.InvocationRecord`. Crashed or timed-out environments are
removed (the next request starts a fresh one); idle ones are reaped by a background task.

With ``snapshot`` settings a cold start forks the function's snapshot template
(:mod:`.snapshot`, built before the platform listens) instead of spawning a process: the
record then carries the Restore Duration instead of an Init Duration.

With ``memory_limit`` (the default, as on Lambda) an environment whose memory passes the
function's memory size is killed and its invocation (or INIT) fails with
``Runtime.OutOfMemory``; a :class:`~.memory.MemoryGuard` polls the environments that are
starting or busy (:mod:`.memory`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from millicent.errors import FunctionError, NotFound, TooManyRequests
from millicent.platform import report
from millicent.platform.functions import FunctionSpec, PlatformSettings, alias_targets
from millicent.platform.launch import Launch
from millicent.platform.memory import OUT_OF_MEMORY_ERROR, MemoryGuard, Watched, init_report
from millicent.platform.pool import Acquired, Clock, Pool, Slot
from millicent.platform.records import InvocationRecord, RecordLog, Totals
from millicent.platform.report import Arrival, ColdStart
from millicent.platform.sandbox import (
    INIT_TIMEOUT_ERROR,
    ExecutionEnvironment,
    InitFailed,
    Invocation,
    error_body,
)
from millicent.platform.snapshot import SnapshotTemplate

#: Longest a written record or log line waits in its file's buffer while invocations are in
#: flight (the logs are flushed at once when none is).
FLUSH_S = 0.2


@dataclass
class InvocationResult:
    """The answer of one invocation: the payload and, when the function failed, its error type.

    ``function_error`` is Lambda's ``X-Amz-Function-Error`` (``"Unhandled"``) or None.
    """

    payload: bytes
    function_error: str | None
    error_type: str | None
    record: InvocationRecord
    logs: list[str]


class Platform:
    """Functions, their execution environments and the invocation log."""

    def __init__(
        self,
        functions: Sequence[FunctionSpec],
        settings: PlatformSettings | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        from millicent.platform.runtime_api import RuntimeAPI

        if not functions:
            raise NotFound("no functions configured")
        self.settings = settings or PlatformSettings()
        self.functions = {f.name: f for f in functions}
        self.aliases = alias_targets(list(functions))
        self.pool: Pool[ExecutionEnvironment] = Pool(
            self.settings.max_concurrency, self.settings.idle_timeout_s, clock
        )
        self.totals = Totals()
        self.records = RecordLog(self.settings.record_path)
        self.runtime_api = RuntimeAPI()
        self._function_log: TextIO | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self.started_at = time.time()
        self._closed = False
        self._in_flight = 0
        self._flush_timer: asyncio.TimerHandle | None = None
        #: the snapshot template of each function (``settings.snapshot`` only)
        self.templates: dict[str, SnapshotTemplate] = {}
        self.memory_guard = MemoryGuard(self._memory_watched, self.settings.memory_poll_s)

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        if self.settings.function_log_path:
            path = self.settings.function_log_path
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self._function_log = open(path, "a", encoding="utf-8", buffering=1 << 16)  # noqa: SIM115
        await self.runtime_api.start()
        if self.settings.memory_limit:
            self.memory_guard.start()
        if self.settings.snapshot:
            await self._build_templates()
        self._reaper = asyncio.create_task(self._reap_forever())

    async def _build_templates(self) -> None:
        """Every function's snapshot template, INIT run once each, all at once. A failed
        INIT is logged (with the error awslambdaric built) and does not stop the platform:
        the function's next cold start tries again and answers with the error."""
        for spec in self.functions.values():
            self.templates[spec.name] = SnapshotTemplate(
                self._launch(spec), self._log_line,
                max(self.settings.snapshot_init_timeout_s, spec.timeout_s), self._limit(spec))
        self.memory_guard.wake()
        results = await asyncio.gather(*(t.ensure() for t in self.templates.values()),
                                       return_exceptions=True)
        for template, result in zip(self.templates.values(), results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, InitFailed):
                raise result
            if isinstance(result, InitFailed):
                line = (f"snapshot INIT failed: {result.error.get('errorType')}: "
                        f"{result.error.get('errorMessage')} (cold starts will try again)")
                self._log_line(template.name, line)
            else:
                line = f"snapshot ready: INIT {template.init_ms:.0f} ms"
            if self._function_log is not None:  # the operator sees it too, not only the log
                print(f"{template.name}: {line}", file=sys.stderr, flush=True)
        self._flush_logs()

    async def stop(self) -> None:
        """Kill every environment and stop listening; later invocations fail."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for slot in self.pool.drain():
            await self._stop_env(slot)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
        for template in self.templates.values():
            await template.stop()
        await self.memory_guard.stop()
        # invocations whose environment was just killed finish (and write their records)
        # on their own tasks: let them, before the logs close
        for _ in range(200):
            if self._in_flight == 0:
                break
            await asyncio.sleep(0.01)
        await self.runtime_api.stop()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self.records.close()
        if self._function_log is not None:
            self._function_log.close()

    def _log_line(self, env_id: str, line: str) -> None:
        out = self._function_log or sys.stderr
        if not out.closed:
            out.write(f"[{env_id}] {line}\n")
            if out is self._function_log:
                self._flush_soon()

    # The logs are block-buffered (one write(2) per many lines under load): flushed as soon
    # as no invocation is in flight, else at most FLUSH_S after a line was written.
    def _flush_soon(self) -> None:
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_S, self._flush_logs)

    def _flush_logs(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        self.records.flush()
        if self._function_log is not None and not self._function_log.closed:
            self._function_log.flush()

    # --- invoking ----------------------------------------------------------------------
    def resolve(self, name: str) -> FunctionSpec:
        """The function called ``name``, or NotFound (Lambda's ResourceNotFoundException)."""
        spec = self.functions.get(name)
        if spec is None:
            raise NotFound(f"Function not found: {self.settings.function_arn(name)}", function=name)
        return spec

    async def invoke(
        self, name: str, payload: bytes, *, source: str = "http", client_context: str | None = None
    ) -> InvocationResult:
        """Run one invocation of function ``name`` with the JSON ``payload``.

        Raises NotFound for an unknown function and TooManyRequests when throttled; every
        other failure (handler error, crash, timeout, init failure) comes back as an
        :class:`InvocationResult` with ``function_error`` set, as Lambda's Invoke API does.
        """
        spec = self.resolve(name)
        if self._closed:
            raise FunctionError("the platform is shutting down")
        self._in_flight += 1
        try:
            return await self._invoke(spec, payload, source, client_context)
        finally:
            self._in_flight -= 1

    async def _invoke(
        self, spec: FunctionSpec, payload: bytes, source: str, client_context: str | None
    ) -> InvocationResult:
        arrival = Arrival(time.perf_counter(), time.time(), source)
        try:
            acquired = self._acquire_live(spec.name)
        except TooManyRequests:
            self.totals.throttled(spec.name)
            raise
        for victim in acquired.evicted:
            self._stop_soon(victim)
        self.memory_guard.wake()
        slot = acquired.slot
        request_id = new_request_id()
        cold: ColdStart | None = None
        try:
            if acquired.cold:
                cold = await self._start_env(slot, spec)
            env = slot.handle
            assert env is not None
            inv = Invocation(
                request_id=request_id,
                payload=payload,
                deadline_ms=int((time.time() + spec.timeout_s) * 1000),
                function_arn=self.settings.function_arn(spec.name),
                trace_id=_trace_id(),
                client_context=client_context,
            )
            outcome = await env.invoke(inv, spec.timeout_s)
        except InitFailed as exc:
            self.pool.remove(slot)
            self._stop_soon(slot)
            return self._init_failure(spec, slot, request_id, exc, arrival)
        except BaseException:
            # cancelled (shutdown) or a platform bug: never leave a slot reserved forever
            self.pool.remove(slot)
            self._stop_soon(slot)
            raise
        record = report.invocation_record(spec.name, slot.env_id, spec.memory_mb, env, inv,
                                          outcome, cold, arrival)
        self._account(record)
        if outcome.kind in ("crash", "timeout", "oom") or not env.alive:
            self.pool.remove(slot)
            self._stop_soon(slot)
        else:
            self.pool.release(slot)
        return InvocationResult(
            payload=outcome.body,
            function_error=None if outcome.kind == "response" else "Unhandled",
            error_type=outcome.error_type,
            record=record,
            logs=list(inv.logs),
        )

    def _acquire_live(self, name: str) -> Acquired[ExecutionEnvironment]:
        """The pool's choice, skipping warm environments whose process has died while idle
        (killed, out of memory): handing one the request answered a 502 for a request that
        never reached a handler. A dead one is dropped and the pool asked again."""
        while True:
            acquired = self.pool.acquire(name)
            env = acquired.slot.handle
            if acquired.cold or env is None or env.alive:
                return acquired
            self.pool.remove(acquired.slot)
            self._stop_soon(acquired.slot)

    def _limit(self, spec: FunctionSpec) -> int | None:
        """The memory an environment of ``spec`` may use before it is killed (None: any)."""
        return spec.memory_mb if self.settings.memory_limit else None

    def _environment(self, slot: Slot[ExecutionEnvironment], spec: FunctionSpec
                     ) -> ExecutionEnvironment:
        """A new on-demand environment (spawned: it runs INIT) for ``slot``."""
        return ExecutionEnvironment(slot.env_id, self._launch(spec), self._log_line,
                                    limit_mb=self._limit(spec))

    def _memory_watched(self) -> list[Watched]:
        """What the memory guard reads: environments starting or busy, templates in INIT."""
        out: list[Watched] = [s.handle for s in self.pool.slots
                              if s.busy and s.handle is not None]
        out.extend(t for t in self.templates.values() if t.building)
        return out

    def _launch(self, spec: FunctionSpec) -> Launch:
        return Launch(
            handler=spec.handler,
            function=spec.name,
            memory_mb=spec.memory_mb,
            timeout_s=spec.timeout_s,
            environment=dict(spec.environment),
            region=self.settings.region,
            python=self.settings.python or sys.executable,
            cwd=self.settings.task_root,
            withheld_values=self.settings.withheld_values,
        )

    async def _start_env(self, slot: Slot[ExecutionEnvironment], spec: FunctionSpec) -> ColdStart:
        """Start the slot's environment (spawn, or fork the snapshot) up to its first
        ``/next``; what that cost. Raises InitFailed.

        An on-demand INIT past ``init_timeout_s`` (Lambda's 10 s) is retried once, as Lambda
        does, in a new process under the function's timeout; the record's Init Duration
        then covers both attempts.
        """
        template = self.templates.get(spec.name)
        if template is not None:
            waited = await template.ensure()  # None, unless INIT had to run (again) first
            env = ExecutionEnvironment(slot.env_id, template.launch, self._log_line,
                                       starter=template.fork, start_kind="restore",
                                       limit_mb=self._limit(spec))
            restore_ms = await self._ready(slot, env, self.settings.init_timeout_s)
            return ColdStart(init_ms=waited, restore_ms=restore_ms)
        t0 = time.perf_counter()
        try:
            return ColdStart(init_ms=await self._ready(
                slot, self._environment(slot, spec), self.settings.init_timeout_s))
        except InitFailed as exc:
            if exc.error.get("errorType") != INIT_TIMEOUT_ERROR:
                raise
        self._log_line(slot.env_id, f"INIT over {self.settings.init_timeout_s:g} s: retried "
                                    f"under the function timeout ({spec.timeout_s:g} s)")
        await self._stop_env(slot)
        await self._ready(slot, self._environment(slot, spec), spec.timeout_s)
        return ColdStart(init_ms=(time.perf_counter() - t0) * 1000.0)

    async def _ready(self, slot: Slot[ExecutionEnvironment], env: ExecutionEnvironment,
                     timeout_s: float) -> float:
        """Put ``env`` in ``slot``, start it and wait for its first ``/next`` (its ms)."""
        slot.handle = env
        address = await self.runtime_api.open(env)
        try:
            await env.start(address)
        except OSError as exc:  # could not even spawn (interpreter missing, fd limit)
            raise InitFailed({"errorMessage": f"could not start the environment: {exc}",
                              "errorType": "Runtime.StartError"}) from exc
        return await env.wait_ready(timeout_s)

    def _init_failure(
        self, spec: FunctionSpec, slot: Slot[ExecutionEnvironment], request_id: str,
        exc: InitFailed, arrival: Arrival,
    ) -> InvocationResult:
        error_type = str(exc.error.get("errorType") or "Runtime.Unknown")
        message = str(exc.error.get("errorMessage") or "init failed")
        record = report.init_failure_record(spec.name, slot.env_id, spec.memory_mb, slot.handle,
                                            request_id, error_type, arrival)
        if error_type == OUT_OF_MEMORY_ERROR:
            used = exc.error.get("max_memory_mb")
            if isinstance(used, int | float) and record.max_memory_mb is None:
                record.max_memory_mb = float(used)
            if record.init_kind == "init" and slot.handle is not None:  # not a template's
                self._log_line(slot.env_id, init_report(record.init_ms))
        self._account(record)
        return InvocationResult(
            payload=error_body(message, error_type, request_id),
            function_error="Unhandled", error_type=error_type, record=record, logs=[],
        )

    def _account(self, record: InvocationRecord) -> None:
        self.totals.add(record)
        self.records.write(record)
        if self._function_log is not None:
            self._log_line(record.env_id, record.report_line())
        if self._in_flight <= 1:  # this is the last invocation in flight: the logs are current
            self._flush_logs()
        else:
            self._flush_soon()

    # --- stopping environments ---------------------------------------------------------
    def _stop_soon(self, slot: Slot[ExecutionEnvironment]) -> None:
        task = asyncio.create_task(self._stop_env(slot))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _stop_env(self, slot: Slot[ExecutionEnvironment]) -> None:
        env = slot.handle
        if env is None:
            return
        await env.kill()
        await self.runtime_api.close(env)

    async def _reap_forever(self) -> None:
        # an environment released now expires no sooner than idle_timeout from now, so
        # polling at most every second (or every idle timeout, when shorter) is exact enough
        tick = min(1.0, self.settings.idle_timeout_s)
        while True:
            wait = self.pool.next_reap_in()
            await asyncio.sleep(tick if wait is None else min(tick, wait + 0.005))
            for slot in self.pool.reap():
                await self._stop_env(slot)

    # --- introspection -----------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Totals plus the environments alive now (the body of ``GET /_millicent/stats``)."""
        now = self.pool.now()
        per_function = {name: self.pool.count(name) for name in self.functions}
        envs = [
            {
                "env_id": s.env_id,
                "function": s.function,
                "pid": s.handle.pid if s.handle is not None else None,
                "busy": s.busy,
                "invocations": s.invocations,
                "age_s": round(now - s.created, 3),
                "idle_s": 0.0 if s.busy else round(now - s.last_used, 3),
                "start_kind": s.handle.start_kind if s.handle is not None else None,
                "start_ms": s.handle.ready_ms if s.handle is not None else None,
            }
            for s in self.pool.slots
        ]
        return {
            "environments": per_function,
            "environments_total": sum(per_function.values()),
            "environment_details": envs,
            "in_flight": self.pool.in_flight(),
            **self.totals.to_dict(),
            "functions": {
                name: {"handler": f.handler, "memory_mb": f.memory_mb, "timeout_s": f.timeout_s,
                       "role": f.role}
                for name, f in self.functions.items()
            },
            "aliases": self.aliases,
            "snapshots": {name: t.describe() for name, t in self.templates.items()},
            "settings": {
                "max_concurrency": self.settings.max_concurrency,
                "idle_timeout_s": self.settings.idle_timeout_s,
                "record_path": self.settings.record_path,
                "snapshot": self.settings.snapshot,
                "memory_limit": self.settings.memory_limit,
                "memory_poll_s": self.settings.memory_poll_s,
            },
            "uptime_s": round(time.time() - self.started_at, 3),
        }


#: Identifiers only need to be unique, not secret (an environment is addressed by its own
#: port and accepts only its current request id): a PRNG seeded from os.urandom, instead of
#: a getrandom(2) call for each of the four random ids of an invocation.
_IDS = random.Random()
_V4 = 0x0000_0000_0000_4000_8000_0000_0000_0000  # UUID version 4, RFC 4122 variant
_V4_MASK = 0xFFFF_FFFF_FFFF_0FFF_3FFF_FFFF_FFFF_FFFF


def new_request_id() -> str:
    """A random version-4 UUID string, as Lambda's request ids."""
    h = f"{_IDS.getrandbits(128) & _V4_MASK | _V4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_hex(bits: int) -> str:
    """``bits`` random bits as lower-case hex (ids, not secrets)."""
    return f"{_IDS.getrandbits(bits):0{bits // 4}x}"


def _trace_id() -> str:
    """An X-Ray trace header in Lambda's format (``Root=1-<epoch hex>-<96-bit hex>``)."""
    return f"Root=1-{int(time.time()):08x}-{random_hex(96)};Parent={random_hex(64)};Sampled=0"
