"""The price per text: an embedding function's cost beside the hosted APIs a user would pick
instead, and the volume at which an always-on server becomes cheaper.

The APIs' prices are data (``prices.json``'s ``embedding_apis``: each model's list price per
million input tokens, its page and the date it was checked). They bill tokens; a function
bills requests and milliseconds, so the comparison is per text, at the function's measured
tokens per text (:class:`TextCost`). That count is the model's own tokenizer's: an API's
tokenizer cuts the same text into a different number of tokens (tiktoken's cl100k and BERT's
WordPiece agree within some percent on English prose), which the report says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from millicent.economics.prices import ApiPrice
from millicent.economics.tuning import BreakEven, break_even
from millicent.errors import ConfigError
from millicent.markdown import num, table, usd


@dataclass(frozen=True)
class TextCost:
    """An embedding function's measured cost per million texts and its tokens per text."""

    per_million_texts: float
    tokens_per_text: float

    def __post_init__(self) -> None:
        if self.per_million_texts <= 0 or self.tokens_per_text <= 0:
            raise ConfigError("a cost per text needs positive cost and tokens per text")

    @property
    def per_million_tokens(self) -> float:
        return self.per_million_texts / self.tokens_per_text


@dataclass(frozen=True)
class ApiComparison:
    """One API beside the function: its cost per million texts and how many times the
    function's it is."""

    api: ApiPrice
    per_million_texts: float
    times: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.api.to_dict(), "usd_per_million_texts": self.per_million_texts,
                "times_millicent": self.times}


def compare(cost: TextCost, apis: Sequence[ApiPrice]) -> list[ApiComparison]:
    """Every API's cost per million texts of the function's length, cheapest first."""
    rows = [ApiComparison(a, a.per_million_texts(cost.tokens_per_text),
                          a.per_million_texts(cost.tokens_per_text) / cost.per_million_texts)
            for a in apis]
    return sorted(rows, key=lambda r: r.per_million_texts)


def server_break_even(cost: TextCost, instance_usd_per_hour: float,
                      capacity_tps: float | None = None) -> BreakEven:
    """The steady rate (texts/s; ``queries_per_month`` = texts a month) from which one
    always-on instance costs less than the function."""
    return break_even(cost.per_million_texts, instance_usd_per_hour, capacity_tps)


def comparison_table(label: str, cost: TextCost, apis: Sequence[ApiPrice]) -> str:
    """Markdown: the function's row, then each API's, per million texts and tokens."""
    body = [[f"millicent: {label}", usd(cost.per_million_tokens), usd(cost.per_million_texts),
             "1×", "measured"]]
    for c in compare(cost, apis):
        body.append([c.api.name, usd(c.api.usd_per_million_tokens), usd(c.per_million_texts),
                     f"{num(c.times)}×", f"[{c.api.checked}]({c.api.source})"])
    return table(["embeddings", "$ / M tokens", f"$ / M texts ({num(cost.tokens_per_text)} tokens)",
                  "× millicent", "price checked"], body, right_from=1)


def break_even_line(label: str, b: BreakEven) -> str:
    """One sentence: from how many texts a month an always-on instance is cheaper."""
    cap = ("" if b.instance_capacity_qps is None else
           f"; one instance serves {b.instance_capacity_qps:,.0f} texts/s"
           + ("" if b.feasible else ", so the break-even rate needs more than one"))
    return (f"{label}: an always-on instance at ${b.instance_usd_per_hour:g}/h is cheaper from "
            f"{b.queries_per_month:,.0f} texts a month ({b.qps:,.1f} texts/s steady){cap}.")
