"""The Partner page's chart: one partner's revenue quarter by quarter."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.style import TIER_COLOURS, layout, plotly_literal, rows_to, span_of, tier_colour
from analytics.store.schema import ordered_tiers

__all__ = ["partner_history_bars"]


def partner_history_bars(frame: pd.DataFrame, partner_name: str, quarter: str | None = None) -> go.Figure:
    """Give a partner's revenue per quarter (to `quarter`, when given) coloured by its tier then (partner_history)."""
    if quarter is not None:
        frame = rows_to(frame, quarter)
    quarters = frame["quarter"].tolist()
    tiers = frame["tier"].where(frame["tier"].notna(), "Unknown")
    ordered = frame["tier"].notna() | (frame["revenue"] != 0) | (frame["deals"] > 0)
    fig = go.Figure()
    for tier in ordered_tiers(tiers[ordered]):
        part = frame[ordered & (tiers == tier)]
        fig.add_trace(
            go.Bar(
                x=part["quarter"],
                y=part["revenue"],
                name=plotly_literal(tier),
                marker_color=tier_colour(tier),
                hovertemplate=f"%{{x}} ({plotly_literal(tier)}): $%{{y:,.0f}}<extra></extra>",
            )
        )
    # Plotly leaves out categories without a bar: zero bars keep every quarter on the axis, so a gap
    # without orders shows as a gap.
    quiet = frame[~ordered]
    if not quiet.empty:
        fig.add_trace(
            go.Bar(
                x=quiet["quarter"],
                y=[0] * len(quiet),
                name="No orders",
                marker_color=TIER_COLOURS["Unknown"],
                showlegend=False,
                hovertemplate="%{x}: no orders<extra></extra>",
            )
        )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=quarters)
    fig.update_layout(barmode="relative")
    return layout(
        fig,
        f"{plotly_literal(partner_name)}: revenue per quarter, {span_of(frame['quarter'])} "
        "(USD, coloured by tier)",
        "Revenue (USD)",
        "Quarter",
    )
