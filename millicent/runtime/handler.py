"""The AWS Lambda handler: ``millicent.runtime.handler.handler(event, context)``.

Thin by design: parse the event (:mod:`.events`), route, check the request's fields, call
the service core (:mod:`millicent.runtime.service`), format the response. Models and the
store are built once per execution environment (:mod:`.environment`) on the first
invocation and reused while the environment stays warm.

Routes (HTTP events)::

    GET  /health      models, embedding dimension, warm/cold
    POST /classify    the first classification model   {"sentence": "..."} | {"input": "..."}
    POST /rank        the first ranking model          {"question": q, "answer": a}
                                                       | {"question": q, "answers": [...]}
                                                       | {"sent1": q, "sent2": a}
    POST /{name}      the model called ``name`` (either kind)

A direct invocation's payload is routed by ``"model"``, else the function's own name
(when a model has it), else its fields. Errors: an HTTP event gets a JSON error with the
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
from dataclasses import dataclass
from typing import Any, Protocol

from millicent.config import FUNCTION_NAME, Limits
from millicent.errors import (
    InvalidInput,
    MethodNotAllowed,
    MillicentError,
    NotFound,
    PayloadTooLarge,
)
from millicent.runtime import events
from millicent.runtime.environment import (
    FunctionEnvironment,
    InitInfo,
    Loaded,
    init_at_import,
)

# One BLAS thread, set before numpy loads (it loads lazily, in the first invocation): the
# matrices here are tiny, a function below 1,769 MB has at most one vCPU, and idle BLAS
# worker threads spin — measured on the local platform, 2 threads cost 40-80 % more CPU per
# request. Only inside an execution environment (importing the handler elsewhere changes
# nothing); an explicit setting in the function's configuration still wins.
if FUNCTION_NAME in os.environ:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

#: Field names per role; the second of each pair is the paper's original request format.
SENTENCE_FIELDS = ("sentence", "input")
QUESTION_FIELDS = ("question", "sent1")
ANSWER_FIELDS = ("answer", "sent2")
ALIASES = {"/classify": "classify", "/rank": "rank"}


class Service(Protocol):
    """The service core's two operations (the module :mod:`millicent.runtime.service`)."""

    def classify(self, model: Any, embeddings: Any, text: str, limits: Limits) -> dict[str, Any]: ...

    def rank(
        self, model: Any, embeddings: Any, question: str, answers: list[str], limits: Limits
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Route:
    """Where a request goes: ``action`` health | classify | rank | model (by ``name``)."""

    action: str
    name: str | None = None


#: The one per-environment holder (Lambda reuses the module between invocations).
ENVIRONMENT = FunctionEnvironment()

init_at_import(ENVIRONMENT)


def handler(event: Any, context: Any) -> Any:
    """AWS Lambda entry point."""
    return handle(event, context, ENVIRONMENT)


def handle(event: Any, context: Any, env: FunctionEnvironment, service: Service | None = None) -> Any:
    """Serve one event with the environment ``env`` (``service`` injectable for tests)."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    cold = env.begin()
    http = events.event_kind(event) != events.DIRECT
    try:
        request = events.parse_event(event)
        body = _answer(request, context, env, service, cold, t0, cpu0)
    except MillicentError as exc:
        if http:
            return events.error_response(exc)
        raise
    return events.http_response(200, body) if http else body


def route(request: events.Request, model_names: list[str], function_name: str | None = None) -> Route:
    """Decide where a request goes (no models needed); NotFound / MethodNotAllowed / InvalidInput."""
    if request.path is None:  # direct invocation: route by payload
        payload = request.payload
        if not isinstance(payload, dict):
            raise InvalidInput("the invocation payload must be a JSON object")
        if "model" in payload:
            name = payload["model"]
            if not isinstance(name, str) or name not in model_names:
                raise NotFound(f"no model {name!r}; this function serves {', '.join(model_names)}",
                               models=model_names)
            return Route("model", name)
        if function_name in model_names:
            return Route("model", function_name)
        if any(f in payload for f in SENTENCE_FIELDS):
            return Route("classify")
        if any(f in payload for f in QUESTION_FIELDS):
            return Route("rank")
        raise InvalidInput("cannot tell what to do: give \"sentence\" (classify) or "
                           "\"question\" and \"answer\"/\"answers\" (rank)")
    path, method = request.path, request.method
    allowed: tuple[str, ...]
    if path == "/health":
        allowed, found = ("GET", "HEAD"), Route("health")
    elif path in ALIASES:
        allowed, found = ("POST",), Route(ALIASES[path])
    elif path.count("/") == 1 and path[1:] in model_names:
        allowed, found = ("POST",), Route("model", path[1:])
    else:
        routes = ["GET /health", "POST /classify", "POST /rank", *(f"POST /{n}" for n in model_names)]
        raise NotFound(f"no route {method} {path}; routes: {', '.join(routes)}")
    if method not in allowed:
        raise MethodNotAllowed(f"{method} {path} is not allowed; use {' or '.join(allowed)}",
                               allowed=list(allowed))
    return found


def _answer(
    request: events.Request, context: Any, env: FunctionEnvironment, service: Service | None,
    cold: bool, t0: float, cpu0: float,
) -> dict[str, Any]:
    config = env.config
    names = [n for n, _ in config.models]
    target = route(request, names, getattr(context, "function_name", None))
    body = None if target.action == "health" else events.body_json(request, config.limits.max_body_bytes)
    loaded, init = env.load()
    if target.action == "health":
        return _health(loaded, env, cold, init)
    if not isinstance(body, dict):
        raise InvalidInput(f"the request body must be a JSON object, got {_json_type(body)}")
    name = target.name if target.action == "model" else loaded.first(target.action)
    assert name is not None
    model = loaded.models[name]
    svc: Service = service if service is not None else _service()
    limits = config.limits
    if model.role == "classify":
        text = text_field(body, SENTENCE_FIELDS)
        check_text_bytes([text], limits.max_body_bytes)
        out = svc.classify(model, loaded.embeddings, text, limits)
    else:
        question = text_field(body, QUESTION_FIELDS)
        answers, single = answers_field(body, limits.max_answers)
        check_text_bytes([question, *answers], limits.max_body_bytes)
        out = svc.rank(model, loaded.embeddings, question, answers, limits)
        if single:
            out["score"] = out["scores"][0]
    out["model"] = name
    _finish_timings(out["timings"], cold, init, t0, cpu0)
    return out


def _service() -> Service:
    from millicent.runtime import service  # numpy and the models: loaded on first use

    return service  # the module satisfies the protocol


def text_field(body: dict[str, Any], names: tuple[str, ...]) -> str:
    """The one text field of ``names`` present in ``body``, checked to be a non-blank string."""
    present = [n for n in names if n in body]
    if not present:
        alt = " or ".join(repr(n) for n in names)
        raise InvalidInput(f"missing field {alt}", field=names[0])
    if len(present) > 1:
        raise InvalidInput(f"give only one of {' or '.join(repr(n) for n in present)}", field=names[0])
    name = present[0]
    value = body[name]
    if not isinstance(value, str):
        raise InvalidInput(f"field {name!r} must be a string, got {_json_type(value)}", field=name)
    if not value.strip():
        raise InvalidInput(f"field {name!r} is empty or whitespace", field=name)
    _check_unicode(value, name)
    return value


def _check_unicode(value: str, what: str) -> None:
    # JSON can carry lone surrogates ("\ud800"); they are not text and cannot be store keys
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{what!r} is not valid Unicode: {exc.reason} at position {exc.start}",
                           field=what) from exc


def answers_field(body: dict[str, Any], max_answers: int) -> tuple[list[str], bool]:
    """The candidate answers, and whether a single ``answer`` (not a list) was given."""
    present = [n for n in (*ANSWER_FIELDS, "answers") if n in body]
    if len(present) > 1:
        raise InvalidInput(f"give only one of {' or '.join(repr(n) for n in present)}", field="answers")
    if not present or present[0] != "answers":
        return [text_field(body, ANSWER_FIELDS)], True
    answers = body["answers"]
    if not isinstance(answers, list):
        raise InvalidInput(f"field 'answers' must be a list of strings, got {_json_type(answers)}",
                           field="answers")
    if not answers:
        raise InvalidInput("field 'answers' is empty: give at least one answer", field="answers")
    if len(answers) > max_answers:
        raise InvalidInput(f"{len(answers)} answers; the limit is {max_answers}",
                           field="answers", limit=max_answers)
    for i, a in enumerate(answers):
        if not isinstance(a, str):
            raise InvalidInput(f"answers[{i}] must be a string, got {_json_type(a)}", field="answers")
        if not a.strip():
            raise InvalidInput(f"answers[{i}] is empty or whitespace", field="answers")
        _check_unicode(a, f"answers[{i}]")
    return answers, False


def check_text_bytes(texts: list[str], limit: int) -> None:
    """PayloadTooLarge (413) when the texts of one request exceed ``limit`` bytes of UTF-8.

    An HTTP body is already held to the limit; a direct invocation's payload is not (Lambda
    takes 6 MB), and one 3 MB "word" came back twice in the answer (tokens, unknown words),
    past Lambda's 6 MB response limit: a 502 for a request that deserves a 413.
    """
    size = sum(len(t.encode("utf-8")) for t in texts)
    if size > limit:
        raise PayloadTooLarge(f"the texts of this request are {size} bytes of UTF-8; "
                              f"the limit is {limit} bytes", limit=limit)


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
             float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _finish_timings(t: dict[str, Any], cold: bool, init: InitInfo | None, t0: float, cpu0: float) -> None:
    """Add other/total/cpu ms, the cold-start flag and the build this invocation reports.

    ``init_ms`` with ``init``: ``"lazy"`` builds ran inside this invocation (inside
    ``total_ms``; other = total − init − the three phases), ``"eager"`` / ``"restore"`` ran
    before it, outside ``total_ms`` — so a bill adds INIT once, whichever it was.
    """
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
        info: dict[str, Any] = {"name": name, "role": model.role, "kind": getattr(model, "kind", None),
                                "task": getattr(model, "task", None)}
        if model.role == "classify":
            info["labels"] = list(getattr(model, "labels", []))
        models.append(info)
    out: dict[str, Any] = {
        "status": "ok",
        "models": models,
        "embedding_dim": loaded.embeddings.dim,
        "cold_start": cold,
        "invocations": env.invocations,
    }
    if init is not None:
        out["init_ms"] = round(init.ms, 4)
        out["init"] = init.kind
    return out
