"""The Annual review's foot: the review's name, how many decisions differ, Save, and the downloads to send."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.access import AccessDenied, Actor
from analytics.export import people_csv, review_workbook
from analytics.formatting import markdown_literal
from analytics.program.rules import ProgramRules
from analytics.review.saved_reviews import DECISION_EXPORT_COLUMNS, default_review_name, save_review
from analytics.store.quarters import shift_quarter
from views.db import get_store
from views.review_draft import draft_saved

__all__ = ["SENT_FIRST", "save_section"]

# A file the chief can send as is: who, the decision and why first, in words, the figures after.
SENT_FIRST = ["partner_id", "partner_name", "decision", "note", "development_goals", "revenue_goal", "deals_goal",
              "recommendation", "reasons"]


def save_section(decisions: pd.DataFrame, changed: int, edits: dict[str, dict], q: str, rules: ProgramRules,
                 rules_label: str, actor: Actor, may_decide: bool) -> str:
    """Show the name, Save and the downloads of the review's `decisions` (with the chief's changes); give the name.

    `changed` counts the partners whose decision differs from the recommendation; `edits` are this
    session's changes by partner.
    """
    year = f"{shift_quarter(q, -3)}–{q}"
    download = decisions[DECISION_EXPORT_COLUMNS]

    st.divider()
    left, right = st.columns([2, 1])
    name = left.text_input("Review name", value=default_review_name(q), key="review_name",
                           help="Saving again under the same name updates that review; nothing is duplicated.")
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
    sent_columns = {"revenue_trailing": f"Revenue {year}", "deals_trailing": f"Deals {year}",
                    "customers_trailing": f"Customers {year}"}
    c2.download_button("Download decisions (CSV)", lambda: people_csv(download, sent_columns, SENT_FIRST),
                       file_name=f"review_{name}.csv",
                       mime="text/csv", key="dl_review_csv", icon=":material/download:", on_click="ignore")
    # The workbook a chief sends: a Summary sheet (review, quarter, rules, counts) and the decisions set up to print.
    c3.download_button("Download decisions (Excel)",
                       lambda: review_workbook(download, name, q, rules, rules_label, sent_columns, SENT_FIRST),
                       file_name=f"review_{name}.xlsx", key="dl_review_xlsx", icon=":material/download:",
                       on_click="ignore")
    return name
