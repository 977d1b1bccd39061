"""Recruits and ramp: cohorts of recruited partners, how they stay and grow, and the nursery pipeline."""

import streamlit as st

from analytics import charts
from analytics.analyses.recruits import FIRST_YEAR_DEALS, RETENTION_AFTER, recruit_headline, recruits_report
from analytics.formatting import markdown_literal, money
from analytics.periods import quarter_span, trailing_span
from analytics.program.regional_programs import load_programs
from analytics.program.rules import load_program
from analytics.review.regional import MissingRates
from analytics.store.quarters import shift_quarter
from views.cache import cached, cached_figure
from views.sidebar import current_filter
from views.style import show_chart
from views.widgets import download_table, partner_table, show_table

st.title("Recruits and ramp")
flt = current_filter()
try:
    rules = load_program()
except ValueError as exc:
    st.error(f"The program rules cannot be used: {markdown_literal(str(exc))}")
    st.stop()
try:  # the nursery pipeline judges each partner under its own region's program
    programs = load_programs()
    report = cached(recruits_report, flt, rules, programs) if flt.quarter else None
except MissingRates as exc:
    st.error(f"The nursery pipeline cannot be computed: {markdown_literal(str(exc))}")
    st.stop()
if report is None:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
q, cohorts = report.as_of, report.cohorts
since = shift_quarter(report.first_quarter, 1)
st.caption(
    f"Cohorts {quarter_span(since, q)} · {markdown_literal(flt.describe())}. A recruit joins in the quarter of its "
    f"first order. Partners whose first stored order is in {report.first_quarter}, the first quarter of the data, "
    "were there before the data began: they are not recruits. Partners are selected by their latest recorded "
    "tier, region and distributor" + ("; the segment filter does not narrow this page." if flt.segments else ".")
    + " A partner that orders rarely and had no order in the first quarter shows up as a recruit of a later "
    "one, so the first cohorts hold some partners older than the data."
)

headline = recruit_headline(cohorts, q)
c1, c2, c3 = st.columns(3)
c1.metric(f"Partners recruited, {quarter_span(since, q)}", f"{headline.recruited:,}")
c2.metric("Recruited, last 4 quarters", f"{headline.recruited_last_year:,}", help=trailing_span(q))
c3.metric(
    f"{FIRST_YEAR_DEALS}+ deals in the first year",
    f"{headline.first_year_deals_share:.0%}" if headline.first_year_deals_share is not None else "n/a",
    help=f"Share of the recruits of {', '.join(headline.first_year_cohorts) or 'no cohort'} (their first year is "
         f"over by {q}) with at least {FIRST_YEAR_DEALS} deals in their first four quarters.",
)

st.subheader("Cohorts by quarter of first order")
if cohorts.empty:
    st.info(f"No partner in this selection joined after {report.first_quarter}.")
    st.stop()
cohort_columns = {
    **{f"active_after_{k}": st.column_config.NumberColumn(
        f"Ordering {k} quarter{'s' if k > 1 else ''} later", format="percent",
        help=f"Share of the cohort with an order in quarter {k} after the one it joined in")
       for k in RETENTION_AFTER},
    "three_deals_first_year": st.column_config.NumberColumn(
        f"At least {FIRST_YEAR_DEALS} deals in the first year", format="percent",
        help=f"Share of the cohort with {FIRST_YEAR_DEALS} or more deals in its first 4 quarters "
             "(the joining quarter included)"),
}
# Cells the data do not reach yet are empty (show_table's placeholder), not "None".
show_table(cohorts, cohort_columns, key="cohort_table", height=35 * (len(cohorts) + 1) + 3)  # every cohort
lowest = rules.tier_names[-1]
st.caption(
    f"Shares are of the partners recruited in the quarter. A cell is empty where the data, which end in {q}, do "
    "not reach that far yet. Median quarters to a tier: quarters after joining (0 = the joining quarter) by which "
    f"half the cohort met its minimums in revenue, deals and customers over a trailing year, as the annual review "
    f"counts them ({markdown_literal(lowest)} is the lowest tier); empty while fewer than half have."
)
download_table(cohorts, f"recruit_cohorts_{q}", "dl_cohorts", labels=cohort_columns)

st.subheader("Revenue per cohort by quarter since joining")
show_chart(cached_figure(charts.cohort_revenue_lines, report.revenue, q), key="cohort_chart")

nursery = ", ".join(markdown_literal(t) for t in report.nursery_tiers)
st.subheader("Nursery pipeline: on course for the next tier")
st.caption(
    f"Partners in {nursery} with an order in {trailing_span(q)} whose pace, the last two quarters "
    f"({trailing_span(q, 2)}) annualised, reaches the next tier's revenue and deal minimums: held for two "
    "more quarters, that pace is their trailing year. Gaps are what the trailing four quarters still lack "
    f"(0: met); customers cannot be annualised, so their gap is what the partner still needs. "
    f"{len(report.pipeline):,} of {report.nursery_active:,} active partners in {nursery} are on course; "
    f"{int(report.pipeline['meets_next_tier'].sum()):,} of them already meet the next tier's minimums."
    + (" Each partner is in its own region's program (its tiers and its currency's minimums; the Program column)."
       if programs.regional else "")
)
if report.pipeline.empty:
    st.info(f"No partner in {nursery} is on course for the next tier in this selection.")
else:
    partner_table(
        report.pipeline, f"nursery_pipeline_{q}", "dl_pipeline",
        "those still short first, then by next tier (highest first) and smallest revenue gap",
        labels={f"{what}_trailing": f"{what.capitalize()} {trailing_span(q)}"
                for what in ("revenue", "deals", "customers")},
        first=["next_tier", "meets_next_tier"],
    )
st.caption(f"Revenue in USD, net of credits and returns. All recruits' revenue since joining, "
           f"{quarter_span(since, q)}: {money(report.revenue['revenue'].sum())}.")
