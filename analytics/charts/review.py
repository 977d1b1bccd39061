"""The Annual review's chart: partners per recommended action, in the actions' colours."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.style import layout, room_for_labels

__all__ = ["ACTION_COLOURS", "review_actions_bar"]


ACTION_COLOURS = {
    "promote": "#238b45",
    "retain": "#6baed6",
    "demote": "#fd8d3c",
    "provisional continuation": "#9e9ac8",
    "terminate": "#cb181d",
}


def review_actions_bar(frame: pd.DataFrame, as_of: str) -> go.Figure:
    """Give partners per recommended action, a bar group per scenario (frame: action_counts plus `scenario`)."""
    fig = go.Figure()
    for scenario, part in frame.groupby("scenario", sort=False):
        fig.add_trace(go.Bar(
            x=part["action"], y=part["partners"], name=str(scenario),
            marker_color=[ACTION_COLOURS.get(a, "#999") for a in part["action"]] if frame["scenario"].nunique() == 1
            else None,
            customdata=part[["revenue_trailing", "share_of_partners"]],
            text=part["partners"].map("{:,}".format), textposition="outside", cliponaxis=False,
            hovertemplate="%{x}: %{y:,} partners (%{customdata[1]:.1%}), "
                          "revenue $%{customdata[0]:,.0f} in the 4 quarters<extra>%{fullData.name}</extra>",
        ))
    fig = layout(fig, f"Recommended actions, review as of {as_of} (partners with orders in the 4 quarters to it)",
                  "Partners")
    room_for_labels(fig, float(frame["partners"].max()) if len(frame) else 0.0)
    return fig.update_layout(barmode="group", hovermode="closest")
