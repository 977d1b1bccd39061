"""How the pages look beyond Streamlit's defaults: the app's print and narrow-screen CSS, and charts with their titles.

Only our own constant CSS goes through st.html here; nothing from the data ever does.
"""

from __future__ import annotations

import hashlib
import html
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from analytics.formatting import markdown_literal

__all__ = ["PAGE_CSS", "CHART_CONFIG", "page_style", "show_chart"]

# Print: Streamlit lays the app out as a full-height box whose main area scrolls, so a printout held
# only what fitted on screen; the chrome (sidebar, header, toolbars) is of no use on paper; flex
# columns of blocks do not break between pages in Chromium, plain blocks do.
# Narrow screens: Streamlit stacks columns below 640 px; the metric labels may wrap there.
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
  /* A new page before each section (st.subheader), never inside a chart or a metric. */
  [data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]:has(h2, h3) {
    break-before: page;
  }
  .stPlotlyChart, [class*="st-key-chart-"], [data-testid="stMetric"], [data-testid="stHorizontalBlock"] {
    break-inside: avoid;
  }
  .stPlotlyChart, .stPlotlyChart .js-plotly-plot, .stPlotlyChart .plot-container,
  .stPlotlyChart .svg-container {
    max-width: 100% !important;
  }
  .stPlotlyChart .main-svg { max-width: 100%; height: auto; }
  [data-testid="stExpanderDetails"] { display: block !important; }
}
@media (max-width: 640px) {
  [data-testid="stMetricLabel"] p { white-space: normal !important; }
}
</style>
"""

# The mode bar only while the pointer is on a chart: on a phone it otherwise sits on the plot's top.
CHART_CONFIG: dict[str, Any] = {"displayModeBar": "hover", "displaylogo": False, "responsive": True}

# Room at the top of a figure whose title is shown as text: the mode bar, when it shows, goes there.
_TOP_MARGIN = 32


def page_style() -> None:
    """Put the app's own CSS (print layout, narrow screens) on the page; app.py calls it on every run."""
    st.html(PAGE_CSS)


def show_chart(fig: go.Figure, where: Any = st, key: str | None = None) -> None:
    """Show a figure at the container's width, its title as a line of text above it that wraps on any screen.

    Plotly draws a title on one line and cuts it at the figure's edge (and the mode bar covers its
    end on a phone); as text it wraps. The figure itself is left as it is (it may be cached); the
    page gets a copy without the title. Title and chart stay together on a printed page.
    """
    spec = fig.to_dict()
    layout = spec.setdefault("layout", {})
    title = (layout.pop("title", None) or {}).get("text") or ""
    layout["margin"] = {**layout.get("margin", {}), "t": _TOP_MARGIN}
    digest = hashlib.sha1(f"{key}|{title}".encode()).hexdigest()[:12]
    box = where.container(key=f"chart-{digest}")
    if title:
        # Chart functions escape names for Plotly (&lt;b&gt;); here they are escaped for Markdown instead.
        box.markdown(f"**{markdown_literal(html.unescape(title))}**")
    box.plotly_chart(spec, width="stretch", config=CHART_CONFIG, key=key)
