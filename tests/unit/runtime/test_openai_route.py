"""The handler's OpenAI routes with a fake service: ``POST /v1/embeddings`` and ``GET
/v1/models`` from the one route table, every error under ``/v1`` in OpenAI's shape."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from millicent.runtime.handler import handle
from tests.unit.runtime.test_routes import CTX, EmbedService, _env, _http


def _call(env: Any, method: str, path: str, body: Any = None,
          svc: EmbedService | None = None) -> tuple[int, Any]:
    out = handle(_http(method, path, body), CTX, env, svc or EmbedService())
    return out["statusCode"], json.loads(out["body"])


def test_embeddings_float_and_base64_one_batch_for_the_service() -> None:
    svc = EmbedService()
    env = _env(("kim", "classify"), ("emb", "embed"))
    status, body = _call(env, "POST", "/v1/embeddings",
                         {"model": "emb", "input": ["a fine film", "dull"]}, svc)
    assert status == 200
    assert body == {"object": "list", "model": "emb",
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.6, 0.8]},
                             {"object": "embedding", "index": 1, "embedding": [0.6, 0.8]}],
                    "usage": {"prompt_tokens": 4, "total_tokens": 4}}
    assert svc.calls == [("emb", ("a fine film", "dull"), True)]
    status, body = _call(env, "POST", "/v1/embeddings",
                         {"model": "emb", "input": "one", "encoding_format": "base64"})
    raw = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), dtype="<f4")
    assert status == 200 and raw.tolist() == np.float32([0.6, 0.8]).tolist()


def test_only_embedding_models_are_openai_models() -> None:
    env = _env(("kim", "classify"), ("emb", "embed"), ("emb2", "embed"))
    status, body = _call(env, "GET", "/v1/models")
    assert status == 200 and [m["id"] for m in body["data"]] == ["emb", "emb2"]
    assert {m["object"] for m in body["data"]} == {"model"}
    status, body = _call(env, "POST", "/v1/embeddings", {"model": "kim", "input": "x"})
    assert status == 404 and body["error"]["code"] == "model_not_found"
    assert "emb, emb2" in body["error"]["message"]


def test_every_error_under_v1_has_openais_shape() -> None:
    env = _env(("emb", "embed"))
    for method, path, body, status, param in (
            ("GET", "/v1/embeddings", None, 405, None),
            ("POST", "/v1/completions", {"prompt": "x"}, 404, None),
            ("POST", "/v1/embeddings", {"model": "emb", "input": [1, 2]}, 400, "input"),
            ("POST", "/v1/embeddings", {"model": "emb", "input": "x", "dimensions": 3}, 400,
             "dimensions"),
            ("POST", "/v1/embeddings", {"model": "emb"}, 400, "input")):
        got_status, got = _call(env, method, path, body)
        assert got_status == status, (path, got)
        assert set(got) == {"error"} and set(got["error"]) == {"message", "type", "param", "code"}
        assert got["error"]["type"] == "invalid_request_error" and got["error"]["param"] == param
    bad_json = handle({**_http("POST", "/v1/embeddings"), "body": "{not json"}, CTX, env,
                      EmbedService())
    assert bad_json["statusCode"] == 400 and "error" in json.loads(bad_json["body"])
    assert json.loads(bad_json["body"])["error"]["type"] == "invalid_request_error"
    # millicent's own routes keep millicent's shape
    status, body = _call(env, "GET", "/embed")
    assert status == 405 and body["error"] == "method_not_allowed"


def test_every_event_shape_reaches_the_openai_routes() -> None:
    """A Function URL, an HTTP API with a named stage and a REST API (payload 1.0)."""
    env = _env(("emb", "embed"))
    body = json.dumps({"model": "emb", "input": "a fine film"})
    url = {**_http("POST", "/v1/embeddings", None), "body": body}
    url["requestContext"] = {**url["requestContext"], "domainName": "abc.lambda-url.us-east-1.on.aws"}
    staged = {**_http("POST", "/prod/v1/embeddings", None), "body": body}
    staged["requestContext"] = {**staged["requestContext"], "stage": "prod"}
    rest = {"httpMethod": "POST", "path": "/v1/embeddings", "body": body,
            "isBase64Encoded": False, "requestContext": {"stage": "prod"}}
    for event in (url, staged, rest):
        out = handle(event, CTX, env, EmbedService())
        assert out["statusCode"] == 200, out["body"]
        assert json.loads(out["body"])["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    models = {"httpMethod": "GET", "path": "/v1/models", "body": None, "isBase64Encoded": False,
              "requestContext": {"stage": "prod"}}
    assert json.loads(handle(models, CTX, env, EmbedService())["body"])["data"][0]["id"] == "emb"
