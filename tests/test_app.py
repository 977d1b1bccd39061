"""The real Streamlit app under AppTest: empty database, first upload, and the demo channel."""

from __future__ import annotations

import streamlit as st

from analytics.formatting import markdown_literal, money
from analytics.store.quarters import shift_quarter
from analytics.store.store import Store
from tests.apptest_helpers import metric, open_page, trace_values


def test_empty_database_offers_demo_and_upload(tmp_path):
    at = open_page(tmp_path / "empty.duckdb")
    assert any("database is empty" in i.value for i in at.info)
    assert at.button(key="build_demo").label == "Build the demo channel"
    assert at.file_uploader(key="first_upload") is not None


def test_first_upload_on_an_empty_database_shows_its_numbers(tmp_path):
    at = open_page(tmp_path / "empty.duckdb")
    csv = b"Partner ID,Booking Date,Amount (USD),Tier\nP1,2025-07-01,\"$1,500.00\",Gold\nP2,2025-08-01,500,Silver\n"
    at.file_uploader(key="first_upload").upload("q3.csv", csv, "text/csv").run()
    assert not at.exception, at.exception
    assert metric(at, "Revenue in 2025Q3").value == "$2.00k"
    assert metric(at, "Active partners").value == "2"


def test_bad_upload_is_reported_and_nothing_is_written(tmp_path):
    db = tmp_path / "empty.duckdb"
    at = open_page(db)
    bad = b"partner_id,order_date,revenue\nP1,2025-07-01,x\n"
    at.file_uploader(key="first_upload").upload("bad.csv", bad, "text/csv")
    at.run()
    assert not at.exception
    assert f"{markdown_literal('bad.csv')} was not loaded" in at.error[0].value  # Markdown underneath
    problems = at.dataframe[0].value
    assert problems.loc[0, "row"] == 2 and problems.loc[0, "column"] == "revenue"
    st.cache_resource.clear()
    with Store(db) as store:
        assert store.is_empty()


def test_demo_channel_overview_matches_a_direct_query(demo_db):
    at = open_page(demo_db)
    with Store(demo_db) as store:
        cur = store.cursor()
        (last,) = cur.execute("SELECT max(quarter) FROM order_lines").fetchall()[0]
        (revenue_q,) = cur.execute("SELECT sum(revenue) FROM order_lines WHERE quarter = ?", [last]).fetchall()[0]
        first4 = shift_quarter(last, -3)
        (revenue_4q, active) = cur.execute(
            "SELECT sum(revenue), count(DISTINCT partner_id) FROM order_lines WHERE quarter BETWEEN ? AND ?",
            [first4, last],
        ).fetchall()[0]
    assert metric(at, f"Revenue in {last}").value == money(float(revenue_q))
    assert metric(at, "Revenue, 4 quarters").value == money(float(revenue_4q))
    assert metric(at, "Active partners").value == f"{active:,}"
    # Labels short enough to show whole; the period they cover is in their help.
    assert f"{first4}–{last}" in metric(at, "Revenue, 4 quarters").help
    assert f"{first4}–{last}" in metric(at, "Active partners").help
    assert len(at.get("plotly_chart")) == 3
    assert any(f"Data to **{last}**" in c.value for c in at.sidebar.caption)


# Six quarters, 2025Q1–2026Q2: P1 Bronze throughout; P2 Bronze until 2025Q3, Silver from 2025Q4 (promoted
# within the year to 2026Q2); P3 Bronze, last order in 2025Q1; P4 Bronze, first order in 2026Q1.
PROMOTED = "partner_id,order_date,revenue,tier\n" + "".join(
    f"{pid},{day},{revenue},{tier}\n"
    for pid, day, revenue, tier in [
        *[("P1", f"{y}-{m:02d}-15", 100, "Bronze") for y, m in [(2025, 2), (2025, 5), (2025, 8), (2025, 11),
                                                                 (2026, 2), (2026, 5)]],
        *[("P2", f"2025-{m:02d}-15", 200, "Bronze") for m in (2, 5, 8)],
        *[("P2", f"{y}-{m:02d}-15", 300, "Silver") for y, m in [(2025, 11), (2026, 2), (2026, 5)]],
        ("P3", "2025-02-15", 50, "Bronze"),
        *[("P4", f"2026-{m:02d}-15", 80, "Bronze") for m in (2, 5)],
    ]
)


def chart_quarters(at) -> set[str]:
    """Give every quarter on an x axis of the page's charts."""
    import json

    return {x for chart in at.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]
            for x in trace.get("x", []) if str(x)[:2] == "20"}


def test_overview_charts_stop_at_an_earlier_as_of_quarter(tmp_path):
    db = tmp_path / "channel.duckdb"
    (tmp_path / "sales.csv").write_text(PROMOTED)
    from analytics.ingest.load import load_extract

    with Store(db) as store:
        load_extract(store, tmp_path / "sales.csv")
    at = open_page(db)
    assert max(chart_quarters(at)) == "2026Q2"
    at.selectbox(key="f_quarter").set_value("2025Q4").run()
    assert not at.exception, at.exception
    assert max(chart_quarters(at)) == "2025Q4", chart_quarters(at)
    assert metric(at, "Revenue in 2025Q4").value == money(400.0)


def test_partners_per_tier_agree_across_pages_under_a_tier_filter(tmp_path):
    db = tmp_path / "channel.duckdb"
    (tmp_path / "sales.csv").write_text(PROMOTED)
    from analytics.ingest.load import load_extract

    with Store(db) as store:
        load_extract(store, tmp_path / "sales.csv")
    # As of 2026Q2 P2 is Silver (its latest tier in the year): Bronze are P1 and P4 only, everywhere.
    at = open_page(db, tier="Bronze")
    assert metric(at, "Active partners").value == "2"
    import json

    now = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][1]  # the quarter's bars, beside a year before
    assert dict(zip(now["x"], trace_values(now["y"]), strict=True)) == {"Bronze": 2}
    tiers = at.switch_page("views/pages/tiers.py").run()
    assert not tiers.exception, tiers.exception
    assert metric(tiers, "Bronze").value == "2"
