"""The OpenAI embeddings wire format: parsing, the answer (float and base64), the limits, errors."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from millicent.errors import (
    ArtifactError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    StoreUnavailable,
    TooManyRequests,
    Unauthorized,
)
from millicent.runtime import events, openai_api
from millicent.runtime.openai_api import EmbeddingsRequest, check_request, parse_embeddings


def test_a_string_or_a_list_of_strings() -> None:
    assert parse_embeddings({"model": "m", "input": "hello"}) == EmbeddingsRequest("m", ("hello",))
    req = parse_embeddings({"model": "m", "input": ["a b", "c"], "encoding_format": "base64",
                            "dimensions": 384, "user": "u-1"})
    assert req == EmbeddingsRequest("m", ("a b", "c"), "base64", 384)


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"input": "x"}, "model", "model parameter"),
    ({"model": 3, "input": "x"}, "model", "non-empty string"),
    ({"model": "m"}, "input", "input parameter"),
    ({"model": "m", "input": ""}, "input", "empty"),
    ({"model": "m", "input": ["ok", "  "]}, "input", "'input[1]' is empty"),
    ({"model": "m", "input": []}, "input", "empty"),
    ({"model": "m", "input": {"a": 1}}, "input", "string or an array"),
    ({"model": "m", "input": ["ok", 3.5]}, "input", "'input[1]' must be a string"),
    ({"model": "m", "input": [1, 2, 3]}, "input", "check_embedding_ctx_length=False"),
    ({"model": "m", "input": [[1, 2], [3]]}, "input", "check_embedding_ctx_length=False"),
    ({"model": "m", "input": "x", "encoding_format": "int8"}, "encoding_format", "'float' or 'base64'"),
    ({"model": "m", "input": "x", "dimensions": 0}, "dimensions", "positive integer"),
    ({"model": "m", "input": "x", "dimensions": True}, "dimensions", "positive integer"),
    ({"model": "m", "input": "x", "user": 7}, "user", "string"),
    ({"model": "m", "input": "x", "temperature": 1}, "temperature", "Unrecognized request argument"),
    ({"model": "m", "input": "\ud800"}, "input", "not valid Unicode"),
])
def test_bad_bodies_are_400s_naming_the_param(body: dict, param: str, words: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_embeddings(body)
    exc = info.value
    assert exc.status == 400
    err = openai_api.error_body(exc)["error"]
    assert err["param"] == param
    assert words in err["message"]
    assert err["type"] == "invalid_request_error"
    assert err["code"] is None


def test_not_a_json_object() -> None:
    with pytest.raises(InvalidInput):
        parse_embeddings(["model", "input"])


def test_unknown_model_is_model_not_found() -> None:
    req = parse_embeddings({"model": "gpt", "input": "x"})
    with pytest.raises(NotFound) as info:
        check_request(req, {"minilm": 384})
    body = openai_api.error_body(info.value)
    assert info.value.status == 404
    assert body["error"]["code"] == "model_not_found"
    assert body["error"]["param"] == "model"
    assert "minilm" in body["error"]["message"]


def test_dimensions_must_be_the_models_width() -> None:
    assert check_request(parse_embeddings({"model": "m", "input": "x", "dimensions": 384}),
                         {"m": 384}) == 384
    with pytest.raises(InvalidInput) as info:
        check_request(parse_embeddings({"model": "m", "input": "x", "dimensions": 256}), {"m": 384})
    assert info.value.status == 400
    assert openai_api.error_body(info.value)["error"]["param"] == "dimensions"


def test_more_inputs_than_fit_one_answer_is_a_413_saying_chunk_size() -> None:
    most = openai_api.max_inputs(384, "float", 1)
    assert 600 < most < 700  # LangChain's default chunk_size (1,000) does not fit as floats
    assert openai_api.max_inputs(384, "base64", 1) == openai_api.MAX_INPUTS
    req = EmbeddingsRequest("m", ("t",) * (most + 1), "float")
    with pytest.raises(PayloadTooLarge) as info:
        check_request(req, {"m": 384})
    err = openai_api.error_body(info.value)["error"]
    assert info.value.status == 413 and info.value.details["limit"] == most
    assert "chunk_size" in err["message"] and f"N ≤ {most}" in err["message"]
    assert err["code"] == "payload_too_large" and err["param"] == "input"
    check_request(EmbeddingsRequest("m", ("t",) * most, "float"), {"m": 384})
    with pytest.raises(PayloadTooLarge, match="OpenAI's limit"):
        check_request(EmbeddingsRequest("m", ("t",) * 2049, "base64"), {"m": 384})


@pytest.mark.parametrize("fmt", ["float", "base64"])
def test_the_most_that_fit_fit_lambdas_answer_at_their_largest(fmt: str) -> None:
    """Every value at its longest JSON form: the bound still holds inside the 6 MB."""
    width, name = 384, "m" * 64
    most = openai_api.max_inputs(width, fmt, len(name))
    worst = float(np.float32(-1.2345678e-05))
    assert len(repr(worst)) + 1 <= openai_api.FLOAT_CHARS
    body = openai_api.embeddings_body(name, [[worst] * width] * most, 10**9, fmt)
    events.check_response_size(events.http_response(200, body))  # no PayloadTooLarge


def test_base64_is_little_endian_float32_and_equals_float() -> None:
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((3, 384)).astype(np.float32)
    lists = [[float(x) for x in v] for v in vecs]
    b64 = openai_api.embeddings_body("m", lists, 12, "base64")
    flt = openai_api.embeddings_body("m", lists, 12, "float")
    decoded = [np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in b64["data"]]
    assert all(np.array_equal(d, v) for d, v in zip(decoded, vecs, strict=True))
    # what the openai client does with each
    floats = json.loads(json.dumps(flt))["data"]
    assert [np.frombuffer(base64.b64decode(d["embedding"]), dtype="float32").tolist()
            for d in b64["data"]] == [d["embedding"] for d in floats]
    assert [d["index"] for d in b64["data"]] == [0, 1, 2]
    assert b64["usage"] == {"prompt_tokens": 12, "total_tokens": 12}
    assert b64["object"] == "list" and b64["model"] == "m"
    assert {d["object"] for d in b64["data"]} == {"embedding"}


def test_models_body() -> None:
    body = openai_api.models_body(["a", "b"], {"a": 1700000000})
    assert body == {"object": "list", "data": [
        {"id": "a", "object": "model", "created": 1700000000, "owned_by": "millicent"},
        {"id": "b", "object": "model", "created": 0, "owned_by": "millicent"}]}


def test_error_types_and_codes() -> None:
    def err(exc: Exception) -> dict:
        return openai_api.error_body(exc)["error"]  # type: ignore[arg-type]

    assert err(Unauthorized("missing key")) == {"message": "missing key",
                                                 "type": "invalid_request_error",
                                                 "param": None, "code": "invalid_api_key"}
    assert err(TooManyRequests("busy"))["code"] == "rate_limit_exceeded"
    assert err(StoreUnavailable("down"))["type"] == "server_error"
    assert err(StoreUnavailable("down"))["code"] == "store_unavailable"
    assert err(ArtifactError("nan"))["type"] == "server_error"
    # the service's token limit names the batch item: said as this API's input
    limit = InvalidInput("sentences[3] has 1200 tokens; the limit is 1000", field="sentences[3]",
                         index=3)
    assert err(limit)["message"] == "input[3] has 1200 tokens; the limit is 1000"
    assert err(limit)["param"] == "input"
    big = PayloadTooLarge("request body is 2000000 bytes; the limit is 1000000 bytes", limit=10)
    assert "chunk_size" in err(big)["message"]


def test_paths() -> None:
    assert openai_api.is_openai_path("/v1/embeddings")
    assert openai_api.is_openai_path("/v1/anything")
    assert not openai_api.is_openai_path("/v1")  # a model may be called v1
    assert not openai_api.is_openai_path("/v1x")
    assert not openai_api.is_openai_path("/embed")
    assert not openai_api.is_openai_path(None)
