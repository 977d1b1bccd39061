"""The Recruits and Distributors pages' charts: each distributor's mix of partner tiers against the program's
target, recruit cohorts' revenue."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.style import HIGHLIGHT, layout, plotly_literal, span_of, tier_colour
from analytics.store.schema import ordered_tiers

__all__ = ["distributor_tier_bars", "lower_tier_share_lines", "cohort_revenue_lines"]


def distributor_tier_bars(mix: pd.DataFrame, quarter: str, measure: str = "revenue") -> go.Figure:
    """Give each distributor's revenue (or partners) in `quarter` stacked by tier (distributor_tier_mix)."""
    if measure not in ("revenue", "partners"):
        raise ValueError(f"measure must be 'revenue' or 'partners', not {measure!r}")
    part = mix[mix["quarter"] == quarter]
    order = part.groupby("distributor")["revenue"].sum().sort_values(ascending=False).index
    fig = go.Figure()
    for tier in ordered_tiers(part["tier"]):
        rows = part[part["tier"] == tier].set_index("distributor").reindex(order)
        fig.add_trace(
            go.Bar(
                x=[plotly_literal(d) for d in order],
                y=rows[measure].fillna(0),
                name=plotly_literal(tier),
                marker_color=tier_colour(tier),
                hovertemplate=f"{plotly_literal(tier)}: "
                              + ("$%{y:,.0f}" if measure == "revenue" else "%{y:,} partners") + "<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    if measure == "revenue":
        return layout(fig, f"Revenue per distributor by partner tier, {quarter} (USD)", "Revenue (USD)")
    return layout(fig, f"Partners with orders per distributor by tier, {quarter}", "Partners")


def lower_tier_share_lines(shares: pd.DataFrame, target: float) -> go.Figure:
    """Give each distributor's lower-tier share of revenue per quarter with the program's target as a dashed line.

    shares: distributors.lower_tier_shares; target: a share between 0 and 1.
    """
    fig = go.Figure()
    for distributor, part in shares.groupby("distributor", sort=True):
        part = part.sort_values("quarter")
        name = plotly_literal(distributor)
        fig.add_trace(
            go.Scatter(
                x=part["quarter"], y=part["lower_tier_share"] * 100, name=name, mode="lines+markers",
                hovertemplate=f"{name}: %{{y:.1f}} %<extra></extra>",
            )
        )
    fig.add_hline(y=target * 100, line_dash="dash", line_color=HIGHLIGHT,
                  annotation_text=f"Program target {target:.0%}", annotation_position="top left")
    fig.update_yaxes(range=[0, 100])
    return layout(
        fig,
        "Share of revenue through Silver, Bronze and Authorized partners (against Gold and Platinum), "
        f"per quarter, {span_of(shares['quarter'])} (%)",
        "Lower-tier share of revenue (%)",
        "Quarter",
    )


def cohort_revenue_lines(frame: pd.DataFrame, as_of: str) -> go.Figure:
    """Give a line per cohort of its revenue by quarter since joining (frame: recruits.cohort_revenue).

    Later cohorts are drawn darker, so the youngest recruits stand out against the ones before them.
    """
    cohorts = sorted(frame["cohort"].unique())
    fig = go.Figure()
    for i, cohort in enumerate(cohorts):
        part = frame[frame["cohort"] == cohort]
        recruited = int(part["recruited"].iloc[0])
        shade = 0.35 + 0.65 * (i + 1) / len(cohorts)
        fig.add_trace(
            go.Scatter(
                x=part["quarters_since_joining"],
                y=part["revenue"],
                mode="lines+markers",
                name=f"{cohort} ({recruited:,} recruit{'' if recruited == 1 else 's'})",
                line={"color": f"rgba(33, 113, 181, {shade:.2f})"},
                hovertemplate=f"{cohort}: $%{{y:,.0f}}<extra></extra>",
            )
        )
    fig.update_xaxes(dtick=1)
    return layout(
        fig,
        f"Revenue per cohort of recruits by quarter since joining, to {as_of} (USD)",
        "Revenue in the quarter (USD)",
        "Quarters since joining (0 = the quarter of the first order)",
    )
