"""How every chart looks: the tier colours and highlight colours, the common layout, partner and quarter labels,
and data text made safe for plotly (plotly_literal)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.periods import quarter_span

__all__ = [
    "TIER_COLOURS",
    "plotly_literal",
    "LEGEND_BELOW",
    "layout",
    "rows_to",
    "room_for_labels",
    "HIGHLIGHT",
    "GROWTH",
    "NEUTRAL",
    "tier_colour",
    "partner_labels",
    "span_of",
]


# Highest tier darkest, so the pyramid reads at a glance; partners without a tier in grey. No shade
# so dark that it vanishes on the dark theme's background, nor so light that it does on white.
TIER_COLOURS = {
    "Platinum": "#1a4f9c",
    "Gold": "#2b7bba",
    "Silver": "#4292c6",
    "Bronze": "#9ecae1",
    "Authorized": "#c6dbef",
    "Unknown": "#bdbdbd",
}

# A legend below the plot, in rows: at the side it took half the width of a phone's screen.
LEGEND_BELOW = {"orientation": "h", "x": 0, "xanchor": "left", "yref": "container", "y": 0, "yanchor": "bottom",
                 "title_text": ""}


def layout(fig: go.Figure, title: str, y_title: str, x_title: str = "") -> go.Figure:
    # No colours for the paper, the plot or the fonts: the page's theme (light or dark) gives them.
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "automargin": True},
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend=LEGEND_BELOW,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        hovermode="x unified",
    )
    return fig


def rows_to(frame: pd.DataFrame, quarter: str) -> pd.DataFrame:
    # A chart as of a quarter draws nothing after it, whatever the frame holds.
    return frame[frame["quarter"] <= quarter]


def room_for_labels(fig: go.Figure, largest: float, axis: str = "y") -> None:
    # Labels outside the bars are drawn past the axis's end (cliponaxis off); a quarter more range
    # keeps the longest on the figure instead of cut at its edge ("-9…").
    if largest > 0:
        (fig.update_yaxes if axis == "y" else fig.update_xaxes)(range=[0, largest * 1.25])


HIGHLIGHT = "#d62728"
GROWTH = "#2ca02c"
NEUTRAL = "#6baed6"


def tier_colour(tier: str) -> str:
    return TIER_COLOURS.get(tier, TIER_COLOURS["Unknown"])


def plotly_literal(text: object) -> str:
    """Give text that Plotly shows as written: it draws <b>, <i>, <br>, <a> and friends in any label."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def partner_labels(frame: pd.DataFrame, longest_name: int | None = None) -> np.ndarray:
    # Names repeat across partners (and can be missing); the id keeps each bar its own category.
    # On an axis, names are cut to `longest_name` characters: long ones left the bars a sliver of a
    # phone's width. Cut before escaping, so that no entity is cut in half.
    names = frame["partner_name"].where(frame["partner_name"].notna(), frame["partner_id"]).astype("str")
    if longest_name is not None:
        names = names.where(names.str.len() <= longest_name, names.str[: longest_name - 1].str.rstrip() + "…")
    labels = names + " (" + frame["partner_id"].astype("str") + ")"
    # Names come from files: escaped, so that a name holding <b> shows the tag, not bold text.
    labels = labels.str.replace("&", "&amp;").str.replace("<", "&lt;").str.replace(">", "&gt;")
    # A fixed-width text array, not objects: plotly deep-copies a trace's arrays, element by element
    # for objects, which took a quarter of a second for a scatter of 60,000 partners.
    return labels.to_numpy(dtype="str")


def span_of(quarters: pd.Series) -> str:
    if quarters.empty:
        return "no quarters"
    return quarter_span(quarters.min(), quarters.max())
