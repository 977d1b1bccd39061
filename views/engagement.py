"""Engagement and fit: occasional dealers, breadth, enterprise products sold into small businesses, focus."""

import streamlit as st

from analytics import charts
from analytics.catalogue import enterprise_products
from analytics.engagement import engagement_table, low_deal_partners, oversellers, segment_focus
from analytics.formatting import money
from analytics.quarters import shift_quarter
from views.shared import PARTNER_LINK, current_filter, download_table, load, partner_links

st.title("Engagement and fit")
flt = current_filter()
products = load(enterprise_products)
table = load(engagement_table, flt, flt.quarter, tuple(products)) if flt.quarter else None
if table is None or table.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
q = flt.quarter
period = f"{shift_quarter(q, -3)}–{q}"
st.caption(f"Trailing year {period} · {flt.describe()}. A deal is an order: one customer on one day.")

occasional = low_deal_partners(table, max_deals=2)
oversold = oversellers(table, min_share=0.2)
c1, c2, c3 = st.columns(3)
c1.metric(f"Partners with at most 2 deals, {period}", f"{len(occasional):,}",
          help=f"Out of {len(table):,} partners with any order in {period}.")
c2.metric(f"Median distinct customers per partner, {period}", f"{table['customers_t4'].median():,.0f}")
c3.metric(f"Enterprise-grade revenue sold to SMB, {period}", money(table["enterprise_into_smb_revenue"].sum()),
          help="Enterprise-grade products: " + ", ".join(products))

st.subheader("Deals per partner")
st.plotly_chart(charts.deals_histogram(table, q), width="stretch")
with st.expander(f"The {len(occasional):,} partners with at most two deals in {period}"):
    st.dataframe(partner_links(occasional), hide_index=True, width="stretch", column_config={"partner": PARTNER_LINK})
    download_table(occasional, f"occasional_partners_{q}", key="dl_occasional")

st.subheader("Breadth: distinct customers and products")
st.plotly_chart(charts.breadth_scatter(table, q), width="stretch")

st.subheader("Enterprise-grade products sold into small businesses")
if oversold.empty:
    st.info("No partner puts 20 % or more of its revenue into enterprise-grade products for SMB customers.")
else:
    st.plotly_chart(charts.oversell_bar(oversold, q), width="stretch")
    st.dataframe(
        partner_links(oversold), hide_index=True, width="stretch",
        column_config={
            "partner": PARTNER_LINK,
            "enterprise_into_smb_share": st.column_config.NumberColumn("share of revenue", format="percent"),
        },
    )
    download_table(oversold, f"enterprise_into_smb_{q}", key="dl_oversell")

st.subheader("Segment focus against tier")
st.plotly_chart(charts.segment_focus_box(segment_focus(table), q), width="stretch")

with st.expander("Every partner's engagement (table)"):
    st.dataframe(partner_links(table), hide_index=True, width="stretch", column_config={"partner": PARTNER_LINK})
    download_table(table, f"engagement_{q}", key="dl_engagement")
