"""Lambda events in, Lambda responses out: the event shapes the handler accepts.

* API Gateway REST API (payload format 1.0): ``httpMethod``, ``path``, ``body``,
  ``isBase64Encoded``;
* API Gateway HTTP API (format 2.0) and Lambda Function URLs (same shape, ``version: "2.0"``):
  ``requestContext.http.method``, ``rawPath``, ``body``, ``isBase64Encoded``;
* a direct invocation (``aws lambda invoke``, boto3 ``invoke``): the payload itself, a
  JSON object such as ``{"sentence": "..."}``.

Bodies are parsed as JSON whatever the Content-Type says: API Gateway passes bodies through
as they come, base64-encoding those it does not consider text, and the paper's clients
send no Content-Type at all. Stdlib only (this ships inside the function).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from millicent.config import LAMBDA_RESPONSE_LIMIT
from millicent.errors import InvalidInput, MillicentError, PayloadTooLarge

#: Event kinds.
REST_V1, HTTP_V2, FUNCTION_URL, DIRECT = "apigw-v1", "apigw-v2", "function-url", "direct"


@dataclass
class Invocation:
    """What the handler needs from any event: method, path and the raw body (the typed
    request its body becomes is :mod:`.requests`'s).

    ``path`` is None for direct invocations (they are routed by their fields).
    """

    kind: str
    method: str
    path: str | None
    body: str | None = None
    is_base64: bool = False
    #: a direct invocation's payload, already parsed by the runtime client
    payload: Any = None

    @property
    def is_http(self) -> bool:
        return self.kind != DIRECT


def event_kind(event: Any) -> str:
    """Which of the accepted shapes ``event`` has."""
    if isinstance(event, dict):
        ctx = event.get("requestContext")
        if event.get("version") == "2.0" and isinstance(ctx, dict) and isinstance(ctx.get("http"), dict):
            domain = str(ctx.get("domainName", ""))
            return FUNCTION_URL if ".lambda-url." in domain else HTTP_V2
        if "httpMethod" in event and isinstance(ctx, dict):
            return REST_V1
    return DIRECT


def parse_event(event: Any) -> Invocation:
    """Extract method, path and body from an event (no JSON parsing of the body yet)."""
    kind = event_kind(event)
    if kind == DIRECT:
        return Invocation(kind, "POST", None, payload=event)
    if kind == REST_V1:
        method = str(event.get("httpMethod") or "")
        path = str(event.get("path") or "/")
    else:
        http = event["requestContext"]["http"]
        method = str(http.get("method") or "")
        path = str(event.get("rawPath") or http.get("path") or "/")
        stage = event["requestContext"].get("stage")
        # HTTP API puts a named stage in rawPath ("/prod/classify"); routes do not include it
        if stage and stage != "$default" and path.startswith(f"/{stage}/"):
            path = path[len(stage) + 1 :]
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise InvalidInput("event body must be a string")
    return Invocation(kind, method.upper(), normalise_path(path), body, bool(event.get("isBase64Encoded")))


def normalise_path(path: str) -> str:
    """``/classify/`` and ``//classify`` route like ``/classify``."""
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts)


def body_json(request: Invocation, max_body_bytes: int) -> Any:
    """The request body parsed as JSON, enforcing the size limit (413) and syntax (400)."""
    if not request.is_http:
        return request.payload
    raw: bytes | str = request.body or ""
    if request.is_base64 and raw:
        # base64 is 4/3 of the body: refuse an oversized one before decoding it
        if len(raw) > (max_body_bytes + 2) // 3 * 4 + 4:
            raise _too_large(len(raw) * 3 // 4, max_body_bytes)
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput("isBase64Encoded is true but the body is not valid base64") from exc
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8"))
    if size > max_body_bytes:
        raise _too_large(size, max_body_bytes)
    if size == 0:
        raise InvalidInput("request body is empty: send a JSON object")
    # Decode here rather than let json.loads guess from bytes: it would accept UTF-16/32
    # bodies when they arrive base64-encoded but not as text, so the same bytes got a 200
    # or a 400 depending on the Content-Type. JSON on the wire is UTF-8 (RFC 8259 §8.1).
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"request body is not valid UTF-8: byte 0x{raw[exc.start]:02x} at position {exc.start}"
            ) from exc
    # A UTF-8 byte order mark (PowerShell, Notepad) is not JSON, but RFC 8259 lets a parser
    # ignore it; json.loads accepted it in a base64 body and refused it in a text one.
    if raw.startswith("\ufeff"):
        raw = raw[1:]
    try:
        return json.loads(raw, object_pairs_hook=_unique_fields, parse_constant=_not_json)
    except ValueError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # '[[[[…' nested past the parser's stack
        raise InvalidInput("request body is nested too deeply") from exc


def _not_json(constant: str) -> Any:
    # json.loads takes NaN and ±Infinity, which JSON has not (RFC 8259 §6), and the Lambda
    # runtime client's parser refuses them: the same body must not mean a number here
    raise ValueError(f"{constant} is not a JSON value")


def _unique_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose names are unique, or InvalidInput.

    ``{"sentence": "", "sentence": "good"}`` means different things to different parsers
    (json.loads keeps the last, others the first): on a public endpoint an ambiguous body
    is refused rather than guessed at.
    """
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise InvalidInput(f"request body has the field {name!r} more than once", field=name)
            seen.add(name)
    return out


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body is {size} bytes; the limit is {limit} bytes", limit=limit
    )


def http_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A proxy-integration response (understood by REST v1, HTTP v2 and Function URLs)."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(payload, separators=(",", ":"), allow_nan=False),
        "isBase64Encoded": False,
    }


def check_response_size(response: Any, limit: int = LAMBDA_RESPONSE_LIMIT) -> None:
    """PayloadTooLarge (413) when Lambda would refuse ``response`` as over its 6 MB limit.

    The runtime client serialises what the handler returns once more (an HTTP answer's
    body string gets its quotes and non-ASCII escaped again): past the limit, Lambda
    fails the invocation — a 502 — where the caller deserves a 413 saying to send less.
    Measured exactly only when a cheap bound says it might be over: a string escapes to
    at most 6 bytes a character.
    """
    body = response.get("body") if isinstance(response, dict) else None
    if isinstance(body, str) and 6 * len(body) + 4096 < limit:
        return
    size = len(json.dumps(response, separators=(",", ":")).encode("utf-8"))
    if size > limit:
        raise PayloadTooLarge(
            f"the answer would be {size} bytes, over Lambda's response limit of {limit} bytes: "
            "send fewer or shorter texts", limit=limit)


def error_response(exc: MillicentError) -> dict[str, Any]:
    """A millicent error as a proxy response with the error's own status."""
    return http_response(exc.status, exc.to_dict())
