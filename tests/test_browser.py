"""What only a browser shows: the real app served on localhost, opened in headless Chromium."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.browser import (
    app_server,
    browser_page,
    edit_in_review_table,
    require_chromium,
    screenshot,
    shared_chromium,
    wait_for_app,
)
from tests.browser import edit_review_cell as _edit_review_cell

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def chromium():
    """One Chromium for the module's tests (each test gets a fresh context of it: tests.browser.browser_page)."""
    require_chromium()
    with shared_chromium():
        yield


def test_overview_on_the_demo_channel_renders_numbers_and_charts(demo_db):
    with app_server(demo_db) as url, browser_page() as page:
        page.goto(url)
        wait_for_app(page)
        page.get_by_text("Channel overview").first.wait_for(timeout=60000)
        page.wait_for_selector(".js-plotly-plot", timeout=60000)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=60000)
        metrics = page.locator('[data-testid="stMetric"]')
        assert metrics.count() == 4
        assert "Active partners" in metrics.first.inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        # Plotly drew bars: the tier chart has one bar per tier of the pyramid.
        assert page.locator(".js-plotly-plot").first.locator("g.point").count() >= 5
        screenshot(page, "overview_demo")


def test_empty_database_shows_the_way_in(tmp_path):
    with app_server(tmp_path / "empty.duckdb") as url, browser_page() as page:
        page.goto(url)
        wait_for_app(page)
        page.get_by_text("The database is empty").wait_for(timeout=60000)
        page.get_by_role("button", name="Build the demo channel").wait_for(state="visible", timeout=30000)
        page.locator('[data-testid="stFileUploader"]').wait_for(state="visible", timeout=30000)
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "overview_empty")


PAGES = {
    "tiers": ("tiers", "Tiers"),
    "dropoffs": ("dropoffs", "Revenue drop-offs"),
    "engagement": ("engagement", "Engagement and fit"),
    "recruits": ("recruits", "Recruits and ramp"),
    "distributors": ("distributors", "Distributors"),
    "risk": ("risk", "Partners at risk"),
    "model": ("model", "Model"),
    "review": ("review", "Annual review"),
    "partner": ("partner?partner_id=P000002", "Partner"),
}


def test_every_page_opens_without_an_error_and_keeps_the_filters(demo_db):
    with app_server(demo_db) as url, browser_page() as page:
        for name, (path, title) in PAGES.items():
            page.goto(f"{url}/{path}")
            wait_for_app(page)
            page.get_by_role("heading", name=title).first.wait_for(timeout=60000)
            if name != "partner":
                # Attached, not visible: the review page draws its only chart in the What-if tab.
                page.locator(".js-plotly-plot").first.wait_for(state="attached", timeout=60000)
            else:
                page.wait_for_selector('[data-testid="stMetric"]', timeout=60000)
                page.get_by_text("What raises the risk").wait_for(timeout=60000)
            page.wait_for_timeout(500)
            assert page.locator('[data-testid="stException"]').count() == 0, name
            sidebar = page.locator('[data-testid="stSidebar"]')
            assert sidebar.get_by_text("Filters", exact=True).count() == 1, name  # the heading, drawn once
            # A deep link still goes through app.py's navigation: page titles, not file names.
            nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
            assert "Revenue drop-offs" in nav and "shared" not in nav, nav
            screenshot(page, f"page_{name}")


def test_a_shared_url_opens_the_same_filtered_view(demo_db):
    with app_server(demo_db) as url, browser_page() as page:
        page.goto(f"{url}/tiers?tier=Gold&region=EMEA&quarter=2026Q1")
        wait_for_app(page)
        page.get_by_role("heading", name="Tiers").first.wait_for(timeout=60000)
        page.wait_for_selector(".js-plotly-plot", timeout=60000)
        page.get_by_text("As of 2026Q1 · Gold · EMEA").wait_for(timeout=30000)
        assert "tier=Gold" in page.url and "region=EMEA" in page.url
        screenshot(page, "page_tiers_filtered")


def test_a_held_back_quarter_uploaded_in_the_browser_appears_on_the_overview(tmp_path):
    from analytics.demo import DemoSpec, build_demo_channel
    from analytics.store.store import Store

    db, extracts = tmp_path / "held_back.duckdb", tmp_path / "extracts"
    with Store(db) as store:
        build_demo_channel(store, DemoSpec(partners=300), extracts_dir=extracts, hold_back=("2026Q3",))
    with app_server(db) as url, browser_page() as page:
        page.goto(f"{url}/")
        wait_for_app(page)
        page.get_by_text("Revenue in 2026Q2").first.wait_for(timeout=60000)
        page.goto(f"{url}/upload")
        wait_for_app(page)
        extract_input = page.get_by_role("region", name="Sales extracts").locator('input[type="file"]')
        extract_input.set_input_files(str(extracts / "sales_2026Q3.csv"))
        page.get_by_text("Preview: the first rows as they were understood").wait_for(timeout=60000)
        page.get_by_role("button", name="Load sales_2026Q3.csv").click()
        page.get_by_text("Loaded as load #12").wait_for(timeout=120000)
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "upload_summary")
        page.goto(f"{url}/")
        wait_for_app(page)
        page.get_by_text("Revenue in 2026Q3").first.wait_for(timeout=60000)
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "overview_after_upload")




def test_a_decision_changed_in_the_review_table_holds_across_reruns(demo_copy):
    # A copy: each change is kept as a draft in the database, which would follow every later test of demo_db.
    # Wide enough for every column: moving to a cell off screen would scroll the table sideways.
    with app_server(demo_copy) as url, browser_page(4000, 1100) as page:
        page.goto(f"{url}/review")
        wait_for_app(page, 180000)
        differ = page.locator('[data-testid="stMetric"]').filter(has_text="Differ from the recommendation").locator(
            '[data-testid="stMetricValue"]')
        differ.wait_for(timeout=180000)
        assert differ.inner_text() == "0"
        edit_in_review_table(page)
        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        # The table is redrawn under a new key after each change: the change must survive that, and the next.
        # Name, decision, note: the columns after the name, so that they read without scrolling.
        _edit_review_cell(page, box, row=0, column=2, text="terminate")
        page.get_by_text("Changed in this session: 1 partner").wait_for(timeout=60000)
        page.wait_for_timeout(1000)  # the table drawn anew, lower now: the headline counts show the change
        box = grid.bounding_box()
        _edit_review_cell(page, box, row=1, column=3, text="noted")
        page.get_by_text("Changed in this session: 2 partners").wait_for(timeout=60000)
        wait_for_app(page)
        assert differ.inner_text() == "1"
        assert page.locator('[data-testid="stException"]').count() == 0
        # Both changes are in the decisions the page would save (its CSV download), each on its own partner.
        with page.expect_download() as download:
            page.locator('[data-testid="stDownloadButton"]').filter(has_text="Download decisions (CSV)").click()
        decisions = pd.read_csv(download.value.path(), encoding="utf-8-sig", keep_default_na=False)
        changed = decisions[decisions["Decision"] != decisions["Recommendation"]]
        assert changed["Decision"].tolist() == ["terminate"]
        assert decisions.loc[decisions["Note"] == "noted", "Partner id"].tolist() != changed["Partner id"].tolist()
        assert (decisions["Note"] != "").sum() == 1
        screenshot(page, "review_table_edit")
