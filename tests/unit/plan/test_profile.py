"""Service profiles: the JSON schema, its errors, store keys recomputed with and without a
pack, and the projection to a Lambda memory size (the same formula as ``millicent cost``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from millicent.config import Limits
from millicent.economics.tuning import project_duration
from millicent.errors import ConfigError
from millicent.plan.profile import profile_from_dict, read_profile, store_load
from millicent.plan.service_times import service_times
from millicent.plan.store_keys import request_texts, store_keys
from millicent.runtime.artifact import TokenizerSpec
from millicent.runtime.requests import parse_request
from millicent.tokenizers import make_tokenizer

#: the shipped models' tokenizer: PTB tokens, lower-cased keys
PTB = make_tokenizer(TokenizerSpec.of("ptb"))

BASE = {"warm": {"duration_ms": [4.0, 6.0], "cpu_ms": [3.0, 5.0], "overhead_ms": 1.0},
        "cold": {"init_ms": 100.0, "duration_ms": 10.0, "cpu_ms": 8.0, "overhead_ms": 2.0},
        "store": {"request_keys": [["the", "film"], ["the"], ["dull"]]}}


def test_round_trip_and_summary(tmp_path: Path) -> None:
    p = profile_from_dict(BASE)
    assert p.warm.n == 2 and p.cold.n == 1 and p.warm.overhead_ms.tolist() == [1.0, 1.0]
    assert p.store.hot_key == ("the", pytest.approx(2 / 3))
    assert p.store.keys_per_request == pytest.approx(4 / 3)
    f = tmp_path / "p.json"
    f.write_text(json.dumps(p.to_dict()))
    again = read_profile(f)
    assert again.warm.duration_ms.tolist() == [4.0, 6.0] and again.store.hot_key == p.store.hot_key


@pytest.mark.parametrize(("change", "message"), [
    ({"warm": None}, "'warm' must be an object"),
    ({"warm": {"overhead_ms": 1}}, "warm.duration_ms is required"),
    ({"cold": {"duration_ms": 5}}, "cold.init_ms is required"),
    ({"warm": {"duration_ms": [1, 2], "cpu_ms": [1, 2, 3]}}, "has 2 values, the other lists 3"),
    ({"warm": {"duration_ms": ["fast"]}}, "numbers ≥ 0"),
    ({"store": {"keys_per_request": 2, "hot_key_share": 1.5}}, "hot_key_share"),
    ({"format": "other/9"}, "unknown profile format"),
    ({"measured_cpu_share": 2}, "measured_cpu_share"),
])
def test_schema_errors_name_the_field(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        profile_from_dict({**BASE, **change})


def test_summary_store_without_keys() -> None:
    p = profile_from_dict({**BASE, "store": {"keys_per_request": 3, "hot_key_share": 0.5}})
    assert p.store.keys_per_request == 3 and p.store.hot_key == ("(hot key)", 0.5)
    none = profile_from_dict({**BASE, "store": {"keys_per_request": 0}})
    assert none.store.hot_key is None


def test_store_keys_with_and_without_a_pack() -> None:
    texts = parse_request("classify", {"sentence": "The film is the best (really) ."}, Limits())
    assert store_keys(texts, None, PTB) == ["the", "film", "is", "best", "(", "really", ")", "."]
    pack = frozenset({"the", "is", ".", "(", ")"})
    assert store_keys(texts, pack, PTB) == ["film", "best", "really"]
    assert request_texts({"question": "who ?", "answers": ["a", "b"]}, "rank") == ["who ?", "a", "b"]
    load = store_load([store_keys(texts, None, PTB), ["the", "end"]], 208.0)
    assert load.hot_key == ("the", 1.0)


def test_projection_matches_the_cost_tool() -> None:
    p = profile_from_dict(BASE)
    t = service_times(p, 128, 1769, "lambda")
    want = [project_duration(d, c, 128, 1769) for d, c in ((4.0, 3.0), (6.0, 5.0))]
    assert t.warm_duration_ms.tolist() == pytest.approx(want)
    # INIT is taken as CPU-bound: stretched by the same 1769 / 128
    assert t.cold_init_ms[0] == pytest.approx(100.0 * 1769 / 128)
    assert t.cold_latency_ms[0] == pytest.approx(t.cold_init_ms[0] + t.cold_duration_ms[0] + 2.0)
    same = service_times(p, 128, 1769, "none")
    assert same.warm_duration_ms.tolist() == [4.0, 6.0] and np.all(same.restore_ms == 100.0)
