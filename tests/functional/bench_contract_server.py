"""A real aiohttp server on a loopback port that answers like a millicent function.

It returns the response contract of /tmp/contracts.md (``timings`` with the stage times,
``cpu_ms``, ``cold_start``, ``lookups``; the gateway's ``x-millicent-*`` headers unless
``headers=False``, like a real Lambda Function URL) and counts, on the server side, how
many requests are in flight at each arrival. A sentence / question containing ``ERR400``,
``ERR500`` or ``ERR503`` gets that status (JSON error body for 4xx/500, plain text for 503),
``SLOW`` sleeps ``slow_s`` first. Errors answer slowly on purpose: were they averaged into
latencies, the maximum would show it.

Gate mode (``gate=C``) makes "exactly C in flight" observable without depending on timing on
a busy machine: the server holds every request and releases the oldest one only once C are
waiting, then waits for the client's replacement before releasing the next. A client that
keeps fewer than C outstanding makes the gate time out (``gate_timeouts``); one that sends
more shows in ``max_in_flight``. ``boundaries`` are the arrival counts at which a phase has
sent all its requests (its tail is released without waiting).
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class ContractServer:
    headers: bool = True
    cold_first: int = 0  #: the first N requests answer as cold starts
    #: ``timings.init`` of a cold answer ("lazy" | "eager" | "restore"); None: no key, as
    #: the runtimes before eager INIT answered (their init_ms is inside total_ms)
    init: str | None = None
    min_s: float = 0.002
    max_s: float = 0.006
    error_s: float = 0.15
    slow_s: float = 2.0
    in_flight: int = 0
    max_in_flight: int = 0
    arrivals: list[int] = field(default_factory=list)  #: in-flight count at each arrival (incl. itself)
    served: int = 0
    port: int = 0
    gate: int = 0  #: 0 = off; else release one request only when this many are waiting
    boundaries: tuple[int, ...] = ()
    gate_timeout_s: float = 5.0
    gate_timeouts: int = 0
    releases: list[int] = field(default_factory=list)  #: in-flight count at each gated release
    #: checks each request (method, URL, headers, raw body) before answering; False → 403
    #: (e.g. a SigV4 verifier, as an AWS_IAM Function URL does)
    verify: Callable[[str, str, dict[str, str], bytes], bool] | None = None
    rejected: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(5))
    _waiting: deque[asyncio.Future[asyncio.Event]] = field(default_factory=deque)
    _changed: asyncio.Event | None = None

    def app(self) -> web.Application:
        app = web.Application()
        if self.gate:
            app.cleanup_ctx.append(self._controller_ctx)
        app.router.add_post("/classify", self._handle)
        app.router.add_post("/rank", self._handle)
        app.router.add_post("/{function}", self._handle)
        return app

    async def _controller_ctx(self, app: web.Application) -> Any:
        self._changed = asyncio.Event()
        task = asyncio.create_task(self._controller())
        yield
        task.cancel()

    async def _until(self, cond: Any) -> None:
        assert self._changed is not None
        while not cond():
            await self._changed.wait()
            self._changed.clear()

    async def _controller(self) -> None:
        while True:
            await self._until(lambda: bool(self._waiting))
            def ready() -> bool:
                return len(self._waiting) >= self.gate or len(self.arrivals) in self.boundaries
            try:
                await asyncio.wait_for(self._until(ready), self.gate_timeout_s)
            except TimeoutError:
                self.gate_timeouts += 1
            if len(self.arrivals) not in self.boundaries:
                self.releases.append(self.in_flight)
            done = asyncio.Event()
            self._waiting.popleft().set_result(done)
            await done.wait()

    async def _handle(self, request: web.Request) -> web.Response:
        if self.verify is not None:
            raw = await request.read()
            url = f"http://{request.host}{request.path_qs}"
            if not self.verify(request.method, url, dict(request.headers), raw):
                self.rejected += 1
                return web.json_response({"Message": "Forbidden"}, status=403)
        self.in_flight += 1
        self.arrivals.append(self.in_flight)
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        done: asyncio.Event | None = None
        try:
            body: dict[str, Any] = await request.json()
            if self.gate:
                fut: asyncio.Future[asyncio.Event] = asyncio.get_running_loop().create_future()
                self._waiting.append(fut)
                assert self._changed is not None
                self._changed.set()
                done = await fut
            text = str(body.get("sentence") or body.get("question") or "")
            for code in (400, 500, 503):
                if f"ERR{code}" in text:
                    await asyncio.sleep(self.error_s)
                    if code == 503:
                        return web.Response(status=503, text="Service Unavailable")
                    return web.json_response({"error": "invalid_input" if code == 400 else
                                              "internal_error", "message": f"forced {code}"},
                                             status=code)
            if "SLOW" in text:
                await asyncio.sleep(self.slow_s)
            delay = self._rng.uniform(self.min_s, self.max_s)
            await asyncio.sleep(delay)
            self.served += 1
            cold = self.served <= self.cold_first
            total = delay * 1000.0
            words = len(text.split()) or 1
            timings = {
                "tokenize_ms": 0.1, "fetch_ms": total * 0.5, "forward_ms": 0.3,
                "other_ms": total * 0.5 - 0.4, "total_ms": total, "cpu_ms": 0.6,
                "cold_start": cold,
                "lookups": {"words": words, "pack_hits": words - 2 if words > 2 else 0,
                            "lru_hits": 0, "store_hits": min(2, words), "missing": 0,
                            "store_calls": 1, "store_items": min(2, words),
                            "store_item_bytes": [230] * min(2, words), "store_retries": 0,
                            "fetch_ms": total * 0.5, "cache_hits": max(0, words - 2)},
            }
            if cold:
                timings["init_ms"] = 120.0
                if self.init is not None:
                    timings["init"] = self.init
            headers = {}
            if self.headers:
                headers = {"x-millicent-cold": "1" if cold else "0",
                           "x-millicent-request-id": f"req-{self.served}",
                           "x-millicent-duration-ms": f"{total + 0.05:.3f}",
                           "x-millicent-billed-ms": str(int(total + 1)),
                           "x-millicent-init-ms": "120.0" if cold else "",
                           "x-millicent-cpu-ms": "0.6",
                           "x-millicent-max-memory-mb": "61"}
            payload = {"label": "positive", "label_index": 3, "probabilities": [0.1] * 5,
                       "model": "kim", "timings": timings}
            return web.Response(text=json.dumps(payload), content_type="application/json",
                                headers=headers)
        finally:
            self.in_flight -= 1
            if done is not None:
                done.set()


class ThreadedServer:
    """Runs a :class:`ContractServer` on its own event loop in a thread (for code under test
    that calls ``asyncio.run`` itself)."""

    def __init__(self, contract: ContractServer) -> None:
        self.contract = contract
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.contract.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.contract.port = int(self._runner.addresses[0][1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.contract.port}"

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("contract server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
