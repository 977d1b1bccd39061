"""The Upload page's loads: what a load added, the list of loads with their rejects, and rolling one back."""

from __future__ import annotations

import contextlib

import streamlit as st

from analytics.access import AccessDenied, Actor
from analytics.formatting import markdown_literal
from analytics.ingest.history import list_loads, load_history, load_rejects, load_summary
from analytics.ingest.rollback import rollback_load, rollback_plan
from analytics.program.regional_programs import load_programs
from analytics.review.regional import MissingRates
from analytics.store.faults import StoreError
from analytics.store.store import Store
from views.overview_sections import last_load_changes
from views.widgets import linked_table, show_table

__all__ = ["typed_confirmation", "prepare_overview", "show_summary", "loads_section"]


def typed_confirmation(warning: str, words: str, key: str) -> bool:
    """Show what a destructive step removes and give whether the person typed the words that confirm it."""
    st.error(markdown_literal(warning), icon=":material/warning:")
    typed = st.text_input(f"To go ahead, type: {words}", key=key, placeholder=words)
    return " ".join(typed.lower().split()) == words.lower()


def prepare_overview() -> None:
    """Compute what changed with the last load now, under the load's progress, so the Overview opens at once."""
    # It is the Overview's costliest part after a change of the data (about a second at the demo size) and
    # the page people open next; cached per data version, so the Overview finds it ready.
    # Rules that cannot be used or rates missing: the Overview says so itself.
    with contextlib.suppress(ValueError, MissingRates):
        last_load_changes(load_programs())


def show_summary(store: Store, load_id: int) -> None:
    """Show what a load added, and the partners gone since the quarter before."""
    summary, gone = load_summary(store, load_id)
    st.success(f"Loaded as load #{load_id}. The other pages show the new data now; the churn and turnaround "
               "scores are being brought up to date in the background (the risk pages show the previous ones and "
               "say so until then).")
    if summary.get("rows_set_aside"):
        st.caption(f"{summary['rows_set_aside']:,} row(s) with problems were set aside; their rejects file is in "
                   "the loads below.")
    # Short labels that fit a quarter of the page; what each counts is in its help.
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows added", f"{summary['rows_added']:,}", help="Order lines of this file now stored.")
    c2.metric("Rows skipped", f"{summary['rows_skipped']:,}",
              help="Lines whose transaction id was already stored: not counted twice.")
    c3.metric("New partners", f"{summary['new_partners']:,}", help="Partners in no earlier load.")
    c4.metric("Partners gone", f"{summary['partners_gone']:,}",
              help=f"Partners with orders in {summary['quarter_before']} and none in {summary['latest_quarter']}.")
    st.caption(f"Quarters covered: {', '.join(summary['quarters'])}. Rows replaced: {summary['rows_replaced']:,}.")
    if not gone.empty:
        with st.expander(f"The {len(gone):,} partners with no order in {summary['latest_quarter']}"):
            linked_table(gone, f"gone_table_{load_id}",
                         {"revenue_quarter_before": f"Revenue {summary['quarter_before']}"})


def loads_section(store: Store, actor: Actor | None, may_roll_back: bool) -> None:
    """Show every load with its rejects, and let a person allowed to roll one back do it (confirmed)."""
    loads = list_loads(store)
    if loads.empty:
        st.info("Nothing loaded yet.")
    else:
        show_table(load_history(store))
        with_rejects = loads[loads["rows_set_aside"] > 0]
        for r in with_rejects.head(5).itertuples():
            st.download_button(f"Rows set aside by load #{r.load_id} ({r.rows_set_aside:,}, CSV)",
                               load_rejects(store, r.load_id) or b"", file_name=f"rejects_load_{r.load_id}.csv",
                               mime="text/csv", key=f"dl_load_rejects_{r.load_id}", icon=":material/download:")
        active = loads[loads["status"] == "active"]
        if not may_roll_back:
            st.caption("Rolling back a load takes the operator or admin role.")
        elif not active.empty:
            labels = {r.load_id: f"#{r.load_id} {r.file_name} ({r.quarters}, {r.rows_added:,} rows)"
                      for r in active.itertuples()}
            chosen = st.selectbox("Roll back a load", list(labels), format_func=labels.get, index=None,
                                  key="rollback_pick", placeholder="Choose a load")
            if chosen is not None and st.button("Roll back…", key="rollback_ask"):
                st.session_state["_rollback_pending"] = int(chosen)
            pending = st.session_state.get("_rollback_pending")
            if pending is not None and pending in labels:
                st.warning(f"Roll back {markdown_literal(labels[pending])}? Its rows are removed from every page; "
                           "rows it replaced come back.")
                undo = rollback_plan(store, pending)
                confirmed = not undo.emptied or typed_confirmation(undo.warning(), undo.confirmation,
                                                                   "confirm_rollback")
                yes, no = st.columns(2)
                if yes.button("Yes, roll it back", key="rollback_confirm", type="primary", disabled=not confirmed):
                    try:
                        quarters = rollback_load(store, pending, actor=actor, force=bool(undo.emptied))
                    except (StoreError, AccessDenied) as exc:
                        st.error(markdown_literal(str(exc)))
                        st.stop()
                    st.session_state.pop("_rollback_pending")
                    st.session_state.pop("confirm_rollback", None)
                    prepare_overview()
                    # A summary of the undone load must not be shown again as if it stood.
                    loaded = st.session_state.get("_loaded", {})
                    st.session_state["_loaded"] = {h: n for h, n in loaded.items() if n != pending}
                    st.toast(f"Rolled back load #{pending}; quarters {', '.join(quarters)} refreshed.")
                    st.rerun()
                if no.button("Cancel", key="rollback_cancel"):
                    st.session_state.pop("_rollback_pending")
                    st.rerun()
