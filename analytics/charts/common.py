"""Chart pieces more than one page family draws: box plots from precomputed statistics (the Drop-offs and
Engagement pages) and the ranked bar of partners (drop-offs, oversold products)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.style import layout, partner_labels, plotly_literal, room_for_labels
from analytics.frames import empty_frame

__all__ = ["BOX_NOTE", "top_partners_bar", "box_statistics", "box_label"]


def top_partners_bar(
    frame: pd.DataFrame,
    value: str,
    note: str,
    note_format: str,
    colour: str,
    title: str,
    x_title: str,
    top: int,
    hover_word: str = "",
) -> go.Figure:
    """Give a horizontal bar per partner for the `top` largest `value`, largest at the top.

    Each bar is labelled with its row's `note` column in `note_format` (blank where missing); the
    hover shows the partner, the value in USD, `hover_word` and that label.
    """
    if top < 1:
        raise ValueError(f"top must be 1 or more, not {top}")
    shown = frame.sort_values(value, ascending=False).head(top)
    fig = go.Figure(
        go.Bar(
            x=shown[value],
            y=partner_labels(shown, longest_name=24),
            orientation="h",
            marker_color=colour,
            text=[note_format.format(v) if pd.notna(v) else "" for v in shown[note]],
            textposition="outside",
            cliponaxis=False,
            customdata=partner_labels(shown),
            hovertemplate="%{customdata}: $%{x:,.0f} " + hover_word + "(%{text})<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    room_for_labels(fig, float(shown[value].max()) if len(shown) else 0.0, axis="x")
    return layout(fig, title, "", x_title).update_layout(hovermode="closest")


def box_statistics(frame: pd.DataFrame, by: str | list[str], value: str) -> pd.DataFrame:
    """Give per group the partners and the five numbers a box plot of `value` draws: [*by, partners, q1, ...].

    q1, median and q3 are the 25th, 50th and 75th percentiles (linear interpolation); lower_whisker
    and upper_whisker are the lowest and highest values within 1.5 times the box's height (q3 - q1)
    of the box, where plotly ends the whiskers when it is given the points. Missing values are left
    out. Groups in the order they first appear.

    The box charts draw from these instead of every partner's value, so a figure holds five numbers
    a box rather than tens of thousands of points for the browser to sort.
    """
    keys = [by] if isinstance(by, str) else list(by)
    columns = [*keys, "partners", "q1", "median", "q3", "lower_whisker", "upper_whisker"]
    data = frame.loc[frame[value].notna(), [*keys, value]]
    if data.empty:
        return empty_frame(columns, {c: "float64" for c in columns[len(keys):]} | {"partners": "int64"})
    grouped = data.groupby(keys, sort=False, observed=True)[value]
    stats = grouped.quantile([0.25, 0.5, 0.75]).unstack()
    stats.columns = ["q1", "median", "q3"]
    stats.insert(0, "partners", grouped.size())
    reach = 1.5 * (stats["q3"] - stats["q1"])
    bounds = pd.DataFrame({"low": stats["q1"] - reach, "high": stats["q3"] + reach})
    within = data.join(bounds, on=keys)
    within = within[within[value].between(within["low"], within["high"])].groupby(keys, sort=False)[value]
    stats["lower_whisker"], stats["upper_whisker"] = within.min(), within.max()
    return stats.reset_index()[columns]


# What the boxes of box_statistics show, for a caption under the chart.
BOX_NOTE = (
    "Each box spans the middle half of its partners, the line in it their median; the whiskers reach the "
    "lowest and highest partner within 1.5 times the box's height, and partners beyond them are not drawn."
)


def box_label(group: str, partners: int) -> str:
    return f"{plotly_literal(group)}<br>{partners:,} partner{'' if partners == 1 else 's'}"
