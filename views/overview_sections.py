"""The Overview's sections about the latest load and the board pack (kept here so the page stays a short script)."""

from __future__ import annotations

import streamlit as st

from analytics.analyses.changes import KINDS, RISK_THRESHOLD, load_changes
from analytics.brief import board_pack_bytes
from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal
from analytics.review.program import load_program
from analytics.store.quarters import shift_quarter
from analytics.store.rates import rate_changes_since
from analytics.store.store import Store
from views.db import APP_WAIT, cached, get_store
from views.widgets import partner_table

__all__ = ["changes_section", "board_pack_button"]

_NOTHING = {
    "qualifies higher": "no partner's figures rose to a higher tier's minimums",
    "qualifies lower": "none fell below its tier's",
    "drop-off": "no new revenue drop-off",
    "new": "no new partner",
    "lapsed": "none lapsed",
    "gone": "none gone",
}


def kind_definitions(after_quarter: str) -> str:
    """Give each kind of change in words with its period, as the page shows it under the counts."""
    year = f"{shift_quarter(after_quarter, -3)}–{after_quarter}"
    return (
        f"**Qualifies higher / lower**: the tier its figures meet (revenue, deals and customers over {year} against "
        "the program's minimums, as the review judges) changed; the tier recorded in the data may not have "
        "(recorded tier moves are on the Tiers page). "
        f"**Risk rose**: churn probability crossed {RISK_THRESHOLD:.0%} between the scores as of "
        f"{shift_quarter(after_quarter, -1)} and {after_quarter}. **Behind goals**: on provisional continuation in the "
        "last saved review and behind its revised goals pro rata (or past them and missed) once this load brought "
        "one of its goal quarters. **Drop-off**: trailing-year revenue down by half or "
        f"more, newly. **New**: first order ever with this load. **Lapsed**: an order in the four quarters to "
        f"{shift_quarter(after_quarter, -1)}, none in {year} (as the Overview counts lapsed). **Gone**: an order in "
        f"{shift_quarter(after_quarter, -1)}, none in {after_quarter} (not yet lapsed)."
    )


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
    # Rates loaded since this load convert lines again without a load of their own: say so, with what they moved.
    for sentence in cached(rate_changes_since, changes.loaded_at):
        st.info(markdown_literal(sentence), icon=":material/currency_exchange:")
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
    st.caption(kind_definitions(changes.after_quarter))
    for note in changes.notes:
        st.info(markdown_literal(note), icon=":material/info:")
    if changes.rows.empty:
        st.info("Nothing moved with this load: " + ", ".join(_NOTHING.values()) + ".")
        return
    partner_table(
        changes.rows, f"changes with load {changes.load_id}", "dl_load_changes",
        f"by kind of change ({', '.join(KINDS)}), then riskiest, largest loss "
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
