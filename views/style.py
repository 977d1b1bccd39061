"""How the pages look beyond Streamlit's defaults: the app's print and narrow-screen CSS, and charts with their titles.

Only our own constant CSS and script go through st.html here; nothing from the data ever does (chart
titles, which hold partner names, are shown as escaped Markdown).
"""

from __future__ import annotations

import hashlib
import html
from collections import OrderedDict
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from analytics.formatting import markdown_literal
from views.cache import FIGURE_LOCK, ON_NEW_VERSIONS

__all__ = ["PAGE_CSS", "PRINT_SCRIPT", "CHART_CONFIG", "page_style", "show_chart"]

# Print: Streamlit lays the app out as a full-height box whose main area scrolls, so a printout held
# only what fitted on screen; the chrome (sidebar, header, toolbars) is of no use on paper; flex
# columns of blocks do not break between pages in Chromium, plain blocks do.
# Metric labels: Streamlit cuts a long one off with "…"; ours wrap instead.
PAGE_CSS = """
<style>
@media print {
  @page { margin: 12mm; }
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
  [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
  [data-testid="stElementToolbar"], [data-testid="stBaseButton-header"], .modebar-container,
  [data-testid="stDownloadButton"], [data-testid="stExpanderToggleIcon"] {
    display: none !important;
  }
  html, body, #root, .stApp, [data-testid="stApp"], [data-testid="stAppViewContainer"],
  [data-testid="stMain"], [data-testid="stMainBlockContainer"], [data-testid="stAppScrollToBottomContainer"] {
    overflow: visible !important;
    height: auto !important;
    min-height: 0 !important;
    max-height: none !important;
    position: static !important;
  }
  [data-testid="stMain"], [data-testid="stMainBlockContainer"] {
    margin: 0 !important;
    padding: 0 !important;
    max-width: 100% !important;
    width: 100% !important;
  }
  [data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { display: block !important; }
  [data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] > * { margin-bottom: 0.75rem; }
  /* A new page before each section (st.header, st.subheader) but the first, which stays with the
     page's title; never inside a chart or a row of metrics. */
  [data-testid="stElementContainer"]:has(h2, h3) ~ [data-testid="stElementContainer"]:has(h2, h3) {
    break-before: page;
  }
  .stPlotlyChart, [class*="st-key-chart-"], [data-testid="stMetric"], [data-testid="stHorizontalBlock"] {
    break-inside: avoid;
  }
  /* Charts scaled to the paper's width: PRINT_SCRIPT gives each chart's drawing a viewBox of its
     size on screen (and the ratio), so the drawing shrinks with its box instead of running off it. */
  .stPlotlyChart, .stPlotlyChart > div, .stPlotlyChart .js-plotly-plot, .stPlotlyChart .plot-container {
    width: 100% !important;
    max-width: 100% !important;
    height: auto !important;
  }
  /* Columns stay side by side on paper, sharing the width (Streamlit's own print style stacks them). */
  [data-testid="stHorizontalBlock"] { display: flex !important; flex-wrap: nowrap !important; }
  [data-testid="stColumn"] { min-width: 0 !important; width: auto !important; }
  .stPlotlyChart .svg-container {
    width: 100% !important;
    height: auto !important;
    aspect-ratio: var(--print-ratio, 16 / 9);
  }
  .stPlotlyChart .svg-container > .main-svg, .stPlotlyChart .svg-container canvas {
    width: 100% !important;
    height: 100% !important;
  }
  [data-testid="stExpanderDetails"] { display: block !important; }
}
/* The element holding PRINT_SCRIPT shows nothing; without this it took a gap at the top of each page. */
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > script) { display: none; }
/* A metric label too long for its column wraps rather than ending in "…" (labels are kept short too). */
[data-testid="stMetricLabel"] *:not(svg, path) {
  white-space: normal !important;
  text-overflow: clip !important;
  overflow: visible !important;
}
</style>
"""

# Plotly draws a chart at its size on screen, in pixels, and nothing redraws it for the paper. Before
# printing, each drawing gets a viewBox of that size, so the print CSS can scale it to the page; after
# printing they go, so that Plotly's own redraws (a resized window) are not scaled by a stale box.
# Our own constant script, registered once per browser tab.
PRINT_SCRIPT = """
<script>
if (!window.channelHealthPrint) {
  window.channelHealthPrint = true;
  const boxes = () => document.querySelectorAll('.stPlotlyChart .svg-container');
  window.addEventListener('beforeprint', () => boxes().forEach((box) => {
    const drawing = box.querySelector(':scope > svg.main-svg');
    const width = Number(drawing?.getAttribute('width')), height = Number(drawing?.getAttribute('height'));
    if (!width || !height) return;
    box.style.setProperty('--print-ratio', `${width} / ${height}`);
    box.querySelectorAll(':scope > svg.main-svg').forEach(
      (svg) => svg.setAttribute('viewBox', `0 0 ${width} ${height}`));
  }));
  window.addEventListener('afterprint', () => boxes().forEach((box) => {
    box.style.removeProperty('--print-ratio');
    box.querySelectorAll(':scope > svg.main-svg').forEach((svg) => svg.removeAttribute('viewBox'));
  }));
}
</script>
"""

# The mode bar only while the pointer is on a chart: on a phone it otherwise sits on the plot's top.
CHART_CONFIG: dict[str, Any] = {"displayModeBar": "hover", "displaylogo": False, "responsive": True}

# Room at the top of a figure whose title is shown as text: the mode bar, when it shows, goes there.
_TOP_MARGIN = 32


def page_style() -> None:
    """Put the app's own CSS (print layout, metric labels) and print script on the page; app.py calls it each run."""
    st.html(PAGE_CSS)
    st.html(PRINT_SCRIPT, unsafe_allow_javascript=True)


# A figure from cached_figure() is the same object on every run: its title is split off once, not on every run
# (copying a figure and validating it again cost what caching the figure saved). Keyed by id, checked by identity.
_SPLIT: OrderedDict[int, tuple[go.Figure, str, go.Figure]] = OrderedDict()
_SPLIT_KEPT = 64  # as many as cached_figure keeps


def _forget_split() -> None:
    with FIGURE_LOCK:
        _SPLIT.clear()


ON_NEW_VERSIONS.append(_forget_split)  # the figures of older data are dropped from the cache: their copies too


def _split_title(fig: go.Figure) -> tuple[str, go.Figure]:
    """Give the figure's title and a copy without it (room at the top for the mode bar), once per figure."""
    # One thread at a time, and not while another builds a figure (FIGURE_LOCK): plotly makes its property
    # validators lazily, and figures made at once by several sessions raised "Invalid property specified for
    # object of type Scatter: 'link'" for a Sankey under load. Building is bound to the GIL anyway.
    with FIGURE_LOCK:
        kept = _SPLIT.get(id(fig))
        if kept is not None and kept[0] is fig:
            _SPLIT.move_to_end(id(fig))
            return kept[1], kept[2]
        title = fig.layout.title.text or ""
        untitled = go.Figure(fig)
        untitled.update_layout(title=None, margin={"t": _TOP_MARGIN})
        _SPLIT[id(fig)] = (fig, title, untitled)
        while len(_SPLIT) > _SPLIT_KEPT:
            _SPLIT.popitem(last=False)
    return title, untitled


def show_chart(fig: go.Figure, where: Any = st, key: str | None = None) -> None:
    """Show a figure at the container's width, its title as a line of text above it that wraps on any screen.

    Plotly draws a title on one line and cuts it at the figure's edge (and the mode bar covers its
    end on a phone); as text it wraps. The figure itself is left as it is (it may be cached and shared);
    the page gets a copy without the title. Title and chart stay together on a printed page.
    """
    title, untitled = _split_title(fig)
    digest = hashlib.sha1(f"{key}|{title}".encode()).hexdigest()[:12]
    box = where.container(key=f"chart-{digest}")
    if title:
        # Chart functions escape names for Plotly (&lt;b&gt;); here they are escaped for Markdown instead.
        box.markdown(f"**{markdown_literal(html.unescape(title))}**")
    box.plotly_chart(untitled, width="stretch", config=CHART_CONFIG, key=key)
