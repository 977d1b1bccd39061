"""Engagement and fit: occasional dealers, breadth, enterprise products sold into small businesses, focus."""

import streamlit as st

from analytics import charts
from analytics.analyses.engagement import engagement_table, low_deal_partners, oversellers, segment_focus
from analytics.analyses.retention import account_retention, kept_text, losing_accounts, retention_periods
from analytics.formatting import markdown_literal, money
from analytics.periods import trailing_span
from analytics.program.catalogue import enterprise_products
from views.cache import cached, cached_figure, derived
from views.sidebar import current_filter
from views.style import show_chart
from views.widgets import partner_table

st.title("Engagement and fit")
flt = current_filter()
products = cached(enterprise_products)
table = cached(engagement_table, flt, flt.quarter, tuple(products)) if flt.quarter else None
if table is None or table.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
q = flt.quarter
period = trailing_span(q)
year_columns = {f"{what}_t4": f"{what.capitalize()} {period}" for what in ("revenue", "deals", "customers", "products")}
st.caption(f"Trailing year {period} · {markdown_literal(flt.describe())}. A deal is an order: one customer on one day.")

occasional = derived(low_deal_partners, table, max_deals=2)
oversold = derived(oversellers, table, min_share=0.2)
c1, c2, c3 = st.columns(3)
c1.metric("Partners with at most 2 deals", f"{len(occasional):,}",
          help=f"In {period}, out of {len(table):,} partners with any order then.")
c2.metric("Median customers per partner", f"{table['customers_t4'].median():,.0f}",
          help=f"Distinct customers per partner in {period}.")
c3.metric("Enterprise-grade sold to SMB", money(table["enterprise_into_smb_revenue"].sum()),
          help=f"Revenue in {period}. Enterprise-grade products: " + ", ".join(products))

st.subheader("Deals per partner")
show_chart(cached_figure(charts.deals_histogram, table, q))
with st.expander(f"The {len(occasional):,} partners with at most two deals in {period}"):
    partner_table(
        occasional, f"occasional_partners_{q}", "dl_occasional", f"fewest deals first, then by revenue in {period}",
        labels=year_columns,
    )

st.subheader("Breadth: distinct customers and products")
show_chart(cached_figure(charts.breadth_scatter, table, q))

st.subheader("Enterprise-grade products sold into small businesses")
if oversold.empty:
    st.info("No partner puts 20 % or more of its revenue into enterprise-grade products for SMB customers.")
else:
    show_chart(cached_figure(charts.oversell_bar, oversold, q))
    partner_table(
        oversold, f"enterprise_into_smb_{q}", "dl_oversell", "by enterprise-grade revenue from SMB, largest first",
        labels=year_columns, first=["enterprise_into_smb_share", "enterprise_into_smb_revenue"],
    )

st.subheader("Segment focus against tier")
show_chart(cached_figure(charts.segment_focus_box, derived(segment_focus, table), q))
st.caption(f"{charts.BOX_NOTE} Partners without positive revenue in {period} have no shares and are left out.")

st.subheader("Account retention: customers who bought again")
retention = cached(account_retention, flt, q)
year_before, this_year = retention_periods(q)
if retention.empty:
    st.info(f"No partner's order lines in {year_before} carry customer ids, so account retention cannot be told.")
else:
    kept, before = int(retention["customers_kept"].sum()), int(retention["customers_before"].sum())
    st.metric("Customers kept from the year before", kept_text(kept, before),
              help=f"Customers of {year_before} who bought again in {this_year}. Per partner: distinct customers "
                   "with an order of positive revenue in each year, added up.")
    show_chart(cached_figure(charts.retention_histogram, retention, year_before, this_year, min_customers=5))
    losing = derived(losing_accounts, retention, min_customers=5)
    st.markdown(f"**Partners losing accounts fastest**: lowest share of their {year_before} customers kept in "
                f"{this_year}, among partners with 5 or more customers in {year_before} ({len(losing):,}). "
                "Partners whose lines carry no customer ids have no figure. Not a model feature yet.")
    partner_table(
        losing, f"account_retention_{q}", "dl_retention", "lowest retention first, then most customers lost",
        labels={"customers_before": f"Customers {year_before}", "customers_kept": f"Of them bought again {this_year}"},
    )

with st.expander(f"Every partner's engagement, {period} (table)"):
    partner_table(table, f"engagement_{q}", "dl_engagement", f"by revenue in {period}, largest first",
                  labels=year_columns)
