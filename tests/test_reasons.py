"""The model's reasons in words, on hand-made histories: the partner's own figures and periods, never a model's name."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analytics.model.features import features_at, panel_from_frame
from analytics.model.reasons import REASON_GROUPS, describe
from analytics.store.quarters import quarter_index

FIRST = quarter_index("2023Q4")


def rows_of(histories: dict[str, list[float | None]], cutoff: str = "2026Q3") -> dict[str, dict]:
    """Give each partner's features_at row (a dict) from revenue per quarter from 2023Q4 (None: no order)."""
    rows = []
    # A steady partner keeps every quarter to the cutoff in the data.
    for partner, revenues in {"anchor": [1.0] * 12, **histories}.items():
        for offset, revenue in enumerate(revenues):
            if revenue is not None:
                rows.append({"partner_id": partner, "q_index": FIRST + offset, "revenue": float(revenue),
                             "deals": 10, "tier": "Platinum", "region": "EMEA"})
    frame = features_at(panel_from_frame(pd.DataFrame(rows)), cutoff, 4, {"Platinum": 1_000_000.0})
    return {r["partner_id"]: r for r in frame.to_dict("records")}


def test_one_empty_quarter_after_a_long_history_is_told_from_that_history():
    rows = rows_of({"platinum": [410_000.0] * 11 + [None],
                    "gappy": [300.0, None, 300.0, 300.0] + [300.0] * 6 + [None] * 2})
    assert describe("latest quarter", rows["platinum"]) == (
        "no order in 2026Q3 after 11 quarters with orders (2023Q4–2026Q2), averaging $410.00k a quarter")
    # The recency of its orders tells the same fact in the same words (the reasons name it once).
    assert describe("recency of orders", rows["platinum"]) == describe("latest quarter", rows["platinum"])
    # A history with a gap is not called "11 quarters with orders": it says how many of them had orders.
    assert describe("latest quarter", rows["gappy"]) == (
        "no order in 2026Q2–2026Q3; before, orders in 9 of the 10 quarters 2023Q4–2026Q1, averaging $300 in a "
        "quarter with orders")


@pytest.mark.parametrize(
    ("history", "group", "expected"),
    [
        ([100.0] * 6 + [100.0, 100.0, 80.0, 80.0, 38.0, 38.0], "year over year",
         "revenue down 62 % in 2026Q2–2026Q3 against 2025Q2–2025Q3"),
        ([100.0] * 10 + [250.0, 250.0], "year over year",
         "revenue 2.5 times as high in 2026Q2–2026Q3 as in 2025Q2–2025Q3"),
        ([100.0] * 12, "half-year trend", "revenue about the same in 2026Q2–2026Q3 as in 2025Q4–2026Q1"),
        ([100.0] * 11 + [40.0], "latest quarter",
         "revenue in 2026Q3 53 % below its quarterly average of $85 in 2025Q4–2026Q3"),
        ([100.0] * 11 + [-20.0], "latest quarter", "net revenue -$20 in 2026Q3: credits outweigh its orders"),
        ([100.0] * 12, "revenue level", "revenue $400 in 2025Q4–2026Q3"),
        ([100.0] * 12, "tier", "tier Platinum, revenue in 2025Q4–2026Q3 under 1 % of the tier's minimum"),
        ([100.0] * 12, "recency of orders", "orders in 2026Q3, and in 4 of the 4 quarters 2025Q4–2026Q3"),
        ([None] * 10 + [100.0, 100.0], "tenure", "a partner for only 2 quarters (first order in 2026Q2)"),
        ([100.0] * 11 + [None], "ordering pattern", "orders on 3 days in 2025Q4–2026Q3, none in the 137 days to the "
                                                    "end of 2026Q3"),
    ],
    ids=["fell-62-yoy", "up-2.5-times", "flat", "latest-below-average", "credits", "level", "tier-far-below",
         "ordering-now", "recruit", "ordering-pattern-gone-quiet"],
)
def test_reasons_name_the_figures_and_their_periods(history, group, expected):
    assert describe(group, rows_of({"p": history})["p"]) == expected


def test_no_reason_names_a_model_or_writes_0_or_100_percent():
    rows = rows_of({"platinum": [410_000.0] * 11 + [None], "steady": [100.0] * 12, "new": [None] * 11 + [5.0],
                    "doubled": [100.0] * 10 + [200.0, 200.0]})
    for partner, row in rows.items():
        for group in REASON_GROUPS:
            said = describe(group, row)
            assert "BG/NBD" not in said and "model" not in said, (partner, group, said)
            assert not re.search(r"(?<![\d.])(0|100) %", said), (partner, group, said)
