"""The Annual review's regions: which program judges whom; for the global chief, every regional review and the
roll-up."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.access import Actor
from analytics.formatting import markdown_literal
from analytics.program.regional_programs import Programs
from analytics.review.regional import decisions_by_region, regional_progress, rollup_by_region_tier
from views.cache import derived
from views.db import get_store
from views.widgets import show_table

__all__ = ["program_words", "regions_tab"]


def program_words(table: pd.DataFrame, programs: Programs, actor: Actor) -> str:
    """Give in words who is reviewed under which program and currency, and the person's regions when scoped."""
    counts = table.groupby(["program", "currency"]).size()
    parts = [f"{markdown_literal(program)} program ({currency}) for {n:,} partner{'s' if n != 1 else ''}"
             for (program, currency), n in counts.items()]
    scope = (f"Your review: {markdown_literal(actor.describe_scope())}; you see and decide for no other region's "
             "partners. " if actor.scoped else "")
    moved = int(table["moved_from"].notna().sum()) if "moved_from" in table else 0
    return (scope + "Each partner is judged under its latest region's program: " + "; ".join(parts) + ". "
            f"Revenue is in {programs.reporting_currency} (the reporting currency) and, beside it, in the program's "
            "currency, in which its reasons are written."
            + (f" {moved:,} partner{'s' if moved != 1 else ''} moved region in the review's quarters (said in the "
               "reasons)." if moved else ""))


def regions_tab(table: pd.DataFrame, review: str, programs: Programs) -> None:
    """Show each region's progress in review `review`, and partners, revenue and decisions per region and tier."""
    st.markdown(f"**Progress of review {markdown_literal(review)} by region**")
    st.caption("Saved decisions per region, whoever saved them (a regional reviewer saves their region's part of "
               "the same named review); what is left is to be decided and saved.")
    # A small query on every run: a save by another region's reviewer shows at once.
    show_table(regional_progress(get_store(), review, table))
    st.markdown(f"**Partners and revenue per region and global tier level** ({programs.reporting_currency})")
    ladders = programs.ladder_words()
    st.caption("Each partner counts at its recorded tier's level on the global ladder"
               + (f" ({markdown_literal(ladders)})" if ladders else "") + ", so the regions add up.")
    show_table(derived(rollup_by_region_tier, table))
    st.markdown("**Decisions by region** (as they stand in this session, your changes included)")
    show_table(derived(decisions_by_region, table))

