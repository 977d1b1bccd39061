"""The Overview's sections about the latest load and the board pack (kept here so the page stays a short script)."""

from __future__ import annotations

import streamlit as st

from analytics.access import AccessDenied
from analytics.analyses.changes import KINDS, RISK_THRESHOLD, LoadChanges, load_changes
from analytics.analyses.messages import NOISE_RULES, quarter_messages
from analytics.brief import board_pack_bytes
from analytics.brief.template import LAYOUTS_NEEDED, remove_template, save_template, stored_template
from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal
from analytics.model.features import DEFAULT_HORIZON
from analytics.periods import trailing_span
from analytics.program.regional_programs import Programs, load_programs
from analytics.review.regional import MissingRates
from analytics.store.quarters import shift_quarter
from analytics.store.rates import rate_changes_since
from analytics.store.store import Store
from views.auth import current_actor
from views.cache import cached
from views.db import APP_WAIT, get_store
from views.filter_links import view_params
from views.sidebar import current_filter
from views.widgets import partner_table

__all__ = ["last_load_changes", "changes_section", "board_pack_button", "messages_section", "template_section"]

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
    year = trailing_span(after_quarter)
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


def last_load_changes(programs: Programs) -> LoadChanges | None:
    """Give what changed with the last load as the Overview shows it: each partner under its own program, in the
    person's scope (the Upload page computes it under the load's progress, with this same key)."""
    scope = current_filter().scope  # a regional person sees their regions' changes only
    return cached(load_changes, programs.global_rules, DEFAULT_HORIZON, scope, programs)


def changes_section() -> None:
    """Show what changed with the latest load in effect: counts, notes, the partner rows and their CSV."""
    st.subheader("What changed with the last load")
    try:  # "qualifies higher / lower" under each partner's own program
        programs = load_programs()
    except ValueError as exc:
        st.error(f"The program rules cannot be used: {markdown_literal(str(exc))}")
        return
    scope = current_filter().scope
    try:
        changes = last_load_changes(programs)
    except MissingRates as exc:
        st.error(f"What changed cannot be computed: {markdown_literal(str(exc))}")
        return
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
        f"trailing year to {changes.before_quarter} before, to {changes.after_quarter} after. "
        + (f"Partners of {markdown_literal(', '.join(scope))} only (your regions); the sidebar's other filters do not "
           "narrow this list." if scope else "Whole channel: the sidebar's filters do not narrow this list.")
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


def messages_section(flt: ChannelFilter) -> None:
    """Show the quarter in messages, largest first, each with a link to the page that proves it."""
    st.subheader(f"What changed in {flt.quarter}")
    try:
        programs = load_programs()
    except ValueError as exc:
        st.error(f"The program rules cannot be used: {markdown_literal(str(exc))}")
        return
    found = cached(quarter_messages, flt, programs.global_rules, programs)
    if found is None:
        return
    for i, message in enumerate(found.messages, start=1):
        # The link under its message, not beside it: a side column cut the page's name off at 1280 px.
        with st.container(gap=None):
            st.markdown(rf"{i}\. {markdown_literal(message.text)}.")
            st.page_link(message.page, label=message.page_label, query_params=view_params(),
                         icon=":material/arrow_forward:")
    if not found.messages:
        st.info("Nothing changed beyond the noise this quarter.")
    for note in found.not_available:
        st.caption(markdown_literal(note))
    quiet = "; ".join(found.within_noise)
    st.caption(markdown_literal(
        f"Against a year before, ranked by the revenue each is about. Not news (within the noise): {NOISE_RULES}."
        + (f" This quarter within it: {quiet}." if quiet else "")))


def board_pack_button(flt: ChannelFilter) -> None:
    """Offer the quarter's board pack (PowerPoint) for the selection, built only when clicked."""
    path = get_store().path
    quarter = flt.quarter

    def build() -> bytes:
        # Streamlit calls this on another thread after this run has let go of the database: it opens its own.
        with Store(path, wait=APP_WAIT) as store:
            return board_pack_bytes(store, flt, stored_template())

    st.download_button(
        f"Board pack for {quarter} (PowerPoint)", build,
        file_name=f"channel_health_board_pack_{quarter}.pptx",
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        key="dl_board_pack", icon=":material/slideshow:", on_click="ignore",
        help="A deck of the quarter for the executive team: headline figures, tiers, drop-offs, partners at risk, "
             "recruits and the saved review's decisions. Charts are native PowerPoint charts you can edit.",
    )


def template_section() -> None:
    """Offer an admin to keep the company's PowerPoint template for the board pack, or to go back to the default."""
    actor = current_actor()
    if actor is None or not actor.may("change program rules"):
        return
    kept = stored_template()
    with st.expander("Board pack template (admin)", icon=":material/palette:"):
        now = "the company template kept in data/" if kept else "the default Office template"
        st.caption(f"The board pack is built on {now}. A company template is a .pptx whose slide master and "
                   f"layouts the pack uses; it needs layouts named "
                   f"{' and '.join(LAYOUTS_NEEDED)}. Its own slides are left out.")
        upload = st.file_uploader("Company template (.pptx)", type=["pptx"], key="brief_template_upload")
        if upload is not None and st.button("Use this template for every board pack", key="brief_template_save"):
            try:
                save_template(upload.getvalue(), upload.name, actor=actor)
            except (ValueError, AccessDenied) as exc:
                st.error(markdown_literal(str(exc)))
            else:
                st.success(f"{markdown_literal(upload.name)} is the board pack's template from now on.")
        if kept and st.button("Go back to the default template", key="brief_template_remove"):
            remove_template(actor=actor)
            st.success("The board pack is built on the default template again.")
