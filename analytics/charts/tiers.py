"""The Tiers page's charts: each tier's share over time, the flow of partners between tiers, revenue concentration."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.style import GROWTH, HIGHLIGHT, layout, plotly_literal, span_of, tier_colour
from analytics.periods import quarters_to
from analytics.store.schema import ordered_tiers

__all__ = ["tier_share_over_time", "tier_flow_sankey", "concentration_bars"]


def tier_share_over_time(frame: pd.DataFrame, measure: str = "revenue") -> go.Figure:
    """Give each tier's share of the quarter's revenue (or partners) as stacked areas (tiers.tier_distribution)."""
    if measure not in ("revenue", "partners"):
        raise ValueError(f"measure must be 'revenue' or 'partners', not {measure!r}")
    column = f"{'revenue' if measure == 'revenue' else 'partner'}_share"
    what = "revenue" if measure == "revenue" else "partners with orders"
    fig = go.Figure()
    for tier in ordered_tiers(frame["tier"]):
        part = frame[frame["tier"] == tier].sort_values("quarter")
        fig.add_trace(
            go.Scatter(
                x=part["quarter"],
                y=part[column] * 100,
                name=plotly_literal(tier),
                mode="lines",
                stackgroup="tiers",
                line={"color": tier_colour(tier)},
                hovertemplate=f"{plotly_literal(tier)}: %{{y:.1f}} %<extra></extra>",
            )
        )
    return layout(
        fig,
        f"Share of {what} by tier recorded then, per quarter, {span_of(frame['quarter'])} (%)",
        f"Share of {what} (%)",
        "Quarter",
    )


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def tier_flow_sankey(flow: pd.DataFrame, from_quarter: str, to_quarter: str) -> go.Figure:
    """Give a Sankey of partners moving between tiers from one quarter to another (flow: tiers.tier_flow).

    Nodes and links are coloured by tier (a link by the tier it comes from; lapsed partners' links
    red); each node's label gives its partners ("Gold 2025Q4 (312)"), each link's hover the move's.
    """
    sources = list(dict.fromkeys(flow["source"]))
    targets = list(dict.fromkeys(flow["target"]))
    # Left and right nodes are distinct even when they share a tier name ("Gold" -> "Gold").
    left = {name: i for i, name in enumerate(sources)}
    right = {name: len(sources) + i for i, name in enumerate(targets)}
    colours = {"New": GROWTH, "Returned": GROWTH, "Lapsed": HIGHLIGHT}
    entering = ("New", "Returned")  # nodes without a tier before
    out_of = flow.groupby("source", sort=False)["partners"].sum()
    into = flow.groupby("target", sort=False)["partners"].sum()
    labels = [
        f"{plotly_literal(s)} {from_quarter} ({int(out_of[s]):,})" if s not in entering else f"{s} ({int(out_of[s]):,})"
        for s in sources
    ] + [
        f"{plotly_literal(t)} {to_quarter} ({int(into[t]):,})" if t != "Lapsed" else f"Lapsed ({int(into[t]):,})"
        for t in targets
    ]
    link_colours = [
        _rgba(HIGHLIGHT if t == "Lapsed" else colours.get(s, tier_colour(s)), 0.35)
        for s, t in zip(flow["source"], flow["target"], strict=True)
    ]
    fig = go.Figure(
        go.Sankey(
            node={
                "label": labels,
                "color": [colours.get(n, tier_colour(n)) for n in sources + targets],
                "line": {"width": 0},
                "pad": 18,
                "thickness": 18,
                "hovertemplate": "%{label}<extra></extra>",
            },
            link={
                "source": [left[s] for s in flow["source"]],
                "target": [right[t] for t in flow["target"]],
                "value": flow["partners"].tolist(),
                "color": link_colours,
                "customdata": [
                    [s if s in entering else f"{plotly_literal(s)} {from_quarter}",
                     t if t == "Lapsed" else f"{plotly_literal(t)} {to_quarter}"]
                    for s, t in zip(flow["source"], flow["target"], strict=True)
                ],
                "hovertemplate": "%{customdata[0]} → %{customdata[1]}: %{value:,} partners<extra></extra>",
            },
            textfont={"size": 13},
        )
    )
    fig.update_layout(
        title={"text": f"Recorded tier moves, {from_quarter} to {to_quarter} (latest recorded tier in the 4 quarters "
                       "to each)",
               "x": 0, "xanchor": "left"},
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    return fig


def concentration_bars(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give per tier the revenue share of its largest 1 %, 10 %, 20 % of partners (tiers.revenue_concentration)."""
    levels = [c for c in frame.columns if c.startswith("top_") and c.endswith("pct_share")]
    fig = go.Figure()
    blues = ["#08519c", "#4292c6", "#9ecae1"]
    for column, colour in zip(levels, blues, strict=False):
        k = column.removeprefix("top_").removesuffix("pct_share")
        fig.add_trace(
            go.Bar(
                x=[plotly_literal(t) for t in frame["tier"]],
                y=frame[column] * 100,
                name=f"Top {k} % of partners",
                marker_color=colour,
                hovertemplate=f"Top {k} %: %{{y:.1f}} % of revenue<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    return layout(
        fig,
        f"Share of each tier's revenue held by its largest partners, {quarters_to(quarter)} (%)",
        "Share of the tier's revenue (%)",
    )
