"""Partners at risk: who is likely to fall away, how much revenue is at stake, and why."""

import streamlit as st

from analytics import charts
from analytics.formatting import markdown_literal, money
from analytics.labels import column
from analytics.model.risk import risk_list, risk_periods, risk_summary, risk_table
from analytics.periods import span_after, trailing_span
from views.cache import cached, cached_figure
from views.scores import scored_horizon
from views.sidebar import filter_with_data
from views.style import show_chart
from views.widgets import ROWS_SHOWN, download_table, linked_table

st.title("Partners at risk")
flt = filter_with_data()
q = flt.quarter
horizon = scored_horizon(q, "risk_horizon")
scores = cached(risk_table, flt, horizon)
if scores.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
window = trailing_span(q, horizon)
ahead = span_after(q, horizon)
st.caption(
    f"{len(scores):,} partners with orders in {window} · {markdown_literal(flt.describe())}. "
    f"Churn: revenue in the {horizon} quarters after {q} ({ahead}) falls below 20 % of the {horizon} to {q}, "
    f"or stops. Revenue at stake: revenue in {window}, "
    f"USD net of credits. Probabilities come from data up to {q} only."
    + (" The segment filter does not narrow this list: a probability is for a whole partner." if flt.segments else "")
)

threshold = st.slider("Count a partner as likely to churn from a probability of (%)", 10, 90, 50, 5,
                      key="risk_threshold") / 100
summary = risk_summary(scores, threshold)
periods = risk_periods(q, horizon)
# One row per period: figures of the quarters ahead and figures of the revenue at stake are never set side by side.
st.markdown(f"**The next {horizon} quarters, {periods.ahead}**")
a1, a2, a3 = st.columns(3)
a1.metric(f"Likely to churn in {periods.ahead} (≥ {threshold:.0%})",
          f"{summary.likely_churners:,} of {summary.partners:,}")
a2.metric(f"Expected churners, {periods.ahead}", f"{summary.expected_churners:,.0f}",
          help="The churn probabilities summed: how many of these partners are expected to churn.")
a3.metric(f"Expected revenue lost, next {horizon} quarters {periods.ahead}", money(summary.expected_revenue_lost),
          help=f"Each partner's revenue in {periods.at_stake} times its churn probability, summed over all "
               f"{summary.partners:,} partners: what {periods.ahead} would lose if every partner's next {horizon} "
               f"quarters repeated its last {horizon}.")
st.markdown(f"**Revenue at stake: the last {horizon} quarters, {periods.at_stake}**")
b1, b2, _ = st.columns(3)
b1.metric(f"Revenue at stake, {periods.at_stake}, all {summary.partners:,} partners", money(summary.revenue_at_stake),
          help="Positive net revenue only: a partner with net credits puts nothing at stake.")
b2.metric(f"Revenue at stake, {periods.at_stake}, the {summary.likely_churners:,} likely to churn",
          money(summary.revenue_likely_churners))

show_chart(cached_figure(charts.risk_scatter, scores, q, horizon))
not_drawn = int((scores["revenue_at_stake"] <= 0).sum())
if not_drawn:
    st.caption(f"{not_drawn:,} partners with no positive net revenue in {window} are not on the chart (log scale).")

shown = risk_list(scores[scores["churn_probability"] >= threshold])
st.subheader(f"Partners with a churn probability of {threshold:.0%} or more, riskiest first ({len(shown):,})")
st.caption("Probabilities read as bands at the ends (under 5 %, over 95 %): the data cannot tell finer odds apart "
           "there. Sort by the risk rank to order by risk; the download has the probabilities as numbers.")
# With a horizon of 4 the trailing year is the revenue at stake: its column then shows once.
year = trailing_span(q)
figures = {
    "revenue_at_stake": f"Revenue at stake, {window}",
    "revenue_trailing": None if year == window else f"Revenue {year}",
}
on_screen = {**figures, "churn_probability": None, "turnaround_probability": None,
             # Wide enough for its header, which names the quarters ahead.
             "churn_chance": st.column_config.TextColumn(f"Churn probability, {ahead}", width=210,
                                                         help=column("churn_chance").help),
             "turnaround_chance": f"Turnaround probability, {ahead}"}
in_file = {**figures, "churn_chance": None, "turnaround_chance": None,
           "churn_probability": f"Churn probability {ahead} (0 to 1)",
           "turnaround_probability": f"Turnaround probability {ahead} (0 to 1, underperformers only)"}
first = ["churn_chance", "risk_rank", "churn_reasons"]


def risk_table_with_download(frame, name: str, key: str) -> None:
    """Show the first rows in words (a partner opens with one click); the download has all, probabilities as numbers."""
    if len(frame) > ROWS_SHOWN:
        st.caption(f"Showing the first {ROWS_SHOWN:,} of {len(frame):,} partners, riskiest first; the download has "
                   "all of them.")
    linked_table(frame.head(ROWS_SHOWN), f"{key}_table", on_screen, first)
    download_table(frame, name, key, in_file)


risk_table_with_download(shown, f"partners_at_risk_{q}_{horizon}q", "dl_risk")
with st.expander(f"Every scored partner ({len(scores):,})"):
    risk_table_with_download(risk_list(scores), f"partner_scores_{q}_{horizon}q", "dl_scores")
