"""What only a browser shows of the pages' looks: printing, the dark theme, a phone's width, labels at 1280 px."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser import (
    ARTIFACTS,
    app_server,
    browser_page,
    require_chromium,
    screenshot,
    shared_chromium,
    wait_for_app,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def chromium():
    """One Chromium for the module's tests (each test gets a fresh context of it: tests.browser.browser_page)."""
    require_chromium()
    with shared_chromium():
        yield


def open_with_charts(page, url: str, path: str = "", charts: int = 2) -> None:
    """Open a page of the app and wait until Plotly has drawn its first `charts` charts."""
    page.goto(f"{url}/{path}")
    wait_for_app(page)
    page.wait_for_function(
        f"() => document.querySelectorAll('.stPlotlyChart .main-svg').length >= {2 * charts}", timeout=60000)
    page.wait_for_timeout(500)  # Plotly's last redraw at the final width


def luminance(rgb: tuple[float, ...]) -> float:
    """Give the relative luminance of an sRGB colour (WCAG 2)."""
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: tuple[float, ...], other: tuple[float, ...]) -> float:
    """Give the WCAG contrast ratio of two colours."""
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# The first colour a page computes for an element, as [r, g, b, a]; for a transparent one, its parents'.
COLOUR_JS = """([selector, property]) => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; };
  let element = document.querySelector(selector);
  while (element) {
    const colour = parse(getComputedStyle(element)[property]);
    if (property !== 'backgroundColor' || colour[3] > 0) return colour;
    element = element.parentElement;
  }
  return [255, 255, 255, 1];
}"""


@pytest.mark.parametrize(("path", "last_heading"), [("", "What changed with the last load"),
                                                     ("review", "Differ from the recommendation")],
                         ids=["overview", "review"])
def test_pages_print_whole_without_the_sidebar_and_with_charts_on_the_paper(demo_db, tmp_path, path, last_heading):
    with app_server(demo_db) as url, browser_page(1280, 1000) as page:
        open_with_charts(page, url, path, charts=2 if not path else 0)
        # The whole page drawn, to its end, before it is printed (a loaded machine draws the end later).
        page.get_by_text(last_heading).first.wait_for(timeout=120000)
        pdf = tmp_path / f"{path or 'overview'}.pdf"
        # Chromium lays the page out for A4 with the print styles and fires beforeprint/afterprint.
        page.pdf(path=str(pdf), format="A4")
        shutil.copy(pdf, artifact(f"print_{path or 'overview'}.pdf"))
        # The same layout, kept to look at: what the browser has at the paper's width in print media.
        page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
        page.set_viewport_size({"width": 718, "height": 1000})  # A4 less the 12 mm margins, in CSS pixels
        page.emulate_media(media="print")
        page.wait_for_timeout(300)
        hidden = page.evaluate("""() => ['stSidebar', 'stHeader', 'stToolbar'].map((id) => {
            const e = document.querySelector(`[data-testid="${id}"]`);
            return !e || getComputedStyle(e).display === 'none'; })""")
        assert hidden == [True, True, True]
        # Streamlit's app box scrolls on screen; on paper every container grows to its content.
        main = page.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]');
            return [getComputedStyle(m).overflowY, m.scrollHeight <= m.clientHeight + 1]; }""")
        assert main == ["visible", True], main
        # Charts on the page (not in a closed tab) end within the paper and are scaled to it.
        widths = page.evaluate("""() => [...document.querySelectorAll('.stPlotlyChart .svg-container')]
            .filter((b) => b.getBoundingClientRect().width > 0)
            .map((b) => [b.getBoundingClientRect().right, b.querySelector('svg.main-svg').getAttribute('viewBox')])""")
        assert all(right <= 718 + 1 and box for right, box in widths), widths
        assert widths or path == "review"  # the review draws its chart in the What-if tab
        screenshot(page, f"print_{path or 'overview'}")
    text = pdf_text(pdf)
    assert last_heading in text, text[-500:]
    assert "Filters" not in text  # the sidebar's


def artifact(name: str) -> Path:
    """Give the path of a file kept with the screenshots under tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def pdf_text(pdf: Path) -> str:
    """Give a PDF's text (poppler's pdftotext), or skip when it is not installed."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_the_dark_system_setting_gives_a_dark_app_and_readable_charts(demo_db):
    with app_server(demo_db) as url, browser_page(1280, 1000, color_scheme="dark") as page:
        for path in ("", "tiers"):
            open_with_charts(page, url, path)
            app = page.evaluate(COLOUR_JS, ['[data-testid="stApp"]', "backgroundColor"])
            assert luminance(app) < 0.05, app
            paper = page.evaluate(COLOUR_JS, [".stPlotlyChart .main-svg", "backgroundColor"])
            tick = page.evaluate(COLOUR_JS, [".stPlotlyChart .xtick text", "fill"])
            assert contrast(paper, tick) >= 4.5, (paper, tick)
            title = page.evaluate(COLOUR_JS, ['[class*="st-key-chart-"] [data-testid="stMarkdownContainer"] p',
                                              "color"])
            assert contrast(app, title) >= 4.5, (app, title)
            screenshot(page, f"dark_{path or 'overview'}")


PHONE_JS = """() => [...document.querySelectorAll('[class*="st-key-chart-"]')].map((box) => {
  const rect = (e) => { if (!e) return null; const r = e.getBoundingClientRect();
                        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const plot = box.querySelector('.stPlotlyChart');
  return {title: rect(box.querySelector('[data-testid="stMarkdownContainer"]')),
          modebar: rect(plot.querySelector('.modebar')), plotArea: rect(plot.querySelector('.nsewdrag')),
          legend: rect(plot.querySelector('g.infolayer > g.legend')), chart: rect(plot)};
})"""


def overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def test_at_390_px_the_mode_bar_covers_no_title_and_legends_go_below(demo_db):
    with app_server(demo_db) as url, browser_page(390, 844) as page:
        for path in ("", "tiers", "dropoffs"):
            open_with_charts(page, url, path)
            for index, chart in enumerate(page.locator(".stPlotlyChart").all()[:3]):
                chart.scroll_into_view_if_needed()
                chart.hover()  # the mode bar shows while the pointer is on the chart
                page.wait_for_timeout(200)
                box = page.evaluate(PHONE_JS)[index]
                assert box["chart"]["right"] <= 390 + 1, (path, index, box)
                if box["modebar"] and box["modebar"]["right"] > box["modebar"]["left"]:
                    assert not overlaps(box["title"], box["modebar"]), (path, index, box)
                if box["legend"] and box["plotArea"]:
                    assert box["legend"]["top"] >= box["plotArea"]["bottom"], (path, index, box)
                    assert box["legend"]["right"] - box["legend"]["left"] > 0
            screenshot(page, f"phone_{path or 'overview'}")


def test_at_1280_px_no_metric_label_is_cut_off(demo_db):
    with app_server(demo_db) as url, browser_page(1280, 1000) as page:
        for path in ("", "tiers", "dropoffs", "engagement", "recruits", "risk", "review"):
            page.goto(f"{url}/{path}")
            wait_for_app(page)
            page.locator('[data-testid="stMetricLabel"]').first.wait_for(timeout=60000)
            page.wait_for_timeout(300)
            cut = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
                .filter((l) => [...l.querySelectorAll('*')].some((e) => e.scrollWidth > e.clientWidth + 1))
                .map((l) => l.innerText)""")
            assert cut == [], (path, cut)
