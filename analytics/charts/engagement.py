"""The Engagement and fit page's charts: deals per partner, product breadth, enterprise products oversold to
small customers, segment focus, customers kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts.common import box_label, box_statistics, top_partners_bar
from analytics.charts.crowd import add_shading, crowd_note, dotted
from analytics.charts.style import HIGHLIGHT, NEUTRAL, layout, partner_labels, plotly_literal, tier_colour
from analytics.periods import quarters_to
from analytics.store.schema import ordered_tiers

__all__ = ["deals_histogram", "breadth_scatter", "oversell_bar", "segment_focus_box", "retention_histogram"]


_SEGMENT_COLOURS = {"SMB": "#fd8d3c", "Enterprise": "#08306b"}


def deals_histogram(frame: pd.DataFrame, quarter: str, cap: int = 50, highlight: int = 2) -> go.Figure:
    """Give the partners per number of deals in the 4 quarters to `quarter`, 1 to `highlight` deals in red.

    frame: engagement.engagement_table. Partners with `cap` deals or more share the last bar.
    """
    if cap < 2:
        raise ValueError(f"cap must be 2 or more, not {cap}")
    deals = frame["deals_t4"].astype("int64")
    counts = deals.clip(upper=cap).value_counts()
    start = int(min(1, deals.min())) if not deals.empty else 1
    end = int(min(cap, deals.max())) if not deals.empty else highlight
    bins = list(range(start, end + 1))
    labels = [f"{b}+" if b == cap else str(b) for b in bins]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=[int(counts.get(b, 0)) for b in bins],
            marker_color=[HIGHLIGHT if 1 <= b <= highlight else NEUTRAL for b in bins],
            hovertemplate="%{x} deals: %{y:,} partners<extra></extra>",
        )
    )
    fig.update_xaxes(type="category")
    return layout(
        fig,
        f"Partners by number of deals in the {quarters_to(quarter)} (1–{highlight} deals in red)",
        "Partners",
        "Deals in the 4 quarters (one customer on one day)",
    )


def breadth_scatter(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give each partner's distinct customers against distinct products, sized by revenue (frame: engagement_table).

    Beyond DOTS_SHOWN partners the dots are the largest by revenue and every partner is in the shading.
    """
    fig = go.Figure()
    revenue = frame["revenue_t4"].clip(lower=0)
    dots = dotted(frame, revenue)
    if len(dots) < len(frame):
        products, customers = frame["products_t4"], frame["customers_t4"]
        add_shading(fig, products, customers, np.arange(-0.5, float(products.max()) + 1),
                    np.linspace(0, float(customers.max()) + 1, 31),
                    lambda v: f"{max(v, 0):,.1f} products", lambda v: f"{v:,.0f} customers")
    # Area proportional to revenue; the largest partner is about 40 px across.
    sizeref = 2.0 * float(revenue.max()) / 40**2 if len(revenue) and revenue.max() > 0 else 1.0
    tiers = dots["tier"].fillna("Unknown")
    for tier in ordered_tiers(tiers):
        part = dots[tiers == tier]
        fig.add_trace(
            go.Scatter(
                x=part["products_t4"],
                y=part["customers_t4"],
                mode="markers",
                name=plotly_literal(tier),
                marker={
                    "size": revenue[part.index],
                    "sizemode": "area",
                    "sizeref": sizeref,
                    "sizemin": 3,
                    "color": tier_colour(tier),
                    "opacity": 0.6,
                    "line": {"width": 0.5, "color": "rgba(128, 128, 128, 0.6)"},
                },
                text=partner_labels(part),
                customdata=part["revenue_t4"],
                hovertemplate="%{text}<br>%{x} products, %{y} customers, $%{customdata:,.0f}<extra></extra>",
            )
        )
    return layout(
        fig,
        f"Distinct customers and products per partner, {quarters_to(quarter)} (size: revenue)"
        + crowd_note(len(dots), len(frame), "largest by revenue"),
        "Distinct customers",
        "Distinct products",
    ).update_layout(hovermode="closest")


def oversell_bar(frame: pd.DataFrame, quarter: str, top: int = 20) -> go.Figure:
    """Give the `top` partners by enterprise-grade revenue from SMB customers (frame: engagement.oversellers)."""
    shown = min(top, len(frame))
    return top_partners_bar(
        frame,
        "enterprise_into_smb_revenue",
        "enterprise_into_smb_share",
        "{:.0%} of revenue",
        _SEGMENT_COLOURS["SMB"],
        f"Enterprise-grade products sold to SMB customers: top {shown} partners, {quarters_to(quarter)} (USD)",
        "Enterprise-grade revenue from SMB customers (USD)",
        top,
    )


def segment_focus_box(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give per tier boxes of partners' SMB and Enterprise shares of revenue (frame: engagement.segment_focus).

    Drawn from box_statistics like change_distribution_box; each tier is labelled with its partners.
    """
    fig = go.Figure()
    stats = box_statistics(frame, ["segment", "tier"], "share")
    order = ordered_tiers(stats["tier"])
    # Both shares are defined for the same partners (those with positive revenue); max() in case not.
    labels = {t: box_label(t, n) for t, n in stats.groupby("tier", sort=False)["partners"].max().items()}
    for segment in ("SMB", "Enterprise"):
        part = stats[stats["segment"] == segment]
        fig.add_trace(
            go.Box(
                x=part["tier"].map(labels).tolist(),
                q1=part["q1"] * 100,
                median=part["median"] * 100,
                q3=part["q3"] * 100,
                lowerfence=part["lower_whisker"] * 100,
                upperfence=part["upper_whisker"] * 100,
                name=f"{segment} customers",
                marker_color=_SEGMENT_COLOURS[segment],
            )
        )
    fig.update_layout(boxmode="group")
    fig.update_xaxes(categoryorder="array", categoryarray=[labels[t] for t in order])
    fig.update_yaxes(hoverformat=".0f")
    return layout(
        fig,
        f"Share of each partner's revenue from SMB and Enterprise customers, by tier, {quarters_to(quarter)} (%)",
        "Share of the partner's revenue (%)",
    ).update_layout(hovermode="closest")


def retention_histogram(table: pd.DataFrame, before: str, after: str, min_customers: int = 1) -> go.Figure:
    """Give the partners per tenth of account retention (retention.account_retention), of those with `min_customers`+.

    `before` and `after` name the two years ("2024Q1–2024Q4"); the last bar holds 100 %.
    """
    shown = table.loc[(table["customers_before"] >= min_customers) & table["retention"].notna(), "retention"]
    tenth = np.minimum((shown.to_numpy(dtype="float64") * 10).astype("int64"), 9)
    counts = np.bincount(tenth, minlength=10)
    labels = [f"{10 * i}–{10 * i + 10} %" for i in range(10)]
    fig = go.Figure(
        go.Bar(
            x=labels, y=counts, marker_color=[HIGHLIGHT if i < 5 else NEUTRAL for i in range(10)],
            hovertemplate="%{x} of customers kept: %{y:,} partners<extra></extra>",
        )
    )
    fig.update_xaxes(type="category")
    return layout(
        fig,
        f"Partners by share of their {before} customers who bought again in {after}"
        f" ({len(shown):,} partners with {min_customers} or more customers; under half in red)",
        "Partners",
        "Customers kept from the year before",
    )
