"""Partner links in a real browser: one click opens the partner in the same tab with the view kept, and Back."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.demo import DemoSpec, build_demo_channel
from analytics.model.scoring import refresh_scores
from analytics.store.store import Store
from tests.browser import app_server, browser_page, require_chromium, screenshot, wait_for_app

pytestmark = pytest.mark.browser

AS_OF = "2025Q4"  # three quarters before the small demo's latest, 2026Q3


@pytest.fixture
def scored_earlier(tmp_path: Path) -> Path:
    """Give a small demo channel (400 partners, 3 s) with churn scores stored as of AS_OF only."""
    require_chromium()
    path = tmp_path / "links.duckdb"
    with Store(path) as store:
        build_demo_channel(store, DemoSpec(partners=400), score=False)
        refresh_scores(store, as_of=AS_OF, horizons=(4,))
    return path


def _first_partner_cell(page) -> tuple[float, float]:
    """Give the middle of the first row's partner cell in the first table (the grid draws on a canvas)."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    return box["x"] + 40, box["y"] + 35 + 17  # the pinned partner column, below the 35-px header row


def test_one_click_opens_the_partner_as_of_the_quarter_with_the_filters_and_back_returns(scored_earlier):
    with app_server(scored_earlier) as url, browser_page() as page:
        page.goto(f"{url}/risk?quarter={AS_OF}&tier=Gold")
        wait_for_app(page)
        page.get_by_role("heading", name="Partners at risk").first.wait_for(timeout=60000)
        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60000)
        x, y = _first_partner_cell(page)
        page.mouse.click(x, y)
        page.get_by_role("heading", name="Partner", exact=True).wait_for(timeout=60000)
        wait_for_app(page)
        page.get_by_text("Churn probability").first.wait_for(timeout=60000)
        assert len(page.context.pages) == 1  # the same tab
        assert f"quarter={AS_OF}" in page.url and "tier=Gold" in page.url and "partner_id=P" in page.url, page.url
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert "Gold" in sidebar.inner_text()
        quarter = sidebar.locator('[data-testid="stSelectbox"]').first
        assert AS_OF in (quarter.text_content() or "") + quarter.locator("input").first.input_value()
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert f"Risk over the next 4 quarters, as of {AS_OF}" in body
        assert "no risk score" not in body and "Revenue, 2025Q1–2025Q4" in body
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "links_partner_from_risk")

        page.get_by_text("← Back to Partners at risk").click()
        page.get_by_role("heading", name="Partners at risk").first.wait_for(timeout=60000)
        wait_for_app(page)
        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60000)
        page.wait_for_timeout(1000)  # a selection left over would switch to the partner again here
        wait_for_app(page)
        assert page.get_by_role("heading", name="Partners at risk").count() == 1
        assert f"quarter={AS_OF}" in page.url and "tier=Gold" in page.url, page.url
        assert "Gold" in page.locator('[data-testid="stSidebar"]').inner_text()
        page.get_by_text(f"Probabilities come from data up to {AS_OF} only").wait_for(timeout=30000)
        screenshot(page, "links_back_to_risk")
