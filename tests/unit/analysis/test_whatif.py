"""`millicent cost` says when the paper's provisioned table could not carry the measured reads."""

from __future__ import annotations

from millicent.analysis.whatif import Analysis, WhatIf, render
from millicent.economics.prices import load_prices
from millicent.harness.rows import ResultRow
from tests.bench_support import result_row


def _row(config: str, notes: list[str]) -> ResultRow:
    row = result_row(config, "kim", 5)
    row.cost_notes = notes
    return row


def test_render_lists_provisioned_capacity_notes() -> None:
    notes = ["500 RCU provisioned ($0.0650/h) spread over 135.2 queries/s",
             "needs 1199 read units/s > 500 RCU: DynamoDB would throttle"]
    text = render(Analysis([_row("paper", notes), _row("millicent", ["priced at 128 MB"])],
                           {}, {}, []), load_prices(), WhatIf())
    assert "- paper/kim/C=5: needs 1199 read units/s > 500 RCU: DynamoDB would throttle" in text
    assert "- paper/kim/C=5: 500 RCU provisioned" in text
    assert "priced at 128 MB" not in text
    quiet = render(Analysis([_row("millicent", [])], {}, {}, []), load_prices(), WhatIf())
    assert "## Notes" not in quiet
