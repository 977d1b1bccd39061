"""Plotly figures for the pages: each takes a frame from the analyses and gives a go.Figure.

One module per page family (overview, tiers, dropoffs, engagement, partner, risk, review, recruits), with
style (colours, layout, labels) and common (box plots, the ranked bar of partners) beneath them. This
module is the package's public face: every chart by name, so a page calls `charts.tier_flow_sankey(...)`.
"""

from analytics.charts.common import BOX_NOTE, box_statistics, top_partners_bar
from analytics.charts.crowd import DOTS_SHOWN
from analytics.charts.dropoffs import bridge_axis, change_distribution_box, dropoffs_bar, revenue_bridge_waterfall
from analytics.charts.engagement import (
    breadth_scatter,
    deals_histogram,
    oversell_bar,
    retention_histogram,
    segment_focus_box,
)
from analytics.charts.overview import (
    new_and_lapsed_bars,
    partners_by_tier_bar,
    revenue_by_tier_bars,
    tiers_against_year_before_bars,
)
from analytics.charts.partner import partner_history_bars
from analytics.charts.recruits import cohort_revenue_lines, distributor_tier_bars, lower_tier_share_lines
from analytics.charts.review import ACTION_COLOURS, review_actions_bar
from analytics.charts.risk import drivers_bar, reliability_chart, risk_scatter
from analytics.charts.style import TIER_COLOURS, plotly_literal
from analytics.charts.tiers import concentration_bars, tier_flow_sankey, tier_share_over_time

__all__ = [
    "TIER_COLOURS",
    "ACTION_COLOURS",
    "BOX_NOTE",
    "DOTS_SHOWN",
    "plotly_literal",
    "partners_by_tier_bar",
    "tiers_against_year_before_bars",
    "revenue_by_tier_bars",
    "new_and_lapsed_bars",
    "tier_share_over_time",
    "tier_flow_sankey",
    "concentration_bars",
    "top_partners_bar",
    "dropoffs_bar",
    "revenue_bridge_waterfall",
    "bridge_axis",
    "box_statistics",
    "change_distribution_box",
    "deals_histogram",
    "breadth_scatter",
    "oversell_bar",
    "segment_focus_box",
    "partner_history_bars",
    "risk_scatter",
    "reliability_chart",
    "drivers_bar",
    "review_actions_bar",
    "distributor_tier_bars",
    "lower_tier_share_lines",
    "retention_histogram",
    "cohort_revenue_lines",
]
