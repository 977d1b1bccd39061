"""The Upload page's column mapping: required columns not recognised, several candidates, or any field by hand.

A mapping a person confirms is remembered for files with the same headers (analytics.ingest.mappings)
and used for this upload at once (kept in the session under "_overrides", by the upload's id).
"""

from __future__ import annotations

import streamlit as st

from analytics.access import AccessDenied, Actor
from analytics.formatting import markdown_literal
from analytics.ingest.extract import required_columns
from analytics.ingest.load_choice import columns_chosen_twice
from analytics.ingest.mappings import remember_mapping
from analytics.ingest.report import AmbiguousColumn
from analytics.labels import column
from analytics.store.faults import StoreError
from analytics.store.schema import CANONICAL_COLUMNS
from analytics.store.store import Store

__all__ = ["FIELDS", "field_label", "mapping_form", "hand_mapping"]

# The fields as people name them (the engine's names are partner_id, order_date, revenue).
# Revenue is the amount as the file has it, in its own currency; the store converts it to the reporting currency.
FIELDS = {"partner_id": "Partner id", "order_date": "Order date", "quarter": "Quarter", "revenue": "Amount",
          "currency": "Currency"}

NOT_USED = "(not used)"


def field_label(canonical: str) -> str:
    """Give a field's name as people say it: FIELDS' words, else the column's label."""
    return FIELDS.get(canonical, column(canonical).label)


def mapping_form(store: Store, actor: Actor | None, i: int, file_id: str, headers: list[str],
                 mapping: dict[str, str], ambiguous: list[AmbiguousColumn]) -> None:
    """Let a person map required columns not recognised, or held by several differing columns; it is remembered."""
    if ambiguous:
        # Amounts and dates are never guessed: the person picks among the candidates, none preselected.
        st.warning("Several columns could hold the same field and their values differ. Choose the one to use. "
                   + " ".join(f"{a.column}: {', '.join(markdown_literal(repr(h)) for h in a.headers)} differ in "
                              f"{a.differing_rows:,} row(s), first in row(s) {', '.join(map(str, a.first_rows))}."
                              for a in ambiguous))
        options = {a.column: list(a.headers) for a in ambiguous}
    else:
        st.warning("Some required columns were not recognised. Choose which of the file's columns hold them.")
        options = {canonical: headers for canonical in required_columns(mapping)}
    choices = {}
    cols = st.columns(len(options))
    for col, canonical in zip(cols, options, strict=True):
        field = field_label(canonical)
        label = f"{field} (or a quarter column)" if canonical == "order_date" and not ambiguous else field
        choices[canonical] = col.selectbox(
            label, options[canonical],
            index=headers.index(mapping[canonical]) if canonical in mapping and not ambiguous else None,
            key=f"map_{i}_{canonical}", placeholder="Choose a column",
        )
    if "order_date" in options and not ambiguous:
        is_quarter = st.checkbox("That column holds quarters (like 2025Q3), not dates", key=f"map_{i}_is_quarter")
        if is_quarter and choices.get("order_date"):
            choices["quarter"] = choices.pop("order_date")
    if st.button("Use this mapping", key=f"map_{i}_apply", disabled=not all(choices.values())):
        confirmed = {**mapping, **choices}
        try:
            remember_mapping(store, headers, confirmed, actor=actor)
        except (StoreError, AccessDenied) as exc:
            st.error(markdown_literal(str(exc)))  # it may quote the file's headers
            return
        st.session_state.setdefault("_overrides", {})[file_id] = confirmed
        st.rerun()


def hand_mapping(store: Store, actor: Actor | None, i: int, file_id: str, headers: list[str],
                 mapping: dict[str, str]) -> None:
    """Let a person map any field the importer knows, the optional ones included, to the file's columns; remembered."""
    st.caption("Change which of the file's columns holds each field; fields left “not used” are not read.")
    choices = {}
    for n, canonical in enumerate(CANONICAL_COLUMNS):
        if n % 3 == 0:  # a row of three at a time: on a phone they stack in the fields' order
            cols = st.columns(3)
        current = mapping.get(canonical)
        choices[canonical] = cols[n % 3].selectbox(
            field_label(canonical), [NOT_USED, *headers],
            index=headers.index(current) + 1 if current in headers else 0, key=f"remap_{i}_{canonical}")
    chosen = {c: h for c, h in choices.items() if h != NOT_USED}
    twice = columns_chosen_twice(chosen)
    if twice:
        st.error("A column can hold one field only: " + ", ".join(markdown_literal(repr(h)) for h in twice)
                 + " is chosen for several.")
    if st.button("Use this mapping", key=f"remap_{i}_apply", disabled=bool(twice) or chosen == mapping):
        try:
            remember_mapping(store, headers, chosen, actor=actor)
        except (StoreError, AccessDenied, ValueError) as exc:
            st.error(markdown_literal(str(exc)))
            return
        st.session_state.setdefault("_overrides", {})[file_id] = chosen
        st.rerun()
