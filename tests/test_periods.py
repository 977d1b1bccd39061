"""Spans of quarters in words: one helper for every page, export and slide (analytics/periods.py)."""

from __future__ import annotations

import pytest

from analytics.periods import quarter_span, quarters_to, span_after, trailing_span


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: trailing_span("2026Q3"), "2025Q4–2026Q3"),
        (lambda: trailing_span("2026Q1", 8), "2024Q2–2026Q1"),
        (lambda: trailing_span("2026Q3", 1), "2026Q3"),
        (lambda: span_after("2026Q3", 4), "2026Q4–2027Q3"),
        (lambda: span_after("2026Q4", 2), "2027Q1–2027Q2"),
        (lambda: quarter_span("2024Q1", "2026Q3"), "2024Q1–2026Q3"),
        (lambda: quarter_span("2026Q3", "2026Q3"), "2026Q3"),
        (lambda: quarters_to("2026Q3"), "4 quarters to 2026Q3"),
        (lambda: quarters_to("2026Q3", 8), "8 quarters to 2026Q3"),
    ],
    ids=["trailing-year", "eight-across-years", "one-quarter", "after", "after-across-year", "span", "span-of-one",
         "quarters-to", "eight-quarters-to"],
)
def test_period_labels(call, expected):
    assert call() == expected


def test_a_span_refuses_what_is_no_quarter():
    with pytest.raises(ValueError, match="Not a quarter label: '2026-09'"):
        trailing_span("2026-09")
