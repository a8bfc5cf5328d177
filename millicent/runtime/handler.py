"""The AWS Lambda handler: ``millicent.runtime.handler.handler(event, context)``.

The request path, top to bottom: the event (:mod:`.events`) → a route → the body as a
typed request (:mod:`.requests`) → the service core (:mod:`.service`: tokenize, tiered
embeddings, the model) → one response builder (:mod:`.responses`) → the event's response.
Models and the store are built once per execution environment (:mod:`.environment`) and
reused while it stays warm.

Routes (HTTP events), one table (:data:`ROUTES`): a path no route has is a 404, a path
with a route but not for this method a 405::

    GET  /health      models, embedding dimension, warm/cold
    POST /classify    the first classification model   {"sentence": "..."} | {"input": "..."}
                                                       | {"sentences": [...]}
    POST /rank        the first ranking model          {"question": q, "answer": a}
                                                       | {"question": q, "answers": [...]}
                                                       | {"sent1": q, "sent2": a}
                                                       | {"items": [{"question", "answers"}, ...]}
    POST /embed       the first embedding model        the bodies of /classify
    POST /{name}      the model called ``name`` (any role: the model's decides the body)
    POST /v1/embeddings   the OpenAI embeddings API    {"model": name, "input": ...}
    GET  /v1/models       the embedding models, as OpenAI lists models

Under ``/v1`` every error has OpenAI's shape (:mod:`.openai_api`, :mod:`.openai_route`).

A direct invocation's payload is routed by ``"model"``, else the function's own name
(when a model has it), else its fields (the paper's clients name no model: texts go to
the first classification model — or, without one, the first embedding model — questions
to the first ranking model). Errors: an HTTP event gets a JSON error with the
:class:`~millicent.errors.MillicentError`'s status; a direct invocation raises it, so
Lambda reports ``errorType``/``errorMessage`` as for any handler error.

Importing this module outside an execution environment loads stdlib and millicent's base
only. Inside one (``AWS_LAMBDA_FUNCTION_NAME`` set) it builds models and store at module
scope — Lambda's INIT phase, which SnapStart snapshots — unless ``MILLICENT_INIT=lazy``
(then they load inside the first invocation). See :mod:`.environment`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from millicent.config import FUNCTION_NAME, Limits
from millicent.errors import InvalidInput, MethodNotAllowed, MillicentError, NotFound
from millicent.runtime import events, openai_api, openai_route
from millicent.runtime.environment import FunctionEnvironment, InitInfo, Loaded, init_at_import
from millicent.runtime.requests import (
    RankRequest,
    Request,
    TextsRequest,
    body_role,
    parse_request,
    sentence_body,
)
from millicent.types import Role

if TYPE_CHECKING:  # numpy-backed; loaded with the models
    from millicent.runtime.roles import Classifier, Embedder, Ranker, ServedModel
    from millicent.runtime.service import Answer
    from millicent.types import Embeddings

# One BLAS thread, set before numpy loads (with the models): the matrices here are tiny, a
# function below 1,769 MB has at most one vCPU, and idle BLAS worker threads spin —
# measured on the local platform, 2 threads cost 40-80 % more CPU per request. Only inside
# an execution environment (importing the handler elsewhere changes nothing); an explicit
# setting in the function's configuration still wins.
if FUNCTION_NAME in os.environ:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

class Service(Protocol):
    """The service core's operations, one per role (the module :mod:`millicent.runtime.service`)."""

    def classify(self, model: Classifier, embeddings: Embeddings, request: TextsRequest,
                 limits: Limits) -> Answer: ...

    def rank(self, model: Ranker, embeddings: Embeddings, request: RankRequest,
             limits: Limits) -> Answer: ...

    def embed(self, model: Embedder, embeddings: Embeddings, request: TextsRequest,
              limits: Limits) -> Answer: ...


Action = Literal["health", "role", "model", "embeddings", "models"]


@dataclass(frozen=True)
class Route:
    """Where a request goes: the health check, the first model of a role (the first of
    ``roles`` a model has), or a model by name."""

    action: Action
    name: str | None = None
    roles: tuple[Role, ...] = ()


@dataclass(frozen=True)
class RouteRule:
    """One line of :data:`ROUTES`: the methods and path it serves, and where it goes
    (``path`` ``/{name}``: a model's name)."""

    methods: tuple[str, ...]
    path: str
    action: Action
    role: Role | None = None

    def matches(self, path: str, model_names: Sequence[str]) -> Route | None:
        """The route of ``path`` under this rule (whatever the method), or None."""
        if self.path == "/{name}":
            name = path[1:]
            return Route("model", name) if path.count("/") == 1 and name in model_names else None
        if path != self.path:
            return None
        return Route(self.action, roles=(self.role,) if self.role else ())


#: Every HTTP route, in the order they are tried (an alias wins over a model so named).
ROUTES: tuple[RouteRule, ...] = (
    RouteRule(("GET", "HEAD"), "/health", "health"),
    RouteRule(("POST",), "/classify", "role", "classify"),
    RouteRule(("POST",), "/rank", "role", "rank"),
    RouteRule(("POST",), "/embed", "role", "embed"),
    RouteRule(("POST",), openai_api.EMBEDDINGS_PATH, "embeddings"),
    RouteRule(("GET", "HEAD"), openai_api.MODELS_PATH, "models"),
    RouteRule(("POST",), "/{name}", "model"),
)
#: A direct invocation's fallback by its fields: the roles a body of each shape may go to.
FIELD_ROLES: dict[Role, tuple[Role, ...]] = {"classify": ("classify", "embed"), "rank": ("rank",)}


#: The bodies of the requests that prime a model during INIT, by role.
PRIMERS: dict[str, dict[str, Any]] = {"classify": sentence_body("the"),
                                      "embed": sentence_body("the"),
                                      "rank": {"question": "the", "answer": "the"}}


def prime(loaded: Loaded) -> None:
    """Serve one tiny request per model and read the store once, during INIT.

    A restored snapshot (or a cold start) otherwise spent its first request importing the
    response builder and running the store client's request code for the first time
    (measured on the local platform: ≈ 5 ms of imports and a first DynamoDB read of
    ≈ 11 ms against 2–3 ms warm). The store's connection itself is dropped before a
    snapshot (:meth:`~millicent.runtime.environment.FunctionEnvironment.before_snapshot`).
    """
    loaded.embeddings.warm_up()
    for name, model in loaded.models.items():
        serve(model, name, loaded.embeddings, PRIMERS[model.role], loaded.config.limits)


#: The one per-environment holder (Lambda reuses the module between invocations);
#: built at the end of this module, by Lambda's INIT (see :func:`prime`).
ENVIRONMENT = FunctionEnvironment()


def handler(event: Any, context: Any) -> Any:
    """AWS Lambda entry point."""
    return handle(event, context, ENVIRONMENT)


def handle(event: Any, context: Any, env: FunctionEnvironment, service: Service | None = None) -> Any:
    """Serve one event with the environment ``env`` (``service`` injectable for tests)."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    cold = env.begin()
    http = events.event_kind(event) != events.DIRECT
    openai = False
    try:
        request = events.parse_event(event)
        openai = openai_api.is_openai_path(request.path)
        body = answer(request, env, cold, (t0, cpu0), context, service)
        response = events.http_response(200, body) if http else body
        events.check_response_size(response)
    except MillicentError as exc:
        if openai:
            return events.http_response(exc.status, openai_api.error_body(exc))
        if http:
            return events.error_response(exc)
        raise
    return response


def route(request: events.Invocation, model_names: Sequence[str],
          function_name: str | None = None) -> Route:
    """Decide where a request goes (no models needed); NotFound / MethodNotAllowed / InvalidInput.

    The first rule of :data:`ROUTES` whose path and method match wins; a path some rule
    has, but for other methods, is a 405 naming them; any other path a 404.
    """
    if request.path is None:
        return _route_direct(request.payload, model_names, function_name)
    path, method = request.path, request.method
    allowed: list[str] = []
    for rule in ROUTES:
        found = rule.matches(path, model_names)
        if found is None:
            continue
        if method in rule.methods:
            return found
        allowed += [m for m in rule.methods if m not in allowed]
    if allowed:
        raise MethodNotAllowed(f"{method} {path} is not allowed; use {' or '.join(allowed)}",
                               allowed=allowed)
    routes = [f"{rule.methods[0]} {rule.path}" for rule in ROUTES if rule.path != "/{name}"]
    routes += [f"POST /{n}" for n in model_names]
    raise NotFound(f"no route {method} {path}; routes: {', '.join(routes)}")


def _route_direct(payload: Any, model_names: Sequence[str], function_name: str | None) -> Route:
    """A direct invocation goes by its ``model`` field, the function's name, or its fields."""
    if not isinstance(payload, dict):
        raise InvalidInput("the invocation payload must be a JSON object")
    if "model" in payload:
        name = payload["model"]
        if not isinstance(name, str) or name not in model_names:
            raise NotFound(f"no model {name!r}; this function serves {', '.join(model_names)}",
                           models=list(model_names))
        return Route("model", name)
    if function_name in model_names:
        return Route("model", function_name)
    role = body_role(payload)
    if role is None:
        raise InvalidInput("cannot tell what to do: give \"sentence\" (classify, embed) or "
                           "\"question\" and \"answer\"/\"answers\" (rank), or \"model\"")
    return Route("role", roles=FIELD_ROLES[role])


def answer(
    request: events.Invocation, env: FunctionEnvironment, cold: bool, start: tuple[float, float],
    context: Any = None, service: Service | None = None,
) -> dict[str, Any]:
    """The response body to one parsed event (MillicentError for a bad one): route, decode
    the body, build or reuse the environment, serve, finish the timings from ``start``
    (``perf_counter``, ``process_time`` when the event arrived)."""
    config = env.config
    target = route(request, [n for n, _ in config.models], getattr(context, "function_name", None))
    bodiless = target.action in ("health", "models")
    raw = None if bodiless else events.body_json(request, config.limits.max_body_bytes)
    loaded, init = env.load()
    if target.action == "health":
        return _health(loaded, env, cold, init)
    if target.action == "models":
        return openai_route.models(loaded)
    if target.action == "embeddings":
        svc = service if service is not None else _service()
        return openai_route.embeddings(loaded, raw, config.limits, svc.embed)
    name = target.name if target.name is not None else loaded.first(*target.roles)
    out = serve(loaded.models[name], name, loaded.embeddings, raw, config.limits, service)
    _finish_timings(out["timings"], cold, init, start)
    return out


def serve(model: ServedModel, name: str, embeddings: Embeddings, raw: Any, limits: Limits,
          service: Service | None = None) -> dict[str, Any]:
    """The response body of ``model`` (served as ``name``) to the decoded body ``raw``:
    typed request (the model's role decides how the body reads) → service → response
    builder (timings without the handler's totals)."""
    from millicent.runtime import responses  # numpy and the models: loaded with them

    # parsed by the model's role, so the request's type and the model's role agree
    parsed: Request = parse_request(model.role, raw, limits)
    svc: Service = service if service is not None else _service()
    if isinstance(parsed, RankRequest):
        answer = svc.rank(cast("Ranker", model), embeddings, parsed, limits)
    elif model.role == "embed":
        answer = svc.embed(cast("Embedder", model), embeddings, parsed, limits)
    else:
        answer = svc.classify(cast("Classifier", model), embeddings, parsed, limits)
    return responses.body(answer, parsed, name)


def _service() -> Service:
    from millicent.runtime import service

    return service  # the module satisfies the protocol


def _finish_timings(t: dict[str, Any], cold: bool, init: InitInfo | None,
                    start: tuple[float, float]) -> None:
    """Add other/total/cpu ms, the cold-start flag and the build this invocation reports.

    ``init_ms`` with ``init``: ``"lazy"`` builds ran inside this invocation (inside
    ``total_ms``; other = total − init − the three phases), ``"eager"`` / ``"restore"`` ran
    before it, outside ``total_ms`` — so a bill adds INIT once, whichever it was.
    """
    t0, cpu0 = start
    total = (time.perf_counter() - t0) * 1000.0
    phases = sum(float(t.get(k, 0.0)) for k in ("tokenize_ms", "fetch_ms", "forward_ms"))
    inside = init.ms if init is not None and init.inside_invocation else 0.0
    t["other_ms"] = round(max(0.0, total - phases - inside), 4)
    t["total_ms"] = round(total, 4)
    t["cpu_ms"] = round((time.process_time() - cpu0) * 1000.0, 4)
    t["cold_start"] = cold
    if init is not None:
        t["init_ms"] = round(init.ms, 4)
        t["init"] = init.kind
    lookups = t.get("lookups")
    if isinstance(lookups, dict) and "cache_hits" in lookups:
        t["cache_hits"] = lookups["cache_hits"]


def _health(loaded: Loaded, env: FunctionEnvironment, cold: bool, init: InitInfo | None) -> dict[str, Any]:
    models = []
    for name, model in loaded.models.items():
        info: dict[str, Any] = {"name": name, "role": model.role, "kind": model.kind,
                                "task": model.task}
        if model.role == "classify":
            info["labels"] = list(getattr(model, "labels", []))
        elif model.role == "embed":
            info["embedding_dim"] = getattr(model, "out_dim", None)
        models.append(info)
    pack: Any = getattr(loaded.embeddings, "pack", None)  # the tiers' frequent-word pack
    out: dict[str, Any] = {
        "status": "ok",
        "models": models,
        "embedding_dim": loaded.embeddings.dim,
        # which pack the function bundles: a bench run records it, so a plan knows which
        # words never reach the store
        "pack": pack.describe() if hasattr(pack, "describe") else None,
        "cold_start": cold,
        "invocations": env.invocations,
    }
    if init is not None:
        out["init_ms"] = round(init.ms, 4)
        out["init"] = init.kind
    return out


def _entry_point() -> bool:
    """Whether this module is the function's own handler (Lambda's ``_HANDLER``; absent:
    assumed). A baseline handler (``millicent.baselines.*_engine``) imports :func:`handle`
    from here with an environment of its own: this module's must not be built too."""
    configured = os.environ.get("_HANDLER")
    return configured is None or configured.rpartition(".")[0] == __name__


# Lambda's INIT phase, once everything above is defined (a no-op outside an environment)
if _entry_point():
    init_at_import(ENVIRONMENT, prime)
