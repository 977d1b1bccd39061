"""Column labels (analytics/labels.py): one mapping from engine names to headers in words and their formats."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.labels import Column, column, partner_order, people_columns


@pytest.mark.parametrize(
    ("name", "expected"),
    [("partner_name", Column("Name", "text")), ("yoy_change", Column("Change year over year", "share")),
     ("top_1pct_share", Column("Top 1 % share", "share")),
     ("active_after_1", Column("Ordering 1 quarter later", "share")),
     ("quarters_to_Gold", Column("Median quarters to Gold", "number")),
     ("revenue_new_window", Column("Revenue new window", "money")), ("odd_thing", Column("Odd thing", "text"))],
    ids=["known", "share", "top share", "family", "per tier", "unknown revenue", "unknown"],
)
def test_a_column_reads_in_words(name, expected):
    assert column(name) == expected


def test_unknown_columns_take_their_kind_from_their_values():
    frame = pd.DataFrame({"flagged": [True], "how_many": [3], "score": [0.5]})
    assert [c.kind for c in people_columns(frame).values()] == ["flag", "count", "number"]


def test_partner_tables_read_name_then_what_was_decided_and_why_then_figures():
    frame = pd.DataFrame(columns=["partner_id", "tier", "revenue_trailing", "reasons", "partner_name", "decision",
                                  "churn_probability"])
    assert partner_order(people_columns(frame), ["decision"]) == [
        "partner_id", "partner_name", "decision", "reasons", "tier", "revenue_trailing", "churn_probability"]
