"""Periods in words: the one place a span of quarters is spelled ("2025Q4–2026Q3"), for every page, export and slide."""

from __future__ import annotations

from analytics.store.quarters import YEAR, shift_quarter

__all__ = ["quarter_span", "trailing_span", "span_after", "quarters_to"]


def quarter_span(first: str, last: str) -> str:
    """Give the quarters `first` to `last` as "2025Q4–2026Q3" (an en dash), or the one quarter when they are alike."""
    return first if first == last else f"{first}–{last}"


def trailing_span(quarter: str, quarters: int = YEAR) -> str:
    """Give the `quarters` quarters to `quarter`, both ends named: by default its trailing year, "2025Q4–2026Q3"."""
    return quarter_span(shift_quarter(quarter, 1 - quarters), quarter)


def span_after(quarter: str, quarters: int) -> str:
    """Give the `quarters` quarters that follow `quarter` (a model's horizon, a goal period): "2026Q4–2027Q3"."""
    return quarter_span(shift_quarter(quarter, 1), shift_quarter(quarter, quarters))


def quarters_to(quarter: str, quarters: int = YEAR) -> str:
    """Give a trailing period counted in words, as titles say it: "4 quarters to 2026Q3"."""
    return f"{quarters} quarters to {quarter}"
