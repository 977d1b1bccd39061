"""The Annual review's What if tab: other minimums or another threshold, recounted at once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import charts
from analytics.access import AccessDenied, Actor
from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal
from analytics.review.decisions import action_counts, compare_action_counts, recommendations, select_partners
from analytics.review.program import ProgramRules, save_program
from analytics.store.quarters import shift_quarter
from views.db import cached, cached_figure, derived
from views.style import show_chart
from views.widgets import show_table

__all__ = ["whatif_tab"]


def whatif_tab(rules: ProgramRules, rules_file: Path, counts: pd.DataFrame, flt: ChannelFilter,
               actor: Actor | None) -> None:
    """Show the what-if: inputs for every tier's minimums and the threshold, the counts beside the program's."""
    q = flt.quarter
    year = f"{shift_quarter(q, -3)}–{q}"
    rules_name = markdown_literal(rules_file.name)
    may_change_rules = actor is not None and actor.may("change program rules")
    st.caption("Try other minimums or another threshold: the counts change at once. Nothing is saved.")
    threshold = st.slider("Provisional continuation from a turnaround probability of (%)", 0, 100,
                          int(round(rules.provisional_threshold * 100)), 5, key="whatif_threshold") / 100
    tier_cols = st.columns(len(rules.tiers))
    minimums, deals, customers = {}, {}, {}
    for col, t in zip(tier_cols, rules.tiers, strict=True):
        label = markdown_literal(t.name)
        minimums[t.name] = col.number_input(f"{label} minimum revenue, 4 quarters", min_value=0.0,
                                            value=float(t.min_revenue), step=5_000.0, key=f"whatif_min_{t.name}")
        deals[t.name] = col.number_input(f"{label} minimum deals", min_value=0, value=int(t.min_deals), step=1,
                                         key=f"whatif_deals_{t.name}")
        customers[t.name] = col.number_input(f"{label} minimum customers", min_value=0, value=int(t.min_customers),
                                             step=1, key=f"whatif_customers_{t.name}")
    try:
        whatif_rules = rules.with_minimums(minimums, deals, customers)
    except ValueError as exc:
        st.error(markdown_literal(str(exc)))
        return
    # Until someone changes a figure the what-if is the program itself: no second review of every partner.
    unchanged = whatif_rules == rules and threshold == rules.provisional_threshold
    scenario = counts if unchanged else action_counts(
        select_partners(cached(recommendations, q, whatif_rules, threshold), flt))
    both = pd.concat([counts.assign(scenario=f"program ({rules_file.name})"),
                      scenario.assign(scenario="what if")])
    show_chart(cached_figure(charts.review_actions_bar, both, q))
    compare = derived(compare_action_counts, counts, scenario)
    show_table(compare, {"revenue_trailing": f"Revenue {year}",
                         "revenue_trailing_what_if": f"Revenue {year}, what if"})
    if not may_change_rules:
        st.caption("Changing the program rules themselves takes the admin role.")
        return
    # Admins only (the engine checks too): these minimums and threshold become the program's terms.
    if st.button(f"Save these minimums and threshold to {rules_name}", key="save_program",
                 icon=":material/gavel:", help="Every later review reads the program rules from this file."):
        try:
            save_program(replace(whatif_rules, provisional_threshold=threshold), rules_file, actor=actor)
        except (AccessDenied, ValueError, OSError) as exc:
            st.error(markdown_literal(str(exc)))
        else:
            st.success(f"Program rules in {rules_name} changed by {markdown_literal(actor.who)}.")
