"""Every executive page under AppTest: on the demo channel and a tiny database, with filters changed,
and the numbers on the page checked against direct queries of the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st

from analytics.formatting import money
from analytics.store.quarters import shift_quarter
from analytics.store.store import Store
from tests.apptest_helpers import metric, open_page, url_values

PAGES = [
    "views/pages/overview.py", "views/pages/tiers.py", "views/pages/dropoffs.py", "views/pages/engagement.py",
    "views/pages/recruits.py", "views/pages/distributors.py", "views/pages/partner.py",
]

def direct(db: Path, sql: str, params: list) -> tuple:
    st.cache_resource.clear()  # the app's cached connection must not hold the file for this one
    with Store(db) as store:
        return store.cursor().execute(sql, params).fetchall()[0]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).stem)
def test_every_page_runs_on_the_demo_channel(demo_db, page):
    at = open_page(demo_db, page, partner_id="P000001")
    assert at.title[0].value
    assert not at.error


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).stem)
def test_every_page_runs_on_a_tiny_database_and_with_a_filter_that_matches_nothing(tiny_db, page):
    at = open_page(tiny_db, page, partner_id="P2")
    assert not at.error
    at.multiselect(key="f_tiers").set_value(["Platinum"]).run()  # nobody is Platinum
    assert not at.exception, at.exception
    assert not at.error


def test_tiers_page_counts_match_a_direct_query_and_the_overview(demo_db):
    at = open_page(demo_db, "views/pages/tiers.py")
    (quarter,) = direct(demo_db, "SELECT max(quarter) FROM partner_quarter", [])
    # Active partners in the four quarters to the quarter, each in its latest recorded tier there.
    (gold,) = direct(
        demo_db,
        """SELECT count(*) FROM (
               SELECT partner_id, arg_max(tier, q_index) FILTER (WHERE tier IS NOT NULL) AS tier
               FROM partner_quarter WHERE quarter BETWEEN ? AND ? GROUP BY partner_id)
           WHERE tier = 'Gold'""",
        [shift_quarter(quarter, -3), quarter],
    )
    assert metric(at, "Gold").value == f"{gold:,}"
    assert at.get("plotly_chart")
    # The Overview's partners per tier and the tier moves' right-hand nodes count the same.
    overview = open_page(demo_db)
    from tests.apptest_helpers import trace_values

    now = json.loads(overview.get("plotly_chart")[0].proto.spec)["data"][-1]  # the bars of now (first: a year before)
    assert dict(zip(now["x"], trace_values(now["y"]), strict=True))["Platinum"] == int(
        metric(at, "Platinum").value.replace(",", ""))
    traces = [trace for c in at.get("plotly_chart") for trace in json.loads(c.proto.spec)["data"]]
    sankey = next(t for t in traces if t["type"] == "sankey")
    assert f"Gold {quarter} ({gold:,})" in sankey["node"]["label"]


def test_tier_filter_and_region_filter_narrow_the_tiers_page(tiny_db):
    at = open_page(tiny_db, "views/pages/tiers.py")
    tiers = {"Platinum", "Gold", "Silver", "Bronze", "Authorized", "Unknown"}
    labels = {m.label for m in at.metric if m.label in tiers}
    assert labels == {"Gold", "Silver", "Authorized"}  # 2025Q3–2026Q2: P1 Gold, P2 Silver, P3 (P4 lapsed)
    at.multiselect(key="f_regions").set_value(["EMEA"]).run()
    labels = {m.label for m in at.metric if m.label in tiers}
    assert labels == {"Gold", "Authorized"}
    assert url_values(at, "region") == ["EMEA"]


def test_tier_moves_on_the_tiny_channel(tiny_db):
    at = open_page(tiny_db, "views/pages/tiers.py")
    # Four quarters to 2025Q2 P2 already sold as Silver (its latest tier there): kept, not demoted.
    assert metric(at, "Kept").value == "2" and metric(at, "Kept").help.endswith("2025Q2 → 2026Q2")
    at.selectbox(key="tier_from").set_value("2025Q1").run()
    # 2025Q1 -> 2026Q2: P2 Gold -> Silver (demoted), P1 kept, P3 new, P4 lapsed.
    assert metric(at, "Demoted").value == "1" and metric(at, "Demoted").help.endswith("2025Q1 → 2026Q2")
    assert metric(at, "Kept").value == "1"
    assert metric(at, "New").value == "1"
    assert metric(at, "Lapsed").value == "1"


def test_dropoffs_page_finds_the_partner_that_fell_60_percent(tiny_db):
    at = open_page(tiny_db, "views/pages/dropoffs.py")
    assert metric(at, "Partners down 50 % or more").value == "2"  # P2 (-60 %) and P4 (lapsed)
    fallen = at.dataframe[0].value
    assert fallen["partner_id"].tolist()[0] == "P2"
    at.slider(key="dropoff_threshold").set_value(70).run()
    assert metric(at, "Partners down 70 % or more").value == "1"  # only the lapsed P4


def test_dropoffs_count_matches_a_direct_query_on_the_demo(demo_db):
    at = open_page(demo_db, "views/pages/dropoffs.py")
    (quarter,) = direct(demo_db, "SELECT max(quarter) FROM partner_quarter", [])
    (fallen,) = direct(
        demo_db,
        """
        SELECT count(*) FROM (
            SELECT partner_id,
                   sum(revenue) FILTER (WHERE quarter BETWEEN ? AND ?) AS t4,
                   sum(revenue) FILTER (WHERE quarter BETWEEN ? AND ?) AS prev
            FROM partner_quarter GROUP BY partner_id
        ) WHERE prev > 0 AND coalesce(t4, 0) <= 0.5 * prev
        """,
        [shift_quarter(quarter, -3), quarter, shift_quarter(quarter, -7), shift_quarter(quarter, -4)],
    )
    assert metric(at, "Partners down 50 % or more").value == f"{fallen:,}"


def test_engagement_low_deal_count_matches_a_direct_query(demo_db):
    at = open_page(demo_db, "views/pages/engagement.py")
    (quarter,) = direct(demo_db, "SELECT max(quarter) FROM partner_quarter", [])
    (few,) = direct(
        demo_db,
        """
        SELECT count(*) FROM (
            SELECT partner_id, count(DISTINCT (customer_id, order_date)) AS deals FROM order_lines
            WHERE replaced_by IS NULL AND quarter BETWEEN ? AND ? GROUP BY partner_id
        ) WHERE deals <= 2
        """,
        [shift_quarter(quarter, -3), quarter],
    )
    assert metric(at, "Partners with at most 2 deals").value == f"{few:,}"


def test_partner_page_from_a_link_shows_that_partner(tiny_db):
    at = open_page(tiny_db, "views/pages/partner.py", partner_id="P2")
    assert at.selectbox(key="partner_pick").value == "P2"
    assert at.subheader[0].value == "Falling Inc"
    assert metric(at, "Revenue, 2025Q3–2026Q2").value == money(400)
    at.text_input(key="partner_search").set_value("steady").run()
    assert at.selectbox(key="partner_pick").value == "P1"
    assert url_values(at, "partner_id") == ["P1"]


def test_filters_survive_a_page_change_and_come_from_a_shared_url(tiny_db):
    at = open_page(tiny_db, "views/pages/overview.py", tier="Gold", quarter="2025Q4")
    assert at.multiselect(key="f_tiers").value == ["Gold"]
    assert at.selectbox(key="f_quarter").value == "2025Q4"
    at.switch_page("views/pages/tiers.py").run()
    assert not at.exception
    assert at.multiselect(key="f_tiers").value == ["Gold"]
    assert url_values(at, "tier") == ["Gold"]
