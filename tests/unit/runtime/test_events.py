"""Event shapes the handler accepts: REST v1, HTTP v2, Function URL, direct invocation."""

from __future__ import annotations

import base64
import json

import pytest

from millicent.errors import InvalidInput, PayloadTooLarge
from millicent.runtime import events


def v1(body: str | None, method: str = "POST", path: str = "/classify", b64: bool = False) -> dict:
    return {"resource": path, "path": path, "httpMethod": method, "headers": {}, "body": body,
            "isBase64Encoded": b64, "requestContext": {"stage": "prod", "path": "/prod" + path}}


def v2(body: str | None, method: str = "POST", path: str = "/classify", b64: bool = False,
       stage: str = "$default", domain: str = "abc.execute-api.us-east-1.amazonaws.com") -> dict:
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": {}, "body": body, "isBase64Encoded": b64,
            "requestContext": {"http": {"method": method, "path": path}, "stage": stage,
                               "domainName": domain}}


def test_event_kinds() -> None:
    assert events.event_kind(v1("{}")) == events.REST_V1
    assert events.event_kind(v2("{}")) == events.HTTP_V2
    url = v2("{}", domain="abcdefg.lambda-url.us-east-1.on.aws")
    assert events.event_kind(url) == events.FUNCTION_URL
    assert events.event_kind({"sentence": "hi"}) == events.DIRECT
    assert events.event_kind(["not", "an", "object"]) == events.DIRECT
    # a payload that merely has a "version" field is still a direct invocation
    assert events.event_kind({"version": "2.0", "sentence": "x"}) == events.DIRECT


def test_parse_v1_and_v2() -> None:
    r = events.parse_event(v1('{"sentence": "a"}', method="post", path="/classify/"))
    assert (r.method, r.path, r.is_http) == ("POST", "/classify", True)
    r = events.parse_event(v2('{"sentence": "a"}', method="GET", path="/health"))
    assert (r.method, r.path) == ("GET", "/health")


def test_named_stage_is_stripped_from_raw_path() -> None:
    r = events.parse_event(v2("{}", path="/prod/rank", stage="prod"))
    assert r.path == "/rank"
    # a $default stage leaves the path alone
    assert events.parse_event(v2("{}", path="/prod/rank")).path == "/prod/rank"


def test_direct_payload_is_the_body() -> None:
    r = events.parse_event({"sentence": "hi"})
    assert r.path is None and not r.is_http
    assert events.body_json(r, 10) == {"sentence": "hi"}


def test_body_json_plain_and_base64() -> None:
    body = json.dumps({"sentence": "héllo"})
    assert events.body_json(events.parse_event(v2(body)), 1000) == {"sentence": "héllo"}
    b64 = base64.b64encode(body.encode()).decode()
    assert events.body_json(events.parse_event(v1(b64, b64=True)), 1000) == {"sentence": "héllo"}


@pytest.mark.parametrize("event", [
    v2(None), v2(""), v2("not json"), v2("{'single': 'quotes'}"), v2("%%%", b64=True),
    v2(base64.b64encode(b"\xff\xfe").decode(), b64=True), v2("[" * 100_000),
])
def test_bad_bodies_are_400(event: dict) -> None:
    with pytest.raises(InvalidInput) as info:
        events.body_json(events.parse_event(event), 1_000_000)
    assert info.value.status == 400


def test_body_limit_is_413_plain_and_base64() -> None:
    body = json.dumps({"sentence": "x" * 200})
    with pytest.raises(PayloadTooLarge) as info:
        events.body_json(events.parse_event(v2(body)), 100)
    assert info.value.status == 413 and info.value.details["limit"] == 100
    b64 = base64.b64encode(body.encode()).decode()
    with pytest.raises(PayloadTooLarge):
        events.body_json(events.parse_event(v2(b64, b64=True)), 100)
    # exactly at the limit is fine
    exact = json.dumps({"s": "y" * 10})
    assert events.body_json(events.parse_event(v2(exact)), len(exact)) == {"s": "y" * 10}


def test_non_string_body_is_rejected() -> None:
    event = v2(None)
    event["body"] = {"already": "parsed"}
    with pytest.raises(InvalidInput):
        events.parse_event(event)


def test_responses() -> None:
    r = events.http_response(200, {"label": "x"})
    assert r["statusCode"] == 200 and json.loads(r["body"]) == {"label": "x"}
    assert r["headers"]["content-type"] == "application/json" and r["isBase64Encoded"] is False
    e = events.error_response(PayloadTooLarge("too big", limit=5))
    assert e["statusCode"] == 413
    assert json.loads(e["body"]) == {"error": "payload_too_large", "message": "too big", "limit": 5}
