"""Partners at risk: who is likely to fall away, how much revenue is at stake, and why."""

import streamlit as st

from analytics import charts
from analytics.formatting import markdown_literal, money
from analytics.model.risk import risk_summary, risk_table
from analytics.store.quarters import shift_quarter
from views.db import cached, cached_figure
from views.scores import scored_horizon
from views.sidebar import filter_with_data
from views.style import show_chart
from views.widgets import partner_table

st.title("Partners at risk")
flt = filter_with_data()
q = flt.quarter
horizon = scored_horizon(q, "risk_horizon")
scores = cached(risk_table, flt, horizon)
if scores.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
window = f"{shift_quarter(q, -horizon + 1)}–{q}"
ahead = f"{shift_quarter(q, 1)}–{shift_quarter(q, horizon)}"
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
c1, c2, c3 = st.columns(3)
c1.metric(f"Likely to churn by {shift_quarter(q, horizon)} (≥ {threshold:.0%})",
          f"{summary.likely_churners:,} of {summary.partners:,}",
          help=f"Expected number of churners (sum of probabilities): {summary.expected_churners:,.0f}")
c2.metric(f"Their revenue, {window}", money(summary.revenue_likely_churners))
c3.metric("Expected revenue at risk", money(summary.expected_revenue_lost),
          help=f"Each partner's revenue in {window} times its churn probability, summed.")

show_chart(cached_figure(charts.risk_scatter, scores, q, horizon))
not_drawn = int((scores["revenue_at_stake"] <= 0).sum())
if not_drawn:
    st.caption(f"{not_drawn:,} partners with no positive net revenue in {window} are not on the chart (log scale).")

shown = scores[scores["churn_probability"] >= threshold]
st.subheader(f"Partners with a churn probability of {threshold:.0%} or more, riskiest first ({len(shown):,})")
# With a horizon of 4 the trailing year is the revenue at stake: its column then shows once.
columns = {
    "revenue_at_stake": f"Revenue {window}",
    "revenue_trailing": f"Revenue {shift_quarter(q, -3)}–{q}",
    "churn_probability": st.column_config.ProgressColumn("Churn probability", format="percent", min_value=0,
                                                         max_value=1),
    "turnaround_probability": st.column_config.NumberColumn(
        "Turnaround probability", format="percent", help="Only for partners underperforming now"),
}
partner_table(
    shown, f"partners_at_risk_{q}_{horizon}q", "dl_risk", "riskiest first",
    labels=columns, first=["churn_probability", "churn_reasons"],
)
with st.expander(f"Every scored partner ({len(scores):,})"):
    partner_table(scores, f"partner_scores_{q}_{horizon}q", "dl_scores", "riskiest first", labels=columns,
                  first=["churn_probability", "churn_reasons"])
