"""Revenue drop-offs: who fell off, how much of the channel's change they explain, where it happens."""

import streamlit as st

from analytics import charts
from analytics.analyses.dropoffs import change_distribution, partner_changes, revenue_bridge, significant_dropoffs
from analytics.formatting import markdown_literal, money
from analytics.store.quarters import shift_quarter
from views.db import cached
from views.sidebar import current_filter
from views.style import show_chart
from views.widgets import partner_table

st.title("Revenue drop-offs")
flt = current_filter()
changes = cached(partner_changes, flt, flt.quarter) if flt.quarter else None
if changes is None or changes.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
q = flt.quarter
t4 = f"{shift_quarter(q, -3)}–{q}"
prev_t4 = f"{shift_quarter(q, -7)}–{shift_quarter(q, -4)}"
st.caption(
    f"Last 4 quarters: {t4}; the 4 before: {prev_t4} · {markdown_literal(flt.describe())}. "
    "Revenue in USD, net of credits and returns."
)

threshold = st.slider(
    "A significant fall is a drop of at least (%)", min_value=10, max_value=100, value=50, step=5,
    key="dropoff_threshold", help="Revenue in the last 4 quarters against the 4 before.",
)
fallen = significant_dropoffs(changes, threshold / 100)
bridge = revenue_bridge(changes)
total_change = float(changes["revenue_t4"].sum() - changes["revenue_prev_t4"].sum())
lost = float(fallen["revenue_lost"].sum())

c1, c2, c3 = st.columns(3)
periods = f"Revenue in {t4} against {prev_t4}."
c1.metric(f"Partners down {threshold} % or more", f"{len(fallen):,}", help=periods)
c2.metric("Revenue they lost", money(lost), help=periods)
c3.metric("Channel revenue change", money(total_change), help=periods)

# One above the other: side by side, the partners' names left the bars a sliver of the width.
show_chart(charts.revenue_bridge_waterfall(bridge, q))
if fallen.empty:
    st.info(f"No partner fell by {threshold} % or more.")
else:
    show_chart(charts.dropoffs_bar(fallen, q, top=20))

st.subheader(f"Partners whose revenue fell {threshold} % or more, by revenue lost")
partner_table(
    fallen, f"revenue_dropoffs_{q}", "dl_dropoffs", "by revenue lost, largest first",
    column_config={
        **{c: st.column_config.NumberColumn(c, format="dollar") for c in fallen.columns if c.startswith("revenue")},
        **{
            c: st.column_config.NumberColumn(c, format="percent")
            for c in fallen.columns
            if "change" in c or "share" in c
        },
    },
)

st.subheader("How changes spread")
by = st.segmented_control("Group by", ["tier", "region"], default="tier", key="dropoff_group") or "tier"
show_chart(charts.change_distribution_box(change_distribution(changes, by=by), q, by=by))
st.caption(f"{charts.BOX_NOTE} Partners whose revenue in {prev_t4} was zero or a net credit have no change "
           "and are left out.")

with st.expander(f"Every partner's change (quarter, year and trailing year to {q})"):
    largest = changes.sort_values(["revenue_t4", "partner_id"], ascending=[False, True])
    partner_table(largest, f"partner_changes_{q}", "dl_changes", f"by revenue in {t4}, largest first")
