"""The Annual review's Provisional continuation tab: the candidates, ticked or not, and their revised goals.

Who is a candidate is the review's rule (analytics.review.candidates.provisional_candidates); the tab
shows them in a table editor whose ticks and goals fold into the chief's edits (views/review_table.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from analytics.periods import span_after
from analytics.program.rules import ProgramRules
from analytics.review.candidates import provisional_candidates
from views.cache import derived
from views.review_table import remember_shown
from views.widgets import PARTNER_LINK, WRAPPED_ROW_HEIGHT, column_config, partner_links

__all__ = ["provisional_tab_body"]


def provisional_tab_body(table: pd.DataFrame, rules: ProgramRules, q: str, may_decide: bool, generation: int,
                         year_columns: Mapping[str, str]) -> None:
    """Show the provisional-continuation candidates of the review's decisions `table`, editable by a reviewer."""
    candidates = derived(provisional_candidates, table)
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
