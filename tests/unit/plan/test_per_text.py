"""The plan's price per million texts and tokens (a profile's texts per request and tokens per text)."""

from __future__ import annotations

import pytest

from millicent.errors import ConfigError
from millicent.plan.profile import profile_from_dict
from millicent.plan.report import cost_table, per_text

PROFILE = {"warm": {"duration_ms": 5.0}, "cold": {"duration_ms": 9.0, "init_ms": 300.0},
           "store": {"keys_per_request": 20, "hot_key_share": 0.5}}


def test_a_profile_says_its_tokens_per_text() -> None:
    p = profile_from_dict({**PROFILE, "texts_per_request": 64, "tokens_per_text": 22.5})
    assert (p.texts_per_request, p.tokens_per_text) == (64.0, 22.5)
    assert p.summary()["tokens_per_text"] == 22.5
    assert p.to_dict()["tokens_per_text"] == 22.5
    assert profile_from_dict(PROFILE).tokens_per_text is None
    with pytest.raises(ConfigError, match="tokens_per_text"):
        profile_from_dict({**PROFILE, "tokens_per_text": -1})


def test_per_million_texts_and_tokens() -> None:
    got = per_text(6.4, {"texts_per_request": 64, "tokens_per_text": 20.0})
    assert got["per_million_texts_usd"] == pytest.approx(0.1)
    assert got["per_million_tokens_usd"] == pytest.approx(0.005)
    assert per_text(2.0, {"texts_per_request": 1})["per_million_tokens_usd"] is None
    assert per_text(None, {}) == {"per_million_texts_usd": None, "per_million_tokens_usd": None}


def test_the_cost_table_adds_the_columns_only_for_texts() -> None:
    option = {"cost": {"monthly_usd": dict.fromkeys(
        ("compute", "requests", "gateway", "dynamodb", "snapstart", "provisioned", "total"), 1.0),
        "per_million_usd": {"total": 6.4}}}
    data = {"options": {"on-demand": option},
            "always_on": {"instances": 1, "usd_per_hour": 0.0416, "monthly_usd": 30.4},
            "profile": {"texts_per_request": 64, "tokens_per_text": 20.0}}
    text = cost_table(data)
    assert "$ / M texts" in text and "$ / M tokens" in text and "| $0.1000 | $0.0050 |" in text
    data["profile"] = {"texts_per_request": 1}
    assert "$ / M texts" not in cost_table(data)
