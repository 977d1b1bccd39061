"""The board pack cuts long names so they stay on the slide: a table cell, a chart category, a slide title."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.brief import board_pack
from analytics.brief.drawing import CELL_CHARS, TITLE_CHARS, cell_chars, shortened
from analytics.ingest.load import load_extract
from analytics.program.rules import load_program
from analytics.review.saved_reviews import DECISION_COLUMNS, save_review
from analytics.store.store import Store
from tests.deck_helpers import BRIEF_HEADER as HEADER
from tests.deck_helpers import table

LONG = "Very Long Reseller Name " * 41  # 984 characters, under the importer's limit of 1,000


@pytest.mark.parametrize(("text", "at_most", "expected"), [
    ("Acme", 10, "Acme"),
    ("0123456789", 10, "0123456789"),
    ("0123456789A", 10, "012345678…"),
    ("Acme Ltd    Trailing", 10, "Acme Ltd…"),
], ids=["short", "at-limit", "one-over", "no-space-before-ellipsis"])
def test_shortened_cuts_to_the_limit_with_an_ellipsis(text, at_most, expected):
    assert shortened(text, at_most) == expected
    assert len(shortened(text, at_most)) <= at_most


def test_a_partner_name_of_a_thousand_characters_is_cut_on_the_slides(tmp_path):
    rows = []
    for year in (2024, 2025):
        for q in range(1, 5):
            day = f"{year}-{3 * q - 1:02d}-10"
            rows.append(f"T{year}{q}1,P1,{LONG.strip()},Gold,{day},{1000 if year == 2024 else 100},C1")
            rows.append(f"T{year}{q}2,P2,Steady Ltd,Silver,{day},500,C2")
    path = tmp_path / "long.duckdb"
    with Store(path) as store:
        load_extract(store, (HEADER + "\n".join(rows) + "\n").encode(), "long.csv")
        decisions = pd.DataFrame({c: [None] for c in DECISION_COLUMNS})
        decisions["partner_id"], decisions["revenue_trailing"] = ["P1"], [400.0]
        decisions["recommendation"], decisions["decision"], decisions["note"] = ["terminate"], ["terminate"], [""]
        save_review(store, "FY2025 " + "x" * 200, "2025Q4", load_program(), decisions)
        deck = board_pack(store)
    drops = table(list(deck.slides)[7])
    assert drops[0][:2] == ["Partner", "Name"]
    # Cut to what the 4.3 in name column holds on one line at 12 pt, so the row stays one line high.
    fits = cell_chars(4.3, 12)
    assert fits < CELL_CHARS
    assert drops[1][1] == LONG.strip()[:fits - 1].rstrip() + "…"
    titles = [slide.shapes.title.text for slide in deck.slides]
    assert all(len(t) <= TITLE_CHARS for t in titles)
    assert any(t.startswith("Review FY2025 xxx") and t.endswith("…") for t in titles)
