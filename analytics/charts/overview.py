"""The Overview page's charts: partners and revenue by tier in a quarter and a year before, new and lapsed partners."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.style import GROWTH, HIGHLIGHT, TIER_COLOURS, layout, plotly_literal, room_for_labels, rows_to
from analytics.periods import quarters_to
from analytics.store.schema import ordered_tiers

__all__ = ["partners_by_tier_bar", "tiers_against_year_before_bars", "revenue_by_tier_bars", "new_and_lapsed_bars"]


def partners_by_tier_bar(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give a bar per tier with its active partners (frame: tier, partners)."""
    order = ordered_tiers(frame["tier"])
    frame = frame.set_index("tier").loc[order].reset_index()
    fig = go.Figure(
        go.Bar(
            x=[plotly_literal(t) for t in frame["tier"]],
            y=frame["partners"],
            marker_color=[TIER_COLOURS.get(t, "#bdbdbd") for t in frame["tier"]],
            text=[f"{n:,}" for n in frame["partners"]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y:,} partners<extra></extra>",
        )
    )
    room_for_labels(fig, float(frame["partners"].max()) if len(frame) else 0.0)
    return layout(fig, f"Active partners per recorded tier, {quarters_to(quarter)}", "Partners").update_layout(
        showlegend=False)


def tiers_against_year_before_bars(frame: pd.DataFrame, quarter: str, year_before: str) -> go.Figure:
    """Give a pair of bars per tier, its active partners a year before (grey) and now, the net change over each pair.

    `frame` is analytics.analyses.messages.tier_change [tier, partners_before, partners, net_change, ...].
    """
    tiers = [plotly_literal(t) for t in frame["tier"]]
    fig = go.Figure([
        go.Bar(x=tiers, y=frame["partners_before"], name=f"{year_before}", marker_color="#bdbdbd",
               hovertemplate=f"%{{x}}, {year_before}: %{{y:,}} partners<extra></extra>"),
        go.Bar(x=tiers, y=frame["partners"], name=f"{quarter}",
               marker_color=[TIER_COLOURS.get(t, "#bdbdbd") for t in frame["tier"]],
               text=[f"{n:+,}" for n in frame["net_change"]], textposition="outside", cliponaxis=False,
               textfont={"color": [GROWTH if n > 0 else HIGHLIGHT if n < 0 else "#969696"
                                   for n in frame["net_change"]]},
               hovertemplate=f"%{{x}}, {quarter}: %{{y:,}} partners<extra></extra>"),
    ])
    largest = float(frame[["partners_before", "partners"]].to_numpy().max()) if len(frame) else 0.0
    room_for_labels(fig, largest)
    return layout(fig, f"Active partners per recorded tier in the {quarters_to(quarter)} and to {year_before}, "
                        "with the net change", "Partners").update_layout(barmode="group")


def revenue_by_tier_bars(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give revenue per quarter to `quarter` stacked by tier (frame: quarter, tier, revenue)."""
    frame = rows_to(frame, quarter)
    fig = go.Figure()
    for tier in ordered_tiers(frame["tier"]):
        part = frame[frame["tier"] == tier]
        fig.add_trace(
            go.Bar(
                x=part["quarter"],
                y=part["revenue"],
                name=plotly_literal(tier),
                marker_color=TIER_COLOURS.get(tier, "#bdbdbd"),
                hovertemplate=f"{plotly_literal(tier)}: $%{{y:,.0f}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    return layout(fig, f"Revenue per quarter by tier recorded then, to {quarter} (USD)", "Revenue (USD)")


def new_and_lapsed_bars(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give new and lapsed partners per quarter to `quarter` (frame: quarter, new_partners, lapsed_partners)."""
    frame = rows_to(frame, quarter)
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
    return layout(fig, f"New and lapsed partners per quarter, to {quarter}", "Partners")
