"""Plotly figures for the pages: each takes a frame from analytics.analyses.queries and gives a go.Figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.formatting import PROBABILITY_CEILING, PROBABILITY_FLOOR, money, probability_text
from analytics.frames import empty_frame
from analytics.periods import quarter_span, quarters_to, span_after, trailing_span
from analytics.store.schema import ordered_tiers

__all__ = [
    "TIER_COLOURS",
    "ACTION_COLOURS",
    "BOX_NOTE",
    "plotly_literal",
    "partners_by_tier_bar",
    "tiers_against_year_before_bars",
    "revenue_by_tier_bars",
    "new_and_lapsed_bars",
    "tier_share_over_time",
    "tier_flow_sankey",
    "concentration_bars",
    "top_partners_bar",
    "dropoffs_bar",
    "revenue_bridge_waterfall",
    "bridge_axis",
    "box_statistics",
    "change_distribution_box",
    "deals_histogram",
    "breadth_scatter",
    "oversell_bar",
    "segment_focus_box",
    "partner_history_bars",
    "risk_scatter",
    "reliability_chart",
    "drivers_bar",
    "review_actions_bar",
    "distributor_tier_bars",
    "lower_tier_share_lines",
    "retention_histogram",
    "cohort_revenue_lines",
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
_LEGEND_BELOW = {"orientation": "h", "x": 0, "xanchor": "left", "yref": "container", "y": 0, "yanchor": "bottom",
                 "title_text": ""}


def _layout(fig: go.Figure, title: str, y_title: str, x_title: str = "") -> go.Figure:
    # No colours for the paper, the plot or the fonts: the page's theme (light or dark) gives them.
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "automargin": True},
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend=_LEGEND_BELOW,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        hovermode="x unified",
    )
    return fig


def _quarters_to(frame: pd.DataFrame, quarter: str) -> pd.DataFrame:
    # A chart as of a quarter draws nothing after it, whatever the frame holds.
    return frame[frame["quarter"] <= quarter]


def _room_for_labels(fig: go.Figure, largest: float, axis: str = "y") -> None:
    # Labels outside the bars are drawn past the axis's end (cliponaxis off); a quarter more range
    # keeps the longest on the figure instead of cut at its edge ("-9…").
    if largest > 0:
        (fig.update_yaxes if axis == "y" else fig.update_xaxes)(range=[0, largest * 1.25])


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
    _room_for_labels(fig, float(frame["partners"].max()) if len(frame) else 0.0)
    return _layout(fig, f"Active partners per recorded tier, {quarters_to(quarter)}", "Partners").update_layout(
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
               textfont={"color": [_GROWTH if n > 0 else _HIGHLIGHT if n < 0 else "#969696"
                                   for n in frame["net_change"]]},
               hovertemplate=f"%{{x}}, {quarter}: %{{y:,}} partners<extra></extra>"),
    ])
    largest = float(frame[["partners_before", "partners"]].to_numpy().max()) if len(frame) else 0.0
    _room_for_labels(fig, largest)
    return _layout(fig, f"Active partners per recorded tier in the {quarters_to(quarter)} and to {year_before}, "
                        "with the net change", "Partners").update_layout(barmode="group")


def revenue_by_tier_bars(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give revenue per quarter to `quarter` stacked by tier (frame: quarter, tier, revenue)."""
    frame = _quarters_to(frame, quarter)
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
    return _layout(fig, f"Revenue per quarter by tier recorded then, to {quarter} (USD)", "Revenue (USD)")


def new_and_lapsed_bars(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give new and lapsed partners per quarter to `quarter` (frame: quarter, new_partners, lapsed_partners)."""
    frame = _quarters_to(frame, quarter)
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
    return _layout(fig, f"New and lapsed partners per quarter, to {quarter}", "Partners")


# ---------------------------------------------------------------------------------------------
# Executive pages: tiers (analytics.analyses.tiers), drop-offs (analytics.analyses.dropoffs), engagement
# (analytics.analyses.engagement) and the partner profile (analytics.analyses.partner_profile).


_HIGHLIGHT = "#d62728"
_GROWTH = "#2ca02c"
_NEUTRAL = "#6baed6"
_SEGMENT_COLOURS = {"SMB": "#fd8d3c", "Enterprise": "#08306b"}


def _tier_colour(tier: str) -> str:
    return TIER_COLOURS.get(tier, TIER_COLOURS["Unknown"])


def plotly_literal(text: object) -> str:
    """Give text that Plotly shows as written: it draws <b>, <i>, <br>, <a> and friends in any label."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _partner_labels(frame: pd.DataFrame, longest_name: int | None = None) -> np.ndarray:
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


def _quarter_span(quarters: pd.Series) -> str:
    if quarters.empty:
        return "no quarters"
    return quarter_span(quarters.min(), quarters.max())


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
                line={"color": _tier_colour(tier)},
                hovertemplate=f"{plotly_literal(tier)}: %{{y:.1f}} %<extra></extra>",
            )
        )
    return _layout(
        fig,
        f"Share of {what} by tier recorded then, per quarter, {_quarter_span(frame['quarter'])} (%)",
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
    colours = {"New": _GROWTH, "Returned": _GROWTH, "Lapsed": _HIGHLIGHT}
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
        _rgba(_HIGHLIGHT if t == "Lapsed" else colours.get(s, _tier_colour(s)), 0.35)
        for s, t in zip(flow["source"], flow["target"], strict=True)
    ]
    fig = go.Figure(
        go.Sankey(
            node={
                "label": labels,
                "color": [colours.get(n, _tier_colour(n)) for n in sources + targets],
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
    return _layout(
        fig,
        f"Share of each tier's revenue held by its largest partners, {quarters_to(quarter)} (%)",
        "Share of the tier's revenue (%)",
    )


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
            y=_partner_labels(shown, longest_name=24),
            orientation="h",
            marker_color=colour,
            text=[note_format.format(v) if pd.notna(v) else "" for v in shown[note]],
            textposition="outside",
            cliponaxis=False,
            customdata=_partner_labels(shown),
            hovertemplate="%{customdata}: $%{x:,.0f} " + hover_word + "(%{text})<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    _room_for_labels(fig, float(shown[value].max()) if len(shown) else 0.0, axis="x")
    return _layout(fig, title, "", x_title).update_layout(hovermode="closest")


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
        _HIGHLIGHT,
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
            increasing={"marker": {"color": _GROWTH}},
            decreasing={"marker": {"color": _HIGHLIGHT}},
            totals={"marker": {"color": _NEUTRAL}},
            connector={"line": {"color": "#969696"}},
            hovertemplate="%{x}: $%{y:,.0f}<extra></extra>",
        )
    )
    # The axis frames the change, not zero: a 2 % change drawn from zero looks like nothing.
    low, high = bridge_axis(_bridge_levels(frame["amount"].tolist())) if len(frame) else (0.0, 1.0)
    fig.update_yaxes(range=[low, high])
    return _layout(
        fig,
        f"Revenue bridge, {compared or f'{quarters_to(quarter)} against the 4 before'}, by kind of partner (USD)",
        f"Revenue (USD), axis from {money(low)}" if low > 0 else "Revenue (USD)",
    ).update_layout(hovermode="closest", showlegend=False, margin={"t": 70})


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


def _box_label(group: str, partners: int) -> str:
    return f"{plotly_literal(group)}<br>{partners:,} partner{'' if partners == 1 else 's'}"


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
                x=[_box_label(group, row.partners)],
                q1=[row.q1 * 100],
                median=[row.median * 100],
                q3=[row.q3 * 100],
                lowerfence=[row.lower_whisker * 100],
                upperfence=[row.upper_whisker * 100],
                name=plotly_literal(group),
                marker_color=_tier_colour(group) if by == "tier" else _NEUTRAL,
            )
        )
    if not frame.empty:
        upper = max(100.0, float(frame["change_t4"].quantile(0.95)) * 100)
        fig.update_yaxes(range=[-105, upper * 1.05])
    fig.update_yaxes(hoverformat="+.0f")
    fig.update_layout(showlegend=False)
    return _layout(
        fig,
        f"Change in each partner's revenue by {by}: {compared or f'{quarters_to(quarter)} against the 4 before'} (%)",
        "Revenue change (%)",
    ).update_layout(hovermode="closest")


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
            marker_color=[_HIGHLIGHT if 1 <= b <= highlight else _NEUTRAL for b in bins],
            hovertemplate="%{x} deals: %{y:,} partners<extra></extra>",
        )
    )
    fig.update_xaxes(type="category")
    return _layout(
        fig,
        f"Partners by number of deals in the {quarters_to(quarter)} (1–{highlight} deals in red)",
        "Partners",
        "Deals in the 4 quarters (one customer on one day)",
    )


def breadth_scatter(frame: pd.DataFrame, quarter: str) -> go.Figure:
    """Give each partner's distinct customers against distinct products, sized by revenue (frame: engagement_table)."""
    fig = go.Figure()
    revenue = frame["revenue_t4"].clip(lower=0)
    # Area proportional to revenue; the largest partner is about 40 px across.
    sizeref = 2.0 * float(revenue.max()) / 40**2 if len(revenue) and revenue.max() > 0 else 1.0
    tiers = frame["tier"].fillna("Unknown")
    for tier in ordered_tiers(tiers):
        mask = tiers == tier
        part = frame[mask]
        fig.add_trace(
            go.Scatter(
                x=part["products_t4"],
                y=part["customers_t4"],
                mode="markers",
                name=plotly_literal(tier),
                marker={
                    "size": revenue[mask],
                    "sizemode": "area",
                    "sizeref": sizeref,
                    "sizemin": 3,
                    "color": _tier_colour(tier),
                    "opacity": 0.6,
                    "line": {"width": 0.5, "color": "rgba(128, 128, 128, 0.6)"},
                },
                text=_partner_labels(part),
                customdata=part["revenue_t4"],
                hovertemplate="%{text}<br>%{x} products, %{y} customers, $%{customdata:,.0f}<extra></extra>",
            )
        )
    return _layout(
        fig,
        f"Distinct customers and products per partner, {quarters_to(quarter)} (size: revenue)",
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
    labels = {t: _box_label(t, n) for t, n in stats.groupby("tier", sort=False)["partners"].max().items()}
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
    return _layout(
        fig,
        f"Share of each partner's revenue from SMB and Enterprise customers, by tier, {quarters_to(quarter)} (%)",
        "Share of the partner's revenue (%)",
    ).update_layout(hovermode="closest")


def partner_history_bars(frame: pd.DataFrame, partner_name: str, quarter: str | None = None) -> go.Figure:
    """Give a partner's revenue per quarter (to `quarter`, when given) coloured by its tier then (partner_history)."""
    if quarter is not None:
        frame = _quarters_to(frame, quarter)
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
                marker_color=_tier_colour(tier),
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
    return _layout(
        fig,
        f"{plotly_literal(partner_name)}: revenue per quarter, {_quarter_span(frame['quarter'])} "
        "(USD, coloured by tier)",
        "Revenue (USD)",
        "Quarter",
    )


def risk_scatter(frame: pd.DataFrame, quarter: str, horizon: int) -> go.Figure:
    """Give churn probability against revenue at stake per partner, by tier (frame: analytics.model.fit scores).

    Revenue on a log axis: the channel spans five orders of magnitude and the big partners at risk
    (top right) are the ones to see.
    """
    fig = go.Figure()
    frame = frame[frame["revenue_at_stake"] > 0]  # a log axis has no place for zero or net credits
    tiers = frame["tier"].fillna("Unknown")
    for tier in ordered_tiers(tiers):
        part = frame[tiers == tier]
        fig.add_trace(
            go.Scattergl(
                x=part["revenue_at_stake"],
                y=part["churn_probability"],
                mode="markers",
                name=plotly_literal(tier),
                marker={"color": _tier_colour(tier), "size": 6, "opacity": 0.7,
                        "line": {"width": 0.4, "color": "rgba(128, 128, 128, 0.6)"}},
                text=_partner_labels(part),
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
    fig = _layout(fig, f"Churn probability in {ahead} against revenue at stake, {stake}",
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
    fig = _layout(fig, f"Reliability of the {target} probabilities, test cutoff {test_quarters}",
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
    fig = _layout(fig, f"What drives churn risk, partners scored as of {quarter}",
                  "", "Average change in churn probability from a typical partner's value (points)")
    fig.update_xaxes(tickformat=".1%")
    return fig.update_layout(hovermode="closest")


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
    fig = _layout(fig, f"Recommended actions, review as of {as_of} (partners with orders in the 4 quarters to it)",
                  "Partners")
    _room_for_labels(fig, float(frame["partners"].max()) if len(frame) else 0.0)
    return fig.update_layout(barmode="group", hovermode="closest")


def distributor_tier_bars(mix: pd.DataFrame, quarter: str, measure: str = "revenue") -> go.Figure:
    """Give each distributor's revenue (or partners) in `quarter` stacked by tier (distributor_tier_mix)."""
    if measure not in ("revenue", "partners"):
        raise ValueError(f"measure must be 'revenue' or 'partners', not {measure!r}")
    part = mix[mix["quarter"] == quarter]
    order = part.groupby("distributor")["revenue"].sum().sort_values(ascending=False).index
    fig = go.Figure()
    for tier in ordered_tiers(part["tier"]):
        rows = part[part["tier"] == tier].set_index("distributor").reindex(order)
        fig.add_trace(
            go.Bar(
                x=[plotly_literal(d) for d in order],
                y=rows[measure].fillna(0),
                name=plotly_literal(tier),
                marker_color=_tier_colour(tier),
                hovertemplate=f"{plotly_literal(tier)}: "
                              + ("$%{y:,.0f}" if measure == "revenue" else "%{y:,} partners") + "<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    if measure == "revenue":
        return _layout(fig, f"Revenue per distributor by partner tier, {quarter} (USD)", "Revenue (USD)")
    return _layout(fig, f"Partners with orders per distributor by tier, {quarter}", "Partners")


def lower_tier_share_lines(shares: pd.DataFrame, target: float) -> go.Figure:
    """Give each distributor's lower-tier share of revenue per quarter with the program's target as a dashed line.

    shares: distributors.lower_tier_shares; target: a share between 0 and 1.
    """
    fig = go.Figure()
    for distributor, part in shares.groupby("distributor", sort=True):
        part = part.sort_values("quarter")
        name = plotly_literal(distributor)
        fig.add_trace(
            go.Scatter(
                x=part["quarter"], y=part["lower_tier_share"] * 100, name=name, mode="lines+markers",
                hovertemplate=f"{name}: %{{y:.1f}} %<extra></extra>",
            )
        )
    fig.add_hline(y=target * 100, line_dash="dash", line_color=_HIGHLIGHT,
                  annotation_text=f"Program target {target:.0%}", annotation_position="top left")
    fig.update_yaxes(range=[0, 100])
    return _layout(
        fig,
        "Share of revenue through Silver, Bronze and Authorized partners (against Gold and Platinum), "
        f"per quarter, {_quarter_span(shares['quarter'])} (%)",
        "Lower-tier share of revenue (%)",
        "Quarter",
    )


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
            x=labels, y=counts, marker_color=[_HIGHLIGHT if i < 5 else _NEUTRAL for i in range(10)],
            hovertemplate="%{x} of customers kept: %{y:,} partners<extra></extra>",
        )
    )
    fig.update_xaxes(type="category")
    return _layout(
        fig,
        f"Partners by share of their {before} customers who bought again in {after}"
        f" ({len(shown):,} partners with {min_customers} or more customers; under half in red)",
        "Partners",
        "Customers kept from the year before",
    )


def cohort_revenue_lines(frame: pd.DataFrame, as_of: str) -> go.Figure:
    """Give a line per cohort of its revenue by quarter since joining (frame: recruits.cohort_revenue).

    Later cohorts are drawn darker, so the youngest recruits stand out against the ones before them.
    """
    cohorts = sorted(frame["cohort"].unique())
    fig = go.Figure()
    for i, cohort in enumerate(cohorts):
        part = frame[frame["cohort"] == cohort]
        recruited = int(part["recruited"].iloc[0])
        shade = 0.35 + 0.65 * (i + 1) / len(cohorts)
        fig.add_trace(
            go.Scatter(
                x=part["quarters_since_joining"],
                y=part["revenue"],
                mode="lines+markers",
                name=f"{cohort} ({recruited:,} recruit{'' if recruited == 1 else 's'})",
                line={"color": f"rgba(33, 113, 181, {shade:.2f})"},
                hovertemplate=f"{cohort}: $%{{y:,.0f}}<extra></extra>",
            )
        )
    fig.update_xaxes(dtick=1)
    return _layout(
        fig,
        f"Revenue per cohort of recruits by quarter since joining, to {as_of} (USD)",
        "Revenue in the quarter (USD)",
        "Quarters since joining (0 = the quarter of the first order)",
    )
