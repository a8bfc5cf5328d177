"""Embedding APIs' published prices beside a function's cost per text."""

from __future__ import annotations

import copy
import json

import pytest

from millicent.economics import apis
from millicent.economics.prices import DEFAULT_PRICES, load_prices, parse_prices
from millicent.errors import ConfigError


def test_the_bundled_sheet_prices_the_apis_with_pages_and_dates() -> None:
    sheet = load_prices()
    by_name = {a.name: a for a in sheet.embedding_apis}
    assert by_name["openai/text-embedding-3-small"].usd_per_million_tokens == 0.02
    assert by_name["openai/text-embedding-3-large"].usd_per_million_tokens == 0.13
    for a in sheet.embedding_apis:
        assert a.source.startswith("https://") and len(a.checked) == 10


def test_an_older_sheet_without_apis_still_loads() -> None:
    raw = json.loads(DEFAULT_PRICES.read_text())
    del raw["embedding_apis"]
    assert parse_prices(raw).embedding_apis == ()


@pytest.mark.parametrize(("change", "words"), [
    ({"usd_per_million_tokens": 0}, "positive"),
    ({"usd_per_million_tokens": "0.02"}, "positive"),
    ({"source": ""}, "source"),
    ({"checked": "last week"}, "ISO date"),
])
def test_a_bad_api_price_is_refused_naming_it(change: dict, words: str) -> None:
    raw = json.loads(DEFAULT_PRICES.read_text())
    bad = copy.deepcopy(raw)
    bad["embedding_apis"]["models"][1].update(change)
    with pytest.raises(ConfigError, match=r"embedding_apis\.models\[1\]") as info:
        parse_prices(bad)
    assert words in str(info.value)


def test_per_text_comparison_and_break_even() -> None:
    cost = apis.TextCost(per_million_texts=0.10, tokens_per_text=22.0)
    assert cost.per_million_tokens == pytest.approx(0.10 / 22)
    rows = apis.compare(cost, load_prices().embedding_apis)
    small = next(r for r in rows if r.api.name == "openai/text-embedding-3-small")
    assert small.per_million_texts == pytest.approx(0.44)
    assert small.times == pytest.approx(4.4)
    assert [r.per_million_texts for r in rows] == sorted(r.per_million_texts for r in rows)
    b = apis.server_break_even(cost, instance_usd_per_hour=0.0416, capacity_tps=200.0)
    # $0.0416/h = $30.37 a month = 303.7 M texts at $0.10 per million
    assert b.queries_per_month == pytest.approx(0.0416 * 730 / 0.10 * 1e6)
    assert b.feasible is True
    text = apis.comparison_table("minilm", cost, load_prices().embedding_apis)
    assert "text-embedding-3-small" in text and "$0.440" in text and "4.4×" in text
    assert "303,680,000 texts a month" in apis.break_even_line("minilm", b)


def test_a_cost_per_text_needs_positive_figures() -> None:
    with pytest.raises(ConfigError):
        apis.TextCost(0.0, 20.0)
    with pytest.raises(ConfigError):
        apis.TextCost(0.1, 0.0)
