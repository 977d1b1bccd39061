"""The Annual review's table to work in: filters, an order that stays, one partner in full, edits kept by partner.

A table editor reports changes by row position. The partner ids each editor showed are kept with it, so
its changes are folded into the chief's edits by partner on the next run (whatever the filters or order
are by then), and the editors then start afresh under new keys.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from analytics.filters import ChannelFilter
from analytics.review.actions import ACTIONS
from analytics.review.decisions import record_edits
from analytics.review.worklist import FLAGS, ORDERS, flag_words, narrow_decisions, order_decisions
from views.review_draft import apply_override, picked_partner
from views.widgets import PARTNER_LINK, PARTNER_PICK, column_config, open_partner, partner_links

__all__ = ["fold_table_edits", "remember_shown", "work_filters", "decisions_table", "partner_panel", "GENERATION"]

GENERATION = "review_editor_generation"
TABLE_HEIGHT = 560  # about fifteen one-line rows: the table fills a laptop screen under the filters
# Rows the table holds at once. The whole review went to the browser on every run: 3 MB for the demo's 6,393
# partners and 32 MB at ten times it, most of a visit's time on the server and in the browser.
TABLE_ROWS = 1000
_SHOWN_IDS = "review_editor_ids"   # per editor key: the partner ids it showed, in its rows' order
_PICKED_CELL = "review_table_picked"  # the table cell last picked, so a rerun does not pick it again


def fold_table_edits(edits: dict[str, dict], decisions: pd.DataFrame, editors: tuple[str, ...]) -> bool:
    """Fold the changes of the named editors (by their rows as shown) into `edits` by partner; tell whether any.

    After any change the editors get a new generation of keys, so an old change never lands twice.
    """
    generation = st.session_state.setdefault(GENERATION, 0)
    shown_ids: Mapping[str, list[str]] = st.session_state.setdefault(_SHOWN_IDS, {})
    by_id = decisions.set_index("partner_id", drop=False)
    folded = False
    for editor in editors:
        key = f"{editor}_{generation}"
        changes = (st.session_state.get(key) or {}).get("edited_rows", {})
        ids = [pid for pid in shown_ids.get(key, []) if pid in by_id.index]
        if changes and ids:
            folded |= record_edits(edits, by_id.loc[ids].reset_index(drop=True), changes)
    if folded:
        st.session_state[GENERATION] = generation + 1
        st.session_state[_SHOWN_IDS] = {}
    return folded


def remember_shown(key: str, frame: pd.DataFrame) -> None:
    """Keep which partners an editor shows, row by row, for fold_table_edits on the next run."""
    st.session_state.setdefault(_SHOWN_IDS, {})[key] = frame["partner_id"].tolist()


def work_filters(decisions: pd.DataFrame, edits: Mapping[str, dict]) -> pd.DataFrame:
    """Show the table's filters and order and give the decisions they leave, in that order."""
    f1, f2, f3, f4, f5 = st.columns([3, 2, 2, 3, 3])
    actions = f1.multiselect("Decision", ACTIONS, key="review_f_decision", placeholder="All decisions")
    tiers = f2.multiselect("Tier (recorded)", sorted(decisions["tier"].dropna().unique()), key="review_f_tier",
                           placeholder="All tiers", help="The tier recorded in the data for the partner's latest "
                                                          "order up to the review's quarter")
    regions = f3.multiselect("Region", sorted(decisions["region"].dropna().unique()), key="review_f_region",
                             placeholder="All regions")
    flags = f4.multiselect("Marked", list(FLAGS), key="review_f_flags", placeholder="Any",
                           help="; ".join(f"{name}: {what}" for name, what in FLAGS.items()))
    order = f5.selectbox("Order", list(ORDERS), key="review_order",
                         help="Kept while you work: after each change the table keeps this order.")
    narrowed = narrow_decisions(decisions, actions, tiers, regions, flags, changed=list(edits))
    return order_decisions(narrowed, order)


# What the chief decides on comes first (name, decision, note, marks, reasons), so a row reads without scrolling.
_SHOWN = ["partner", "partner_name", "decision", "note", "flags", "reasons", "recommendation", "tier",
          "qualifies_for", "region", "program", "revenue_program",
          "revenue_trailing", "deals_trailing", "customers_trailing", "last_order_quarter",
          "yoy_change", "churn_probability", "turnaround_probability", "incentive_plan", "development_goals",
          "second_look"]


def decisions_table(frame: pd.DataFrame, total: int, may_decide: bool, labels: Mapping[str, object],
                    plans: list[str]) -> None:
    """Show the narrowed decisions: a list to browse (a partner opens in this tab) or, on request, to edit.

    Browsing, a click on a partner's id or name opens its page with a way back, and a click on any other
    cell of its row opens it in full below. Editing (decision and note in the table) uses a table editor,
    whose links open a new tab.
    """
    generation = st.session_state.setdefault(GENERATION, 0)
    lead, toggle = st.columns([3, 1], vertical_alignment="bottom")
    first, last = _rows_shown(len(frame))
    shown = frame.iloc[first:last]
    shown = shown.assign(flags=flag_words(shown))
    rows = (f"rows {first + 1:,}–{last:,} of the {len(frame):,} chosen, in the order above"
            if len(shown) < len(frame) else f"{len(shown):,}")
    lead.caption(f"Showing {rows} of {total:,} partners in the review. Click a partner's id or name to open "
                 "its page (Back returns here); click any other cell to read it in full and change it below.")
    editing = may_decide and toggle.toggle("Edit in the table", key="review_edit_in_table",
                                           help="Change decisions and notes right in the table; its partner links "
                                                "then open in a new tab.")
    if editing:
        key = f"review_editor_{generation}"
        table = partner_links(shown)[_SHOWN + ["partner_id"]]
        remember_shown(key, table)
        st.data_editor(
            table, hide_index=True, width="stretch", placeholder="", height=TABLE_HEIGHT, key=key,
            disabled=[c for c in _SHOWN if c not in ("decision", "note", "incentive_plan")] + ["partner_id"],
            column_config=column_config(table, {
                **labels, "partner": PARTNER_LINK, "partner_id": None,
                "decision": st.column_config.SelectboxColumn("Decision", options=ACTIONS, required=True),
                "note": st.column_config.TextColumn("Note", width="medium"),
                "incentive_plan": st.column_config.SelectboxColumn("Incentive plan", options=plans),
            }),
        )
        return
    table = shown.assign(partner=shown["partner_id"].astype(str))[_SHOWN + ["partner_id"]]
    event = st.dataframe(
        table, hide_index=True, width="stretch", placeholder="", height=TABLE_HEIGHT, key="review_browse",
        on_select="rerun", selection_mode="single-cell",
        column_config=column_config(table, {
            **labels, "partner": PARTNER_PICK, "partner_id": None,
            # One line a row: the note and reasons read in part here and in full below (a click on the row).
            "note": st.column_config.TextColumn("Note", width="small"),
            "reasons": st.column_config.TextColumn("Reasons", width="large"),
        }),
    )
    cells = event.selection.cells
    if not cells:
        return
    row, column = cells[0]
    partner_id = str(table["partner_id"].iloc[row]) if row < len(table) else None
    if partner_id is None or st.session_state.get(_PICKED_CELL) == (partner_id, column):
        return
    st.session_state[_PICKED_CELL] = (partner_id, column)
    if column in ("partner", "partner_name"):
        open_partner(partner_id)
    st.session_state["review_override_partner"] = partner_id
    picked_partner(frame)


def _rows_shown(chosen: int) -> tuple[int, int]:
    """Give the first and end row of the part of the chosen decisions the table shows (all of them up to TABLE_ROWS)."""
    if chosen <= TABLE_ROWS:
        return 0, chosen
    parts = -(-chosen // TABLE_ROWS)
    # The number of parts in the key: a narrower choice starts again at its first rows.
    part = st.selectbox("Rows", range(parts), key=f"review_table_rows_{parts}",
                        format_func=lambda i: f"{i * TABLE_ROWS + 1:,}–{min((i + 1) * TABLE_ROWS, chosen):,}",
                        help=f"The table holds {TABLE_ROWS:,} partners at a time, in the order chosen above; "
                             "the filters above narrow it, and the decisions download below has every partner.")
    return part * TABLE_ROWS, min((part + 1) * TABLE_ROWS, chosen)


def partner_panel(decisions: pd.DataFrame, recommendations: pd.DataFrame, flt: ChannelFilter,
                  may_decide: bool, plans: list[str]) -> None:
    """Show one partner of the review in full (decision, marks, every reason) and, for a reviewer, change it."""
    labels = dict(zip(decisions["partner_id"],
                      decisions["partner_name"].fillna("") + " (" + decisions["partner_id"] + ")", strict=True))
    with st.container(border=True):
        pick, go = st.columns([4, 1], vertical_alignment="bottom")
        partner_id = pick.selectbox("One partner in full", list(labels), format_func=labels.get, index=None,
                                    key="review_override_partner", placeholder="Pick a partner, or click its row",
                                    on_change=picked_partner, args=(decisions,))
        if partner_id is None:
            return
        if go.button("Open its page", key="review_open_partner", icon=":material/storefront:"):
            open_partner(partner_id)
        row = decisions.set_index("partner_id").loc[partner_id]
        marks = flag_words(decisions[decisions["partner_id"] == partner_id]).iloc[0]
        st.markdown(f"**Recommended:** {row['recommendation']} · **Decision now:** {row['decision']}"
                    + (f" · **Marked:** {marks}" if marks else ""))
        # Reasons and notes come from data and people: shown as text, never as Markdown.
        st.text(f"Reasons: {row['reasons']}")
        if row["note"]:
            st.text(f"Note: {row['note']}")
        if not may_decide:
            return
        d1, d2, d3, d4 = st.columns([2, 2, 3, 1], vertical_alignment="bottom")
        d1.selectbox("Decision", ACTIONS, key="review_override_decision")
        d2.selectbox("Incentive plan", plans, key="review_override_plan", format_func=lambda p: p or "none",
                     help="The program's plan for its segment focus over the review year; yours if you change it.")
        d3.text_input("Note", key="review_override_note", max_chars=2000)
        d4.button("Apply", key="review_override_apply", type="primary", on_click=apply_override,
                  args=(recommendations, flt))
