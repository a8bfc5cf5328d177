"""A real HTTP server, in its own process, that answers batches with millicent's runtime.

Each ``POST /classify`` body goes through :func:`millicent.runtime.handler.serve` — the
request parser, the service core, the shipped Kim CNN and the response builder the Lambda
handler uses — over an in-memory store of seeded random vectors for the given words; a
:class:`~millicent.errors.MillicentError` becomes its status and JSON body, as the handler
answers. On top, faults a deployment shows, by the numbers: ``throttle`` — the first N
requests answer 429 (Lambda's throttle); ``outage`` — requests number ``(a, b]`` answer 503
(a store outage); ``poison`` — a batch holding this word answers 502 (the environment
crashed); ``limits`` — e.g. a small ``max_batch`` for 413s; ``delay_s`` — a slow function.
``POST /_faults`` changes them, ``GET /_stats`` tells what was asked and answered.

A process, not a thread of the test: CPython 3.11 corrupts the AST constructor's recursion
counter when two threads compile at once (gh-106905: a later ``ast.parse`` raises
``SystemError: AST constructor recursion depth mismatch``).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import subprocess
import sys
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
from tests.servers import REPO, free_port, wait_listening

KIM = REPO / "millicent" / "artifacts" / "kim-sst1-static"


def kim_and_store(words: list[str], artifact: Path = KIM) -> tuple[Any, MemoryStore]:
    """The Kim CNN and a store of seeded random vectors for ``words`` (the same in every process)."""
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
    delay_s: float = 0.0
    requests: int = 0
    statuses: list[int] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/classify", self._handle)
        app.router.add_post("/_faults", self._faults)
        app.router.add_get("/_stats", self._stats)
        return app

    def answer(self, body: Any) -> tuple[int, dict[str, Any]]:
        try:
            return 200, serve(self.model, "kim", self.store, body, self.limits)
        except MillicentError as exc:
            return exc.status, exc.to_dict()

    def set_faults(self, faults: dict[str, Any]) -> None:
        for key, value in faults.items():
            if key == "limits":
                value = Limits(**value)
            elif key == "outage":
                value = tuple(value)
            setattr(self, key, value)

    async def _faults(self, request: web.Request) -> web.Response:
        self.set_faults(await request.json())
        return web.json_response({})

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": self.requests, "statuses": self.statuses,
                                  "batch_sizes": self.batch_sizes})

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        n = self.requests
        body = json.loads(await request.read())
        texts = body.get("sentences", []) if isinstance(body, dict) else []
        self.batch_sizes.append(len(texts))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
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


class FunctionProcess:
    """``with FunctionProcess(words, tmp, throttle=3) as srv:`` — the server on a free port."""

    def __init__(self, words: list[str], tmp: Path, **faults: Any) -> None:
        self.words_file = tmp / "function-words.json"
        self.words_file.write_text(json.dumps(words))
        self.faults = faults
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body))
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def set(self, **faults: Any) -> None:
        self._call("POST", "/_faults", faults)

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_stats"))

    def __enter__(self) -> FunctionProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.functional.batch_function_server", "--port",
             str(self.port), "--words", str(self.words_file), "--faults", json.dumps(self.faults)],
            cwd=REPO)
        wait_listening(self.port, self.proc, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--words", required=True)
    p.add_argument("--faults", default="{}")
    args = p.parse_args()
    server = FunctionServer(*kim_and_store(json.loads(Path(args.words).read_text())))
    server.set_faults(json.loads(args.faults))
    web.run_app(server.app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
