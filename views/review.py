"""Annual review: a recommended action for every active partner, the chief's decisions, what-if, saved reviews."""

from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import charts
from analytics.access import AccessDenied
from analytics.distributors import distributor_partners
from analytics.export import to_safe_csv, to_safe_excel
from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal, money
from analytics.program import PROGRAM_PATH, load_program, save_program
from analytics.quarters import shift_quarter
from analytics.review import (
    ACTIONS,
    PROVISIONAL,
    action_counts,
    default_review_name,
    list_reviews,
    load_review,
    provisional_follow_up,
    recommendations,
    save_review,
)
from views.shared import PARTNER_LINK, current_actor, current_filter, get_store, load, partner_links, scores_ready

st.title("Annual review")
actor = current_actor()
may_decide = actor is not None and actor.may("save review")
may_change_rules = actor is not None and actor.may("change program rules")
flt = current_filter()
q = flt.quarter
if not q:
    st.info("No data loaded yet. Load an extract on the Upload page.")
    st.stop()
year = f"{shift_quarter(q, -3)}–{q}"

files = sorted(p for p in PROGRAM_PATH.parent.glob("*.toml") if p.name != "products.toml")
rules_file = st.selectbox("Program rules", files, format_func=lambda p: p.name, key="review_rules_file",
                          index=files.index(PROGRAM_PATH) if PROGRAM_PATH in files else 0,
                          help=f"TOML files in {PROGRAM_PATH.parent}: tier minimums, nursery, review-out share.")
try:
    rules = load_program(Path(rules_file))
except ValueError as exc:
    st.error(f"The program rules cannot be used: {markdown_literal(str(exc))}")
    st.stop()
if not scores_ready(q, 4):
    st.stop()
recs = load(recommendations, q, rules)
st.caption(
    f"Review of the year {year}: every partner with orders in it. Revenue, deals and customers are over {year}; "
    f"churn and turnaround probabilities over {shift_quarter(q, 1)}–{shift_quarter(q, 4)} from the model. "
    f"Rules from {Path(rules_file).name}: provisional continuation from a turnaround probability of "
    f"{rules.provisional_threshold:.0%}; partners in their first {rules.nursery_quarters} quarters are not demoted "
    f"or terminated. Selection: {markdown_literal(flt.describe())} (tier, region and distributor)."
)


def in_selection(frame: pd.DataFrame) -> pd.DataFrame:
    """Give the partners of the sidebar's tiers, regions and distributors."""
    if flt.tiers:
        frame = frame[frame["tier"].isin(flt.tiers)]
    if flt.regions:
        frame = frame[frame["region"].isin(flt.regions)]
    if flt.distributors:  # the recommendations carry no distributor: the partners' latest one decides
        chosen = load(distributor_partners, ChannelFilter(quarter=q, distributors=flt.distributors), q)
        frame = frame[frame["partner_id"].isin(chosen["partner_id"])]
    return frame


recs = in_selection(recs)
if recs.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()

counts = action_counts(recs)
cols = st.columns(len(ACTIONS))
for col, row in zip(cols, counts.itertuples(), strict=True):
    col.metric(f"{row.action.capitalize()}, review {year}", f"{row.partners:,}",
               help=f"{row.share_of_partners:.1%} of the partners; {money(row.revenue_trailing)} revenue in {year}")
out = counts.set_index("action").loc["terminate", "share_of_partners"]
if out > rules.review_out_share:
    st.warning(f"Recommended terminations are {out:.1%} of the partners; the program means to review out at most "
               f"{rules.review_out_share:.0%}.")

decisions_tab, provisional_tab, whatif_tab, saved_tab = st.tabs(
    ["Every partner", "Provisional continuation", "What if", "Saved reviews"])

# The chief's overrides, by partner: kept in the session so that they survive sorting, tabs and reruns.
overrides: dict[str, dict] = st.session_state.setdefault("review_overrides", {})


def decisions_table() -> pd.DataFrame:
    """Give the recommendations with the overrides so far as decision and note."""
    table = recs.assign(decision=recs["recommendation"], note="")
    for column in ("decision", "note"):
        chosen = table["partner_id"].map(lambda pid, c=column: overrides.get(pid, {}).get(c))
        table[column] = chosen.where(chosen.notna(), table[column])
    return table


with decisions_tab:
    if not may_decide:
        st.info(f"Recording decisions takes the reviewer or admin role; {actor.who} is {actor.role}. "
                "The recommendations are shown as they stand.")
    with st.form("override_form", border=True) if may_decide else st.container():
        if may_decide:
            st.markdown("**Change one partner's decision**")
            f1, f2, f3 = st.columns([2, 1, 2])
            labels = dict(zip(recs["partner_id"], recs["partner_name"].fillna("") + " (" + recs["partner_id"] + ")",
                              strict=True))
            who = f1.selectbox("Partner", list(labels), format_func=labels.get, key="review_override_partner")
            what = f2.selectbox("Decision", ACTIONS, key="review_override_decision")
            why = f3.text_input("Note", key="review_override_note")
            if st.form_submit_button("Apply", key="review_override_apply"):
                overrides[who] = {"decision": what, "note": why}
    table = decisions_table()
    # Edits made in the table since the last run: fold them into the overrides before drawing it again.
    pending = (st.session_state.get("review_editor") or {}).get("edited_rows", {})
    for position, change in pending.items():
        overrides.setdefault(table.iloc[int(position)]["partner_id"], {}).update(change)
    if pending:
        table = decisions_table()
    st.caption("Change a decision or write a note in the table or with the form above; sort by any column. "
               "Saved with the button below.")
    shown = ["partner", "partner_name", "tier", "region", "qualifies_for", "recommendation", "decision", "note",
             "reasons", "revenue_trailing", "deals_trailing", "customers_trailing", "yoy_change",
             "churn_probability", "turnaround_probability"]
    edited = st.data_editor(
        partner_links(table)[shown + ["partner_id"]], hide_index=True, width="stretch", key="review_editor",
        disabled=[c for c in shown if c not in ("decision", "note") or not may_decide] + ["partner_id"],
        column_config={
            "partner": PARTNER_LINK,
            "partner_id": None,
            "decision": st.column_config.SelectboxColumn("Decision", options=ACTIONS, required=True),
            "note": st.column_config.TextColumn("Note"),
            "revenue_trailing": st.column_config.NumberColumn(f"Revenue {year}", format="dollar"),
            "deals_trailing": st.column_config.NumberColumn(f"Deals {year}"),
            "customers_trailing": st.column_config.NumberColumn(f"Customers {year}"),
            "yoy_change": st.column_config.NumberColumn("Change year over year", format="percent"),
            "churn_probability": st.column_config.NumberColumn("Churn probability", format="percent"),
            "turnaround_probability": st.column_config.NumberColumn("Turnaround probability", format="percent"),
            "reasons": st.column_config.TextColumn("Reasons", width="large"),
        },
    )

with provisional_tab:
    candidates = recs[recs["recommendation"] == PROVISIONAL].sort_values(
        ["turnaround_probability", "revenue_trailing"], ascending=False)
    st.caption(
        f"Underperformers with a turnaround probability of {rules.provisional_threshold:.0%} or more, most likely "
        f"first. Untick a partner to give it what the rules say otherwise; adjust its goals for "
        f"{shift_quarter(q, 1)}–{shift_quarter(q, 2)} (default: half its tier's yearly minimums)."
    )
    picked = st.data_editor(
        partner_links(candidates.assign(grant=True))[
            ["partner", "grant", "partner_name", "tier", "turnaround_probability", "revenue_trailing", "otherwise",
             "revenue_goal", "deals_goal", "reasons", "partner_id"]],
        hide_index=True, width="stretch", key="provisional_editor",
        disabled=True if not may_decide else ["partner", "partner_name", "tier", "turnaround_probability",
                                              "revenue_trailing", "otherwise", "reasons", "partner_id"],
        column_config={
            "partner": PARTNER_LINK,
            "partner_id": None,
            "grant": st.column_config.CheckboxColumn("Provisional continuation"),
            "turnaround_probability": st.column_config.ProgressColumn("Turnaround probability", format="percent",
                                                                      min_value=0, max_value=1),
            "revenue_trailing": st.column_config.NumberColumn(f"Revenue {year}", format="dollar"),
            "otherwise": st.column_config.TextColumn("If not granted"),
            "revenue_goal": st.column_config.NumberColumn("Revenue goal, next 2 quarters", format="dollar",
                                                          min_value=0),
            "deals_goal": st.column_config.NumberColumn("Deals goal, next 2 quarters", min_value=0, step=1),
        },
    )

with whatif_tab:
    st.caption("Try other minimums or another threshold: the counts change at once. Nothing is saved.")
    threshold = st.slider("Provisional continuation from a turnaround probability of (%)", 0, 100,
                          int(round(rules.provisional_threshold * 100)), 5, key="whatif_threshold") / 100
    tier_cols = st.columns(len(rules.tiers))
    minimums = {
        t.name: col.number_input(f"{markdown_literal(t.name)} minimum revenue, 4 quarters", min_value=0.0,
                                 value=float(t.min_revenue), step=5_000.0, key=f"whatif_min_{t.name}")
        for col, t in zip(tier_cols, rules.tiers, strict=True)
    }
    try:
        whatif_rules = rules.with_minimums(minimums)
    except ValueError as exc:
        st.error(markdown_literal(str(exc)))
    else:
        scenario = action_counts(in_selection(load(recommendations, q, whatif_rules, threshold)))
        both = pd.concat([counts.assign(scenario=f"program ({Path(rules_file).name})"),
                          scenario.assign(scenario="what if")])
        st.plotly_chart(charts.review_actions_bar(both, q), width="stretch")
        compare = counts[["action", "partners", "revenue_trailing"]].merge(
            scenario[["action", "partners", "revenue_trailing"]], on="action", suffixes=("", "_what_if"))
        st.dataframe(compare, hide_index=True, width="stretch", column_config={
            "revenue_trailing": st.column_config.NumberColumn(f"Revenue {year}", format="dollar"),
            "revenue_trailing_what_if": st.column_config.NumberColumn(f"Revenue {year}, what if", format="dollar"),
        })
        if may_change_rules:
            # Admins only (the engine checks too): these minimums and threshold become the program's terms.
            rules_name = markdown_literal(Path(rules_file).name)
            if st.button(f"Save these minimums and threshold to {rules_name}", key="save_program",
                         icon=":material/gavel:", help="Every later review reads the program rules from this file."):
                try:
                    save_program(replace(whatif_rules, provisional_threshold=threshold), rules_file, actor=actor)
                except (AccessDenied, ValueError, OSError) as exc:
                    st.error(markdown_literal(str(exc)))
                else:
                    st.success(f"Program rules in {rules_name} changed by {markdown_literal(actor.who)}.")
        else:
            st.caption("Changing the program rules themselves takes the admin role.")

# The decisions to save: the table's, with unticked provisional candidates given what the rules say otherwise.
decisions = recs.merge(edited[["partner_id", "decision", "note"]], on="partner_id", how="left")
granted = picked.set_index("partner_id")
not_granted = decisions["partner_id"].isin(granted.index[~granted["grant"].astype(bool)])
decisions.loc[not_granted & (decisions["decision"] == PROVISIONAL), "decision"] = decisions["otherwise"]
goals = granted[["revenue_goal", "deals_goal"]]
decisions = decisions.drop(columns=["revenue_goal", "deals_goal"]).merge(goals, left_on="partner_id",
                                                                         right_index=True, how="left")
decisions.loc[decisions["decision"] != PROVISIONAL, ["revenue_goal", "deals_goal"]] = None

st.divider()
left, right = st.columns([2, 1])
name = left.text_input("Review name", value=default_review_name(q), key="review_name",
                       help="Saving again under the same name updates that review; nothing is duplicated.")
changed = int((decisions["decision"] != decisions["recommendation"]).sum())
right.metric("Decisions that differ from the recommendation", f"{changed:,}")
c1, c2, c3 = st.columns(3)
if may_decide and c1.button(f"Save {len(decisions):,} decisions", type="primary", key="save_review",
                            icon=":material/save:"):
    try:
        result = save_review(get_store(), name, q, rules, decisions, actor=actor)
    except (ValueError, AccessDenied) as exc:
        st.error(markdown_literal(str(exc)))
    else:
        st.success(f"Saved review {markdown_literal(result['review'])}: {result['added']:,} decisions added, "
                   f"{result['changed']:,} changed, {result['unchanged']:,} unchanged.")
# Written only on a click: an Excel file of every partner took seconds on every rerun of the page.
c2.download_button("Download decisions (CSV)", lambda: to_safe_csv(decisions), file_name=f"review_{name}.csv",
                   mime="text/csv", key="dl_review_csv", icon=":material/download:", on_click="ignore")
c3.download_button("Download decisions (Excel)", lambda: to_safe_excel(decisions, "decisions"),
                   file_name=f"review_{name}.xlsx", key="dl_review_xlsx", icon=":material/download:", on_click="ignore")

with saved_tab:
    saved = list_reviews(get_store())
    if saved.empty:
        st.info("No review saved yet.")
    else:
        st.dataframe(saved, hide_index=True, width="stretch")
        opened = st.selectbox("Open a saved review", saved["name"], key="open_review")
        record = load_review(get_store(), opened)
        st.dataframe(partner_links(record), hide_index=True, width="stretch", column_config={"partner": PARTNER_LINK})
        d1, d2 = st.columns(2)
        shown_name = markdown_literal(opened)  # typed by a person: shown as typed
        d1.download_button(f"Download {shown_name} (CSV)", lambda: to_safe_csv(record),
                           file_name=f"review_{opened}.csv",
                           mime="text/csv", key="dl_saved_csv", icon=":material/download:", on_click="ignore")
        d2.download_button(f"Download {shown_name} (Excel)", lambda: to_safe_excel(record, "decisions"),
                           file_name=f"review_{opened}.xlsx", key="dl_saved_xlsx", icon=":material/download:",
                           on_click="ignore")
        follow = provisional_follow_up(get_store(), opened)
        st.subheader(f"How {shown_name}'s provisional partners did against their goals")
        if follow.empty:
            st.info(f"{shown_name} put no partner on provisional continuation.")
        else:
            status = follow["status"].value_counts()
            f1, f2, f3 = st.columns(3)
            quarters = follow["goal_quarters"].iloc[0]
            f1.metric(f"Met their goals, {quarters}", f"{status.get('met', 0):,}")
            f2.metric(f"Missed, {quarters}", f"{status.get('missed', 0):,}")
            f3.metric(f"In progress ({quarters} not all loaded)", f"{status.get('in progress', 0):,}")
            st.dataframe(partner_links(follow), hide_index=True, width="stretch",
                         column_config={"partner": PARTNER_LINK})
