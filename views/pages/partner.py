"""Partner: everything about one partner, found by name or id (other pages link here)."""

import streamlit as st

from analytics import charts
from analytics.analyses.partner_profile import (
    deals_in_year,
    find_partners,
    partner_history,
    partner_products,
    partner_rank,
    partner_region,
    partner_segments,
    partner_top_customers,
)
from analytics.analyses.retention import account_retention, kept_text, retention_periods
from analytics.analyses.tiers import qualifying_tiers, tier_gap_words
from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal, money, probability_text
from analytics.model.risk import risk_periods
from analytics.model.scoring import stored_scores
from analytics.periods import quarters_to, trailing_span
from analytics.program.regional_programs import load_programs
from analytics.review.regional import MissingRates, regional_recommendations
from analytics.review.saved_reviews import partner_decisions, partner_goal_follow_up
from views.cache import cached, cached_figure
from views.scores import scores_ready
from views.sidebar import current_filter
from views.style import show_chart
from views.widgets import back_link, download_table, show_table

st.title("Partner")
back_link()
flt = current_filter()
linked = st.query_params.get("partner_id", "")
text = st.text_input("Find a partner by name or id", value=linked, key="partner_search")
if not text.strip():
    st.info("Type part of a partner's name or id; tables on the other pages link here too.")
    st.stop()
found = cached(find_partners, text.strip(), 50, flt.scope)
if found.empty:
    region = cached(partner_region, text.strip()) if flt.scope else None
    if region is not None and not flt.allows_region(region):  # an id (a link) of a partner of another region
        st.warning(f"Partner {markdown_literal(text.strip())} is not one of yours: you see the partners of "
                   f"{markdown_literal(', '.join(flt.scope))} only.", icon=":material/block:")
    else:
        st.warning(f"No partner's name or id contains “{markdown_literal(text.strip())}”"
                   + (f" among the partners of {markdown_literal(', '.join(flt.scope))}." if flt.scope else "."))
    st.stop()
names = {r.partner_id: r.partner_name or r.partner_id for r in found.itertuples()}
# Option labels are plain text (never Markdown), so a name shows there as written.
labels = {r.partner_id: f"{names[r.partner_id]} ({r.partner_id}) · "
                        + (f"{r.tier} (recorded {r.tier_quarter})" if r.tier else "no tier recorded")
                        + f" · {r.region or ''}"
          for r in found.itertuples()}
partner_id = st.selectbox("Partner", list(labels), format_func=labels.get, key="partner_pick")
st.query_params["partner_id"] = partner_id

q = flt.quarter
period = trailing_span(q) if q else "the latest 4 quarters"
history = cached(partner_history, partner_id)
name = names[partner_id]  # from the data, not cut out of the label: a name may hold " (" itself
rank = cached(partner_rank, partner_id, q)

st.subheader(markdown_literal(name))  # a heading is Markdown: "**x**" or "$x$" in a name must show as written
c1, c2, c3, c4 = st.columns(4)
c1.metric(f"Revenue, {period}", money(rank.get("revenue_t4")))
tier_words = (f"{markdown_literal(rank['tier'])}) · recorded {rank['tier_quarter']}" if rank.get("tier")
              else "no tier recorded)")
c2.metric(f"Rank in tier ({tier_words}",
          f"{rank['rank_in_tier']:,} of {rank['partners_in_tier']:,}" if rank.get("rank_in_tier") else "n/a",
          help=f"By revenue in {period}, among the partners with an order then, each in its latest recorded tier "
               "(as the partners per tier count them); the tier is the one the data record, not the one its "
               "figures meet (below)." + ("" if rank.get("revenue_t4") else
                                          f" No order in {period}: ranked with no revenue."))
c3.metric(f"Rank in region ({markdown_literal(rank.get('region') or 'none')})",
          f"{rank['rank_in_region']:,} of {rank['partners_in_region']:,}" if rank.get("rank_in_region") else "n/a",
          help=f"By revenue in {period}.")
deals = deals_in_year(history, q) if q else None
c4.metric(f"Deals, {period}", "n/a" if deals is None else f"{int(deals):,}")

try:
    programs = load_programs()
    rules = programs.global_rules
except ValueError as exc:
    rules = None
    st.warning(f"The program rules cannot be used: {markdown_literal(str(exc))}")
program = programs.program_for(rank.get("region")) if rules is not None else None
if rules is not None and q:
    recorded = (f"**Tier (recorded)**: {markdown_literal(rank['tier'])}, as recorded in {rank['tier_quarter']}"
                if rank.get("tier") else "**Tier (recorded)**: none recorded")
    if program is programs.global_program:
        met = cached(qualifying_tiers, q, rules)
        met = met[met["partner_id"] == partner_id]
        meets = ("no order in that year" if met.empty
                 else markdown_literal(tier_gap_words(met.iloc[0], rank["tier"], rules)))
        st.markdown(f"{recorded} · **Tier its figures meet** over {period} (the program's minimums): {meets}")
    else:  # its region's own program judges it, on revenue in that program's currency
        try:
            judged = cached(regional_recommendations, q, programs, None, flt.scope)
            mine = judged[judged["partner_id"] == partner_id]
            meets = "not in the review of that year" if mine.empty else markdown_literal(mine.iloc[0].qualifies_for)
        except MissingRates as exc:
            meets = f"unknown: {markdown_literal(str(exc))}"
        st.markdown(f"{recorded} · **Tier its figures meet** over {period} (the {markdown_literal(program.name)} "
                    f"program's minimums, revenue in {program.currency}): {meets}")

show_chart(cached_figure(charts.partner_history_bars, history, name, q))
with st.expander("Quarter by quarter (table)"):
    show_table(history)
    download_table(history, f"partner_{partner_id}_history", key="dl_partner_history")

left, right = st.columns(2)
with left:
    st.markdown(f"**Products, {period}**")
    show_table(cached(partner_products, partner_id, q))
with right:
    st.markdown(f"**Customer segments, {period}**")
    show_table(cached(partner_segments, partner_id, q))
st.markdown(f"**Largest customers, {period}**")
show_table(cached(partner_top_customers, partner_id, q))
if q:
    year_before, this_year = retention_periods(q)
    retention = cached(account_retention, ChannelFilter(), q)
    mine = retention[retention["partner_id"] == partner_id]
    st.metric("Customers kept from the year before",
              "n/a" if mine.empty else kept_text(int(mine.iloc[0].customers_kept), int(mine.iloc[0].customers_before)),
              help=f"Customers of {year_before} who bought again in {this_year}: distinct customers with an order of "
                   "positive revenue in each year; n/a when no order line in the year before carries a customer id.")

st.subheader(f"Risk over the next 4 quarters, as of {q}")
scored = bool(q) and scores_ready(q, 4)
if scored:
    scores = cached(stored_scores, q, 4)
    mine = scores[scores["partner_id"] == partner_id]
    if mine.empty:
        st.info(f"No orders in {trailing_span(q)}, so no risk score as of {q}.")
    else:
        row = mine.iloc[0]
        periods = risk_periods(q, 4)
        r1, r2, r3 = st.columns(3)
        r1.metric(f"Churn probability, {periods.ahead}", probability_text(row.churn_probability),
                  help=f"Revenue in {periods.ahead} below 20 % of the {periods.at_stake} revenue, or none. Under 5 % "
                       "and over 95 % are bands: the data cannot tell finer odds apart there. See the Model page.")
        r2.metric(f"Turnaround probability, {periods.ahead} (underperformers only)",
                  probability_text(row.turnaround_probability) or "n/a")
        r3.metric(f"Revenue at stake, {periods.at_stake}", money(row.revenue_at_stake))
        st.markdown(f"**What raises the risk:** {markdown_literal(row.churn_reasons) or 'nothing stands out'}")
        st.markdown(f"**What lowers it:** {markdown_literal(row.churn_reasons_against) or 'nothing stands out'}")
        if row.turnaround_reasons:
            st.markdown(f"**What favours a turnaround:** {markdown_literal(row.turnaround_reasons)}")
        if row.turnaround_reasons_against:
            st.markdown(f"**What holds a turnaround back:** {markdown_literal(row.turnaround_reasons_against)}")

st.subheader(f"Annual review of {period}")
if rules is None:
    st.caption("No recommendation: the program rules cannot be used (see above).")
if rules is not None and scored:  # the recommendation weighs the stored scores
    try:
        recs = cached(regional_recommendations, q, programs, None, flt.scope)
    except MissingRates as exc:
        st.error(f"No recommendation: {markdown_literal(str(exc))}")
        recs = None
    mine = recs[recs["partner_id"] == partner_id] if recs is not None else None
    if mine is None:
        pass
    elif mine.empty:
        st.info(f"No order in the {quarters_to(q, rules.review_lookback_quarters)}, so it is not in the review of "
                f"{period}.")
    else:
        rec = mine.iloc[0]
        st.markdown(f"**Program:** {markdown_literal(rec.program)} ({rec.currency}), the program of its region "
                    f"{markdown_literal(rec.region)}"
                    + (f"; it moved from region {markdown_literal(rec.moved_from)} in {rec.moved_in}"
                       if isinstance(rec.moved_from, str) else ""))
        st.markdown(f"**Recommendation:** {rec.recommendation}" + (" · **at risk**" if rec.at_risk else "")
                    + (" · **dormant** (no order in the review year)" if rec.dormant else "")
                    + f" (tier its figures meet: {markdown_literal(rec.qualifies_for)})")
        if rec.incentive_plan:
            st.markdown(f"**Incentive plan for its segment focus in {period}:** {markdown_literal(rec.incentive_plan)}"
                        f" (SMB {rec.revenue_smb_share:.0%}, mid-market {rec.revenue_mid_market_share:.0%}, "
                        f"enterprise {rec.revenue_enterprise_share:.0%} of its revenue with a known segment)")
        st.markdown(f"**Why:** {markdown_literal(rec.reasons)}")
decisions = cached(partner_decisions, partner_id)
if decisions.empty:
    st.caption("No saved review holds a decision for this partner.")
else:
    st.markdown("**Saved decisions** (newest review first)")
    show_table(decisions)
    goals = cached(partner_goal_follow_up, partner_id)
    if goals is not None:
        st.markdown(f"**Revised goals of review {markdown_literal(goals['review'])}** ({goals['goal_quarters']}): "
                    f"{goals['status']}: revenue {money(goals['revenue'])} of {money(goals['revenue_goal'])} and "
                    f"{int(goals['deals']):,} of {int(goals['deals_goal']):,} deals in {goals['quarters_loaded']}.")
