"""The real Streamlit app under AppTest: empty database, first upload, and the demo channel."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analytics.formatting import money
from analytics.quarters import shift_quarter
from analytics.store import Store

APP = Path(__file__).parents[1] / "app.py"


@pytest.fixture(autouse=True)
def fresh_caches():
    """Caches outlive an AppTest inside one process; each test starts without them."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def start(db: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CHANNEL_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label_start: str):
    found = [m for m in at.metric if m.label.startswith(label_start)]
    assert found, [m.label for m in at.metric]
    return found[0]


def test_empty_database_offers_demo_and_upload(tmp_path, monkeypatch):
    at = start(tmp_path / "empty.duckdb", monkeypatch)
    assert any("database is empty" in i.value for i in at.info)
    assert at.button(key="build_demo").label == "Build the demo channel"
    assert at.file_uploader(key="first_upload") is not None


def test_first_upload_on_an_empty_database_shows_its_numbers(tmp_path, monkeypatch):
    at = start(tmp_path / "empty.duckdb", monkeypatch)
    csv = b"Partner ID,Booking Date,Amount (USD),Tier\nP1,2025-07-01,\"$1,500.00\",Gold\nP2,2025-08-01,500,Silver\n"
    at.file_uploader(key="first_upload").upload("q3.csv", csv, "text/csv").run()
    assert not at.exception, at.exception
    assert metric(at, "Revenue in 2025Q3").value == "$2.00k"
    assert metric(at, "Active partners").value == "2"


def test_bad_upload_is_reported_and_nothing_is_written(tmp_path, monkeypatch):
    db = tmp_path / "empty.duckdb"
    at = start(db, monkeypatch)
    at.file_uploader(key="first_upload").upload("bad.csv", b"partner_id,order_date,revenue\nP1,2025-07-01,x\n", "text/csv")
    at.run()
    assert not at.exception
    assert "bad.csv was not loaded" in at.error[0].value
    problems = at.dataframe[0].value
    assert problems.loc[0, "row"] == 2 and problems.loc[0, "column"] == "revenue"
    st.cache_resource.clear()
    with Store(db) as store:
        assert store.is_empty()


def test_demo_channel_overview_matches_a_direct_query(demo_db, monkeypatch):
    at = start(demo_db, monkeypatch)
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
    assert metric(at, f"Revenue, 4 quarters to {last}").value == money(float(revenue_4q))
    assert metric(at, f"Active partners, 4 quarters to {last}").value == f"{active:,}"
    assert len(at.get("plotly_chart")) == 3
    assert any(f"Data to **{last}**" in c.value for c in at.sidebar.caption)
