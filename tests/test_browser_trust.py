"""Text from files is shown as text: partner names holding HTML, Markdown and LaTeX, in the real app in Chromium.

A tiny channel whose partners are named `<script>window.__pwned = 1</script>` and `**bold** _it_ $x$`
is served by `streamlit run` and opened in headless Chromium. Every page that shows a partner's name
must show exactly those characters; no script from a name may run; nothing may fail.
"""

from __future__ import annotations

import csv
import re
import urllib.parse

import pytest

from analytics.formatting import WORD_JOINER
from analytics.ingest.load import load_extract
from analytics.store.store import Store
from tests.browser import app_server, browser_page, require_chromium, screenshot, shared_chromium, wait_for_app

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


@pytest.fixture(scope="module", autouse=True)
def chromium():
    """One Chromium for the module's tests (each test gets a fresh context of it: tests.browser.browser_page)."""
    require_chromium()
    with shared_chromium():
        yield


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


# A chart's title: text above the chart (views/style.py show_chart), not in Plotly's SVG.
CHART_TITLE = '[class*="st-key-chart-"] [data-testid="stMarkdownContainer"]'


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
        title = page.locator(CHART_TITLE).first.text_content()
        assert title.startswith(f"{name}: revenue per quarter"), title
        _assert_nothing_ran_or_failed(page, f"the Partner page of {partner_id}")
        _assert_no_markup_from_names(page, f"the Partner page of {partner_id}")
        screenshot(page, f"trust_literal_partner_{partner_id}")


@pytest.mark.parametrize(
    ("path", "title", "heading", "plots", "bar_chart", "shot"),
    [
        # The bar chart of the largest falls labels its bars with the names, in SVG text.
        ("dropoffs", "Revenue drop-offs", None, 2, 1, "trust_literal_dropoffs"),
        ("engagement", "Engagement and fit", "Enterprise-grade products sold into small businesses", 4, 2,
         "trust_literal_engagement"),
    ],
    ids=["dropoffs", "engagement"],
)
def test_top_partner_bars_show_the_names_as_written(hostile_names_app, path, title, heading, plots, bar_chart, shot):
    with browser_page() as page:
        _open(page, f"{hostile_names_app}/{path}", title)
        if heading:
            page.get_by_role("heading", name=heading).wait_for(timeout=60000)
        page.wait_for_function(f"() => document.querySelectorAll('.js-plotly-plot').length >= {plots}", timeout=60000)
        for name in (SCRIPT_NAME, MARKDOWN_NAME):
            _assert_shown_literally(page, name, title)
        bars = page.locator(".js-plotly-plot").nth(bar_chart)
        labels = bars.locator("g.ytick text").all_text_contents()
        # Names longer than 24 characters are cut on the axis (whole in the hover), still as written.
        assert f"{SCRIPT_NAME[:23].rstrip()}… (P1)" in labels and f"{MARKDOWN_NAME} (P2)" in labels, labels
        _assert_nothing_ran_or_failed(page, title)
        _assert_no_markup_from_names(page, title)
        bars.scroll_into_view_if_needed()
        screenshot(page, shot)


def test_a_name_with_tags_plotly_knows_shows_as_written_in_the_chart_title(hostile_names_app):
    with browser_page() as page:
        _open(page, f"{hostile_names_app}/partner?partner_id=P4", "Partner")
        page.locator(".js-plotly-plot").first.wait_for(timeout=60000)
        screenshot(page, "trust_literal_partner_P4")
        title = page.locator(CHART_TITLE).first.text_content()
        assert title.startswith(f"{TAG_NAME}:"), title


# Every text column and the uploaded file's name hold Markdown and HTML: bold, colour, maths, a link
# and two images at an outside address (which every viewer's browser would fetch). `tag` marks whose.
def markup(tag: str) -> str:
    return (f"**{tag}B** :red[{tag}R] ${tag}M$ [{tag}L](http://example.invalid/{tag}) "
            f"![{tag}I](http://example.invalid/{tag}.png) <b>{tag}H</b> <img src='http://example.invalid/{tag}2.png'>")


TEXT_COLUMNS = {"partner_name": "n", "tier": "t", "region": "r", "country": "c", "distributor": "d",
                "customer_id": "cu", "product": "p", "customer_segment": "s"}
MARKERS = [f"{tag}{part}" for tag in [*TEXT_COLUMNS.values(), "f", "g", "h"] for part in "BRMLIH"]
# What a page shows when it rendered a value instead of showing it: an element holding just a marker,
# typeset maths, a link or an image to the outside address.
_RENDERED = """(markers) => {
    const found = [];
    for (const el of document.querySelectorAll('[data-testid="stApp"] *')) {
        if (el.children.length === 0 && markers.includes(el.textContent.trim())) {
            const where = el.closest('[data-testid^="st"]');
            found.push(el.tagName + ':' + el.textContent + ' in ' + (where ? where.getAttribute('data-testid') : '?'));
        }
    }
    document.querySelectorAll('.katex').forEach(el => found.push('katex:' + el.textContent));
    // A link or image made from the data points at example.invalid itself; the app's own links may carry the
    // data's text in their query (a filter's value, encoded), which is a value, not a rendered link.
    document.querySelectorAll('a[href*="//example.invalid"], img[src*="//example.invalid"]')
        .forEach(el => found.push(el.outerHTML.slice(0, 120)));
    return found;
}"""


def markup_extract(path, tag_suffix: str = "") -> bytes:
    """Write three partners over nine quarters with Markdown in every text column; give the file's bytes."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["partner_id", *TEXT_COLUMNS, "order_date", "revenue"])
        for i, month in enumerate(QUARTER_DAYS):
            for k in range(3):
                values = {column: markup(tag) for column, tag in TEXT_COLUMNS.items()}
                values["partner_name"] = markup(f"n{k}")
                # A suffix makes another file whose every row differs (an append of identical rows is refused).
                revenue = (1000 if i < 5 or k == 2 else 100) + len(tag_suffix)
                writer.writerow([f"P{k}", *values.values(), f"{month}-1{k}", revenue])
    return path.read_bytes()


@pytest.fixture(scope="module")
def markup_app(tmp_path_factory) -> str:
    """Serve a channel whose every text value is Markdown and HTML; give its URL."""
    folder = tmp_path_factory.mktemp("markup")
    db = folder / "channel.duckdb"
    with Store(db) as store:
        markup_extract(folder / "markup.csv")
        load_extract(store, folder / "markup.csv")
    with app_server(db) as url:
        yield url


def _outside_requests(page) -> list[str]:
    """Give the list that collects every request the page makes to an address other than the app's."""
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    return outside


def _assert_shown_as_written(page, where: str, outside: list[str]) -> None:
    page.wait_for_function(_RUN_OVER, timeout=60000)
    rendered = page.evaluate(_RENDERED, MARKERS)
    assert rendered == [], f"Markdown or HTML from the data rendered on {where}: {rendered}"
    assert page.locator('[data-testid="stException"]').count() == 0, where
    assert outside == [], f"{where} made the browser fetch {outside}"


def _drop_file(page, name: str, content: bytes) -> None:
    """Give the upload widget a file of this name (any characters, as a browser's file picker may)."""
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.evaluate(
        """(input, [name, text]) => { const files = new DataTransfer();
                                      files.items.add(new File([text], name, {type: 'text/csv'}));
                                      input.files = files.files;
                                      input.dispatchEvent(new Event('change', {bubbles: true})); }""",
        [name, content.decode()],
    )


PAGES = [  # path (with the filters in the URL), heading
    ("/?tier={t}&region={r}&distributor={d}", "Channel overview"),
    ("/tiers?tier={t}", "Tiers"),
    ("/dropoffs?region={r}", "Revenue drop-offs"),
    ("/engagement", "Engagement and fit"),
    ("/risk", "Partners at risk"),
    ("/model", "Model"),
    ("/review", "Annual review"),
]


def test_markdown_and_html_in_data_and_file_names_show_as_written_on_every_page(markup_app, tmp_path):
    quoted = {tag: urllib.parse.quote(markup(tag)) for tag in "trd"}
    with browser_page() as page:
        outside = _outside_requests(page)
        for path, heading in PAGES:
            _open(page, markup_app + path.format(**quoted), heading)
            _assert_shown_as_written(page, heading, outside)
        # The partner's own page: its name as the heading, its tier and region inside the rank labels.
        _open(page, f"{markup_app}/partner?partner_id=P0", "Partner")
        page.wait_for_selector('[data-testid="stMetric"]', timeout=60000)
        # A word joiner (invisible) keeps addresses in Markdown from becoming links.
        labels = [t.replace(WORD_JOINER, "") for t in page.locator('[data-testid="stMetricLabel"]').all_text_contents()]
        assert any(f"Rank in tier ({markup('t')})" in label for label in labels), labels
        assert any(f"Rank in region ({markup('r')})" in label for label in labels), labels
        _assert_shown_as_written(page, "the Partner page", outside)

        # Upload: a good file and a bad one, both named in Markdown; load the good one, ask to roll it back.
        # A browser turns "/" in a file's name into ":"; "https:host" is still an address it fetches.
        good_name, bad_name = (markup(tag).replace("http://", "https:") + ".csv" for tag in "fg")
        _open(page, f"{markup_app}/upload", "Upload extracts")
        _drop_file(page, good_name, markup_extract(tmp_path / "good.csv", "again"))
        page.get_by_role("button", name=f"Load {good_name}").wait_for(timeout=60000)
        assert good_name in page.locator('[data-testid="stMain"] h3').all_text_contents()
        _assert_shown_as_written(page, "the Upload page with a file", outside)
        page.get_by_text("Append this file's rows to them").click()  # its quarters hold data already
        page.wait_for_function(_RUN_OVER, timeout=60000)
        page.get_by_role("button", name=f"Load {good_name}").click()
        page.get_by_text("Loaded as load #2").wait_for(timeout=60000)
        _assert_shown_as_written(page, "the Upload page after a load", outside)
        # The run after a load may still redraw the list of loads: a list opened meanwhile closes again.
        page.wait_for_function(_RUN_OVER, timeout=60000)
        page.wait_for_timeout(1000)
        page.get_by_role("combobox", name="Roll back a load").click()
        page.get_by_role("option", name=re.compile(r"^#2 ")).click()
        page.get_by_role("button", name="Roll back…").click()
        page.get_by_text(f"Roll back #2 {good_name}").wait_for(timeout=60000)
        _assert_shown_as_written(page, "the rollback confirmation", outside)
        _drop_file(page, bad_name, b"partner_id,order_date,revenue\nP1,2025-07-01,ten\n")
        page.get_by_text(f"{bad_name} cannot be loaded").wait_for(timeout=60000)
        _assert_shown_as_written(page, "the Upload page with a bad file", outside)
        screenshot(page, "trust_markup_upload")
