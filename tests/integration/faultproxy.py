"""A fault-injecting HTTP proxy in front of dynalite (real HTTP on loopback, aiohttp).

Every request is forwarded to the upstream DynamoDB endpoint. BatchGetItem calls are
then, with the configured probabilities,

* answered *partially*: a random share of the requested keys is moved from the real
  answer into ``UnprocessedKeys`` (exactly what DynamoDB does when throttled or over the
  16 MB response cap), or
* refused with HTTP 400 ``ProvisionedThroughputExceededException`` or
  ``ThrottlingException`` (without forwarding).

BatchWriteItem calls are, with probability ``write_partial``, forwarded with only part of
their items; the rest come back as ``UnprocessedItems`` (dynalite does not check request
signatures, so the body can be rewritten).

``throttle_all=True`` refuses every BatchGetItem (a persistently throttled table).
The response CRC32 header is recomputed, since botocore checks it.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

from tests.servers import free_port

_TARGET = "DynamoDB_20120810."


@dataclass
class FaultCounters:
    batch_get: int = 0
    partial: int = 0
    throttled: int = 0
    keys_withheld: int = 0
    batch_write: int = 0
    items_withheld: int = 0
    codes: dict[str, int] = field(default_factory=dict)


class FaultProxy:
    """Start with :meth:`start`, point boto3 at :attr:`endpoint`, :meth:`stop` afterwards."""

    def __init__(
        self,
        upstream: str,
        *,
        partial: float = 0.0,
        throttle: float = 0.0,
        throttle_all: bool = False,
        write_partial: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.partial = partial
        self.throttle = throttle
        self.throttle_all = throttle_all
        self.write_partial = write_partial
        self.rng = random.Random(seed)
        self.counters = FaultCounters()
        self.port = free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with ClientSession() as session:
            self._session = session
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", self.port)
            await site.start()
            self._ready.set()
            await self._stop.wait()
            await runner.cleanup()

    # ------------------------------------------------------------------ handling
    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        target = request.headers.get("X-Amz-Target", "")
        if target == _TARGET + "BatchGetItem":
            self.counters.batch_get += 1
            if self.throttle_all or self.rng.random() < self.throttle:
                return self._throttled()
        unprocessed: dict[str, list[Any]] = {}
        if target == _TARGET + "BatchWriteItem":
            self.counters.batch_write += 1
            if self.rng.random() < self.write_partial:
                body, unprocessed = self._split_write(json.loads(body))
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length", "transfer-encoding")}
        async with self._session.request(request.method, self.upstream + request.path_qs,
                                         data=body, headers=headers) as up:
            payload = await up.read()
            status = up.status
            out_headers = {k: v for k, v in up.headers.items()
                           if k.lower() in ("content-type", "x-amzn-requestid", "x-amz-crc32")}
        if unprocessed and status == 200:
            resp = json.loads(payload)
            for table, reqs in unprocessed.items():
                resp.setdefault("UnprocessedItems", {}).setdefault(table, []).extend(reqs)
            payload = json.dumps(resp).encode()
            out_headers["x-amz-crc32"] = str(zlib.crc32(payload) & 0xFFFFFFFF)
        if target == _TARGET + "BatchGetItem" and status == 200 and self.rng.random() < self.partial:
            payload = self._withhold(json.loads(body), json.loads(payload))
            out_headers["x-amz-crc32"] = str(zlib.crc32(payload) & 0xFFFFFFFF)
        return web.Response(status=status, body=payload, headers=out_headers)

    def _throttled(self) -> web.Response:
        code = self.rng.choice(["ProvisionedThroughputExceededException", "ThrottlingException"])
        self.counters.throttled += 1
        self.counters.codes[code] = self.counters.codes.get(code, 0) + 1
        prefix = ("com.amazonaws.dynamodb.v20120810#" if code.startswith("Provisioned")
                  else "com.amazon.coral.availability#")
        payload = json.dumps({"__type": prefix + code, "message": "injected by FaultProxy"}).encode()
        return web.Response(status=400, body=payload, headers={
            "content-type": "application/x-amz-json-1.0",
            "x-amz-crc32": str(zlib.crc32(payload) & 0xFFFFFFFF),
        })

    def _withhold(self, req: dict[str, Any], resp: dict[str, Any]) -> bytes:
        """Move a random share (at least one) of the requested keys into UnprocessedKeys."""
        self.counters.partial += 1
        for table, spec in req["RequestItems"].items():
            pending = resp.setdefault("UnprocessedKeys", {}).setdefault(table, {**spec, "Keys": []})
            already = {json.dumps(k, sort_keys=True) for k in pending["Keys"]}
            keys = [k for k in spec["Keys"] if json.dumps(k, sort_keys=True) not in already]
            if not keys:
                continue
            n = self.rng.randint(1, len(keys))
            withheld = self.rng.sample(keys, n)
            held = {json.dumps(k, sort_keys=True) for k in withheld}
            key_names = list(keys[0])
            resp.setdefault("Responses", {})[table] = [
                it for it in resp.get("Responses", {}).get(table, [])
                if json.dumps({a: it[a] for a in key_names}, sort_keys=True) not in held
            ]
            pending["Keys"].extend(withheld)
            self.counters.keys_withheld += n
        return json.dumps(resp).encode()

    def _split_write(self, req: dict[str, Any]) -> tuple[bytes, dict[str, list[Any]]]:
        """Keep a random part (at least one) of each table's write requests, hold back the rest."""
        held: dict[str, list[Any]] = {}
        for table, reqs in req["RequestItems"].items():
            if len(reqs) < 2:
                continue
            n = self.rng.randint(1, len(reqs) - 1)
            held[table] = reqs[-n:]
            req["RequestItems"][table] = reqs[:-n]
            self.counters.items_withheld += n
        return json.dumps(req).encode(), held
