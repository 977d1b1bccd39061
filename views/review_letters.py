"""The Annual review's letters: one Word letter per partner of a saved review and a mail merge file, as a zip."""

from __future__ import annotations

import streamlit as st

from analytics.access import Actor
from analytics.formatting import markdown_literal
from analytics.review.letters import LETTERS_DIR, letter_currencies, letters_zip, load_templates
from views.cache import cached
from views.db import get_store

__all__ = ["letters_section"]


def letters_section(review: str | None, scope: tuple[str, ...] = (), actor: Actor | None = None) -> None:
    """Offer the letters of saved review `review` (None: no review saved yet) as a zip, written only when clicked.

    With a `scope` (the person's regions) the zip holds their regions' partners' letters only (the engine
    checks it against the `actor`'s regions too). Each letter is under its partner's program, in its currency.
    """
    if not review:
        return
    st.subheader("Letters to partners")
    try:
        load_templates()
    except ValueError as exc:  # a template a chief edited: say which and what, never write half the letters
        st.error(f"The letters cannot be written: {markdown_literal(str(exc))}")
        return
    try:  # a program's currency without the review quarter's rate: say so before anyone clicks
        currencies = cached(letter_currencies, review, scope)
    except ValueError as exc:
        st.error(f"The letters cannot be written: {markdown_literal(str(exc))}")
        return
    shown = markdown_literal(review)
    st.caption(f"One letter per partner of {shown} (a Word document each, from the templates in {LETTERS_DIR}, which "
               "you can edit) and mailmerge.csv for a mail merge: partner, contact e-mail where the extracts carry "
               "one, decision, subject and the letter as plain text. Each letter is written under the partner's "
               "program: its tiers, minimums and incentive plans, amounts in its currency ("
               + ", ".join(f"{n:,} in {markdown_literal(c)}" for c, n in currencies.items()) + ").")
    notes = st.checkbox("Include the chief's notes in the letters", key="letters_with_notes",
                        help="Off by default: notes are often written for the review, not for the partner.")
    st.download_button(f"Download the letters of {shown} (zip)",
                       lambda: letters_zip(get_store(), review, notes, scope=scope, actor=actor),
                       file_name=f"letters_{review}.zip", mime="application/zip", key="dl_letters",
                       icon=":material/mail:", on_click="ignore")
