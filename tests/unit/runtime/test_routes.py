"""The handler's one route table (404 and 405 decided in one place) and the ``embed`` role's
route, body and direct-invocation routing, with a fake service."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from millicent.config import FunctionConfig, Limits
from millicent.errors import MethodNotAllowed, NotFound
from millicent.runtime import events
from millicent.runtime.environment import FunctionEnvironment
from millicent.runtime.handler import ROUTES, handle, route
from millicent.runtime.requests import TextsRequest
from millicent.runtime.service import Answer, Embedding

CTX = SimpleNamespace(function_name="millicent")


class EmbedService:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...], bool]] = []

    def embed(self, model: Any, embeddings: Any, request: TextsRequest, limits: Limits) -> Answer:
        self.calls.append((model.name, request.texts, request.batch))
        return Answer([Embedding([0.6, 0.8], t.split()) for t in request.texts],
                      {"tokenize_ms": 0.0, "fetch_ms": 0.0, "forward_ms": 0.0, "lookups": {}})


def _env(*models: tuple[str, str]) -> FunctionEnvironment:
    built = {n: SimpleNamespace(name=n, role=r, kind="mean_vectors", task="", out_dim=2)
             for n, r in models}
    config = FunctionConfig(models=tuple((n, f"/a/{n}") for n, _ in models), store_url="x",
                            pack_path=None, lru_size=0, store_deadline_s=1.0, limits=Limits())
    return FunctionEnvironment(config=lambda: config, models=lambda _: built,
                               store=lambda _: SimpleNamespace(dim=2, close=lambda: None))


def _http(method: str, path: str, body: Any = None) -> dict[str, Any]:
    return {"version": "2.0", "rawPath": path, "isBase64Encoded": False,
            "body": None if body is None else json.dumps(body),
            "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"}}


def test_one_table_decides_every_route_404_and_405() -> None:
    names = ["emb", "kim"]
    assert [r.path for r in ROUTES] == ["/health", "/classify", "/rank", "/embed", "/{name}"]
    for path, roles in (("/classify", ("classify",)), ("/rank", ("rank",)), ("/embed", ("embed",))):
        r = route(events.parse_event(_http("POST", path)), names)
        assert (r.action, r.roles) == ("role", roles)
    assert route(events.parse_event(_http("POST", "/emb")), names).name == "emb"
    with pytest.raises(MethodNotAllowed) as wrong:
        route(events.parse_event(_http("GET", "/embed")), names)
    assert wrong.value.details["allowed"] == ["POST"]
    with pytest.raises(MethodNotAllowed) as health:
        route(events.parse_event(_http("DELETE", "/health")), names)
    assert health.value.details["allowed"] == ["GET", "HEAD"]
    with pytest.raises(NotFound, match=r"POST /embed.*POST /emb"):
        route(events.parse_event(_http("POST", "/bert")), names)


def test_embed_route_named_route_and_batch_bodies() -> None:
    svc = EmbedService()
    env = _env(("kim", "classify"), ("emb", "embed"))
    for path in ("/embed", "/emb"):
        out = handle(_http("POST", path, {"sentence": "a fine film"}), CTX, env, svc)
        body = json.loads(out["body"])
        assert out["statusCode"] == 200 and body["model"] == "emb"
        assert body["embedding"] == [0.6, 0.8] and body["tokens"] == ["a", "fine", "film"]
    out = handle(_http("POST", "/embed", {"sentences": ["a", "b c"]}), CTX, env, svc)
    body = json.loads(out["body"])
    assert [r["tokens"] for r in body["results"]] == [["a"], ["b", "c"]]
    assert set(body) == {"results", "model", "timings"}
    assert svc.calls == [("emb", ("a fine film",), False)] * 2 + [("emb", ("a", "b c"), True)]


def test_a_direct_invocation_reaches_an_embedder_by_its_fields() -> None:
    svc = EmbedService()
    only = _env(("emb", "embed"))
    assert handle({"input": "hello there"}, CTX, only, svc)["model"] == "emb"
    with pytest.raises(NotFound, match="no ranking model"):
        handle({"question": "q", "answer": "a"}, CTX, only, svc)
