"""Text from files is shown as text: partner names holding HTML, Markdown and LaTeX, in the real app in Chromium.

A tiny channel whose partners are named `<script>window.__pwned = 1</script>` and `**bold** _it_ $x$`
is served by `streamlit run` and opened in headless Chromium. Every page that shows a partner's name
must show exactly those characters; no script from a name may run; nothing may fail.
"""

from __future__ import annotations

import csv
import re

import pytest

from analytics.ingest import load_extract
from analytics.store import Store
from tests.browser import app_server, browser_page, require_chromium, screenshot, wait_for_app

pytestmark = pytest.mark.browser

SCRIPT_NAME = "<script>window.__pwned = 1</script>"
MARKDOWN_NAME = "**bold** _it_ $x$"
PAREN_NAME = "Northwind (EMEA) Ltd"  # the Partner page once cut its heading at " ("
TAG_NAME = "<b>Tagged</b> & <i>Co</i>"  # tags Plotly's text renderer knows
PARTNERS = [  # id, name, tier, region, revenue per line in the first five quarters, in the last four
    ("P1", SCRIPT_NAME, "Gold", "EMEA", 1000, 100),
    ("P2", MARKDOWN_NAME, "Silver", "NA", 800, 50),
    ("P3", PAREN_NAME, "Bronze", "NA", 300, 350),
    ("P4", TAG_NAME, "Bronze", "NA", 500, 20),
]
QUARTER_DAYS = ["2024-04", "2024-07", "2024-10", "2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04"]


@pytest.fixture(autouse=True)
def chromium():
    require_chromium()


@pytest.fixture(scope="module")
def hostile_names_app(tmp_path_factory) -> str:
    """Serve a channel of nine quarters whose partners have hostile names; give its URL.

    P1 and P2 fall by more than half (Revenue drop-offs lists them) and sell an enterprise product to
    a small business (Engagement's oversell chart names them); P3 grows.
    """
    folder = tmp_path_factory.mktemp("trust")
    extract = folder / "hostile_names.csv"
    with extract.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["partner_id", "partner_name", "customer_id", "order_date", "revenue", "tier", "region",
                         "customer_segment", "product"])
        for i, month in enumerate(QUARTER_DAYS):
            for pid, name, tier, region, early, late in PARTNERS:
                revenue = early if i < 5 else late
                writer.writerow([pid, name, f"{pid}-E", f"{month}-10", revenue, tier, region, "Enterprise",
                                 "Business Suite"])
                writer.writerow([pid, name, f"{pid}-S", f"{month}-11", revenue, tier, region, "SMB",
                                 "Business Suite" if pid == "P3" else "Enterprise Platform"])
    db = folder / "channel.duckdb"
    with Store(db) as store:
        load_extract(store, extract)
    with app_server(db) as url:
        yield url


# Streamlit 1.67 shows no "Running" text in its status widget (tests.browser.wait_for_app looks for
# it, so it returns at once); the app's root element carries the script's state instead. After a page
# load it reads "initial", then "running", then "notRunning".
_RUN_OVER = """() => { const app = document.querySelector('[data-testid="stApp"]');
                       return !!app && app.getAttribute('data-test-script-state') === 'notRunning'; }"""


def _open(page, url: str, heading: str) -> None:
    """Open a page and wait until its script has run to the end."""
    page.goto(url)
    wait_for_app(page)
    page.wait_for_function(_RUN_OVER, timeout=120000)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60000)


def _assert_nothing_ran_or_failed(page, where: str) -> None:
    assert page.evaluate("() => typeof window.__pwned") == "undefined", f"a partner name ran as a script on {where}"
    assert not page.evaluate("() => [...document.scripts].some(s => s.textContent.includes('__pwned'))"), where
    assert page.locator('[data-testid="stException"]').count() == 0, where
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, where


def _assert_no_markup_from_names(page, where: str) -> None:
    """Fail when the Markdown name was rendered: bold "bold", italic "it", typeset "x", or an HTML bold "Tagged"."""
    main = page.locator('[data-testid="stMain"]')
    assert main.locator("strong", has_text=re.compile(r"^bold$")).count() == 0, f"**bold** rendered bold on {where}"
    assert main.locator("em", has_text=re.compile(r"^it$")).count() == 0, f"_it_ rendered italic on {where}"
    assert main.locator(".katex").count() == 0, f"$x$ typeset as maths on {where}"
    assert main.locator("b, strong", has_text=re.compile(r"^Tagged$")).count() == 0, f"<b> rendered on {where}"


def _assert_shown_literally(page, name: str, where: str) -> None:
    """The exact characters of the name are on the page (in text, a chart's SVG or a table's cells)."""
    shown = page.get_by_text(name, exact=False)
    shown.first.wait_for(state="attached", timeout=30000)
    assert shown.count() >= 1, f"{name!r} not shown literally on {where}"


def test_overview_runs_no_script_from_names(hostile_names_app):
    with browser_page() as page:
        _open(page, hostile_names_app, "Channel overview")
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=60000)
        # The Overview shows tiers and totals, no partner's name; it must still run no script and not fail.
        _assert_nothing_ran_or_failed(page, "the Overview")
        _assert_no_markup_from_names(page, "the Overview")
        screenshot(page, "trust_literal_overview")


@pytest.mark.parametrize("partner_id, name", [("P1", SCRIPT_NAME), ("P2", MARKDOWN_NAME), ("P3", PAREN_NAME)])
def test_partner_page_shows_the_name_as_written(hostile_names_app, partner_id, name):
    with browser_page() as page:
        _open(page, f"{hostile_names_app}/partner?partner_id={partner_id}", "Partner")
        page.wait_for_selector('[data-testid="stMetric"]', timeout=60000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60000)
        # The heading above the partner's figures is exactly the name (it is Markdown underneath).
        headings = [h.strip() for h in page.locator('[data-testid="stMain"] h3').all_text_contents()]
        assert name in headings, headings
        # The chooser and the chart's title carry it too.
        chooser = page.get_by_role("combobox", name="Partner", exact=True).input_value()
        assert f"{name} ({partner_id})" in chooser, chooser
        title = page.locator(".js-plotly-plot").first.locator(".gtitle").text_content()
        assert title.startswith(f"{name}: revenue per quarter"), title
        _assert_nothing_ran_or_failed(page, f"the Partner page of {partner_id}")
        _assert_no_markup_from_names(page, f"the Partner page of {partner_id}")
        screenshot(page, f"trust_literal_partner_{partner_id}")


def test_revenue_dropoffs_show_the_names_as_written(hostile_names_app):
    with browser_page() as page:
        _open(page, f"{hostile_names_app}/dropoffs", "Revenue drop-offs")
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=60000)
        for name in (SCRIPT_NAME, MARKDOWN_NAME):
            _assert_shown_literally(page, name, "Revenue drop-offs")
        # The bar chart of the largest falls labels its bars with the names, in SVG text.
        bars = page.locator(".js-plotly-plot").nth(1)
        labels = bars.locator("g.ytick text").all_text_contents()
        assert f"{SCRIPT_NAME} (P1)" in labels and f"{MARKDOWN_NAME} (P2)" in labels, labels
        _assert_nothing_ran_or_failed(page, "Revenue drop-offs")
        _assert_no_markup_from_names(page, "Revenue drop-offs")
        bars.scroll_into_view_if_needed()
        screenshot(page, "trust_literal_dropoffs")


def test_engagement_shows_the_names_as_written(hostile_names_app):
    with browser_page() as page:
        _open(page, f"{hostile_names_app}/engagement", "Engagement and fit")
        page.get_by_role("heading", name="Enterprise-grade products sold into small businesses").wait_for(timeout=60000)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=60000)
        for name in (SCRIPT_NAME, MARKDOWN_NAME):
            _assert_shown_literally(page, name, "Engagement and fit")
        oversell = page.locator(".js-plotly-plot").nth(2)
        labels = oversell.locator("g.ytick text").all_text_contents()
        assert f"{SCRIPT_NAME} (P1)" in labels and f"{MARKDOWN_NAME} (P2)" in labels, labels
        _assert_nothing_ran_or_failed(page, "Engagement and fit")
        _assert_no_markup_from_names(page, "Engagement and fit")
        oversell.scroll_into_view_if_needed()
        screenshot(page, "trust_literal_engagement")


def test_a_name_with_tags_plotly_knows_shows_as_written_in_the_chart_title(hostile_names_app):
    with browser_page() as page:
        _open(page, f"{hostile_names_app}/partner?partner_id=P4", "Partner")
        page.locator(".js-plotly-plot").first.wait_for(timeout=60000)
        screenshot(page, "trust_literal_partner_P4")
        title = page.locator(".js-plotly-plot").first.locator(".gtitle").text_content()
        assert title.startswith(f"{TAG_NAME}:"), title
