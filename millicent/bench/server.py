"""The ``server`` baseline: the same models on one always-on process, vectors in memory.

What pay-per-request is compared with: an instance that keeps the models and the whole
vector table in RAM and answers the same HTTP requests (``/classify``, ``/rank``,
``/{model}``) with the same service core (:mod:`millicent.runtime.service`), one request
at a time on one core — no gateway, no store round trips, no cold starts after the first.
Its cost is the instance's hourly price, whatever the traffic (see the break-even).

    python -m millicent.bench.server --model kim=ARTIFACT_DIR --port 9100 --data-dir D
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from millicent.config import Limits, parse_models
from millicent.errors import InvalidInput, MillicentError, NotFound


def build(models_spec: str, data_dir: str | None, vectors: str | None = None) -> tuple[dict[str, Any], Any]:
    """Load the models and one in-memory store holding every vector they name."""
    from millicent.data.vectors import load_vectors
    from millicent.runtime.model import load_model
    from millicent.store.memory import MemoryStore

    models = {name: load_model(path) for name, path in parse_models(models_spec)}
    if not models:
        raise InvalidInput("no model given")
    tables = {m.artifact.embedding_table() is not None for m in models.values()}
    sources = {str(m.manifest.get("embedding", {}).get("source", "")) for m in models.values()}
    if tables == {True} and len(models) == 1:
        (model,) = models.values()
        table = model.artifact.embedding_table()
        assert table is not None  # checked just above
        return models, MemoryStore.from_vectors(table[0], table[1], source="artifact")
    if True in tables or len(sources) != 1:
        raise InvalidInput("the models must share one embedding source to share one table",
                           sources=sorted(sources))
    spec = vectors or sources.pop()
    v = load_vectors(spec, data_dir)
    return models, MemoryStore.from_vectors(v.words, v.matrix, source=spec)


def answer(models: dict[str, Any], store: Any, path: str, body: Any, limits: Limits,
           cold: bool) -> dict[str, Any]:
    """The response body for one request (raises MillicentError for bad requests)."""
    from millicent.runtime import service

    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    name = path.strip("/")
    if name in ("classify", "rank"):
        role = name
        name = next((n for n, m in models.items() if m.role == role), "")
    if name not in models:
        raise NotFound(f"no model for {path}", models=list(models))
    model = models[name]
    t0, c0 = time.perf_counter(), time.process_time()
    if model.role == "classify":
        text = body.get("sentence", body.get("input"))
        if not isinstance(text, str):
            raise InvalidInput("give sentence (a string)")
        out = service.classify(model, store, text, limits)
    else:
        question = body.get("question", body.get("sent1"))
        answers = body.get("answers")
        if answers is None:
            single = body.get("answer", body.get("sent2"))
            answers = None if single is None else [single]
        if question is None or answers is None:
            raise InvalidInput("give question and answer (or answers)")
        out = service.rank(model, store, question, answers, limits)
        if len(answers) == 1:
            out["score"] = out["scores"][0]
    total = (time.perf_counter() - t0) * 1000.0
    t = out["timings"]
    t["total_ms"] = total
    t["other_ms"] = max(0.0, total - t["tokenize_ms"] - t["fetch_ms"] - t["forward_ms"])
    t["cpu_ms"] = (time.process_time() - c0) * 1000.0
    t["cold_start"] = cold
    out["model"] = name
    return out


def make_app(models: dict[str, Any], store: Any, limits: Limits | None = None) -> Any:
    """The aiohttp application: handlers run synchronously, one request at a time."""
    from aiohttp import web

    lim = limits or Limits()
    served = {"n": 0}

    async def handle(request: web.Request) -> web.Response:
        try:
            try:
                body = json.loads(await request.read() or b"null")
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidInput(f"the body is not JSON: {exc}") from exc
            served["n"] += 1
            out = answer(models, store, request.path, body, lim, served["n"] == 1)
            return web.json_response(out)
        except MillicentError as exc:
            return web.json_response(exc.to_dict(), status=exc.status)

    app = web.Application()
    app.router.add_post("/{name}", handle)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m millicent.bench.server", description=__doc__,
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
