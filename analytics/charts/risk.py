"""The Partners at risk and Model pages' charts: risk against revenue, the model's reliability, what drives
its scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts.crowd import add_shading, crowd_note, dotted
from analytics.charts.style import layout, partner_labels, plotly_literal, tier_colour
from analytics.formatting import PROBABILITY_CEILING, PROBABILITY_FLOOR, money, probability_text
from analytics.periods import span_after, trailing_span
from analytics.store.schema import ordered_tiers

__all__ = ["risk_scatter", "reliability_chart", "drivers_bar"]


def risk_scatter(frame: pd.DataFrame, quarter: str, horizon: int) -> go.Figure:
    """Give churn probability against revenue at stake per partner, by tier (frame: analytics.model.fit scores).

    Revenue on a log axis: the channel spans five orders of magnitude and the big partners at risk
    (top right) are the ones to see.
    """
    fig = go.Figure()
    frame = frame[frame["revenue_at_stake"] > 0]  # a log axis has no place for zero or net credits
    # Beyond DOTS_SHOWN partners, the dots are those with the most revenue expected to be lost (the top right).
    dots = dotted(frame, frame["revenue_at_stake"] * frame["churn_probability"])
    if len(dots) < len(frame):
        low, high = float(frame["revenue_at_stake"].min()), float(frame["revenue_at_stake"].max())
        add_shading(fig, frame["revenue_at_stake"], frame["churn_probability"],
                    np.geomspace(low, high * 1.0001, 41), np.linspace(0, 1, 21), money, probability_text)
    tiers = dots["tier"].fillna("Unknown")
    for tier in ordered_tiers(tiers):
        part = dots[tiers == tier]
        fig.add_trace(
            go.Scatter(
                x=part["revenue_at_stake"],
                y=part["churn_probability"],
                mode="markers",
                name=plotly_literal(tier),
                marker={"color": tier_colour(tier), "size": 6, "opacity": 0.7,
                        "line": {"width": 0.4, "color": "rgba(128, 128, 128, 0.6)"}},
                text=partner_labels(part),
                # The probability in words, as everywhere else: never "100 %" or "0 %".
                customdata=np.array([[revenue, probability_text(p)] for revenue, p
                                     in zip(part["revenue_at_stake"], part["churn_probability"], strict=True)],
                                    dtype=object).reshape(-1, 2),
                hovertemplate="%{text}<br>revenue $%{customdata[0]:,.0f}<br>churn probability %{customdata[1]}"
                              "<extra></extra>",
            )
        )
    stake = trailing_span(quarter, horizon)
    ahead = span_after(quarter, horizon)
    fig = layout(fig, f"Churn probability in {ahead} against revenue at stake, {stake}"
                      + crowd_note(len(dots), len(frame), "with the most revenue expected to be lost"),
                  f"Churn probability, {ahead}", f"Revenue at stake, {stake} (USD, log scale)")
    fig.update_xaxes(type="log")
    # Ticks within the range probabilities are written in: no "0 %" or "100 %" on the axis either.
    ticks = [PROBABILITY_FLOOR, 0.25, 0.5, 0.75, PROBABILITY_CEILING]
    fig.update_yaxes(range=[0, 1.02], tickvals=ticks, ticktext=[probability_text(t) for t in ticks])
    return fig.update_layout(hovermode="closest")


def reliability_chart(frame: pd.DataFrame, target: str, test_quarters: str) -> go.Figure:
    """Give predicted against observed rates per probability bin for each candidate (frame: Evaluation.reliability)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                             line={"dash": "dot", "color": "#999"}, hoverinfo="skip"))
    for candidate, part in frame.groupby("candidate", sort=False):
        fig.add_trace(go.Scatter(
            x=part["predicted"], y=part["observed"], mode="lines+markers", name=str(candidate),
            customdata=part["partners"],
            hovertemplate="predicted %{x:.1%}, observed %{y:.1%} (%{customdata:,} partners)<extra></extra>",
        ))
    fig = layout(fig, f"Reliability of the {target} probabilities, test cutoff {test_quarters}",
                  f"Observed {target} rate", f"Predicted {target} probability (bins of equal size)")
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return fig.update_layout(hovermode="closest")


def drivers_bar(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give how much each reason moves partners' churn probability on average (frame: ModelReport.drivers)."""
    ordered = frame.sort_values("mean_effect")
    fig = go.Figure(go.Bar(
        x=ordered["mean_effect"], y=ordered["reason"], orientation="h", marker_color="#2171b5",
        customdata=ordered["partners_top_reason"],
        hovertemplate="%{y}: moves churn probability by %{x:.1%} on average; "
                      "the strongest reason for %{customdata:,} partners<extra></extra>",
    ))
    fig = layout(fig, f"What drives churn risk, partners scored as of {quarter}",
                  "", "Average change in churn probability from a typical partner's value (points)")
    fig.update_xaxes(tickformat=".1%")
    return fig.update_layout(hovermode="closest")
