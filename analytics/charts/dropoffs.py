"""The Revenue drop-offs page's charts: the largest drop-offs, the bridge from one period's revenue to the
other's, and the spread of changes per tier."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.common import box_label, box_statistics, top_partners_bar
from analytics.charts.style import GROWTH, HIGHLIGHT, NEUTRAL, layout, plotly_literal, tier_colour
from analytics.formatting import money
from analytics.periods import quarters_to
from analytics.store.schema import ordered_tiers

__all__ = ["dropoffs_bar", "revenue_bridge_waterfall", "bridge_axis", "change_distribution_box"]


def dropoffs_bar(frame: pd.DataFrame, quarter: str, top: int = 15, *, compared: str | None = None) -> go.Figure:
    """Give the `top` partners by revenue lost, largest at the top (frame: dropoffs.significant_dropoffs).

    `compared` names the two periods ("2025Q1–2025Q2 against 2024Q1–2024Q2") when they are not the 4
    quarters to `quarter` against the 4 before.
    """
    shown = min(top, len(frame))
    return top_partners_bar(
        frame,
        "revenue_lost",
        "change_t4",
        "{:+.0%}",
        HIGHLIGHT,
        f"Top {shown} partners by revenue lost: {compared or f'{quarters_to(quarter)} against the 4 before'} (USD)",
        "Revenue lost (USD)",
        top,
        hover_word="lost ",
    )


def bridge_axis(levels: list[float]) -> tuple[float, float]:
    """Give the value axis's ends for a bridge through `levels`: the change fills the chart, the start is not zero.

    The lowest level less half the range it spans (so the smallest step still shows), the highest
    plus a fifth; rounded outwards to a round number, never below zero when every level is positive.
    The board pack's bridge and the Revenue drop-offs page's waterfall both use it.
    """
    low, high = min(levels), max(levels)
    span = max(high - low, abs(high) * 0.02, 1.0)
    step = 10 ** math.floor(math.log10(span / 2))
    bottom = math.floor((low - span / 2) / step) * step
    top = math.ceil((high + span / 5) / step) * step
    return (max(bottom, 0.0) if low >= 0 else bottom), top


def _bridge_levels(amounts: list[float]) -> list[float]:
    # The heights a waterfall passes through: each total, and the running sum before and after each step.
    levels, running = [], 0.0
    for i, amount in enumerate(amounts):
        if i in (0, len(amounts) - 1):
            running = amount
            levels.append(amount)
        else:
            levels += [running, running + amount]
            running += amount
    return levels


def revenue_bridge_waterfall(frame: pd.DataFrame, quarter: str, *, compared: str | None = None) -> go.Figure:
    """Give the revenue bridge from the previous 4 quarters to the last 4 (frame: dropoffs.revenue_bridge).

    `compared` names other periods, as in dropoffs_bar. Each bar carries its amount ("$1.72B" for the
    two totals, "+$41.2M" / "-$38.0M" for the steps).
    """
    last = len(frame) - 1
    measure = ["absolute" if i in (0, last) else "relative" for i in range(len(frame))]
    text = [
        money(amount) if kind == "absolute" else ("+" if amount >= 0 else "") + money(amount)
        for kind, amount in zip(measure, frame["amount"], strict=True)
    ]
    fig = go.Figure(
        go.Waterfall(
            x=frame["component"],
            y=frame["amount"],
            measure=measure,
            text=text,
            textposition="outside",
            cliponaxis=False,
            increasing={"marker": {"color": GROWTH}},
            decreasing={"marker": {"color": HIGHLIGHT}},
            totals={"marker": {"color": NEUTRAL}},
            connector={"line": {"color": "#969696"}},
            hovertemplate="%{x}: $%{y:,.0f}<extra></extra>",
        )
    )
    # The axis frames the change, not zero: a 2 % change drawn from zero looks like nothing.
    low, high = bridge_axis(_bridge_levels(frame["amount"].tolist())) if len(frame) else (0.0, 1.0)
    fig.update_yaxes(range=[low, high])
    return layout(
        fig,
        f"Revenue bridge, {compared or f'{quarters_to(quarter)} against the 4 before'}, by kind of partner (USD)",
        f"Revenue (USD), axis from {money(low)}" if low > 0 else "Revenue (USD)",
    ).update_layout(hovermode="closest", showlegend=False, margin={"t": 70})


def change_distribution_box(
    frame: pd.DataFrame, quarter: str, by: str = "tier", *, compared: str | None = None,
) -> go.Figure:
    """Give a box per tier (or region) of partners' revenue change, 4 quarters to `quarter` against the 4 before.

    `compared` names other periods, as in dropoffs_bar.

    frame: dropoffs.change_distribution. Each box is drawn from box_statistics (quartiles and
    whiskers of all the group's partners; points beyond the whiskers are not drawn), labelled with
    its number of partners. The axis stops at the 95th percentile (at least +100 %) so a few
    partners that grew from very little do not flatten every box.
    """
    fig = go.Figure()
    stats = box_statistics(frame, "group", "change_t4").set_index("group")
    groups = ordered_tiers(stats.index) if by == "tier" else sorted(stats.index)
    for group, row in zip(groups, stats.loc[groups].itertuples(), strict=True):
        fig.add_trace(
            go.Box(
                x=[box_label(group, row.partners)],
                q1=[row.q1 * 100],
                median=[row.median * 100],
                q3=[row.q3 * 100],
                lowerfence=[row.lower_whisker * 100],
                upperfence=[row.upper_whisker * 100],
                name=plotly_literal(group),
                marker_color=tier_colour(group) if by == "tier" else NEUTRAL,
            )
        )
    if not frame.empty:
        upper = max(100.0, float(frame["change_t4"].quantile(0.95)) * 100)
        fig.update_yaxes(range=[-105, upper * 1.05])
    fig.update_yaxes(hoverformat="+.0f")
    fig.update_layout(showlegend=False)
    return layout(
        fig,
        f"Change in each partner's revenue by {by}: {compared or f'{quarters_to(quarter)} against the 4 before'} (%)",
        "Revenue change (%)",
    ).update_layout(hovermode="closest")
