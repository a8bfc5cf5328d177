"""The bad-input corpus (``tests/data/bad_inputs.json``) and how each case is sent.

A case is a request — ``method``, ``path``, optional ``headers`` and one body form — and
what must come back. Body forms:

* ``json``: a JSON value, serialised with ``json.dumps``;
* ``body``: text sent as UTF-8 as it stands (not JSON-encoded);
* ``body_bytes``: text in which ``\\xNN`` stands for the byte NN (invalid UTF-8, raw NUL);
* none of them: no body.

Inside ``json``, ``body`` and ``event``, ``{"$repeat": X, "times": N}`` expands to X repeated
N times (a string, or a list when X is a list) and ``{"$concat": [...]}`` joins strings: the
1 MB bodies and 10,000-entry lists stay short.

Channels (every case runs on each unless ``channels`` says otherwise):

* ``http``: the real gateway (``millicent serve``), raw bytes on a fresh connection;
* ``direct``: the Lambda Invoke API with the body as the payload and the case's headers
  (the path's first segment names the function: ``/classify`` → the first classifier,
  ``/rank`` → the first ranker);
* ``apigw-v1``: an API Gateway REST (payload 1.0) event sent through the Invoke API, the
  body as text (base64 when it is not UTF-8, as with binary media types);
* ``apigw-v2``: an HTTP API (payload 2.0) event on the stage ``prod``, the body always
  base64-encoded (what API Gateway sends for a request without a text Content-Type).

``expect`` is ``{"status", "error", "message"}`` for an error — ``error`` the JSON error
code (or the AWS error type the Invoke API answers with), ``message`` a substring of the
message that says what is wrong — and for a 200 optional ``tokens``, ``unknown_words``
(exact lists), ``all_unknown`` (every token unknown), ``lengths`` (field → list length),
``fields`` (names that must be present). ``direct`` / ``apigw`` / ``http`` replace
``expect`` on those channels; ``null`` there means the case does not apply to it.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from millicent import errors
from millicent.platform.apigw import HttpRequest, http_api_event
from millicent.testing.loopback import PlatformProcess

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs.json"
CHANNELS = ("http", "direct", "apigw-v1", "apigw-v2")
#: the functions of the corpus platform, and the aliases the gateway gives them
FUNCTIONS = {"classify": "kim", "rank": "sm", "kim": "kim", "sm": "sm"}
_BYTE = re.compile(rb"\\x([0-9a-fA-F]{2})")


@dataclass(frozen=True)
class Case:
    id: str
    what: str
    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]
    expect: dict[str, Any]
    overrides: dict[str, dict[str, Any] | None]
    channels: tuple[str, ...]
    event: dict[str, Any] = field(default_factory=dict)
    chunked: bool = False

    def expectation(self, channel: str) -> dict[str, Any] | None:
        """What ``channel`` must answer, or None when the case does not apply to it."""
        if channel not in self.channels:
            return None
        key = "apigw" if channel.startswith("apigw") else channel
        if key in self.overrides:
            return self.overrides[key]
        return self.expect


def expand(value: Any) -> Any:
    """Expand ``{"$repeat": X, "times": N}`` and ``{"$concat": [...]}`` inside a JSON value."""
    if isinstance(value, dict):
        if "$concat" in value:
            return "".join(expand(v) for v in value["$concat"])
        if "$repeat" in value:
            unit = expand(value["$repeat"])
            return unit * int(value["times"])
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def _body(raw: dict[str, Any]) -> bytes | None:
    forms = [k for k in ("json", "body", "body_bytes") if k in raw]
    if len(forms) > 1:
        raise ValueError(f"case {raw['id']}: give one of json/body/body_bytes, not {forms}")
    if "json" in raw:
        return json.dumps(expand(raw["json"]), ensure_ascii=False).encode("utf-8")
    if "body" in raw:
        return str(expand(raw["body"])).encode("utf-8")
    if "body_bytes" in raw:
        return _BYTE.sub(lambda m: bytes([int(m[1], 16)]), raw["body_bytes"].encode("utf-8"))
    return None


def load(path: Path = CORPUS) -> list[Case]:
    """Every case of the corpus file, checked for a well-formed shape."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    cases = []
    for raw in doc["cases"]:
        channels = tuple(raw.get("channels", CHANNELS))
        if not set(channels) <= set(CHANNELS):
            raise ValueError(f"case {raw['id']}: unknown channel in {channels}")
        cases.append(Case(
            id=raw["id"], what=raw["what"], method=raw.get("method", "POST"), path=raw["path"],
            body=_body(raw), headers=dict(raw.get("headers", {})), expect=raw["expect"],
            overrides={k: raw[k] for k in ("http", "direct", "apigw") if k in raw},
            channels=channels, event=expand(raw.get("event", {})), chunked=bool(raw.get("chunked")),
        ))
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        raise ValueError("case ids must be unique")
    return cases


# --- what came back, whatever the channel -----------------------------------------------
@dataclass
class Outcome:
    """An answer reduced to what the corpus checks: status, error code/message, JSON body."""

    status: int
    error: str | None
    message: str
    body: Any
    function_error: bool = False  #: the handler raised (a direct invocation's error)
    raw: bytes = b""


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def from_http(status: int, raw: bytes) -> Outcome:
    body = _json(raw)
    if isinstance(body, dict) and status >= 400:
        return Outcome(status, body.get("error"), str(body.get("message", "")), body, raw=raw)
    return Outcome(status, None, "", body, raw=raw)


def from_invoke(status: int, headers: dict[str, str], raw: bytes) -> Outcome:
    """The Invoke API's answer: an AWS error, a handler error, or the handler's result."""
    body = _json(raw)
    if status >= 400:  # refused by the Invoke API itself (Lambda's own error types)
        message = str(body.get("message", "")) if isinstance(body, dict) else raw.decode("utf-8", "replace")
        return Outcome(status, headers.get("x-amzn-errortype"), message, body, raw=raw)
    if headers.get("x-amz-function-error"):
        assert isinstance(body, dict), raw[:200]
        error_type = str(body.get("errorType"))
        cls = getattr(errors, error_type, None)
        if isinstance(cls, type) and issubclass(cls, errors.MillicentError):
            code, http_status = cls.code, cls.status
        else:  # not a millicent error: a crash or a bug, which the gateway maps to 5xx
            code, http_status = error_type, 502
        return Outcome(http_status, code, str(body.get("errorMessage", "")), body,
                       function_error=True, raw=raw)
    return Outcome(200, None, "", body, raw=raw)


def from_proxy_response(outer: Outcome) -> Outcome:
    """An API Gateway event's answer: the handler's proxy response inside the payload."""
    if outer.status != 200 or outer.function_error or not isinstance(outer.body, dict):
        return outer
    resp = outer.body
    inner = resp.get("body") or ""
    raw = base64.b64decode(inner) if resp.get("isBase64Encoded") else inner.encode("utf-8")
    return from_http(int(resp["statusCode"]), raw)


# --- the channels ---------------------------------------------------------------------
def function_for(path: str, http_event: bool) -> str:
    """The function a case is invoked on: the path's first segment (alias resolved).

    An API Gateway event for an unknown path still reaches a function (the API's single
    integration); a direct invocation names the function itself."""
    first = next((p for p in path.split("?")[0].split("/") if p), "")
    if first in FUNCTIONS:
        return FUNCTIONS[first]
    return "kim" if http_event else (first or "kim")


def v1_event(case: Case) -> dict[str, Any]:
    """An API Gateway REST API (payload format 1.0) proxy event, stage ``prod``."""
    path = case.path.split("?")[0]
    event: dict[str, Any] = {
        "resource": "/{proxy+}", "path": path, "httpMethod": case.method,
        "headers": dict(case.headers), "multiValueHeaders": {k: [v] for k, v in case.headers.items()},
        "queryStringParameters": None, "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": case.method,
                           "path": "/prod" + path, "stage": "prod", "requestId": str(uuid.uuid4()),
                           "identity": {"sourceIp": "127.0.0.1"}, "accountId": "123456789012"},
        "body": None, "isBase64Encoded": False,
    }
    if case.body is not None:
        try:
            event["body"] = case.body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(case.body).decode("ascii")
            event["isBase64Encoded"] = True
    event.update(case.event)
    return event


def v2_event(case: Case) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event on the named stage ``prod``, body base64."""
    path = case.path.split("?")[0]
    query = case.path.split("?", 1)[1] if "?" in case.path else ""
    event = http_api_event(HttpRequest(case.method, "/prod" + path, query, list(case.headers.items()),
                                       b"", "127.0.0.1", str(uuid.uuid4()),
                                       "abc123.execute-api.us-east-1.amazonaws.com"))
    event["requestContext"]["stage"] = "prod"
    if case.body:
        event["body"] = base64.b64encode(case.body).decode("ascii")
        event["isBase64Encoded"] = True
    event.update(case.event)
    return event


def invoke(platform: PlatformProcess, function: str, payload: bytes,
           headers: dict[str, str] | None = None) -> Outcome:
    reply = platform.request("POST", f"/2015-03-31/functions/{function}/invocations", payload,
                             headers=headers)
    return from_invoke(reply.status, reply.headers, reply.body)


def send_http(platform: PlatformProcess, case: Case) -> Outcome:
    if case.chunked:
        return _send_chunked(platform, case)
    reply = platform.request(case.method, case.path, case.body, headers=case.headers)
    return from_http(reply.status, reply.body)


def _send_chunked(platform: PlatformProcess, case: Case) -> Outcome:
    """Transfer-Encoding: chunked (no Content-Length: the gateway must count what it reads)."""
    import http.client

    body = case.body or b""
    chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
    conn = http.client.HTTPConnection("127.0.0.1", platform.port, timeout=60)
    try:
        conn.request(case.method, case.path, body=chunks, headers=case.headers, encode_chunked=True)
        resp = conn.getresponse()
        return from_http(resp.status, resp.read())
    finally:
        conn.close()


def run(platform: PlatformProcess, case: Case, channel: str) -> Outcome:
    """Send ``case`` on ``channel`` and reduce the answer to an :class:`Outcome`."""
    if channel == "http":
        return send_http(platform, case)
    if channel == "direct":
        # the case's headers go along (X-Amz-* ones are the Invoke API's parameters)
        return invoke(platform, function_for(case.path, False), case.body or b"", case.headers)
    event = v1_event(case) if channel == "apigw-v1" else v2_event(case)
    payload = json.dumps(event).encode("utf-8")
    return from_proxy_response(invoke(platform, function_for(case.path, True), payload))


def problems(out: Outcome, expect: dict[str, Any]) -> list[str]:
    """What is wrong with ``out`` against ``expect`` (empty when it is right)."""
    found: list[str] = []

    def check(ok: bool, what: Callable[[], str]) -> None:
        if not ok:
            found.append(what())

    check(out.status < 500, lambda: f"a {out.status}: never a 5xx for bad input")
    check(out.status == expect["status"], lambda: f"status {out.status}, expected {expect['status']}")
    if expect["status"] >= 400:
        check(isinstance(out.body, dict), lambda: f"error body is not a JSON object: {out.raw[:120]!r}")
        if "error" in expect:
            check(out.error == expect["error"], lambda: f"error {out.error!r}, expected {expect['error']!r}")
        if "message" in expect:
            check(expect["message"] in out.message,
                  lambda: f"message {out.message[:200]!r} lacks {expect['message']!r}")
        check(bool(out.message.strip()), lambda: "empty error message")
        return found
    body = out.body
    if not isinstance(body, dict):
        return [*found, f"200 body is not a JSON object: {out.raw[:120]!r}"]
    for name in ("tokens", "unknown_words"):
        if name in expect:
            check(body.get(name) == expect[name], lambda n=name: f"{n} = {body.get(n)!r}, expected {expect[n]!r}")
    if expect.get("all_unknown"):
        tokens = body.get("tokens") or [t for ts in [body.get("question_tokens", []),
                                                      *body.get("answer_tokens", [])] for t in ts]
        check(body.get("unknown_words") == list(dict.fromkeys(tokens)),
              lambda: f"unknown_words {body.get('unknown_words')!r} are not all the tokens {tokens!r}")
    for name, n in expect.get("lengths", {}).items():
        check(len(body.get(name) or []) == n, lambda nm=name, k=n: f"len({nm}) = {len(body.get(nm) or [])}, expected {k}")
    for name in expect.get("fields", []):
        check(name in body, lambda nm=name: f"field {nm!r} missing")
    if "label" in body or "probabilities" in body:
        probs = body.get("probabilities", [])
        check(abs(sum(probs) - 1.0) < 1e-4, lambda: f"probabilities do not sum to 1: {probs}")
    if "scores" in body:
        check(all(0.0 <= s <= 1.0 for s in body["scores"]), lambda: "a score outside [0, 1]")
    return found
