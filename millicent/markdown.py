"""Markdown tables and the number formats every report uses (tooling; the one table format).

The benchmark's, the cost analysis's, the planner's and the comparison's reports all print
their figures through :func:`table`, :func:`num` and :func:`usd`, so a figure reads the same
wherever it appears.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def num(v: Any, digits: int = 1) -> str:
    """A number with thousands separators (``digits`` after the point for floats); ``–`` for None."""
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def usd(v: Any) -> str:
    """Dollars: whole above $1,000, four decimals below $0.1, three otherwise; ``–`` for None."""
    if v is None:
        return "–"
    if v >= 1000:
        return f"${v:,.0f}"
    return f"${v:,.4f}" if v < 0.1 else f"${v:,.3f}"


def table(header: Sequence[str], body: Sequence[Sequence[str]], right_from: int = 2) -> str:
    """A markdown table; columns from ``right_from`` on are right-aligned (the figures)."""
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)
