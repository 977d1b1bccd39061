"""Tiers: how partners and revenue spread across tiers, how partners moved, how concentrated revenue is."""

import streamlit as st

from analytics import charts
from analytics.analyses.tiers import revenue_concentration, tier_distribution, tier_flow, tier_moves
from analytics.formatting import markdown_literal, money
from analytics.store.quarters import shift_quarter
from views.db import cached, cached_figure
from views.sidebar import current_filter
from views.widgets import download_table, partner_table, show_table

st.title("Tiers")
flt = current_filter()
distribution = cached(tier_distribution, flt)
if flt.quarter is None or distribution.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
q = flt.quarter
st.caption(f"As of {q} · {markdown_literal(flt.describe())}. Revenue in USD, net of credits and returns.")

st.subheader(f"Partners and revenue per tier in {q}")
current = distribution[distribution["quarter"] == q].copy()
if current.empty:
    st.info(f"No partner in the selection ordered in {q}.")
else:
    cols = st.columns(len(current))
    for col, row in zip(cols, current.itertuples(), strict=True):
        col.metric(
            f"{markdown_literal(row.tier)} partners ordering in {q}",
            f"{row.partners:,}",
            help=f"{row.partner_share:.1%} of partners; revenue {money(row.revenue)} ({row.revenue_share:.1%})",
        )
measure = st.segmented_control(
    "Share of", ["revenue", "partners"], default="revenue", key="tier_measure",
    format_func=lambda m: "Revenue" if m == "revenue" else "Partners",
)
st.plotly_chart(cached_figure(charts.tier_share_over_time, distribution, measure or "revenue"), width="stretch")
with st.expander("Partners and revenue per tier and quarter (table)"):
    show_table(distribution)
    download_table(distribution, "tier_distribution", key="dl_tier_distribution")

st.subheader("Tier moves")
quarters = sorted(distribution["quarter"].unique())
earlier = [x for x in quarters if x < q]
if not earlier:
    st.info(f"No quarter before {q} to compare with.")
else:
    default = shift_quarter(q, -4) if shift_quarter(q, -4) in earlier else earlier[0]
    from_q = st.selectbox("Compare with", earlier[::-1], index=earlier[::-1].index(default), key="tier_from")
    moves = cached(tier_moves, flt, from_q, q)
    st.caption(
        f"A partner's tier at a quarter is its latest recorded tier in the four quarters to it; lapsed partners "
        f"had orders in the four quarters to {from_q} but none in the four to {q}, new ones the other way round."
    )
    counts = moves["move"].value_counts()
    for col, move in zip(st.columns(5), ["promoted", "kept", "demoted", "lapsed", "new"], strict=True):
        col.metric(f"{move.capitalize()}, {from_q} → {q}", f"{int(counts.get(move, 0)):,}")
    st.plotly_chart(cached_figure(charts.tier_flow_sankey, tier_flow(moves), from_q, q), width="stretch")
    show = st.multiselect(
        "Show partners who were", ["promoted", "demoted", "lapsed", "new", "kept"],
        default=["promoted", "demoted"], key="tier_moves_shown",
    )
    shown = moves[moves["move"].isin(show)]  # tier_moves' order, stated below
    partner_table(
        shown, f"tier_moves_{from_q}_{q}", "dl_tier_moves",
        "by move (promoted, kept, demoted, lapsed, new), then by the larger of the two periods' revenue, "
        "largest first",
        labels={"revenue_from": f"Revenue {shift_quarter(from_q, -3)}–{from_q}",
                "revenue_to": f"Revenue {shift_quarter(q, -3)}–{q}"},
    )

st.subheader("Revenue concentration")
concentration = cached(revenue_concentration, flt, q)
st.plotly_chart(cached_figure(charts.concentration_bars, concentration, q), width="stretch")
show_table(concentration)
download_table(concentration, f"revenue_concentration_{q}", key="dl_concentration")
