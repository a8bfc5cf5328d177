"""API Gateway HTTP API (format 2.0) events and proxy responses, and the gateway's status map."""

from __future__ import annotations

import base64
import json

import pytest

from millicent.platform.answers import error_status
from millicent.platform.apigw import (
    HttpRequest,
    MalformedResponse,
    http_answer,
    http_api_event,
    is_text,
)
from millicent.runtime import events


def _event(body: bytes, headers: list[tuple[str, str]], query: str = "") -> dict:
    return http_api_event(HttpRequest("post", "/classify", query, headers, body, "127.0.0.1", "abc",
                                      "127.0.0.1:9000"))


def test_json_body_passes_as_text() -> None:
    e = _event(b'{"sentence": "ok"}', [("Content-Type", "application/json")])
    assert e["version"] == "2.0" and e["routeKey"] == "$default"
    assert e["requestContext"]["http"]["method"] == "POST"
    assert e["rawPath"] == "/classify"
    assert e["body"] == '{"sentence": "ok"}' and e["isBase64Encoded"] is False


def test_body_without_content_type_is_base64() -> None:
    e = _event(b'{"input": "x"}', [])
    assert e["isBase64Encoded"] is True
    assert base64.b64decode(e["body"]) == b'{"input": "x"}'


def test_headers_lowercased_joined_cookies_and_query() -> None:
    e = _event(b"", [("X-A", "1"), ("x-a", "2"), ("Cookie", "a=1; b=2")], query="k=1&k=2&z=")
    assert e["headers"]["x-a"] == "1,2"
    assert "cookie" not in e["headers"] and e["cookies"] == ["a=1", "b=2"]
    assert e["queryStringParameters"] == {"k": "1,2", "z": ""}
    assert e["rawQueryString"] == "k=1&k=2&z="
    assert "body" not in e


def test_gateway_event_parses_in_the_handler() -> None:
    """The event the gateway builds is one the handler's parser understands (both sides)."""
    e = _event(b'{"sentence": "fine"}', [("content-type", "text/plain")])
    req = events.parse_event(e)
    assert (req.kind, req.method, req.path) == (events.HTTP_V2, "POST", "/classify")
    assert events.body_json(req, 1000) == {"sentence": "fine"}
    req = events.parse_event(_event(b'{"sentence": "fine"}', []))
    assert events.body_json(req, 1000) == {"sentence": "fine"}


@pytest.mark.parametrize(("ct", "text"), [
    ("application/json; charset=utf-8", True), ("text/plain", True), ("application/hal+json", True),
    ("application/octet-stream", False), (None, False), ("", False),
])
def test_is_text(ct: str | None, text: bool) -> None:
    assert is_text(ct) is text


def test_proxy_response_translation() -> None:
    a = http_answer(json.dumps({"statusCode": 413, "headers": {"Content-Type": "application/json"},
                                "body": '{"error": "payload_too_large"}'}).encode())
    assert a.status == 413 and a.headers == {"content-type": "application/json"}
    assert json.loads(a.body) == {"error": "payload_too_large"}
    b = http_answer(json.dumps({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(),
                                "isBase64Encoded": True, "cookies": ["s=1"]}).encode())
    assert b.body == b"\x00\x01" and b.cookies == ["s=1"]


def test_plain_json_result_is_a_200() -> None:
    a = http_answer(b'{"label": "positive"}')
    assert a.status == 200 and a.body == b'{"label": "positive"}'
    assert a.headers["content-type"] == "application/json"


@pytest.mark.parametrize("payload", [b"not json", b'{"statusCode": "abc"}', b'{"statusCode": 999}',
                                     b'{"statusCode": 200, "body": "%%", "isBase64Encoded": true}'])
def test_malformed_responses(payload: bytes) -> None:
    with pytest.raises(MalformedResponse):
        http_answer(payload)


@pytest.mark.parametrize(("error_type", "status"), [
    ("InvalidInput", 400), ("PayloadTooLarge", 413), ("StoreUnavailable", 503),
    ("ArtifactError", 500), ("Sandbox.Timedout", 504), ("Runtime.ExitError", 502),
    ("ValueError", 502), (None, 502), ("missing_extra", 502),
])
def test_function_error_status(error_type: str | None, status: int) -> None:
    assert error_status(error_type) == status


def test_report_headers_carry_init_and_restore_apart_from_the_duration() -> None:
    from millicent.platform.answers import report_headers
    from millicent.platform.records import InvocationRecord

    def rec(**kw: object) -> InvocationRecord:
        base: dict[str, object] = dict(request_id="r", function="f", env_id="f-1", pid=1,
                                       cold=True, init_ms=None, duration_ms=2.5, billed_ms=3,
                                       billed_ms_100=100, cpu_ms=None, memory_mb=128,
                                       max_memory_mb=None)
        base.update(kw)
        return InvocationRecord(**base)  # type: ignore[arg-type]

    init = report_headers(rec(init_ms=212.0))
    assert (init["x-millicent-init-ms"], init["x-millicent-restore-ms"]) == ("212.000", "0")
    assert init["x-millicent-init-kind"] == "init" and init["x-millicent-duration-ms"] == "2.500"
    restore = report_headers(rec(restore_ms=14.25, billed_restore_ms=15))
    assert (restore["x-millicent-init-ms"], restore["x-millicent-restore-ms"]) == ("0", "14.250")
    assert restore["x-millicent-init-kind"] == "restore"
    warm = report_headers(rec(cold=False))
    assert (warm["x-millicent-init-ms"], warm["x-millicent-restore-ms"]) == ("0", "0")
    assert "x-millicent-init-kind" not in warm and warm["x-millicent-cold"] == "0"
