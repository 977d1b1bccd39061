"""The executive figures: each gives a go.Figure with the expected traces, points and a title naming its period."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics import charts
from analytics.analyses.dropoffs import change_distribution, compute_changes, revenue_bridge, significant_dropoffs
from analytics.analyses.engagement import AGGREGATE_COLUMNS, compute_engagement, oversellers, segment_focus
from analytics.analyses.tiers import classify_tier_moves, concentration, tier_flow, tier_shares
from analytics.formatting import money

DISTRIBUTION = tier_shares(pd.DataFrame({
    "quarter": ["2025Q1", "2025Q1", "2025Q2", "2025Q2", "2025Q2"],
    "tier": ["Gold", "Silver", "Gold", "Silver", "Unknown"],
    "partners": [1, 3, 2, 2, 1],
    "revenue": [300.0, 100.0, 50.0, 40.0, 10.0],
}))

MOVES = classify_tier_moves(
    pd.DataFrame({"partner_id": ["A", "B", "C", "D"], "tier": ["Gold", "Silver", "Gold", "Bronze"]}),
    pd.DataFrame({"partner_id": ["A", "B", "C", "E"], "tier": ["Gold", "Gold", "Bronze", "Authorized"]}),
)

CHANGES = compute_changes(
    pd.DataFrame({
        "partner_id": ["F", "F", "L", "N", "G", "G"],
        "q_index": [8096, 8100, 8096, 8100, 8096, 8100],  # 2024Q1 and 2025Q1
        "revenue": [100.0, 40.0, 30.0, 50.0, 10.0, 20.0],
        "partner_name": ["Falling", "Falling", "Lapsing", "Newcomer", "Growing", "Growing"],
        "tier": ["Gold", "Gold", "Silver", "Silver", "Gold", "Gold"],
        "region": ["NA", "NA", "EMEA", "EMEA", "NA", "NA"],
    }),
    8100,
)

ENGAGEMENT = compute_engagement(pd.DataFrame(
    [
        ("A", "A Ltd", "Gold", "NA", 1000.0, 40, 12, 6, 200.0, 700.0, 50.0),
        ("B", "B Ltd", "Silver", "NA", 500.0, 2, 1, 1, 500.0, 0.0, 300.0),
        ("C", "C Ltd", "Silver", "EMEA", 800.0, 1, 1, 2, 400.0, 0.0, 160.0),
        ("D", "D Ltd", None, "EMEA", 0.0, 1, 1, 1, 0.0, 0.0, 0.0),
        ("E", "E Ltd", "Bronze", "EMEA", 90.0, 5, 2, 1, 90.0, 0.0, 90.0),
    ],
    columns=AGGREGATE_COLUMNS,
))

HISTORY = pd.DataFrame({
    "quarter": ["2024Q3", "2024Q4", "2025Q1", "2025Q2"],
    "revenue": [100.0, 0.0, 800.0, 250.0],
    "tier": pd.Series(["Silver", None, "Gold", "Gold"], dtype="object"),
    "deals": [1, 0, 2, 2],
    "customers": [1, 0, 2, 2],
    "products": [1, 0, 2, 2],
})


def points(fig: go.Figure, axis: str = "x") -> list[int]:
    """Give the number of points of each trace."""
    return [len(getattr(trace, axis)) for trace in fig.data]


@pytest.mark.parametrize(
    ("build", "trace_type", "points_per_trace", "axis", "in_title"),
    [
        (lambda: charts.tier_share_over_time(DISTRIBUTION), go.Scatter, [2, 2, 1], "x", "2025Q1–2025Q2"),
        (lambda: charts.tier_share_over_time(DISTRIBUTION, "partners"), go.Scatter, [2, 2, 1], "x", "partners"),
        (lambda: charts.concentration_bars(concentration(pd.DataFrame({
            "partner_id": ["A", "B", "C"], "tier": ["Gold", "Gold", "Silver"], "revenue": [5.0, 3.0, 1.0]})),
            "2025Q2"), go.Bar, [3, 3, 3], "x", "4 quarters to 2025Q2"),
        (lambda: charts.dropoffs_bar(significant_dropoffs(CHANGES), "2025Q1", top=1), go.Bar, [1], "y", "2025Q1"),
        (lambda: charts.revenue_bridge_waterfall(revenue_bridge(CHANGES), "2025Q1"), go.Waterfall, [6], "x",
         "4 quarters to 2025Q1"),
        # Boxes are drawn from their statistics: one category (x) a box, one per tier or region.
        (lambda: charts.change_distribution_box(change_distribution(CHANGES, "tier"), "2025Q1"), go.Box, [1, 1], "x",
         "by tier"),
        (lambda: charts.change_distribution_box(change_distribution(CHANGES, "region"), "2025Q1", by="region"),
         go.Box, [1, 1], "x", "by region"),
        (lambda: charts.deals_histogram(ENGAGEMENT, "2025Q2", cap=30), go.Bar, [30], "x", "4 quarters to 2025Q2"),
        (lambda: charts.breadth_scatter(ENGAGEMENT, "2025Q2"), go.Scatter, [1, 2, 1, 1], "x", "2025Q2"),
        (lambda: charts.oversell_bar(oversellers(ENGAGEMENT), "2025Q2"), go.Bar, [3], "y", "2025Q2"),
        (lambda: charts.segment_focus_box(segment_focus(ENGAGEMENT), "2025Q2"), go.Box, [3, 3], "x", "2025Q2"),
        # Gold, Silver, and a zero bar for the quarter without orders.
        (lambda: charts.partner_history_bars(HISTORY, "Bluepeak"), go.Bar, [2, 1, 1], "x", "2024Q3–2025Q2"),
    ],
    ids=[
        "tier-share-revenue", "tier-share-partners", "concentration", "dropoffs", "bridge", "change-by-tier",
        "change-by-region", "deals", "breadth", "oversell", "segment-focus", "partner-history",
    ],
)
def test_figure_traces_and_points(build, trace_type, points_per_trace, axis, in_title):
    fig = build()
    assert isinstance(fig, go.Figure)
    assert all(isinstance(trace, trace_type) for trace in fig.data)
    assert points(fig, axis) == points_per_trace
    assert in_title in fig.layout.title.text


def test_tier_flow_sankey_has_a_node_per_side_and_a_link_per_flow():
    flow = tier_flow(MOVES)
    fig = charts.tier_flow_sankey(flow, "2024Q4", "2025Q4")
    (sankey,) = fig.data
    assert isinstance(sankey, go.Sankey)
    assert len(sankey.link.value) == len(flow) == 5
    # Sources Gold, Silver, Bronze, New; targets Gold, Bronze, Lapsed, Authorized.
    assert len(sankey.node.label) == 8
    assert "Lapsed (1)" in sankey.node.label and "New (1)" in sankey.node.label
    assert "2024Q4" in fig.layout.title.text and "2025Q4" in fig.layout.title.text


def test_deals_histogram_highlights_one_and_two_deals_and_caps_the_tail():
    table = pd.DataFrame({"deals_t4": [1, 2, 2, 5, 40]})
    (bar,) = charts.deals_histogram(table, "2025Q2", cap=30).data
    assert list(bar.x[:2]) == ["1", "2"] and bar.x[-1] == "30+"
    assert list(bar.y[:3]) == [1, 2, 0] and bar.y[-1] == 1 and sum(bar.y) == 5
    assert bar.marker.color[0] == bar.marker.color[1] != bar.marker.color[2]


def test_revenue_bridge_waterfall_starts_and_ends_absolute():
    (waterfall,) = charts.revenue_bridge_waterfall(revenue_bridge(CHANGES), "2025Q1").data
    assert list(waterfall.measure) == ["absolute", "relative", "relative", "relative", "relative", "absolute"]


def test_partner_history_bars_keep_quarters_without_orders_on_the_axis():
    fig = charts.partner_history_bars(HISTORY, "Bluepeak")
    assert sorted(x for trace in fig.data for x in trace.x) == HISTORY["quarter"].tolist()
    assert fig.data[-1].y == (0,) and not fig.data[-1].showlegend


def test_box_statistics_give_quartiles_and_whiskers_within_one_and_a_half_boxes():
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 100.0, None]  # 100 lies beyond the whisker
    frame = pd.DataFrame({"group": ["b"] * 10 + ["a"], "value": values + [0.5]})
    stats = charts.box_statistics(frame, "group", "value")
    q1, median, q3 = pd.Series(values[:-1]).quantile([0.25, 0.5, 0.75])
    expected = pd.DataFrame({
        "group": ["b", "a"], "partners": [9, 1], "q1": [q1, 0.5], "median": [median, 0.5], "q3": [q3, 0.5],
        "lower_whisker": [1.0, 0.5], "upper_whisker": [8.0, 0.5],
    })
    pd.testing.assert_frame_equal(stats, expected, check_dtype=False)
    assert q3 + 1.5 * (q3 - q1) < 100.0


def test_box_statistics_of_nothing_is_an_empty_frame_with_the_columns():
    stats = charts.box_statistics(pd.DataFrame({"group": [], "value": []}), "group", "value")
    assert stats.empty
    assert list(stats.columns) == ["group", "partners", "q1", "median", "q3", "lower_whisker", "upper_whisker"]


def test_change_distribution_box_draws_each_group_from_its_statistics_and_counts_its_partners():
    distribution = change_distribution(CHANGES, "tier")
    fig = charts.change_distribution_box(distribution, "2025Q1")
    stats = charts.box_statistics(distribution, "group", "change_t4").set_index("group")
    assert [trace.name for trace in fig.data] == ["Gold", "Silver"]  # highest tier first
    assert [trace.x[0] for trace in fig.data] == ["Gold<br>2 partners", "Silver<br>1 partner"]
    for trace in fig.data:
        row = stats.loc[trace.name]
        assert trace.median[0] == pytest.approx(row["median"] * 100)
        assert (trace.q1[0], trace.q3[0]) == pytest.approx((row["q1"] * 100, row["q3"] * 100))
        assert trace.y is None  # no partner's own point is sent to the browser


def test_segment_focus_box_groups_both_segments_by_tier_with_partner_counts():
    fig = charts.segment_focus_box(segment_focus(ENGAGEMENT), "2025Q2")
    smb, enterprise = fig.data
    assert (smb.name, enterprise.name) == ("SMB customers", "Enterprise customers")
    labels = ["Gold<br>1 partner", "Silver<br>2 partners", "Bronze<br>1 partner"]  # D has no revenue
    assert list(fig.layout.xaxis.categoryarray) == labels
    assert sorted(smb.x) == sorted(labels)
    # Silver: B sells only to SMB (100 %), C half (50 %); the median is between.
    assert smb.median[list(smb.x).index("Silver<br>2 partners")] == pytest.approx(75.0)


def test_dropoffs_bar_names_partners_on_the_axis():
    (bar,) = charts.dropoffs_bar(significant_dropoffs(CHANGES), "2025Q1").data
    assert list(bar.y) == ["Falling (F)", "Lapsing (L)"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: charts.tier_share_over_time(DISTRIBUTION, "deals"), "measure must be"),
        (lambda: charts.dropoffs_bar(significant_dropoffs(CHANGES), "2025Q1", top=0), "top must be"),
        (lambda: charts.deals_histogram(ENGAGEMENT, "2025Q2", cap=1), "cap must be"),
    ],
    ids=["measure", "top", "cap"],
)
def test_figures_refuse_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_figures_take_empty_frames():
    empty_changes = CHANGES.iloc[0:0]
    for fig in (
        charts.tier_share_over_time(DISTRIBUTION.iloc[0:0]),
        charts.dropoffs_bar(significant_dropoffs(empty_changes), "2025Q1"),
        charts.change_distribution_box(change_distribution(empty_changes), "2025Q1"),
        charts.deals_histogram(ENGAGEMENT.iloc[0:0], "2025Q2"),
        charts.breadth_scatter(ENGAGEMENT.iloc[0:0], "2025Q2"),
        charts.segment_focus_box(segment_focus(ENGAGEMENT.iloc[0:0]), "2025Q2"),
        charts.tier_flow_sankey(tier_flow(MOVES.iloc[0:0]), "2024Q4", "2025Q4"),
    ):
        assert isinstance(fig, go.Figure)


def test_figures_on_an_empty_store(store):
    from analytics.analyses.dropoffs import partner_changes
    from analytics.analyses.engagement import engagement_table
    from analytics.analyses.tiers import revenue_concentration, tier_distribution, tier_moves
    from analytics.filters import ChannelFilter

    flt = ChannelFilter()
    changes, table = partner_changes(store, flt), engagement_table(store, flt)
    assert changes.empty and table.empty
    figures = [
        charts.tier_share_over_time(tier_distribution(store, flt)),
        charts.tier_flow_sankey(tier_flow(tier_moves(store, flt, "2025Q1", "2025Q2")), "2025Q1", "2025Q2"),
        charts.concentration_bars(revenue_concentration(store, flt), "2025Q2"),
        charts.dropoffs_bar(significant_dropoffs(changes), "2025Q2"),
        charts.revenue_bridge_waterfall(revenue_bridge(changes), "2025Q2"),
        charts.deals_histogram(table, "2025Q2"),
        charts.oversell_bar(oversellers(table), "2025Q2"),
    ]
    assert all(isinstance(fig, go.Figure) for fig in figures)


def test_risk_scatter_draws_each_tier_and_leaves_out_revenue_a_log_axis_cannot_show():
    frame = pd.DataFrame({
        "partner_id": ["P1", "P2", "P3", "P4"], "partner_name": ["A", None, "C", "D"],
        "tier": ["Gold", "Gold", None, "Silver"], "revenue_at_stake": [1000.0, 50.0, 200.0, -10.0],
        "churn_probability": [0.999, 0.01, 0.5, 0.7],
    })
    fig = charts.risk_scatter(frame, "2026Q3", 4)
    drawn = {trace.name: list(trace.x) for trace in fig.data}
    assert drawn == {"Gold": [1000.0, 50.0], "Unknown": [200.0]}
    assert fig.layout.xaxis.type == "log"
    # Each figure names its period: the churn ahead, the revenue at stake before.
    assert "Churn probability in 2026Q4–2027Q3 against revenue at stake, 2025Q4–2026Q3" in fig.layout.title.text
    # The hover says the probability in words, as the tables do: never "100 %" or "0 %".
    gold = next(trace for trace in fig.data if trace.name == "Gold")
    assert [list(row) for row in gold.customdata] == [[1000.0, "over 95 %"], [50.0, "under 5 %"]]
    assert "%{y" not in gold.hovertemplate
    assert list(fig.layout.yaxis.ticktext) == ["5 %", "25 %", "50 %", "75 %", "95 %"]


def test_reliability_chart_has_the_diagonal_and_one_line_per_candidate():
    curve = pd.DataFrame({
        "candidate": ["model", "model", "baseline", "baseline"],
        "predicted": [0.1, 0.8, 0.2, 0.6], "observed": [0.12, 0.75, 0.1, 0.7], "partners": [50, 50, 50, 50],
    })
    fig = charts.reliability_chart(curve, "churn", "2025Q3")
    assert [t.name for t in fig.data] == ["perfectly calibrated", "model", "baseline"]
    assert list(fig.data[1].y) == [0.12, 0.75]


def test_drivers_bar_puts_the_strongest_reason_on_top():
    drivers = pd.DataFrame({"reason": ["tier", "recency of orders"], "mean_effect": [0.01, 0.08],
                            "partners_top_reason": [10, 300]})
    fig = charts.drivers_bar(drivers, "2026Q3")
    assert list(fig.data[0].y) == ["tier", "recency of orders"]  # plotly draws the last bar at the top


# -- presentation: what a reader sees on any screen and theme ------------------------------------------

BY_TIER = pd.DataFrame({
    "quarter": ["2025Q3", "2025Q3", "2025Q4", "2026Q1", "2026Q2"],
    "tier": ["Gold", "Silver", "Gold", "Gold", "Gold"],
    "revenue": [100.0, 50.0, 120.0, 130.0, 140.0],
    "partners": [2, 3, 2, 2, 2],
})
FLOWS = pd.DataFrame({
    "quarter": ["2025Q3", "2025Q4", "2026Q1", "2026Q2"],
    "new_partners": [1.0, 2.0, 3.0, 4.0], "lapsed_partners": [0.0, 1.0, 0.0, 2.0],
})


def every_figure() -> dict[str, go.Figure]:
    """Give one figure of each chart function the pages show, built from the small frames above."""
    tiers = pd.DataFrame({"tier": ["Gold", "Bronze"], "partners": [312, 1701]})
    drivers = pd.DataFrame({"reason": ["tier"], "mean_effect": [0.01], "partners_top_reason": [10]})
    return {
        "partners-by-tier": charts.partners_by_tier_bar(tiers, "2025Q4"),
        "revenue-by-tier": charts.revenue_by_tier_bars(BY_TIER, "2025Q4"),
        "new-and-lapsed": charts.new_and_lapsed_bars(FLOWS, "2025Q4"),
        "tier-share": charts.tier_share_over_time(DISTRIBUTION),
        "sankey": charts.tier_flow_sankey(tier_flow(MOVES), "2024Q4", "2025Q4"),
        "dropoffs": charts.dropoffs_bar(significant_dropoffs(CHANGES), "2025Q1"),
        "bridge": charts.revenue_bridge_waterfall(revenue_bridge(CHANGES), "2025Q1"),
        "change-box": charts.change_distribution_box(change_distribution(CHANGES, "tier"), "2025Q1"),
        "deals": charts.deals_histogram(ENGAGEMENT, "2025Q2"),
        "breadth": charts.breadth_scatter(ENGAGEMENT, "2025Q2"),
        "oversell": charts.oversell_bar(oversellers(ENGAGEMENT), "2025Q2"),
        "segment-box": charts.segment_focus_box(segment_focus(ENGAGEMENT), "2025Q2"),
        "partner-history": charts.partner_history_bars(HISTORY, "Bluepeak"),
        "drivers": charts.drivers_bar(drivers, "2026Q3"),
    }


@pytest.mark.parametrize("name", list(every_figure()))
def test_figures_leave_colours_to_the_theme_and_put_legends_below(name):
    fig = every_figure()[name]
    layout = fig.layout
    # Paper, plot and fonts come from the page's light or dark theme (st.plotly_chart theme="streamlit").
    assert layout.paper_bgcolor is None and layout.plot_bgcolor is None and layout.font.color is None
    if name != "sankey":
        # A legend at the side took half a phone's width: in rows under the plot instead.
        assert layout.legend.orientation == "h" and layout.legend.yanchor == "bottom" and layout.legend.y == 0
    markers = [getattr(trace, "marker", None) for trace in fig.data]
    outlines = [m.line.color for m in markers if m is not None and m.line is not None and m.line.color is not None]
    assert not any(str(c).lower() in ("#ffffff", "white", "#000", "#000000", "black", "#555") for c in outlines)


@pytest.mark.parametrize("name", list(every_figure()))
def test_titles_name_a_period_and_fit_two_lines(name):
    title = every_figure()[name].layout.title.text
    assert any(q in title for q in ("2024Q", "2025Q", "2026Q")), title
    assert len(title) <= 110, title  # shown as text above the chart (views/style.py), wrapped on a phone


def test_overview_time_series_stop_at_the_as_of_quarter():
    for fig in (charts.revenue_by_tier_bars(BY_TIER, "2025Q4"), charts.new_and_lapsed_bars(FLOWS, "2025Q4")):
        drawn = sorted({x for trace in fig.data for x in trace.x})
        assert drawn == ["2025Q3", "2025Q4"], drawn
        assert "to 2025Q4" in fig.layout.title.text
    history = charts.partner_history_bars(HISTORY, "Bluepeak", "2025Q1")
    assert max(x for trace in history.data for x in trace.x) == "2025Q1"


def test_bar_labels_are_not_cut_at_the_plot_edge():
    for fig, axis in (
        (charts.partners_by_tier_bar(pd.DataFrame({"tier": ["Gold", "Bronze"], "partners": [312, 1701]}), "2025Q4"),
         "yaxis"),
        (charts.dropoffs_bar(significant_dropoffs(CHANGES), "2025Q1"), "xaxis"),
    ):
        (bar,) = fig.data
        assert bar.cliponaxis is False and bar.textposition == "outside"
        # Room past the longest bar for its label.
        largest = max(bar.x if axis == "xaxis" else bar.y)
        assert fig.layout[axis].range[1] >= 1.2 * largest
    (bar,) = charts.partners_by_tier_bar(pd.DataFrame({"tier": ["Bronze"], "partners": [1701]}), "2025Q4").data
    assert list(bar.text) == ["1,701"]


def test_long_partner_names_are_cut_on_the_axis_but_whole_in_the_hover():
    changes = CHANGES.copy()
    changes["partner_name"] = changes["partner_name"].replace("Falling", "Falling Integration International Pty <Ltd>")
    (bar,) = charts.dropoffs_bar(significant_dropoffs(changes), "2025Q1").data
    assert bar.y[0] == "Falling Integration Int… (F)" and bar.customdata[0] == (
        "Falling Integration International Pty &lt;Ltd&gt; (F)")


def test_revenue_bridge_shows_each_amount_on_its_bar():
    bridge = revenue_bridge(CHANGES)
    (waterfall,) = charts.revenue_bridge_waterfall(bridge, "2025Q1").data
    amounts = dict(zip(bridge["component"], bridge["amount"], strict=True))
    texts = dict(zip(waterfall.x, waterfall.text, strict=True))
    first, last = bridge["component"].iloc[0], bridge["component"].iloc[-1]
    assert texts[first] == money(amounts[first]) and texts[last] == money(amounts[last])
    steps = [c for c in bridge["component"] if c not in (first, last)]
    for component in steps:
        sign = "+" if amounts[component] >= 0 else ""
        assert texts[component] == sign + money(amounts[component]), (component, texts[component])
    assert waterfall.textposition == "outside" and waterfall.cliponaxis is False


def test_sankey_nodes_and_links_are_coloured_by_tier_with_counts():
    flow = tier_flow(MOVES)  # Gold A->Gold, B Silver->Gold, C Gold->Bronze, D Bronze->lapsed, E new Authorized
    (sankey,) = charts.tier_flow_sankey(flow, "2024Q4", "2025Q4").data
    labels = list(sankey.node.label)
    assert "Gold 2024Q4 (2)" in labels and "Gold 2025Q4 (2)" in labels
    assert "Lapsed (1)" in labels and "New (1)" in labels
    colours = dict(zip(labels, sankey.node.color, strict=True))
    assert colours["Gold 2024Q4 (2)"] == charts.TIER_COLOURS["Gold"]
    assert colours["Silver 2024Q4 (1)"] == charts.TIER_COLOURS["Silver"]
    # Links take their source tier's colour, see-through; none is plotly's default grey.
    links = list(sankey.link.color)
    assert len(set(links)) >= 3 and all(c.startswith("rgba(") for c in links)
    assert "%{value:,} partners" in sankey.link.hovertemplate
    moves = {tuple(pair): value for pair, value in zip(sankey.link.customdata, sankey.link.value, strict=True)}
    assert moves[("Silver 2024Q4", "Gold 2025Q4")] == 1


def _crowd(partners: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "partner_id": [f"P{i}" for i in range(partners)], "partner_name": [f"Partner {i}" for i in range(partners)],
        "tier": rng.choice(["Gold", "Silver", "Bronze"], partners),
        "revenue_at_stake": rng.lognormal(10, 1.5, partners), "churn_probability": rng.uniform(0.01, 0.99, partners),
        "revenue_t4": rng.lognormal(10, 1.5, partners), "products_t4": rng.integers(1, 12, partners),
        "customers_t4": rng.integers(1, 200, partners),
    })


def _shaded_partners(fig: go.Figure) -> int:
    shading = [trace for trace in fig.data if isinstance(trace, go.Heatmap)]
    assert len(shading) == 1
    return int(round(np.nansum(np.expm1(np.array(shading[0].z, dtype=float)))))


def test_a_crowded_risk_chart_draws_the_largest_expected_losses_as_dots_and_every_partner_in_the_shading():
    frame = _crowd(1000)
    fig = charts.risk_scatter(frame, "2026Q3", 4)
    dots = [x for trace in fig.data if isinstance(trace, go.Scatter) for x in trace.x]
    assert len(dots) == charts.DOTS_SHOWN
    expected = (frame["revenue_at_stake"] * frame["churn_probability"]).nlargest(charts.DOTS_SHOWN).index
    assert sorted(dots) == sorted(frame.loc[expected, "revenue_at_stake"])
    assert _shaded_partners(fig) == 1000
    assert f"dots: the {charts.DOTS_SHOWN} with the most revenue expected to be lost" in fig.layout.title.text
    assert "of all 1,000 partners" in fig.layout.title.text
    # The figure's size no longer grows with the channel: ten times the partners, about the same figure.
    assert len(charts.risk_scatter(_crowd(10_000), "2026Q3", 4).to_json()) < 2 * len(fig.to_json())


def test_a_crowded_breadth_chart_draws_the_largest_partners_as_dots_and_a_small_one_draws_every_partner():
    frame = _crowd(1000)
    fig = charts.breadth_scatter(frame, "2025Q2")
    sizes = [s for trace in fig.data if isinstance(trace, go.Scatter) for s in trace.marker.size]
    assert sorted(sizes) == sorted(frame["revenue_t4"].nlargest(charts.DOTS_SHOWN))
    assert _shaded_partners(fig) == 1000
    assert "dots: the 300 largest by revenue" in fig.layout.title.text
    small = charts.breadth_scatter(frame.head(charts.DOTS_SHOWN), "2025Q2")
    assert not any(isinstance(trace, go.Heatmap) for trace in small.data) and "dots:" not in small.layout.title.text
