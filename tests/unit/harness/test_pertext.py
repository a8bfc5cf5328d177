"""Batch plans for ``bench --batch-size`` and the per-text figures of their rows."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from millicent.economics.cost import Cost
from millicent.errors import ConfigError
from millicent.harness.pertext import add_per_text, per_text_section
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
