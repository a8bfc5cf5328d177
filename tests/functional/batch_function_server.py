"""A real aiohttp server on loopback that answers batches with millicent's own runtime.

Each ``POST /classify`` body goes through :func:`millicent.runtime.handler.serve` — the
request parser, the service core, the shipped Kim CNN and the response builder the Lambda
handler uses — over an in-memory store; a :class:`~millicent.errors.MillicentError`
becomes its status and JSON body, as the handler answers. On top, faults a deployment
shows, by the numbers: ``throttle`` — the first N requests answer 429 (Lambda's
throttle); ``outage`` — requests number ``(a, b]`` answer 503 (a store outage);
``poison`` — a batch holding this word answers 502 (the environment crashed);
``limits`` — e.g. a small ``max_batch`` for 413s. Served with :class:`ThreadedServer`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

from millicent.config import Limits
from millicent.errors import MillicentError
from millicent.runtime.handler import serve
from millicent.runtime.registry import load_model
from millicent.store.memory import MemoryStore
from tests.conftest import REPO

KIM = REPO / "artifacts" / "kim-sst1-static"


def kim_and_store(words: list[str], artifact: Path = KIM) -> tuple[Any, MemoryStore]:
    model = load_model(artifact)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(words), model.dim)).astype(np.float32)
    return model, MemoryStore.from_vectors(words, vectors)


@dataclass
class FunctionServer:
    model: Any
    store: MemoryStore
    limits: Limits = field(default_factory=Limits)
    throttle: int = 0
    outage: tuple[int, int] = (0, 0)
    poison: str | None = None
    port: int = 0
    requests: int = 0
    statuses: list[int] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/classify", self._handle)
        return app

    def answer(self, body: Any) -> tuple[int, dict[str, Any]]:
        try:
            return 200, serve(self.model, "kim", self.store, body, self.limits)
        except MillicentError as exc:
            return exc.status, exc.to_dict()

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        n = self.requests
        body = json.loads(await request.read())
        texts = body.get("sentences", []) if isinstance(body, dict) else []
        self.batch_sizes.append(len(texts))
        if n <= self.throttle:
            status, out = 429, {"message": "Rate Exceeded."}
        elif self.outage[0] < n <= self.outage[1]:
            status, out = 503, {"error": "store_unavailable", "message": "the store did not answer"}
        elif self.poison is not None and any(self.poison in t for t in texts):
            status, out = 502, {"error": "function_error", "message": "Runtime.ExitError"}
        else:
            status, out = self.answer(body)
        self.statuses.append(status)
        # the platform's REPORT headers, so the tally prices these answers
        headers = {"x-millicent-duration-ms": "2.5", "x-millicent-cpu-ms": "2.0",
                   "x-millicent-cold": "0", "x-millicent-init-ms": "0"}
        return web.json_response(out, status=status, headers=headers if status != 429 else {})
