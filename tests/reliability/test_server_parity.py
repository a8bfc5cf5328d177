"""The ``server`` baseline runs the function's own request edge: on every case of the
bad-input corpus it answers with the gateway's status and error code, and its 200s equal
the function's answers (same models, same store) but for the timings."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from millicent.testing.loopback import PlatformProcess
from tests.reliability import corpus
from tests.servers import free_port

pytestmark = pytest.mark.integration

#: the cases of the function's edge (not the platform's own Invoke API and stats paths)
CASES = [c for c in corpus.load() if c.expectation("http") is not None
         and not c.path.startswith(("/2015-03-31/", "/_millicent"))]


@pytest.fixture(scope="module")
def server(artifacts: tuple[Path, Path], sqlite_url: str) -> Iterator[PlatformProcess]:
    """``bench.server``'s app on a loopback port, over the platform's own SQLite store."""
    from aiohttp import web

    from millicent.baselines.server import make_app
    from millicent.runtime.registry import load_model
    from millicent.store import open_embeddings

    kim, sm = artifacts
    store = open_embeddings(sqlite_url)
    app = make_app({"kim": load_model(kim), "sm": load_model(sm)}, store)
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(30)
    yield PlatformProcess(proc=None, port=port, log_dir=Path("."))  # type: ignore[arg-type]
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    store.close()


def _answer(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k != "timings"}
    return body


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_server_answers_the_corpus_like_the_gateway(platform: PlatformProcess, server: PlatformProcess,
                                                     case: corpus.Case) -> None:
    gateway = corpus.run(platform, case, "http")
    baseline = corpus.run(server, case, "http")
    assert (baseline.status, baseline.error) == (gateway.status, gateway.error), (
        f"{case.id}: server {baseline.status} {baseline.error} {baseline.message[:120]!r}, "
        f"gateway {gateway.status} {gateway.error} {gateway.message[:120]!r}")
    if gateway.status == 200:
        assert _answer(baseline.body) == _answer(gateway.body)
