"""Overview: the channel's headline figures, or, on an empty database, the way to get data in."""

import pandas as pd
import streamlit as st

from analytics import charts
from analytics.access import AccessDenied
from analytics.analyses.messages import tier_change_table
from analytics.analyses.queries import filter_options, new_and_lapsed, overview, partners_by_tier, revenue_by_tier
from analytics.demo import DemoSpec, build_demo_channel
from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal, money, pct_change, signed_pct
from analytics.ingest.load import load_extract
from analytics.ingest.report import ExtractInvalid
from analytics.periods import trailing_span
from analytics.program.regional_programs import load_programs
from analytics.store.faults import StoreError
from analytics.store.quarters import shift_quarter
from views.auth import current_actor
from views.cache import cached, cached_figure
from views.db import get_store
from views.overview_sections import board_pack_button, changes_section, messages_section, template_section
from views.sidebar import current_filter
from views.style import show_chart

st.title("Channel overview")
flt = current_filter()
summary = cached(overview, flt)

if summary is None:
    actor = current_actor()
    if not actor.may("load"):
        st.info(f"The database is empty. Loading data takes the operator or admin role; "
                f"{markdown_literal(actor.who)} is {actor.role}. Ask channel operations to load the first extract.")
        st.stop()
    st.info("The database is empty. Build the demo channel to explore the product, or load a sales extract.")
    left, right = st.columns(2)
    with left:
        st.subheader("Demo channel")
        spec = DemoSpec()
        st.caption(f"A generated channel: about {spec.partners:,} partners over {spec.quarters} quarters to "
                   f"{spec.last_quarter}, about a million order lines. Takes under a minute.")
        if st.button("Build the demo channel", key="build_demo", type="primary"):
            bar = st.progress(0.0, text="Starting")
            build_demo_channel(get_store(), spec, progress=lambda f, m: bar.progress(min(f, 1.0), text=m),
                               actor=actor)
            st.rerun()
    with right:
        st.subheader("Your own extract")
        upload = st.file_uploader("Sales extract (CSV or Excel)", type=["csv", "txt", "xlsx"], key="first_upload")
        if upload is not None:
            try:
                result = load_extract(get_store(), upload.getvalue(), file_name=upload.name, actor=actor)
            except ExtractInvalid as exc:
                st.error(f"{markdown_literal(upload.name)} was not loaded; nothing was written. "
                         "Fix these problems and upload it again.")
                st.dataframe(exc.report.problems_frame(), hide_index=True)
            except (StoreError, AccessDenied) as exc:
                st.error(markdown_literal(str(exc)))
            else:
                st.success(markdown_literal(result.message))
                st.rerun()
    st.stop()

q = summary.quarter
year_before = shift_quarter(q, -4)
flows = cached(new_and_lapsed, flt)
latest_flow = flows[flows["quarter"] == q]

st.caption(f"As of {q} · {markdown_literal(flt.describe())}. Revenue in USD, net of credits and returns.")
board_pack_button(flt)
template_section()
messages_section(ChannelFilter(q, flt.tiers, flt.regions, flt.distributors, flt.segments))
st.subheader("Headline figures")
c1, c2, c3, c4 = st.columns(4)
# Short labels, so that none is cut off at 1280 px; the periods and definitions are in the help.
c1.metric(
    "Active partners",
    f"{summary.active_partners:,}",
    delta=f"{summary.active_partners - summary.active_partners_before:+,} vs a year before",
    help=f"Partners with at least one order in the four quarters {trailing_span(q)}.",
)
c2.metric(
    f"Revenue in {q}",
    money(summary.revenue_quarter),
    delta=signed_pct(pct_change(summary.revenue_quarter, summary.revenue_quarter_before)),
    help=f"Against {year_before}: {money(summary.revenue_quarter_before)}",
)
c3.metric(
    "Revenue, 4 quarters",
    money(summary.revenue_trailing),
    delta=signed_pct(pct_change(summary.revenue_trailing, summary.revenue_trailing_before)),
    help=f"{trailing_span(q)}, against the four quarters before: {money(summary.revenue_trailing_before)}",
)
if not latest_flow.empty:
    row = latest_flow.iloc[0]
    new, lapsed = row["new_partners"], row["lapsed_partners"]
    c4.metric(
        f"New / lapsed in {q}",
        " / ".join("n/a" if pd.isna(v) else f"{int(v):,}" for v in (new, lapsed)),
        help=f"Partners. New: first order ever in {q}. Lapsed: an order in the four quarters "
             f"{trailing_span(shift_quarter(q, -1))}, none in {trailing_span(q)} (last order in "
             f"{shift_quarter(q, -4)}). The same partners as the Tiers page's new and lapsed from "
             f"{shift_quarter(q, -1)} to {q}.",
    )

left, right = st.columns([2, 3])
programs = load_programs()  # a regional program's tiers count at their global level: one ladder
if year_before >= cached(filter_options).quarters[0]:  # partners per tier now against a year before
    show_chart(cached_figure(charts.tiers_against_year_before_bars, cached(tier_change_table, flt, q, programs), q,
                             year_before), left)
else:
    show_chart(cached_figure(charts.partners_by_tier_bar, cached(partners_by_tier, flt, q, programs), q), left)
show_chart(cached_figure(charts.revenue_by_tier_bars, cached(revenue_by_tier, flt), q), right)
show_chart(cached_figure(charts.new_and_lapsed_bars, flows, q))
st.caption(
    f"Partners per tier: each partner with an order in {trailing_span(q)} (grey: in "
    f"{trailing_span(year_before)}, a year before; above each tier its net change), in the latest "
    "tier the data "
    "record for it there (Tier (recorded), as on the Tiers page; not the tier its figures meet, which the annual "
    "review judges). Revenue per quarter: each partner in the tier recorded in that quarter. New in a quarter: "
    "first order ever in it; lapsed: an order in the four quarters to the quarter before, none in the four to it. "
    "Both are counted from the fifth quarter of data on: before that, a partner's first order in the data may just "
    "be its first order of the year."
    + (f" Partners per tier counts regional tiers at their global level ({programs.ladder_words()})."
       if programs.ladder_words() else "")
)
changes_section()
