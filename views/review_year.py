"""The Annual review's year: fixed for the review open in this session, so that a new load never changes it."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from analytics.access import Actor
from analytics.filters import ChannelFilter
from analytics.review.drafts import latest_draft_key
from views.db import get_store

__all__ = ["review_filter"]

_PINNED = "review_as_of"      # the as-of quarter of the review open in this session
_CHOSEN = "_keptf_quarter"    # the sidebar's quarter when a person picked one (None: it follows the latest)


def review_filter(flt: ChannelFilter, quarters: list[str], actor: Actor | None) -> ChannelFilter:
    """Give the sidebar's selection as of the open review's quarter, saying so when newer data exist.

    The review opens as of the person's latest draft when it is still loaded, else as of the sidebar's
    quarter. A quarter the person picks in the sidebar opens that review; the sidebar following a newly
    loaded latest quarter does not: the open review stays, and the page offers the newer one.
    """
    chosen = st.session_state.get(_CHOSEN)
    pinned = st.session_state.get(_PINNED)
    if chosen is not None:
        pinned = flt.quarter
    elif pinned not in quarters:
        draft = latest_draft_key(get_store(), actor)
        pinned = draft if draft in quarters else flt.quarter
    st.session_state[_PINNED] = pinned
    if pinned != flt.quarter:
        newer = quarters.index(flt.quarter) > quarters.index(pinned) if flt.quarter in quarters else False
        note, move = st.columns([4, 1], vertical_alignment="center")
        note.info(f"This review stays the review of the year to {pinned}"
                  + (f": {flt.quarter} has been loaded since it was opened (the sidebar shows {flt.quarter})."
                     if newer else f" (your draft); the sidebar shows {flt.quarter}."),
                  icon=":material/event_available:")
        if move.button(f"Open the review of {flt.quarter}", key="review_open_latest"):
            st.session_state[_PINNED] = flt.quarter
            st.rerun()
    return replace(flt, quarter=pinned)
