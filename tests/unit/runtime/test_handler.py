"""The handler's routing, field validation, error mapping and timings, with a fake service.

The real service, models and store are exercised in tests/functional and tests/integration;
here a fake service records what the handler passed it, so every branch of the thin
handler is checked without numpy models.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

import pytest

from millicent.config import FunctionConfig, Limits
from millicent.errors import ConfigError, InvalidInput, NotFound, StoreUnavailable
from millicent.runtime import events
from millicent.runtime.environment import FunctionEnvironment
from millicent.runtime.handler import handle, route
from millicent.runtime.requests import ClassifyRequest, RankRequest
from millicent.runtime.service import Answer, Classification, Ranking


class FakeService:
    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = fail

    def _timings(self) -> dict[str, Any]:
        time.sleep(0.002)  # so the handler's total is longer than the phases reported here
        return {"tokenize_ms": 0.1, "fetch_ms": 1.0, "forward_ms": 0.3,
                "lookups": {"words": 2, "cache_hits": 1}}

    def classify(self, model: Any, embeddings: Any, request: ClassifyRequest, limits: Limits) -> Answer:
        if self.fail:
            raise self.fail
        (text,) = request.texts
        self.calls.append(("classify", model.name, text, limits))
        return Answer([Classification("positive", 1, [0.25, 0.75], text.split(), [])], self._timings())

    def rank(self, model: Any, embeddings: Any, request: RankRequest, limits: Limits) -> Answer:
        if self.fail:
            raise self.fail
        (item,) = request.items
        self.calls.append(("rank", model.name, item.question, list(item.answers), limits))
        scores = [0.5 + i / 10 for i in range(len(item.answers))]
        return Answer([Ranking(scores, [], [], [], item.single)], self._timings())


def model(name: str, role: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, role=role, kind="kim_cnn" if role == "classify" else "sm_cnn",
                           task="sst-1" if role == "classify" else "trecqa", labels=["neg", "pos"])


LIMITS = Limits(max_body_bytes=2000, max_tokens=50, max_answers=3)
CONFIG = FunctionConfig(models=(("kim", "/a/kim"), ("sm", "/a/sm"), ("kim2", "/a/kim2")),
                        store_url="sqlite:///x.db", pack_path=None, lru_size=0,
                        store_deadline_s=1.0, limits=LIMITS)


def make_env(store: Any = None) -> FunctionEnvironment:
    models = {"kim": model("kim", "classify"), "sm": model("sm", "rank"), "kim2": model("kim2", "classify")}

    def open_store(_: FunctionConfig) -> Any:
        if isinstance(store, Exception):
            raise store
        return SimpleNamespace(dim=50, close=lambda: None)

    return FunctionEnvironment(config=lambda: CONFIG, models=lambda _: models, store=open_store)


def http(method: str, path: str, body: Any = None, raw: str | None = None) -> dict[str, Any]:
    text = raw if raw is not None else (None if body is None else json.dumps(body))
    return {"version": "2.0", "rawPath": path, "body": text, "isBase64Encoded": False,
            "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"}}


CTX = SimpleNamespace(function_name="millicent", aws_request_id="req-1")


def call(event: Any, env: FunctionEnvironment | None = None, svc: FakeService | None = None,
         ctx: Any = CTX) -> tuple[int, dict[str, Any]]:
    out = handle(event, ctx, env or make_env(), svc or FakeService())
    return out["statusCode"], json.loads(out["body"])


def test_classify_alias_goes_to_first_classifier() -> None:
    svc = FakeService()
    status, body = call(http("POST", "/classify", {"sentence": "a fine film"}), svc=svc)
    assert status == 200
    assert svc.calls == [("classify", "kim", "a fine film", LIMITS)]
    assert body["model"] == "kim" and body["label"] == "positive"


def test_named_route_and_original_input_field() -> None:
    svc = FakeService()
    status, body = call(http("POST", "/kim2", {"input": "old client"}), svc=svc)
    assert status == 200 and body["model"] == "kim2"
    assert svc.calls[0][:3] == ("classify", "kim2", "old client")


def test_rank_single_answer_gets_score_and_answers_list_does_not() -> None:
    svc = FakeService()
    status, body = call(http("POST", "/rank", {"question": "q?", "answer": "a."}), svc=svc)
    assert status == 200 and body["score"] == body["scores"][0] == 0.5 and body["model"] == "sm"
    status, body = call(http("POST", "/sm", {"question": "q?", "answers": ["a", "b"]}), svc=svc)
    assert status == 200 and "score" not in body and len(body["scores"]) == 2
    status, body = call(http("POST", "/rank", {"sent1": "q?", "sent2": "a."}), svc=svc)
    assert status == 200 and body["score"] == 0.5
    assert [c[2:4] for c in svc.calls] == [("q?", ["a."]), ("q?", ["a", "b"]), ("q?", ["a."])]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/classify", 405), ("PUT", "/rank", 405), ("POST", "/health", 405),
    ("GET", "/kim", 405), ("POST", "/nope", 404), ("POST", "/", 404), ("POST", "/kim/extra", 404),
])
def test_wrong_method_or_route(method: str, path: str, status: int) -> None:
    code, body = call(http(method, path, {"sentence": "x"}))
    assert code == status
    assert body["error"] in ("method_not_allowed", "not_found") and body["message"]


@pytest.mark.parametrize(("path", "payload", "needle"), [
    ("/classify", {}, "missing field 'sentence' or 'input'"),
    ("/classify", {"sentence": 3}, "'sentence' must be a string, got number"),
    ("/classify", {"sentence": None}, "got null"),
    ("/classify", {"sentence": "   \n"}, "empty or whitespace"),
    ("/classify", {"sentence": "a", "input": "b"}, "only one of"),
    ("/classify", {"sentence": "ok \ud800"}, "'sentence' is not valid Unicode"),
    ("/rank", {"question": "q", "answers": ["a", "\udfff"]}, "'answers[1]' is not valid Unicode"),
    ("/classify", ["a list"], "must be a JSON object, got array"),
    ("/rank", {"answer": "a"}, "missing field 'question'"),
    ("/rank", {"question": "q"}, "missing field 'answer' or 'sent2'"),
    ("/rank", {"question": "q", "answers": "a"}, "must be a list of strings, got string"),
    ("/rank", {"question": "q", "answers": []}, "answers' is empty"),
    ("/rank", {"question": "q", "answers": ["a", 1]}, "answers[1] must be a string"),
    ("/rank", {"question": "q", "answers": ["a", " "]}, "answers[1] is empty"),
    ("/rank", {"question": "q", "answers": ["a"] * 4}, "4 answers; the limit is 3"),
    ("/rank", {"question": "q", "answer": "a", "answers": ["b"]}, "only one of"),
])
def test_bad_fields_are_400_and_say_what_is_wrong(path: str, payload: Any, needle: str) -> None:
    svc = FakeService()
    status, body = call(http("POST", path, payload), svc=svc)
    assert status == 400, body
    assert needle in body["message"]
    assert svc.calls == []


def test_non_json_and_oversized_bodies() -> None:
    status, body = call(http("POST", "/classify", raw="sentence=hello"))
    assert status == 400 and "not valid JSON" in body["message"]
    status, body = call(http("POST", "/classify", {"sentence": "x" * 3000}))
    assert status == 413 and body["error"] == "payload_too_large"


def test_service_errors_keep_their_status() -> None:
    status, body = call(http("POST", "/classify", {"sentence": "x"}),
                        svc=FakeService(fail=InvalidInput("text has 60 tokens; the limit is 50")))
    assert status == 400 and "limit is 50" in body["message"]
    status, body = call(http("POST", "/classify", {"sentence": "x"}),
                        svc=FakeService(fail=StoreUnavailable("store did not answer")))
    assert status == 503 and body["error"] == "store_unavailable"


def test_store_down_at_init_is_503_and_retried_next_time() -> None:
    env = make_env(store=StoreUnavailable("dynamodb unreachable"))
    status, body = call(http("POST", "/classify", {"sentence": "x"}), env=env)
    assert status == 503 and "unreachable" in body["message"]
    assert not env.ready
    env._store_builder = lambda _: SimpleNamespace(dim=50, close=lambda: None)
    status, body = call(http("POST", "/classify", {"sentence": "x"}), env=env)
    assert status == 200 and "init_ms" in body["timings"]


def test_timings_and_cold_start_flag() -> None:
    env = make_env()
    _, first = call(http("POST", "/classify", {"sentence": "x"}), env=env)
    _, second = call(http("POST", "/classify", {"sentence": "x"}), env=env)
    t1, t2 = first["timings"], second["timings"]
    assert t1["cold_start"] is True and "init_ms" in t1
    assert t2["cold_start"] is False and "init_ms" not in t2
    for t in (t1, t2):
        for key in ("tokenize_ms", "fetch_ms", "forward_ms", "other_ms", "total_ms", "cpu_ms"):
            assert isinstance(t[key], float) and t[key] >= 0
        assert t["cache_hits"] == 1
    accounted = t1["tokenize_ms"] + t1["fetch_ms"] + t1["forward_ms"] + t1["other_ms"] + t1["init_ms"]
    assert accounted == pytest.approx(t1["total_ms"], abs=0.01)


def test_health_reports_models_without_a_body() -> None:
    status, body = call(http("GET", "/health"))
    assert status == 200 and body["status"] == "ok" and body["embedding_dim"] == 50
    assert [(m["name"], m["role"]) for m in body["models"]] == [
        ("kim", "classify"), ("sm", "rank"), ("kim2", "classify")]


def test_missing_role_is_404() -> None:
    models = {"kim": model("kim", "classify")}
    env = FunctionEnvironment(config=lambda: CONFIG, models=lambda _: models,
                              store=lambda _: SimpleNamespace(dim=50, close=lambda: None))
    status, body = call(http("POST", "/rank", {"question": "q", "answer": "a"}), env=env)
    assert status == 404 and "no ranking model" in body["message"]


def test_direct_invocation_routes_by_model_function_name_or_fields() -> None:
    svc = FakeService()
    env = make_env()
    out = handle({"sentence": "hi"}, CTX, env, svc)
    assert out["model"] == "kim" and "statusCode" not in out
    out = handle({"question": "q", "answers": ["a"]}, CTX, env, svc)
    assert out["model"] == "sm"
    out = handle({"model": "kim2", "input": "x"}, CTX, env, svc)
    assert out["model"] == "kim2"
    named = SimpleNamespace(function_name="kim2")
    assert handle({"sentence": "x"}, named, env, svc)["model"] == "kim2"


def test_direct_invocation_errors_are_raised_for_lambda_to_report() -> None:
    env = make_env()
    with pytest.raises(InvalidInput):
        handle({"sentence": ""}, CTX, env, FakeService())
    with pytest.raises(InvalidInput, match="cannot tell"):
        handle({"text": "x"}, CTX, env, FakeService())
    with pytest.raises(NotFound):
        handle({"model": "bert", "sentence": "x"}, CTX, env, FakeService())
    with pytest.raises(InvalidInput, match="JSON object"):
        handle(["x"], CTX, env, FakeService())


def test_configuration_error_is_500_json() -> None:
    def bad_config() -> FunctionConfig:
        raise ConfigError("MILLICENT_MODELS is empty")

    env = FunctionEnvironment(config=bad_config)
    status, body = call(http("POST", "/classify", {"sentence": "x"}), env=env)
    assert status == 500 and body["error"] == "config_error"


def test_route_is_pure() -> None:
    r = route(events.parse_event(http("GET", "/health")), ["kim"])
    assert r.action == "health"
    r = route(events.parse_event(http("POST", "/kim")), ["kim"])
    assert (r.action, r.name) == ("model", "kim")
