"""Plotly figures for the pages: each takes a frame from analytics.queries and gives a go.Figure."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.schema import TIERS

__all__ = ["TIER_COLOURS", "tier_order", "partners_by_tier_bar", "revenue_by_tier_bars", "new_and_lapsed_bars"]

# Highest tier darkest, so the pyramid reads at a glance; partners without a tier in grey.
TIER_COLOURS = {
    "Platinum": "#08306b",
    "Gold": "#2171b5",
    "Silver": "#4292c6",
    "Bronze": "#9ecae1",
    "Authorized": "#c6dbef",
    "Unknown": "#bdbdbd",
}


def tier_order(tiers: pd.Series | list[str]) -> list[str]:
    """Give the tiers present, highest first, unknown tiers after the known ones."""
    present = list(dict.fromkeys(tiers))
    return [t for t in TIERS if t in present] + sorted(t for t in present if t not in TIERS)


def _layout(fig: go.Figure, title: str, y_title: str, x_title: str = "") -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend_title_text="",
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        hovermode="x unified",
    )
    return fig


def partners_by_tier_bar(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give a bar per tier with its active partners (frame: tier, partners)."""
    order = tier_order(frame["tier"])
    frame = frame.set_index("tier").loc[order].reset_index()
    fig = go.Figure(
        go.Bar(
            x=frame["tier"],
            y=frame["partners"],
            marker_color=[TIER_COLOURS.get(t, "#bdbdbd") for t in frame["tier"]],
            text=frame["partners"],
            textposition="outside",
            hovertemplate="%{x}: %{y:,} partners<extra></extra>",
        )
    )
    return _layout(fig, f"Active partners per tier (ordered in the 4 quarters to {quarter})", "Partners")


def revenue_by_tier_bars(frame: pd.DataFrame) -> go.Figure:
    """Give revenue per quarter stacked by tier (frame: quarter, tier, revenue)."""
    fig = go.Figure()
    for tier in tier_order(frame["tier"]):
        part = frame[frame["tier"] == tier]
        fig.add_trace(
            go.Bar(
                x=part["quarter"],
                y=part["revenue"],
                name=tier,
                marker_color=TIER_COLOURS.get(tier, "#bdbdbd"),
                hovertemplate=f"{tier}: $%{{y:,.0f}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    return _layout(fig, "Revenue per quarter by tier (USD)", "Revenue (USD)")


def new_and_lapsed_bars(frame: pd.DataFrame) -> go.Figure:
    """Give new and lapsed partners per quarter side by side (frame: quarter, new_partners, lapsed_partners)."""
    fig = go.Figure(
        [
            go.Bar(x=frame["quarter"], y=frame["new_partners"], name="New (first order ever)", marker_color="#2ca02c"),
            go.Bar(
                x=frame["quarter"],
                y=frame["lapsed_partners"],
                name="Lapsed (no order for 4 quarters)",
                marker_color="#d62728",
            ),
        ]
    )
    fig.update_layout(barmode="group")
    return _layout(fig, "New and lapsed partners per quarter", "Partners")
