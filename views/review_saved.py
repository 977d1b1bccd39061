"""The Annual review's Saved reviews tab: each saved review, its downloads and how its provisional partners did."""

from __future__ import annotations

import streamlit as st

from analytics.export import people_csv, people_excel
from analytics.formatting import markdown_literal
from analytics.review.decisions import (
    BEHIND,
    MET,
    MISSED,
    NOT_YET_KNOWN,
    ON_TRACK,
    list_reviews,
    load_review,
    provisional_follow_up,
)
from views.db import get_store
from views.widgets import linked_table, show_table

__all__ = ["saved_reviews_tab"]


def saved_reviews_tab(sent_first: list[str]) -> None:
    """Show the saved reviews, one opened with its decisions (`sent_first` columns first) and its follow-up."""
    saved = list_reviews(get_store())
    if saved.empty:
        st.info("No review saved yet.")
        return
    show_table(saved, {"name": "Review"})
    opened = st.selectbox("Open a saved review", saved["name"], key="open_review")
    record = load_review(get_store(), opened)
    linked_table(record, "saved_review_table", first=sent_first)
    d1, d2 = st.columns(2)
    shown_name = markdown_literal(opened)  # typed by a person: shown as typed
    d1.download_button(f"Download {shown_name} (CSV)", lambda: people_csv(record, first=sent_first),
                       file_name=f"review_{opened}.csv",
                       mime="text/csv", key="dl_saved_csv", icon=":material/download:", on_click="ignore")
    d2.download_button(f"Download {shown_name} (Excel)", lambda: people_excel(record, "decisions",
                                                                               first=sent_first),
                       file_name=f"review_{opened}.xlsx", key="dl_saved_xlsx", icon=":material/download:",
                       on_click="ignore")
    follow = provisional_follow_up(get_store(), opened)
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
    f3.metric(f"On track, {loaded}", f"{status.get(ON_TRACK, 0):,}")
    f4.metric(f"Behind, {loaded}", f"{status.get(BEHIND, 0):,}")
    f5.metric("Not yet known (no goal quarter loaded)", f"{status.get(NOT_YET_KNOWN, 0):,}")
    linked_table(follow, "provisional_follow_up_table", first=["status"],
                 labels={"revenue": f"Revenue {loaded}", "deals": f"Deals {loaded}"})
