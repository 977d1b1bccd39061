"""Annual review: a recommended action for every active partner, the chief's decisions, what-if, saved reviews."""

from pathlib import Path

import streamlit as st

from analytics.access import AccessDenied
from analytics.analyses.queries import filter_options
from analytics.export import people_csv, review_workbook
from analytics.formatting import markdown_literal, money
from analytics.periods import span_after, trailing_span
from analytics.program.regional_programs import load_programs
from analytics.program.rules import load_program, program_files, program_path
from analytics.review.decisions import (
    ACTIONS,
    DECISION_EXPORT_COLUMNS,
    PROVISIONAL,
    action_counts,
    decision_counts,
    default_review_name,
    review_decisions,
    review_out,
    save_review,
    select_partners,
)
from analytics.review.regional import MissingRates, regional_recommendations
from analytics.store.quarters import shift_quarter
from views.auth import current_actor
from views.db import cached, derived, get_store
from views.review_draft import EDITS, applied, draft_saved, keep_draft, restore_draft
from views.review_letters import letters_section
from views.review_regions import program_words, regions_tab
from views.review_saved import saved_reviews_tab
from views.review_table import (
    GENERATION,
    decisions_table,
    fold_table_edits,
    partner_panel,
    remember_shown,
    work_filters,
)
from views.review_whatif import applied_programs, whatif_tab
from views.review_year import review_filter
from views.scores import scores_ready
from views.sidebar import filter_with_data
from views.widgets import PARTNER_LINK, WRAPPED_ROW_HEIGHT, column_config, partner_links

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
dormant = int(table["dormant"].sum())
st.caption(
    f"Review of the year {year}: all {len(table):,} partners of the selection with an order in {lookback}, "
    f"{len(table) - dormant:,} with orders in {year} and {dormant:,} dormant (orders in {before_year}, none since). "
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
second_looks = int((table["second_look"] != "").sum())
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
    candidates = table[table["grant"] | (table["recommendation"] == PROVISIONAL)].sort_values(
        ["turnaround_probability", "revenue_trailing"], ascending=False, kind="stable")
    st.caption(
        f"Underperformers with a turnaround probability of {rules.provisional_threshold:.0%} or more, most likely "
        f"first, and any partner you set to provisional continuation. Untick a partner to give it what the rules "
        f"say otherwise; adjust its goals for {span_after(q, 2)} (default: half its tier's "
        f"yearly minimums)."
    )
    granting = partner_links(candidates)[
        ["partner", "partner_name", "grant", "turnaround_probability", "revenue_goal", "deals_goal", "reasons",
         "otherwise", "tier", "recommendation", "revenue_trailing", "partner_id"]]
    remember_shown(f"provisional_editor_{generation}", granting)
    st.data_editor(
        granting, hide_index=True, width="stretch", key=f"provisional_editor_{generation}", placeholder="",
        row_height=WRAPPED_ROW_HEIGHT,
        disabled=True if not may_decide else ["partner", "partner_name", "tier", "recommendation",
                                              "turnaround_probability", "revenue_trailing", "otherwise", "reasons",
                                              "partner_id"],
        column_config=column_config(granting, {
            **year_columns,
            "partner": PARTNER_LINK,
            "partner_id": None,
            "turnaround_probability": st.column_config.ProgressColumn("Turnaround probability", format="percent",
                                                                      min_value=0, max_value=1),
            "revenue_goal": st.column_config.NumberColumn("Revenue goal, next 2 quarters", format="dollar",
                                                          min_value=0),
            "deals_goal": st.column_config.NumberColumn("Deals goal, next 2 quarters", min_value=0, step=1),
        }),
    )

with what_if_tab:
    whatif_tab(programs, Path(rules_file), derived(action_counts, recs), flt, actor)

decisions = table  # the decisions to save: the recommendations with the chief's changes
download = decisions[DECISION_EXPORT_COLUMNS]

st.divider()
left, right = st.columns([2, 1])
name = left.text_input("Review name", value=default_review_name(q), key="review_name",
                       help="Saving again under the same name updates that review; nothing is duplicated.")
changed = int((decisions["decision"] != decisions["recommendation"]).sum())
right.metric("Differ from the recommendation", f"{changed:,}",
             help=f"{len(edits):,} partners changed in this session (a decision, note or goal); kept as your draft "
                  "of this review, across reloads, until you save it or discard the draft.")
right.caption(f"Changed in this session: {len(edits):,} partner" + ("" if len(edits) == 1 else "s"))
c1, c2, c3 = st.columns(3)
if may_decide and c1.button(f"Save {len(decisions):,} decisions", type="primary", key="save_review",
                            icon=":material/save:"):
    try:
        result = save_review(get_store(), name, q, rules, decisions, actor=actor)
    except (ValueError, AccessDenied) as exc:
        st.error(markdown_literal(str(exc)))
    else:
        draft_saved(actor, q, edits)
        st.success(f"Saved review {markdown_literal(result['review'])}: {result['added']:,} decisions added, "
                   f"{result['changed']:,} changed, {result['unchanged']:,} unchanged.")
# Written only on a click: an Excel file of every partner took seconds on every rerun of the page.
# A file the chief can send as is: who, the decision and why first, in words, the figures after.
sent_first = ["partner_id", "partner_name", "decision", "note", "development_goals", "revenue_goal", "deals_goal",
              "recommendation", "reasons"]
sent_columns = {"revenue_trailing": f"Revenue {year}", "deals_trailing": f"Deals {year}",
                "customers_trailing": f"Customers {year}"}
c2.download_button("Download decisions (CSV)", lambda: people_csv(download, sent_columns, sent_first),
                   file_name=f"review_{name}.csv",
                   mime="text/csv", key="dl_review_csv", icon=":material/download:", on_click="ignore")
# The workbook a chief sends: a Summary sheet (review, quarter, rules, counts) and the decisions set up to print.
c3.download_button("Download decisions (Excel)",
                   lambda: review_workbook(download, name, q, rules, rules_label, sent_columns, sent_first),
                   file_name=f"review_{name}.xlsx", key="dl_review_xlsx", icon=":material/download:", on_click="ignore")

with saved_tab:
    saved_reviews_tab(sent_first, flt.scope)
    letters_section(st.session_state.get("open_review"), flt.scope, actor)

for regions_container in regions_tabs:
    with regions_container:
        regions_tab(table, name, programs)
