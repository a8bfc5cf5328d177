"""The closed-loop load generator: exactly C requests in flight, every response checked.

C worker coroutines share one iterator over the plan; each sends a request, waits for the
whole response, records it and takes the next. So at most C requests are outstanding and,
until the plan runs dry, exactly C (the connection pool is sized to C too, so none waits
inside the client). Warm-up requests run first at the same C, to completion, and are
recorded with ``phase="warmup"``; statistics use only ``phase="measure"``.

Every answer's status is checked: a non-2xx status, an unparsable body, a connection error
or a client timeout is an error record (``status`` 0 when there was no response), counted
and shown, never averaged into latencies.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from millicent.errors import ConfigError, missing_extra
from millicent.harness.records import RequestRecord, apply_response, error_text
from millicent.harness.workload import PlannedRequest

if TYPE_CHECKING:
    import aiohttp

#: called after every finished request with ``ok``
OnDone = Callable[[bool], None]


class Signer(Protocol):
    """Signs one request (e.g. :class:`millicent.deploy.signing.SigV4Signer`)."""

    def sign(self, method: str, url: str, body: bytes = b"",
             headers: Mapping[str, str] | None = None) -> dict[str, str]: ...


@dataclass(frozen=True)
class ClientOptions:
    """HTTP client settings of a run."""

    timeout_s: float = 30.0
    headers: Mapping[str, str] = field(default_factory=dict)  #: e.g. {"x-api-key": ...}
    #: signs every request (SigV4 for an AWS_IAM Function URL); None: unsigned
    signer: Signer | None = None


@dataclass
class ClientLoop:
    """What every worker of a run shares: the session, where to send, how, the clock."""

    session: aiohttp.ClientSession
    endpoint: str
    options: ClientOptions
    t0: float
    on_done: OnDone | None = None


def _url(endpoint: str, path: str) -> str:
    return endpoint.rstrip("/") + path


async def send(loop: ClientLoop, req: PlannedRequest, rec: RequestRecord) -> None:
    """Send one request (signed when the options say so) and fill ``rec`` with what came
    back: latency, status, the answer's timings and the platform's headers."""
    import aiohttp

    url = _url(loop.endpoint, req.path)
    timeout_s = loop.options.timeout_s
    headers = {"content-type": "application/json"}
    if loop.options.signer is not None:
        # signed per request, before the clock starts: the signature is the client's work
        headers = loop.options.signer.sign("POST", url, req.body, headers)
    t = time.perf_counter()
    try:
        async with loop.session.post(url, data=req.body, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            raw = await resp.read()
            rec.latency_ms = (time.perf_counter() - t) * 1000.0
            rec.status = resp.status
            headers = dict(resp.headers)
    except TimeoutError:
        rec.latency_ms = (time.perf_counter() - t) * 1000.0
        rec.error = f"client timeout after {timeout_s:g}s"
        return
    except aiohttp.ClientError as exc:
        rec.latency_ms = (time.perf_counter() - t) * 1000.0
        rec.error = f"{type(exc).__name__}: {exc}"
        return
    body: Any = None
    try:
        body = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not 200 <= rec.status < 300:
        rec.error = error_text(rec.status, body, raw.decode("utf-8", "replace"))
    elif not isinstance(body, dict):
        rec.error = f"{rec.status} response is not a JSON object"
    apply_response(rec, headers, body)


async def run_phase(loop: ClientLoop, plan: Sequence[PlannedRequest], order: Sequence[int],
                    concurrency: int, phase: str) -> list[RequestRecord]:
    """Send ``plan[i] for i in order`` with at most ``concurrency`` outstanding; one record each.

    ``loop.t0`` is the run's origin on :func:`time.perf_counter` (``sent_s`` is relative to it).
    """
    if concurrency < 1:
        raise ConfigError(f"concurrency must be ≥ 1, got {concurrency}")
    records: list[RequestRecord | None] = [None] * len(order)
    work = iter(enumerate(order))
    in_flight = 0

    async def worker() -> None:
        nonlocal in_flight
        # next() on the shared iterator never awaits, so no two workers take the same item
        for slot, idx in work:
            in_flight += 1
            rec = RequestRecord(index=idx, phase=phase, sent_s=time.perf_counter() - loop.t0,
                                latency_ms=0.0, status=0, in_flight=in_flight)
            try:
                await send(loop, plan[idx], rec)
            finally:
                in_flight -= 1
            records[slot] = rec
            if loop.on_done is not None:
                loop.on_done(rec.ok)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(order)))))
    return [r for r in records if r is not None]


async def run_closed_loop(endpoint: str, plan: Sequence[PlannedRequest], concurrency: int,
                          measured: Sequence[int], warmup: Sequence[int] = (),
                          options: ClientOptions | None = None,
                          on_done: OnDone | None = None) -> list[RequestRecord]:
    """Warm-up (if any) then the measured requests, both at ``concurrency``, over one
    connection pool of exactly ``concurrency`` connections. Returns all records in order."""
    try:
        import aiohttp
    except ImportError as exc:  # pragma: no cover - aiohttp is in the bench extra
        raise missing_extra("aiohttp", "bench") from exc
    opts = options or ClientOptions()
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    t0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, headers=dict(opts.headers)) as session:
        loop = ClientLoop(session, endpoint, opts, t0, on_done)
        warm = await run_phase(loop, plan, warmup, concurrency, "warmup")
        meas = await run_phase(loop, plan, measured, concurrency, "measure")
    return warm + meas
