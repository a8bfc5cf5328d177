"""Batch plans for ``bench --batch-size`` and the per-text figures of their rows."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from millicent.economics.cost import Cost
from millicent.economics.prices import load_prices
from millicent.errors import ConfigError
from millicent.harness.pertext import add_per_text, embedding_section, per_text_section, text_cost
from millicent.harness.records import RequestRecord
from millicent.harness.workload import Workload, classify_requests, rank_requests
from tests.bench_support import result_row


def test_batches_of_consecutive_items_the_last_holds_the_rest() -> None:
    plan = classify_requests([f"s{i}" for i in range(10)], batch_size=4)
    assert [r.texts for r in plan] == [4, 4, 2]
    assert json.loads(plan[2].body) == {"sentences": ["s8", "s9"]}
    (single,) = classify_requests(["a"], batch_size=1)
    assert json.loads(single.body) == {"sentence": "a"} and single.texts == 1
    ranked = rank_requests([("q1", "a1"), ("q1", "a2"), ("q2", "a3")], function="sm", batch_size=2)
    assert ranked[0].path == "/sm" and json.loads(ranked[0].body) == {"items": [
        {"question": "q1", "answers": ["a1"]}, {"question": "q1", "answers": ["a2"]}]}
    w = Workload("kim", "set", tuple(plan), 12, 4)
    assert w.texts == 10 and w.subset
    with pytest.raises(ConfigError):
        classify_requests(["a"], batch_size=0)


def _rec(index: int, ok: bool = True, cold: bool = False) -> RequestRecord:
    return RequestRecord(index=index, phase="measure", sent_s=0.0, latency_ms=5.0,
                         status=200 if ok else 503, in_flight=1, cold=cold, duration_ms=4.0,
                         cpu_ms=3.0)


def test_per_text_throughput_and_cost_follow_the_texts_of_successful_requests() -> None:
    w = Workload("kim", "set", tuple(classify_requests([f"s{i}" for i in range(10)],
                                                       batch_size=4)), 10, 4)
    records = [_rec(0, cold=True), _rec(1), _rec(2), _rec(0, ok=False)]
    cost = Cost(compute=0.2, requests=0.2, store=0.6, gateway=0.0)  # total 1.0, variable 0.8
    typed = result_row("x", "kim", 2, window_s=2.0, throughput_qps=1.5, cost=cost,
                       projection_cost=Cost(compute=1.2, requests=0.2, store=0.6))  # total 2.0
    add_per_text(typed, records, w)
    row = typed.to_dict()
    assert (row["batch_size"], row["texts"], row["throughput_tps"]) == (4, 10, 5.0)
    assert row["texts_per_request"] == pytest.approx(10 / 3)
    # 3 priced requests answered 10 texts: per text 3/10 of the per-request figure
    assert row["cost_per_million_texts_usd"]["total"] == pytest.approx(0.3)
    assert row["cost_per_million_texts_usd"]["store"] == pytest.approx(0.18)
    # the projection covers warm requests only: 2 requests, 6 texts
    assert row["lambda_projection_per_million_texts_usd"]["total"] == pytest.approx(2.0 * 2 / 6)
    (section,) = per_text_section([typed])
    assert "Per text (batch requests)" in section and "| x | kim | 2 | 3.3 | 1.5 | 5.0 |" in section
    assert typed.per_text is not None
    single = replace(typed, per_text=replace(typed.per_text, batch_size=1))
    assert per_text_section([single]) == []


def _embedded(index: int, vectors: int, tokens: int, cold: bool = False) -> RequestRecord:
    rec = _rec(index, cold=cold)
    rec.embeddings, rec.tokens = vectors, tokens
    return rec


def test_an_embedding_rows_texts_and_tokens_come_from_its_answers() -> None:
    """No workload (``millicent cost`` re-reading a run): a text per vector answered."""
    records = [_embedded(0, 4, 88, cold=True), _embedded(1, 4, 92), _embedded(2, 2, 40)]
    typed = result_row("x", "minilm", 1, window_s=2.0, throughput_qps=1.5,
                       cost=Cost(compute=0.5, requests=0.2, store=0.3),
                       projection_cost=Cost(compute=1.0, requests=0.2, store=0.3))
    add_per_text(typed, records)
    pt = typed.per_text
    assert pt is not None and pt.embeddings and pt.texts == 10
    assert pt.tokens_per_text == pytest.approx(22.0)
    assert pt.cost_per_million_texts is not None
    assert pt.cost_per_million_texts.total == pytest.approx(1.0 * 3 / 10)
    tokens = pt.per_million_tokens()
    assert tokens is not None and tokens.total == pytest.approx(0.3 / 22)
    row = typed.to_dict()
    assert row["tokens_per_text"] == pytest.approx(22.0) and row["embeddings"] is True
    # the projection: warm requests only (4 + 2 texts)
    assert row["lambda_projection_per_million_texts_usd"]["total"] == pytest.approx(1.5 * 2 / 6)
    found = text_cost(typed)
    assert found is not None and found[1] == "projected to Lambda"
    assert found[0].per_million_texts == pytest.approx(0.5)
    (section,) = embedding_section([typed], load_prices().embedding_apis)
    assert "openai/text-embedding-3-small" in section and "x/minilm/C=1" in section
    # 22 tokens a text at $0.02 per million tokens: $0.44 a million texts, 0.88× millicent's
    assert "| $0.440 | 0.9× |" in section
    assert per_text_section([typed]) != []


def test_a_classifier_without_a_workload_gets_no_per_text_figures() -> None:
    rec = _rec(0)
    rec.tokens = 12  # its answers list tokens, but hold no vectors
    typed = result_row("x", "kim", 1, cost=Cost(compute=1.0))
    assert add_per_text(typed, [rec]).per_text is None
    assert embedding_section([typed], load_prices().embedding_apis) == []
