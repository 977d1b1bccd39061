"""The Annual review's decisions in progress: the draft restored and kept, and the one-partner form's Apply.

The changes live in the session ("review_overrides", by partner) and, through analytics.review.drafts,
in the database, so that a reload or a lost connection loses nothing. Only people who may record
decisions have drafts; the page calls these only for them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.access import AccessDenied, Actor
from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal
from analytics.review.decisions import review_decisions
from analytics.review.drafts import clear_draft, describe_changes, draft_payload, load_draft, save_draft
from views.db import get_store

__all__ = ["EDITS", "restore_draft", "keep_draft", "draft_saved", "apply_override", "applied", "picked_partner"]

EDITS = "review_overrides"   # the session's changes by partner: decision, note, revenue_goal, deals_goal
_WRITTEN = "review_draft_written"    # the draft text last written or restored: write only when it differs
_RESTORED = "review_draft_restored"  # the draft brought back when the page opened, until saved or discarded
_SAID = "review_apply_said"  # what the last Apply changed, shown once


def restore_draft(actor: Actor | None, review_key: str) -> None:
    """Bring back the person's draft into a new session, and while it stands say so with a Discard button."""
    if EDITS not in st.session_state:
        try:
            draft = load_draft(get_store(), review_key, actor)
        except ValueError as exc:  # not a draft any more: say so; the next change writes a new one over it
            st.warning(f"{markdown_literal(str(exc))}. Your changes start afresh and replace it.")
            draft = None
        st.session_state[EDITS] = dict(draft.edits) if draft else {}
        st.session_state[_WRITTEN] = draft_payload(st.session_state[EDITS]) if draft else None
        if draft and draft.edits:
            st.session_state[_RESTORED] = draft
    draft = st.session_state.get(_RESTORED)
    if draft is None:
        return
    note, discard = st.columns([4, 1], vertical_alignment="center")
    when = f"{draft.updated_at:%H:%M}" if draft.updated_at.date() == draft.updated_at.today().date() else (
        f"{draft.updated_at:%Y-%m-%d %H:%M}")
    note.info(f"Draft restored from {when} ({draft.changes:,} change{'' if draft.changes == 1 else 's'}): your "
              "unsaved decisions, notes and goals of this review.", icon=":material/restore_page:")
    if discard.button("Discard draft", key="review_discard_draft", icon=":material/delete:"):
        clear_draft(get_store(), review_key, actor)
        st.session_state[EDITS] = {}
        st.session_state[_WRITTEN] = None
        st.session_state.pop(_RESTORED, None)
        # The tables' editors start afresh under new keys, without the discarded changes.
        st.session_state["review_editor_generation"] = st.session_state.get("review_editor_generation", 0) + 1
        st.rerun()


def keep_draft(actor: Actor | None, review_key: str, edits: dict[str, dict]) -> None:
    """Write the person's changes as their draft when they differ from what was last written (no changes: none)."""
    payload = draft_payload(edits)
    if payload == st.session_state.get(_WRITTEN) or (not edits and st.session_state.get(_WRITTEN) is None):
        return
    try:
        if edits:
            save_draft(get_store(), review_key, edits, actor)
        else:
            clear_draft(get_store(), review_key, actor)
    except AccessDenied as exc:
        st.error(markdown_literal(str(exc)))
        return
    st.session_state[_WRITTEN] = payload if edits else None


def draft_saved(actor: Actor | None, review_key: str, edits: dict[str, dict]) -> None:
    """Discard the draft once the review is saved: its changes are in the saved review now."""
    clear_draft(get_store(), review_key, actor)
    st.session_state[_WRITTEN] = draft_payload(edits)
    st.session_state.pop(_RESTORED, None)


def apply_override(recommendations: pd.DataFrame, selection: ChannelFilter) -> None:
    """Apply the form's decision and note to its partner, keep what changed in words, and clear the form.

    The Apply button's callback: it runs before the page, where the form's widgets may still be reset.
    """
    who = st.session_state["review_override_partner"]
    one = recommendations[recommendations["partner_id"] == who]
    edits = st.session_state[EDITS]
    was = review_decisions(one, selection, edits)
    edits.setdefault(who, {}).update({"decision": st.session_state["review_override_decision"],
                                      "note": st.session_state["review_override_note"]})
    plan = st.session_state.get("review_override_plan")
    if plan is not None and plan != one["incentive_plan"].iloc[0]:
        edits[who]["incentive_plan"] = plan
    st.session_state[_SAID] = describe_changes(was, review_decisions(one, selection, edits))
    # Cleared by setting, not by removing the keys: a removed key leaves the browser showing the old values.
    st.session_state["review_override_partner"] = None
    st.session_state["review_override_note"] = ""


def picked_partner(decisions: pd.DataFrame) -> None:
    """Start the one-partner form from the picked partner's decision and note as they stand (a callback)."""
    who = st.session_state.get("review_override_partner")
    found = decisions[decisions["partner_id"] == who]
    if found.empty:
        return
    st.session_state["review_override_decision"] = found["decision"].iloc[0]
    st.session_state["review_override_note"] = found["note"].iloc[0] or ""
    st.session_state["review_override_plan"] = found["incentive_plan"].iloc[0] or ""


def applied() -> str | None:
    """Give what the Apply just made changed, in words, once (None when the run is not Apply's)."""
    return st.session_state.pop(_SAID, None)
