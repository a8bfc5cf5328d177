"""The ``server`` baseline: the same models on one always-on process, vectors in memory.

What pay-per-request is compared with: an instance that keeps the models and the whole
vector table in RAM and answers the same HTTP requests (``/classify``, ``/rank``,
``/{model}``) one at a time on one core — no gateway, no store round trips, no cold
starts after the first. It runs the function's own request edge: every request goes
through :func:`millicent.runtime.handler.answer` (routing, the strict JSON body, the typed
request, the service core, the response builder), so its answers and error statuses are
the function's. Its cost is the instance's hourly price, whatever the traffic (see the
break-even).

    python -m millicent.baselines.server --model kim=ARTIFACT_DIR --port 9100 --data-dir D
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from millicent.config import FunctionConfig, Limits, parse_models
from millicent.errors import InvalidInput, MillicentError, PayloadTooLarge
from millicent.runtime import events
from millicent.runtime.environment import FunctionEnvironment


def build(models_spec: str, data_dir: str | None, vectors: str | None = None) -> tuple[dict[str, Any], Any]:
    """Load the models and one in-memory store holding every vector they name."""
    from millicent.data.embedding_source import EmbeddingSource
    from millicent.data.tables import load_table
    from millicent.data.vectors import load_vectors
    from millicent.errors import ConfigError
    from millicent.runtime.registry import load_model
    from millicent.store.memory import MemoryStore

    paths = dict(parse_models(models_spec))
    if not paths:
        raise InvalidInput("no model given")
    models = {name: load_model(path) for name, path in paths.items()}
    if vectors:
        schemes = {m.tokenizer.key_scheme for m in models.values()}
        if len(schemes) > 1:
            raise InvalidInput(f"the models key their words differently ({sorted(schemes)}): "
                               "one in-memory table cannot serve them all")
        key = next(iter(models.values())).tokenizer.vocabulary_key
        v = load_vectors(vectors, data_dir, key=key)
        return models, MemoryStore.from_vectors(v.words, v.matrix, source=vectors)
    try:
        source = EmbeddingSource.of_artifacts({n: m.artifact.path for n, m in models.items()})
    except ConfigError as exc:
        raise InvalidInput(exc.message) from exc
    table = load_table(source, data_dir, tokenizer=source.keys)
    return models, MemoryStore.from_vectors(table.words, table.matrix, source=source.label)


def environment(models: dict[str, Any], store: Any, limits: Limits | None = None) -> FunctionEnvironment:
    """A function environment holding the already built models and store."""
    config = FunctionConfig(models=tuple((n, str(m.artifact.path)) for n, m in models.items()),
                            store_url=None, pack_path=None, lru_size=0, store_deadline_s=5.0,
                            limits=limits or Limits())
    return FunctionEnvironment(config=lambda: config, models=lambda _: models, store=lambda _: store)


def _request(method: str, path: str, raw: bytes) -> events.Invocation:
    # base64, as API Gateway sends a body it does not consider text: the edge then decodes
    # the bytes as strict UTF-8 itself, as it does for every gateway
    return events.Invocation(events.FUNCTION_URL, method.upper(), events.normalise_path(path),
                          base64.b64encode(raw).decode("ascii"), is_base64=True)


def answer(models: dict[str, Any], store: Any, path: str, body: Any, limits: Limits,
           cold: bool) -> dict[str, Any]:
    """The response body for one request (raises MillicentError for bad requests)."""
    from millicent.runtime.handler import answer as edge

    start = (time.perf_counter(), time.process_time())
    env = environment(models, store, limits)
    return edge(_request("POST", path, json.dumps(body).encode("utf-8")), env, cold, start)


def make_app(models: dict[str, Any], store: Any, limits: Limits | None = None) -> Any:
    """The aiohttp application: handlers run synchronously, one request at a time."""
    from aiohttp import web

    from millicent.runtime.handler import answer as edge

    env = environment(models, store, limits)
    env.init()  # everything is loaded before the server listens
    max_body = env.config.limits.max_body_bytes

    async def handle(request: web.Request) -> web.Response:
        start = (time.perf_counter(), time.process_time())
        try:
            raw = await request.read()
            cold = env.begin()
            out = edge(_request(request.method, request.path, raw), env, cold, start)
            return web.json_response(out)
        except web.HTTPRequestEntityTooLarge:
            exc: MillicentError = PayloadTooLarge(f"request body over the limit of {max_body} bytes",
                                                  limit=max_body)
        except MillicentError as err:
            exc = err
        return web.json_response(exc.to_dict(), status=exc.status)

    # the edge enforces the body limit (with its own message); aiohttp only stops a flood
    app = web.Application(client_max_size=max_body + 1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m millicent.baselines.server", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", required=True, metavar="NAME=DIR")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9100)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--vectors", default=None, help="vector spec (default: the models' source)")
    args = p.parse_args(argv)
    # one BLAS thread, set before numpy loads (in build): the matmuls are tiny and idle
    # OpenBLAS workers made forward passes 15-30 ms instead of 0.2 ms on 2 busy cores
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from aiohttp import web

    try:
        models, store = build(",".join(args.model), args.data_dir, args.vectors)
    except MillicentError as exc:
        print(f"millicent server: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    print(f"server: {', '.join(models)} with {store.count()} vectors in memory on "
          f"{args.host}:{args.port}", file=sys.stderr, flush=True)
    web.run_app(make_app(models, store), host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
