"""Annual review: a recommended action for every active partner, the chief's decisions, what-if, saved reviews."""

from pathlib import Path

import streamlit as st

from analytics.analyses.queries import filter_options
from analytics.formatting import markdown_literal, money
from analytics.periods import span_after, trailing_span
from analytics.program.regional_programs import load_programs
from analytics.program.rules import load_program, program_files, program_path
from analytics.review.actions import ACTIONS
from analytics.review.candidates import review_tally
from analytics.review.decisions import action_counts, decision_counts, review_decisions, review_out, select_partners
from analytics.review.regional import MissingRates, regional_recommendations
from analytics.store.quarters import shift_quarter
from views.auth import current_actor
from views.cache import cached, derived
from views.review_draft import EDITS, applied, keep_draft, restore_draft
from views.review_letters import letters_section
from views.review_provisional import provisional_tab_body
from views.review_regions import program_words, regions_tab
from views.review_save import SENT_FIRST, save_section
from views.review_saved import saved_reviews_tab
from views.review_table import (
    GENERATION,
    decisions_table,
    fold_table_edits,
    partner_panel,
    work_filters,
)
from views.review_whatif import applied_programs, whatif_tab
from views.review_year import review_filter
from views.scores import scores_ready
from views.sidebar import filter_with_data

st.title("Annual review")
actor = current_actor()
may_decide = actor is not None and actor.may("save review")
flt = review_filter(filter_with_data(), cached(filter_options).quarters, actor)
q = flt.quarter
year = trailing_span(q)

program_file = program_path()
files = program_files(program_file.parent)
if program_file not in files:  # the program's own file is broken: say what is wrong with it
    try:
        load_program(program_file)
    except ValueError as exc:
        st.error(f"The program rules cannot be used: {markdown_literal(str(exc))}")
if not files:
    st.stop()
rules_file = st.selectbox("Program rules", files, format_func=lambda p: p.name, key="review_rules_file",
                          index=files.index(program_file) if program_file in files else 0,
                          help=f"Program rules files in {program_file.parent}: tier minimums, nursery, "
                               "review-out share, what counts as at risk.")
try:
    programs = load_programs(Path(rules_file))
    rules = programs.global_rules
except ValueError as exc:  # changed on disk since it was listed
    st.error(f"The program rules cannot be used: {markdown_literal(str(exc))}")
    st.stop()
programs = applied_programs(programs)  # the what-if's rules while the chief uses them for this review (says so)
rules = programs.global_rules
# A what-if in use on any program (the global one or a regional one) names the review's rules.
rules_label = next((p.rules.source for p in programs.all if p.rules.source.startswith("what-if")),
                   Path(rules_file).name)
rules_name = markdown_literal(rules_label)  # a file name shows as written, never as Markdown
if not scores_ready(q, 4):
    st.stop()
try:  # each partner under its own program; a regional reviewer's scope is applied before anything is computed
    recs = cached(regional_recommendations, q, programs, None, flt.scope)
except MissingRates as exc:
    st.error(f"The review cannot be computed: {markdown_literal(str(exc))}", icon=":material/currency_exchange:")
    st.stop()
before_year = trailing_span(shift_quarter(q, -4), rules.review_lookback_quarters - 4)
lookback = trailing_span(q, rules.review_lookback_quarters)

# The chief's changes, by partner: kept in the session so that they survive sorting, tabs, filters and reruns, and
# as the person's draft of this review year in the database, so that a reload or a lost connection loses nothing.
if may_decide:
    restore_draft(actor, q)
edits: dict[str, dict] = st.session_state.setdefault(EDITS, {})
fold_table_edits(edits, derived(review_decisions, recs, flt, edits), ("review_editor", "provisional_editor"))
generation = st.session_state[GENERATION]

recs = derived(select_partners, recs, flt)
if recs.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
table = derived(review_decisions, recs, flt, edits)
tally = review_tally(table)
st.caption(
    f"Review of the year {year}: all {tally.partners:,} partners of the selection with an order in {lookback}, "
    f"{tally.active:,} with orders in {year} and {tally.dormant:,} dormant (orders in {before_year}, none since). "
    f"Revenue, deals and customers are over {year}; churn and turnaround probabilities over "
    f"{span_after(q, 4)} from the model (none for dormant partners). "
    f"Rules from {rules_name}: revenue decides a move down (short deal or customer counts become "
    f"development goals); provisional continuation from a turnaround probability of "
    f"{rules.provisional_threshold:.0%}; partners in their first {rules.nursery_quarters} quarters are not demoted "
    f"or terminated; at risk from a churn probability of {rules.at_risk_churn:.0%}, a fall of "
    f"{rules.at_risk_fall:.0%} year over year or a latest quarter near zero. "
    f"Selection: {markdown_literal(flt.describe())} (tier, region, country and distributor)."
)
st.caption(program_words(table, programs, actor))

counts = derived(decision_counts, table)
cols = st.columns(len(ACTIONS))
for col, row in zip(cols, counts.itertuples(), strict=True):
    differs = row.decided_minus_recommended
    col.metric(row.action.capitalize(), f"{row.decided:,}",
               delta=f"{differs:+,} on the {row.recommended:,} recommended" if differs else None, delta_color="off",
               help=f"Review {year}, decided: {row.share_of_partners:.1%} of the {len(table):,} partners; "
                    f"{money(row.revenue_trailing)} revenue in {year}. Recommended by the rules and model: "
                    f"{row.recommended:,}; the rest are your changes.")
out = review_out(table, rules)
second_looks = tally.second_looks
(st.warning if out.over_target else st.info)(
    f"Terminations decided: {out.describe()} (review_out_share in {rules_name})."
    + (f" {second_looks:,} recommended terminations are worth a second look (a low churn probability or a small "
       "shortfall): filter the table by Marked → worth a second look." if second_looks else ""),
    icon=":material/gavel:")

tab_names = ["Every partner", "Provisional continuation", "What if", "Saved reviews"]
# The global chief (unscoped) follows every regional review and the roll-up; a regional reviewer sees their own.
if not actor.scoped:
    tab_names.append("Regions")
decisions_tab, provisional_tab, what_if_tab, saved_tab, *regions_tabs = st.tabs(tab_names)

year_columns = {f"{what}_trailing": f"{what.capitalize()} {year}" for what in ("revenue", "deals", "customers")}
with decisions_tab:
    if not may_decide:
        st.info(f"Recording decisions takes the reviewer or admin role; {markdown_literal(actor.who)} is {actor.role}. "
                "The recommendations are shown as they stand.")
    elif said := applied():
        st.success(markdown_literal(said))
    if may_decide:
        keep_draft(actor, q, edits)
    plans = [""] + [plan.name for plan in rules.incentive_plans] + [rules.default_incentive]
    decisions_table(work_filters(table, edits), len(table), may_decide, year_columns, plans)
    partner_panel(table, recs, flt, may_decide, plans)

with provisional_tab:
    provisional_tab_body(table, rules, q, may_decide, generation, year_columns)

with what_if_tab:
    whatif_tab(programs, Path(rules_file), derived(action_counts, recs), flt, actor)

name = save_section(table, tally.changed, edits, q, rules, rules_label, actor, may_decide)

with saved_tab:
    saved_reviews_tab(SENT_FIRST, flt.scope)
    letters_section(st.session_state.get("open_review"), flt.scope, actor)

for regions_container in regions_tabs:
    with regions_container:
        regions_tab(table, name, programs)
