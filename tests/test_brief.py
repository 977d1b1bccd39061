"""The board pack: the deck opened with python-pptx, its slides and figures against the engine; CLI; Overview."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from pptx import Presentation

from analytics.analyses.dropoffs import partner_changes, revenue_bridge, significant_dropoffs
from analytics.analyses.queries import new_and_lapsed, overview, partners_by_tier
from analytics.analyses.tiers import MOVES, tier_moves
from analytics.brief import board_pack, board_pack_bytes
from analytics.brief.slides import ROWS_SHOWN
from analytics.cli import main
from analytics.filters import ChannelFilter
from analytics.formatting import money
from analytics.ingest.load import load_extract
from analytics.model.risk import risk_summary, risk_table
from analytics.program.regional_programs import load_programs
from analytics.program.rules import load_program
from analytics.review.saved_reviews import DECISION_COLUMNS, save_review
from analytics.store.quarters import latest_quarter
from analytics.store.store import Store
from tests.apptest_helpers import open_page
from tests.deck_helpers import BRIEF_HEADER as HEADER
from tests.deck_helpers import table, texts

NAME = "**Bold** <script>alert(1)</script> =cmd"
def small_extract() -> str:
    """Give eight quarters to 2025Q4: P1 falls off in 2025, P2 is steady, P3 is recruited in 2025Q4."""
    rows = []
    for year in (2024, 2025):
        for q in range(1, 5):
            day = f"{year}-{3 * q - 1:02d}-10"
            rows.append(f"T{year}{q}2,P2,Steady Ltd,Silver,{day},500,C2")
            rows.append(f"T{year}{q}1,P1,\"{NAME}\",Gold,{day},{1000 if year == 2024 else 100},C1")
    rows.append("T3,P3,Newcomer Inc,Authorized,2025-11-20,150,C3")
    return HEADER + "\n".join(rows) + "\n"


def _small(db: Path, folder: Path) -> None:
    (folder / "small.csv").write_text(small_extract())
    with Store(db) as store:
        load_extract(store, folder / "small.csv")


@pytest.fixture
def small_db(databases, tmp_path: Path) -> Path:
    return databases.copy("brief_small", _small, tmp_path / "small.duckdb")


def slides_of(deck) -> dict[str, object]:
    return {slide.shapes.title.text: slide for slide in deck.slides}


def chart_series(slide) -> dict[str, list[float]]:
    chart = next(shape.chart for shape in slide.shapes if shape.has_chart)
    return {series.name: list(series.values) for series in chart.plots[0].series}


def chart_categories(slide) -> list[str]:
    chart = next(shape.chart for shape in slide.shapes if shape.has_chart)
    return list(chart.plots[0].categories)


def test_demo_deck_slides_and_figures_match_the_engine(demo_db):
    with Store(demo_db) as store:
        q = latest_quarter(store)
        flt = ChannelFilter(q)
        deck = Presentation(io.BytesIO(board_pack_bytes(store, flt)))
        summary = overview(store, flt)
        tiers = partners_by_tier(store, flt, q, load_programs()).set_index("tier")  # one ladder, as the deck counts
        moves = tier_moves(store, flt, "2025Q3", q)["move"].value_counts()
        changes = partner_changes(store, flt, q)
        bridge = revenue_bridge(changes)
        fallen = significant_dropoffs(changes, 0.5)
        risk = risk_summary(risk_table(store, flt, 4), 0.5)
        flows = new_and_lapsed(store, flt)
    titles = [slide.shapes.title.text for slide in deck.slides]
    # Every slide titled with what it shows (the messages of analytics.analyses.messages where there is one).
    assert titles[0] == f"Channel Health: the channel in {q}"
    assert titles[1] == f"What changed: the quarter in messages, {q}"
    assert titles[2] == (f"Revenue in {q}: {money(summary.revenue_quarter)}, "
                         f"{(summary.revenue_quarter / summary.revenue_quarter_before - 1):+.1%} on 2025Q3; "
                         f"{summary.active_partners:,} active partners "
                         f"({summary.active_partners - summary.active_partners_before:+,})")
    assert titles[5] == (f"Since 2025Q3: {moves['promoted']:,} promoted, {moves['demoted']:,} demoted, "
                         f"{moves['lapsed']:,} lapsed, {moves['new']:,} new (recorded tiers)")
    assert titles[8] == (f"{risk.likely_churners:,} partners likely to churn in 2026Q4–2027Q3: "
                         f"{money(risk.expected_revenue_lost)} of revenue expected lost")
    assert len(titles) == 10  # no saved review in the demo
    assert not any(t.startswith(("Headline figures", "Tiers:", "Revenue bridge", "Largest revenue")) for t in titles)
    slides = dict(enumerate(deck.slides, start=1))
    assert "Board pack · data 2023Q4–2026Q3 · whole channel" in texts(slides[1])
    headline = table(slides[3])
    assert headline[1][1:3] == [f"{summary.active_partners:,}", f"{summary.active_partners_before:,}"]
    assert headline[2][1:3] == [money(summary.revenue_quarter), money(summary.revenue_quarter_before)]
    assert headline[3][1:3] == [money(summary.revenue_trailing), money(summary.revenue_trailing_before)]
    tier_slide = slides[4]
    expected_partners = [float(tiers.at[t, "partners"]) for t in chart_categories(tier_slide)]
    assert chart_series(tier_slide)[q] == expected_partners
    assert table(tier_slide)[1][0] == "Platinum"
    assert table(tier_slide)[1][2:] == [f"{tiers.at['Platinum', 'partners']:,}", table(tier_slide)[1][3],
                                        money(tiers.at["Platinum", "revenue_trailing"])]
    assert chart_series(slides[6])["Partners"] == [float(moves.get(m, 0)) for m in MOVES]
    bridge_slide = slides[7]
    assert [row[1] for row in table(bridge_slide)[1:]] == [money(a) for a in bridge["amount"]]
    heights = chart_series(bridge_slide)["Amount"]
    assert heights == pytest.approx([abs(a) for a in bridge["amount"]])
    assert f"Partners down 50% or more: {len(fallen):,}" in texts(bridge_slide)
    drops = table(slides[8])
    assert [row[0] for row in drops[1:]] == fallen["partner_id"].head(ROWS_SHOWN).tolist()
    risk_slide = slides[9]
    risk_texts = texts(risk_slide)
    # A line per period: the quarters ahead, then the revenue at stake before them.
    assert (f"Next 4 quarters, 2026Q4–2027Q3: {risk.likely_churners:,} of {risk.partners:,} partners likely to churn "
            f"(probability 50% or more); expected revenue lost {money(risk.expected_revenue_lost)}") in risk_texts
    assert (f"Revenue at stake, 2025Q4–2026Q3: {money(risk.revenue_at_stake)} from all {risk.partners:,} partners, "
            f"{money(risk.revenue_likely_churners)} of it from the likely churners") in risk_texts
    # The expected loss is a part of the revenue at stake of the same partners, never more.
    assert 0 < risk.revenue_likely_churners <= risk.revenue_at_stake
    assert 0 < risk.expected_revenue_lost <= risk.revenue_at_stake
    rows = table(risk_slide)
    assert rows[0][3:] == ["Revenue at stake, 2025Q4–2026Q3", "Churn probability, 2026Q4–2027Q3"]
    # Probabilities in words, read back from the deck: bands at the ends, never 0 % or 100 %.
    assert {row[4] for row in rows[1:]} <= {"over 95 %"} | {f"{p} %" for p in range(50, 96)}
    written = " ".join(risk_texts + [cell for row in rows for cell in row])
    assert not re.search(r"(?<![\d.])(0|100) ?%", written), written
    recruits = slides[10]
    shown = flows.set_index("quarter").loc[chart_categories(recruits)]
    assert chart_series(recruits)["New partners"] == shown["new_partners"].astype(float).tolist()
    assert f"New partners in {q}: {int(shown.loc[q, 'new_partners']):,}" in texts(recruits)


def test_small_store_deck_says_scores_are_missing_keeps_names_literal_and_shows_the_review(small_db):
    with Store(small_db) as store:
        deck = board_pack(store)
        slides = slides_of(deck)
        assert len(slides) == 10 and not any(t.startswith("Review FY2025") for t in slides)
        risk = slides["Partners at risk: no churn scores for 2025Q4 yet"]
        assert texts(risk)[0].startswith("Churn scores are not yet computed for 2025Q4")
        # P1 fell from $4,000 to $400: the largest (and only) drop-off, its loss the slide's message.
        drops = table(slides["The largest drop-off lost $3.60k, 60.0 % of the year before's revenue"])
        assert drops[1][:3] == ["P1", NAME, "Gold"]  # as written: no Markdown, no HTML, no formula guard
        decisions = pd.DataFrame({c: [None, None] for c in DECISION_COLUMNS})
        decisions["partner_id"] = ["P1", "P2"]
        decisions["revenue_trailing"] = [400.0, 2000.0]
        decisions["recommendation"] = ["terminate", "retain"]
        decisions["decision"] = ["terminate", "retain"]
        decisions["note"] = ""
        save_review(store, "FY2025", "2025Q4", load_program(), decisions)
        review = slides_of(board_pack(store))["Review FY2025 (as of 2025Q4): 1 termination decided, 50.0% of partners"]
    rows = {row[0]: row[1:3] for row in table(review)[1:]}
    assert rows["terminate"] == ["1", "$400"] and rows["retain"] == ["1", "$2.00k"] and rows["promote"] == ["0", "$0"]
    assert dict(zip(chart_categories(review), chart_series(review)["Partners"], strict=True))["terminate"] == 1


@pytest.mark.parametrize(("flt", "slide"), [
    (ChannelFilter("2024Q1"), "n/a new and n/a lapsed partners in 2024Q1"),  # known from the 5th quarter
    (ChannelFilter("2025Q4", tiers=("Platinum",)), "Active partners 0 → 0 (+0) on a year before; no tier moved "
                                                    "beyond the noise"),
], ids=["first quarter", "nobody selected"])
def test_a_deck_without_figures_to_chart_says_so(small_db, flt, slide):
    with Store(small_db) as store:
        slides = slides_of(board_pack(store, flt))
    assert "Nothing to chart for this quarter and selection." in texts(slides[slide])


def test_cli_writes_the_deck_and_refuses_a_quarter_without_data(small_db, tmp_path, capsys):
    out = tmp_path / "pack.pptx"
    assert main(["--db", str(small_db), "brief", "--as-of", "2025Q3", "--out", str(out)]) == 0
    assert "Channel Health: the channel in 2025Q3" in slides_of(Presentation(out))
    assert main(["--db", str(small_db), "brief", "--as-of", "2019Q1", "--out", str(tmp_path / "x.pptx")]) == 1
    assert "No data for 2019Q1: the data run from 2024Q1 to 2025Q4" in capsys.readouterr().err
    assert not (tmp_path / "x.pptx").exists()


def test_overview_offers_the_board_pack(small_db):
    at = open_page(small_db, "views/pages/overview.py")
    assert "Board pack for 2025Q4 (PowerPoint)" in [b.label for b in at.get("download_button")]


@pytest.mark.browser
def test_the_board_pack_downloads_from_the_overview_in_chromium(small_db, tmp_path):
    """The deck is built on the click, on a thread of its own after the page run let go of the database."""
    from tests.browser import app_server, browser_page, require_chromium, wait_for_app

    require_chromium()
    with app_server(small_db) as url, browser_page() as page:
        page.goto(url)
        wait_for_app(page)
        button = page.get_by_role("button", name="Board pack for 2025Q4 (PowerPoint)")
        button.wait_for(timeout=60000)
        with page.expect_download(timeout=60000) as download:
            button.click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        page.get_by_text("What changed with the last load").wait_for(timeout=30000)
        assert page.locator('[data-testid="stException"]').count() == 0
    assert saved.name == "channel_health_board_pack_2025Q4.pptx"
    assert "Channel Health: the channel in 2025Q4" in slides_of(Presentation(saved))
