"""API Gateway HTTP API (payload format 2.0) on the gateway side: request → event, and the
function's proxy response → HTTP response.

Kept faithful where handlers notice: header names lower-cased and repeated values joined
with commas, cookies split out, the query string both raw and parsed, and the body passed
through as text only for text content types — anything else (including *no* Content-Type,
as the paper's clients send) arrives base64-encoded with ``isBase64Encoded: true``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

_TEXT_TYPES = (
    "application/json", "application/javascript", "application/xml",
    "application/x-www-form-urlencoded", "application/x-ndjson",
)


def is_text(content_type: str | None) -> bool:
    """Whether API Gateway would pass a body of this Content-Type through as text."""
    if not content_type:
        return False
    ct = content_type.split(";", 1)[0].strip().lower()
    return ct.startswith("text/") or ct in _TEXT_TYPES or ct.endswith(("+json", "+xml"))


_CLF: tuple[int, str] = (-1, "")


def _clf_time(second: int) -> str:
    """API Gateway's ``requestContext.time`` (``29/Nov/2026:01:02:03 +0000``), formatted
    once per second rather than once per request."""
    global _CLF
    if _CLF[0] != second:
        _CLF = (second, time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second)))
    return _CLF[1]


@dataclass(frozen=True)
class HttpRequest:
    """What the gateway received: the parts an HTTP API event is built from."""

    method: str
    path: str
    raw_query: str
    headers: Iterable[tuple[str, str]]
    body: bytes
    source_ip: str
    request_id: str
    host: str


def http_api_event(request: HttpRequest, account_id: str = "123456789012",
                   api_id: str = "millicent") -> dict[str, Any]:
    """The event API Gateway's HTTP API sends a Lambda proxy integration (format 2.0)."""
    merged, cookies = _headers(request.headers)
    query: dict[str, str] = {}
    for k, v in parse_qsl(request.raw_query, keep_blank_values=True):
        query[k] = f"{query[k]},{v}" if k in query else v
    now = time.time()
    host, path = request.host, request.path
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": request.raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": request.method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request.request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": _clf_time(int(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if request.body:
        event.update(_body(request.body, merged.get("content-type")))
    return event


def _headers(headers: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Lower-cased headers, repeated ones joined by commas, and the cookies apart (as the
    HTTP API sends them)."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    return merged, cookies


def _body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """A text body as it stands (when UTF-8), anything else base64-encoded."""
    if is_text(content_type):
        try:
            return {"body": body.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


@dataclass
class HttpAnswer:
    """What the gateway sends back to the HTTP client."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)


class MalformedResponse(ValueError):
    """The function returned something API Gateway cannot turn into an HTTP response."""


def http_answer(payload: bytes) -> HttpAnswer:
    """Turn a function's response payload into an HTTP response, as HTTP API does.

    A JSON object with ``statusCode`` is a proxy response (``headers``, ``cookies``,
    ``multiValueHeaders``, ``body``, ``isBase64Encoded``); any other JSON value is returned
    as a 200 ``application/json`` body.
    """
    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise MalformedResponse(f"function response is not JSON: {exc}") from exc
    if not isinstance(value, dict) or "statusCode" not in value:
        return HttpAnswer(200, payload, {"content-type": "application/json"})
    try:
        status = int(value["statusCode"])
    except (TypeError, ValueError) as exc:
        raise MalformedResponse(f"statusCode is not an integer: {value['statusCode']!r}") from exc
    if not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode out of range: {status}")
    headers = {str(k).lower(): str(v) for k, v in (value.get("headers") or {}).items()}
    for k, vs in (value.get("multiValueHeaders") or {}).items():
        headers[str(k).lower()] = ",".join(str(v) for v in vs)
    body = value.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raw = json.dumps(body).encode()
    elif value.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedResponse("body is not valid base64") from exc
    else:
        raw = body.encode("utf-8")
    cookies = [str(c) for c in (value.get("cookies") or [])]
    return HttpAnswer(status, raw, headers, cookies)
