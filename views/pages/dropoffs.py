"""Revenue drop-offs: who fell off, how much of the channel's change they explain, where it happens."""

import streamlit as st

from analytics import charts
from analytics.analyses.dropoffs import change_distribution, partner_changes, revenue_bridge, significant_dropoffs
from analytics.analyses.queries import filter_options
from analytics.formatting import markdown_literal, money
from analytics.store.quarters import shift_quarter
from views.cache import cached, cached_figure, derived
from views.periods import compare_periods
from views.sidebar import filter_with_data
from views.style import show_chart
from views.widgets import partner_table

st.title("Revenue drop-offs")
flt = filter_with_data()
periods = compare_periods(cached(filter_options).quarters, flt.quarter)
changes = cached(partner_changes, flt, flt.quarter, periods)
if changes.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
q = periods.b_last  # quarter over quarter and year over year are to period B's last quarter
t4, prev_t4 = periods.label_b, periods.label_a
compared = None if periods.is_trailing else f"{t4} against {prev_t4}"
st.caption(
    (f"Last 4 quarters: {t4}; the 4 before: {prev_t4}" if compared is None else
     f"Period B: {t4}; period A: {prev_t4} ({periods.length} quarters each)")
    + f" · {markdown_literal(flt.describe())}. Revenue in USD, net of credits and returns."
)

# The engine names its windows relative to the quarter (period B's last); the headers name them.
headers = {"revenue_q": f"Revenue {q}", "revenue_prev_q": f"Revenue {shift_quarter(q, -1)}",
           "revenue_year_ago_q": f"Revenue {shift_quarter(q, -4)}", "revenue_t4": f"Revenue {t4}",
           "revenue_prev_t4": f"Revenue {prev_t4}", "change_t4": f"Change, {t4} on {prev_t4}",
           "revenue_lost": f"Revenue lost, {t4} on {prev_t4}"}

threshold = st.slider(
    "A significant fall is a drop of at least (%)", min_value=10, max_value=100, value=50, step=5,
    key="dropoff_threshold", help="Revenue in period B against period A (the last 4 quarters against the 4 before).",
)
fallen = derived(significant_dropoffs, changes, threshold / 100)
bridge = derived(revenue_bridge, changes, periods)
total_change = float(changes["revenue_t4"].sum() - changes["revenue_prev_t4"].sum())
lost = float(fallen["revenue_lost"].sum())

c1, c2, c3 = st.columns(3)
windows = f"Revenue in {t4} against {prev_t4}."
c1.metric(f"Partners down {threshold} % or more", f"{len(fallen):,}", help=windows)
c2.metric("Revenue they lost", money(lost), help=windows)
c3.metric("Channel revenue change", money(total_change), help=windows)

# One above the other: side by side, the partners' names left the bars a sliver of the width.
show_chart(cached_figure(charts.revenue_bridge_waterfall, bridge, q, compared=compared))
if fallen.empty:
    st.info(f"No partner fell by {threshold} % or more.")
else:
    show_chart(cached_figure(charts.dropoffs_bar, fallen, q, top=20, compared=compared))

st.subheader(f"Partners whose revenue fell {threshold} % or more, by revenue lost")
partner_table(
    fallen, f"revenue_dropoffs_{q}", "dl_dropoffs", "by revenue lost, largest first",
    labels=headers,
)

st.subheader("How changes spread")
by = st.segmented_control("Group by", ["tier", "region"], default="tier", key="dropoff_group") or "tier"
show_chart(cached_figure(charts.change_distribution_box, derived(change_distribution, changes, by=by), q, by=by,
                         compared=compared))
st.caption(f"{charts.BOX_NOTE} Partners whose revenue in {prev_t4} was zero or a net credit have no change "
           "and are left out.")

with st.expander(f"Every partner's change (quarter and year to {q}, {t4} against {prev_t4})"):
    largest = changes.sort_values(["revenue_t4", "partner_id"], ascending=[False, True])
    partner_table(largest, f"partner_changes_{q}", "dl_changes", f"by revenue in {t4}, largest first",
                  labels=headers)
