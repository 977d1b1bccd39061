"""Distributors: partners and revenue by tier, the lower-tier share against the target, the partners' health."""

import streamlit as st

from analytics import charts
from analytics.analyses.distributors import (
    distributor_health,
    distributor_tier_mix,
    distributors_below_target,
    lower_tier_shares,
)
from analytics.formatting import markdown_literal, money
from analytics.periods import trailing_span
from analytics.program.rules import load_program
from analytics.store.quarters import shift_quarter
from views.cache import cached, cached_figure
from views.scores import scores_ready
from views.sidebar import current_filter
from views.style import show_chart
from views.widgets import download_table, show_table

st.title("Distributors")
flt = current_filter()
mix = cached(distributor_tier_mix, flt) if flt.quarter else None
if mix is None or mix.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
q = flt.quarter
t4, prev_t4 = trailing_span(q), trailing_span(shift_quarter(q, -4))
target = load_program().target_lower_tier_share
st.caption(
    f"As of {q} · {markdown_literal(flt.describe())}. Revenue in USD, net of credits and returns. A partner counts "
    "with the distributor and tier recorded for it in each quarter; partners without one are under “No distributor”."
)

st.subheader(f"Partners and revenue by tier, {q}")
measure = st.segmented_control("Show", ["revenue", "partners"], default="revenue", key="distributor_measure") \
    or "revenue"
show_chart(cached_figure(charts.distributor_tier_bars, mix, q, measure))
with st.expander(f"Per distributor, quarter and tier, to {q} (table)"):
    mix_columns = {"tier": "Partner tier", "partners": "Partners with orders"}
    show_table(mix, mix_columns)
    download_table(mix, f"distributor_tiers_to_{q}", key="dl_distributor_mix", labels=mix_columns)

st.subheader("Revenue through lower-tier partners against the program's target")
shares = lower_tier_shares(mix)
show_chart(cached_figure(charts.lower_tier_share_lines, shares, target))
below, distributors = distributors_below_target(shares, q, target)
st.caption(
    f"Share of each distributor's revenue through Silver, Bronze and Authorized partners against Gold and Platinum, "
    f"per quarter. The program's target is {target:.0%} (data/program.toml, target_lower_tier_share); in {q} "
    f"{below:,} of {distributors:,} distributors are below it."
)

st.subheader(f"Health of each distributor's partners, {t4}")
have_scores = scores_ready(q, 4)
health = cached(distributor_health, flt, q)
health_columns = {
    "partners": f"Partners with orders, {t4}",
    "revenue_t4": f"Revenue, {t4}",
    "share_at_risk": st.column_config.NumberColumn(
        f"Share at risk of churning by {shift_quarter(q, 4)}", format="percent",
        help="Stored churn probability of 50 % or more over the next 4 quarters (see Partners at risk)."),
    "share_dropoffs": st.column_config.NumberColumn(
        "Share down by half or more", format="percent",
        help=f"Revenue in {t4} at least 50 % below {prev_t4}, of the partners with revenue in {prev_t4}."),
    "revenue_lost_dropoffs": f"Their revenue lost, {t4} vs {prev_t4}",
    "recruits": f"Recruits, first order in {t4}",
}
show_table(health, health_columns)
download_table(health, f"distributor_health_{q}", key="dl_distributor_health", labels=health_columns)
if not have_scores:
    st.caption("Without stored churn scores the risk columns are empty; the other columns do not need them.")
top = health.iloc[0] if not health.empty else None
if top is not None:
    st.caption(f"Largest by revenue in {t4}: {markdown_literal(top['distributor'])}, {money(top['revenue_t4'])}. "
               "Recruits exclude partners present since the first quarter stored (they may be older).")
