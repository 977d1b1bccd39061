"""The Overview's sections about the latest load and the board pack (kept here so the page stays a short script)."""

from __future__ import annotations

import streamlit as st

from analytics.analyses.changes import KINDS, load_changes
from analytics.brief import board_pack_bytes
from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal
from analytics.review.program import load_program
from analytics.store.store import Store
from views.db import APP_WAIT, cached, get_store
from views.widgets import partner_table

__all__ = ["changes_section", "board_pack_button"]

_NOTHING = {
    "tier up": "no partner rose above a tier minimum",
    "tier down": "none fell below one",
    "drop-off": "no new revenue drop-off",
    "recruit": "no recruit",
    "gone": "no partner gone",
}


def changes_section() -> None:
    """Show what changed with the latest load in effect: counts, notes, the partner rows and their CSV."""
    st.subheader("What changed with the last load")
    try:
        rules = load_program()
    except ValueError as exc:
        st.error(f"The program rules cannot be used: {markdown_literal(str(exc))}")
        return
    changes = cached(load_changes, rules)
    if changes is None:
        st.info("No load is in effect, so there is no last load to compare with.")
        return
    when = f"{changes.loaded_at:%Y-%m-%d %H:%M}" if changes.loaded_at is not None else ""
    if changes.before_quarter is None:
        st.caption(f"Load #{changes.load_id}: {markdown_literal(changes.file_name)} on {when}.")
        for note in changes.notes:
            st.info(markdown_literal(note))
        return
    st.caption(
        f"Load #{changes.load_id}: {markdown_literal(changes.file_name)} on {when}, against the data before it: "
        f"trailing year to {changes.before_quarter} before, to {changes.after_quarter} after. Whole channel: the "
        "sidebar's filters do not narrow this list."
    )
    st.caption(" · ".join(f"{kind}: {changes.counts[kind]:,}" for kind in KINDS))
    for note in changes.notes:
        st.info(markdown_literal(note), icon=":material/info:")
    if changes.rows.empty:
        st.info("Nothing moved with this load: " + ", ".join(_NOTHING.values()) + ".")
        return
    partner_table(
        changes.rows, f"changes with load {changes.load_id}", "dl_load_changes",
        "by kind of change (tier up, tier down, risk rose, drop-off, recruit, gone), then riskiest, largest loss "
        "or largest trailing-year revenue first",
        labels={
            "revenue_trailing_before": f"Revenue, year to {changes.before_quarter}, before the load",
            "revenue_trailing_after": f"Revenue, year to {changes.after_quarter}",
            "revenue_latest_quarter": f"Revenue {changes.after_quarter}",
            "churn_probability_before": f"Churn probability as of {changes.before_quarter}",
            "churn_probability_after": f"Churn probability as of {changes.after_quarter}",
        },
        first=["change", "what_changed"],
    )


def board_pack_button(flt: ChannelFilter) -> None:
    """Offer the quarter's board pack (PowerPoint) for the selection, built only when clicked."""
    path = get_store().path
    quarter = flt.quarter

    def build() -> bytes:
        # Streamlit calls this on another thread after this run has let go of the database: it opens its own.
        with Store(path, wait=APP_WAIT) as store:
            return board_pack_bytes(store, flt)

    st.download_button(
        f"Board pack for {quarter} (PowerPoint)", build,
        file_name=f"channel_health_board_pack_{quarter}.pptx",
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        key="dl_board_pack", icon=":material/slideshow:", on_click="ignore",
        help="A deck of the quarter for the executive team: headline figures, tiers, drop-offs, partners at risk, "
             "recruits and the saved review's decisions. Charts are native PowerPoint charts you can edit.",
    )
