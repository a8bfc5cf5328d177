"""Request plans, scenarios, baselines and the parsing of one response into a record."""

from __future__ import annotations

import json

import pytest

from millicent.errors import ConfigError
from millicent.harness.records import RequestRecord, apply_response, error_text
from millicent.harness.runner import describe_plan, plan_scenarios
from millicent.harness.scenario import BASELINES, Configuration, Scenario, parse_concurrency
from millicent.harness.workload import Workload, classify_requests, rank_requests, route


def test_requests_and_routes() -> None:
    (r,) = classify_requests(["a (good) film"])
    assert r.path == "/classify" and json.loads(r.body) == {"sentence": "a (good) film"}
    (r,) = rank_requests([("who ?", "he did .")], function="sm")
    assert r.path == "/sm" and json.loads(r.body) == {"question": "who ?", "answer": "he did ."}
    assert route("sm") == "/rank"
    with pytest.raises(ConfigError):
        route("kim", "a/b")
    with pytest.raises(ConfigError):
        route("bert")


def test_plan_measures_full_passes_after_the_warmup() -> None:
    w = Workload("kim", "set", tuple(classify_requests(["a", "b", "c"])), 3)
    assert w.order(7) == [0, 1, 2, 0, 1, 2, 0]
    s5, s10 = plan_scenarios(Configuration("x"), w, [5, 10], repeat=2)
    assert (s5.requests, s5.warmup, s10.warmup) == (6, 10, 20)  # default warm-up 2 × C
    (s,) = plan_scenarios(Configuration("x"), w, [4], warmup=0)
    assert s.warmup == 0 and s.slug == "x-kim-c4"
    assert "C=4, 0 warm-up + 3 measured (1 pass(es))" in describe_plan("http://h", [s], {"kim": w})[1]
    with pytest.raises(ConfigError):
        plan_scenarios(Configuration("x"), w, [4], repeat=0)
    assert Scenario.from_dict(s.to_dict()) == s


def test_concurrency_parsing() -> None:
    assert parse_concurrency("5, 10,20,30") == [5, 10, 20, 30]
    for bad in ("", "5,5", "0", "five"):
        with pytest.raises(ConfigError):
            parse_concurrency(bad)


def test_baselines_describe_the_issue_configurations() -> None:
    paper = BASELINES["paper"]
    assert (paper.layout, paper.pack, paper.lru_size, paper.gateway, paper.memory_mb) == (
        "list", False, 0, "rest", 128)
    assert BASELINES["torch"].engine == "torch" and BASELINES["torch"].layout == "list"
    m = BASELINES["millicent"]
    assert (m.layout, m.pack, m.lru_size > 0, m.gateway) == ("binary", True, True, "url")
    assert BASELINES["server"].kind == "server"
    opts = paper.cost_options("1ms")
    assert (opts.memory_mb, opts.arch, opts.gateway) == (128, "x86_64", "rest")
    assert Configuration.from_dict(paper.to_dict()) == paper
    for bad in ({"name": "a b"}, {"name": "x", "gateway": "alb"}, {"name": "x", "engine": "onnx"}):
        with pytest.raises(ConfigError):
            Configuration(**bad)  # type: ignore[arg-type]


CONTRACT_BODY = {
    "label": "positive",
    "timings": {"tokenize_ms": 0.1, "fetch_ms": 2.0, "forward_ms": 0.3, "other_ms": 0.2,
                "total_ms": 2.6, "cpu_ms": 0.9, "cold_start": True, "init_ms": 310.0,
                "lookups": {"words": 10, "pack_hits": 6, "lru_hits": 1, "store_hits": 2,
                            "missing": 1, "store_calls": 1, "store_items": 3,
                            "store_item_bytes": [1210, 1210], "store_retries": 0,
                            "fetch_ms": 2.0, "cache_hits": 7}},
}


def _rec() -> RequestRecord:
    return RequestRecord(index=0, phase="measure", sent_s=0.0, latency_ms=5.0, status=200,
                         in_flight=1)


def test_headers_take_precedence_over_the_body() -> None:
    rec = _rec()
    apply_response(rec, {"X-Millicent-Cold": "0", "x-millicent-duration-ms": "3.25",
                         "x-millicent-billed-ms": "4", "x-millicent-init-ms": "",
                         "x-millicent-cpu-ms": "1.5", "x-millicent-max-memory-mb": "70",
                         "x-millicent-request-id": "abc", "content-type": "application/json"},
                   CONTRACT_BODY)
    assert (rec.cold, rec.duration_ms, rec.duration_source) == (False, 3.25, "header")
    assert (rec.billed_ms, rec.cpu_ms, rec.max_memory_mb, rec.request_id) == (4, 1.5, 70, "abc")
    # the platform measures the phase outside the invocation: none here (warm, empty header);
    # the body's init_ms is never added to a header duration
    assert (rec.init_ms, rec.init_kind) == (0.0, None)
    u = rec.usage()
    assert u.init_ms == 0.0
    assert u.item_bytes == (1210, 1210) and u.missing_items == 1


def test_body_only_response_like_a_function_url() -> None:
    rec = _rec()
    apply_response(rec, {}, CONTRACT_BODY)
    assert (rec.cold, rec.duration_ms, rec.duration_source, rec.cpu_ms) == (True, 2.6, "timings", 0.9)
    # no `init` key (a runtime before eager INIT): the INIT ran inside total_ms, counted once
    assert rec.usage().init_ms == 0.0 and rec.usage().init_kind is None
    eager = _rec()
    apply_response(eager, {}, {**CONTRACT_BODY, "timings": {**CONTRACT_BODY["timings"], "init": "eager"}})
    assert (eager.usage().init_ms, eager.usage().init_kind) == (310.0, "init")
    assert rec.lookups["store_items"] == 3 and "cache_hits" not in rec.lookups
    back = RequestRecord.from_dict(json.loads(rec.to_json()))
    assert back == rec


def test_error_text() -> None:
    assert error_text(400, {"error": "invalid_input", "message": "empty"}) == "400 invalid_input: empty"
    assert error_text(503, None, "Service Unavailable") == "503 Service Unavailable"
