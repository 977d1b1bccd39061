"""The Annual review's Saved reviews tab: each saved review, its downloads and how its provisional partners did."""

from __future__ import annotations

import streamlit as st

from analytics.export import people_csv, people_excel, review_workbook
from analytics.formatting import markdown_literal
from analytics.periods import trailing_span
from analytics.program.rules import ProgramRules, rules_from_json, rules_settings, rules_terms
from analytics.review.actions import BEHIND, MET, MISSED, NOT_YET_KNOWN, ON_TRACK
from analytics.review.saved_reviews import list_reviews, load_review, provisional_follow_up, review_saves
from views.db import get_store
from views.widgets import linked_table, show_table

__all__ = ["saved_reviews_tab"]


def saved_reviews_tab(sent_first: list[str], scope: tuple[str, ...] = ()) -> None:
    """Show the saved reviews, one opened with its decisions (`sent_first` columns first) and its follow-up.

    With a `scope` (the person's regions) the counts, decisions, downloads and follow-up are their regions' only.
    """
    saved = list_reviews(get_store(), scope)
    if saved.empty:
        st.info("No review saved yet.")
        return
    show_table(saved, {"name": "Review", "rules_file": "Rules of the last save"})
    opened = st.selectbox("Open a saved review", saved["name"], key="open_review")
    record = load_review(get_store(), opened, scope)
    as_of = str(saved.loc[saved["name"] == opened, "as_of"].iloc[0])
    shown_name = markdown_literal(opened)  # typed by a person: shown as typed
    rules, rules_file = _rules_of(opened, shown_name)
    linked_table(record, "saved_review_table", first=sent_first)
    d1, d2 = st.columns(2)
    d1.download_button(f"Download {shown_name} (CSV)", lambda: people_csv(record, first=sent_first),
                       file_name=f"review_{opened}.csv",
                       mime="text/csv", key="dl_saved_csv", icon=":material/download:", on_click="ignore")
    year = trailing_span(as_of)
    d2.download_button(
        f"Download {shown_name} (Excel)",
        # With its rules known, the workbook a chief sends (a Summary sheet first); a review saved before the
        # rules were kept readably gets its decisions alone.
        (lambda: review_workbook(record, opened, as_of, rules, rules_file, {"revenue_trailing": f"Revenue {year}"},
                                 sent_first)) if rules is not None
        else (lambda: people_excel(record, "decisions", first=sent_first)),
        file_name=f"review_{opened}.xlsx", key="dl_saved_xlsx", icon=":material/download:", on_click="ignore")
    follow = provisional_follow_up(get_store(), opened, scope)
    st.subheader(f"How {shown_name}'s provisional partners did against their goals")
    if follow.empty:
        st.info(f"{shown_name} put no partner on provisional continuation.")
        return
    status = follow["status"].value_counts()
    quarters, loaded = follow["goal_quarters"].iloc[0], follow["quarters_loaded"].iloc[0]
    st.caption(f"Goals cover {quarters}; loaded so far: {loaded}. Until both quarters are in, each partner is on "
               "track or behind against its goals pro rata (half of each after the first quarter).")
    f1, f2, f3, f4, f5 = st.columns(5)
    f1.metric(f"Met their goals, {quarters}", f"{status.get(MET, 0):,}")
    f2.metric(f"Missed, {quarters}", f"{status.get(MISSED, 0):,}")
    so_far = "" if loaded == "none yet" else f", {loaded}"  # no goal quarter loaded: nobody is on track or behind
    f3.metric(f"On track{so_far}", f"{status.get(ON_TRACK, 0):,}")
    f4.metric(f"Behind{so_far}", f"{status.get(BEHIND, 0):,}")
    f5.metric("Not yet known (no goal quarter loaded)", f"{status.get(NOT_YET_KNOWN, 0):,}")
    linked_table(follow, "provisional_follow_up_table", first=["status"],
                 labels={"revenue": f"Revenue {loaded}", "deals": f"Deals {loaded}"})


def _rules_of(name: str, shown_name: str) -> tuple[ProgramRules | None, str]:
    """Say which rules review `name` was made under (each save's, when they differ); give the last save's and file."""
    saves = review_saves(get_store(), name)
    saves["rules_file"] = saves["rules_file"].fillna("not recorded (saved before the rules files were kept)")
    try:
        rules = rules_from_json(saves["rules"].iloc[0])
    except (ValueError, IndexError):
        st.caption(f"The rules {shown_name} was made under were not kept in a form that reads back.")
        return None, ""
    last = saves.iloc[0]
    st.markdown(f"**{shown_name}** was last saved under the rules of **{markdown_literal(last['rules_file'])}** "
                f"by {markdown_literal(str(last['saved_by'] or 'unknown'))} on {last['saved_at']:%Y-%m-%d %H:%M}"
                + (f"; saved {len(saves)} times." if len(saves) > 1 else "."))
    with st.expander(f"The rules {shown_name} was made under", icon=":material/gavel:"):
        show_table(rules_terms(rules), {"tier": "Tier", "min_revenue": st.column_config.NumberColumn(
            "Minimum revenue, 4 quarters", format="dollar"),
                                        "min_deals": "Minimum deals", "min_customers": "Minimum customers"})
        st.markdown("\n".join(f"- **{setting}**: {value}" for setting, value in rules_settings(rules)))
        if saves["rules"].nunique() > 1 or saves["rules_file"].nunique() > 1:
            st.caption("Its saves were made under different rules:")
            each = saves[["saved_at", "saved_by", "rules_file"]].assign(
                terms=[_tier_minimums(r) for r in saves["rules"]])
            show_table(each, {"rules_file": "Rules", "terms": "Tier minimum revenue"})
    return rules, str(last["rules_file"])


def _tier_minimums(rules_json: str) -> str:
    """Give a save's tier minimums in one line ("Gold $650,000, Silver $200,000"), or say they do not read."""
    try:
        rules = rules_from_json(rules_json)
    except ValueError:
        return "not readable"
    return ", ".join(f"{t.name} ${t.min_revenue:,.0f}" for t in rules.tiers) + (
        f"; provisional from {rules.provisional_threshold:.0%}")

