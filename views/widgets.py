"""Tables on the pages in words (headers and formats from analytics/labels.py), partner tables, links, downloads.

A partner in a table opens the Partner page with one click in the same tab, keeping the session's
quarter and filters and offering a way back. A LinkColumn cannot do that: Streamlit 1.67's grid opens
every link with window.open(url, "_blank"), a new tab and a new session. So a table's partner cells
are picked (single-cell selection) and the page switches with st.switch_page. Tables that are edited
(st.data_editor has no selection) keep LinkColumn links, which carry the quarter and filters in the
URL so that the new tab shows the same view.

A table of every partner runs to tens of thousands of rows at a large vendor; sending them all to
the browser on every rerun (and writing them as CSV in case someone clicks Download) made the pages
slow. The page shows the first rows in the order it states, and the CSV is written only on a click.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn
from urllib.parse import quote, urlencode

import pandas as pd
import streamlit as st

from analytics.export import people_csv
from analytics.formatting import markdown_literal
from analytics.labels import Column, partner_order, people_columns
from views.filter_links import page_params, view_params
from views.sidebar import current_page

__all__ = [
    "ROWS_SHOWN", "PARTNER_LINK", "PARTNER_PICK", "partner_table", "partner_links", "linked_table",
    "open_partner", "back_link", "download_table", "column_config", "show_table", "row_height",
    "WRAPPED_ROW_HEIGHT", "Labels",
]

ROWS_SHOWN = 500

# What a page says about some columns beyond analytics/labels.py: a header (a period in it), None to leave the
# column out, or a column_config of its own (a progress bar, a selectbox) whose label the download uses too.
Labels = Mapping[str, "str | None | Mapping[str, Any]"]

# Long text (reasons, notes) gets room and rows tall enough to wrap in (Streamlit wraps text only in rows
# taller than 4rem), so a reason reads in full instead of ending in "short of G…"; names get room for a
# whole company name. In pixels: link, name, one short column and one long text fit a 1280 px window.
_WIDTHS: dict[str, Any] = {"long_text": 340, "text": "medium", "id": "small", "flag": "small"}
_NAME_WIDTH = 200
WRAPPED_ROW_HEIGHT = 72


def _config(spec: Column, name: str = "") -> Any:
    """Give the column_config that shows a column of this kind as people read it."""
    width = _NAME_WIDTH if name == "partner_name" else _WIDTHS.get(spec.kind)
    if spec.kind == "money":
        return st.column_config.NumberColumn(spec.label, format="dollar", help=spec.help)
    if spec.kind == "share":
        return st.column_config.NumberColumn(spec.label, format="percent", help=spec.help)
    if spec.kind == "count":
        return st.column_config.NumberColumn(spec.label, format="localized", help=spec.help)
    if spec.kind == "number":
        return st.column_config.NumberColumn(spec.label, format="%.3g", help=spec.help)
    if spec.kind == "flag":
        return st.column_config.CheckboxColumn(spec.label, width=width, help=spec.help)
    if spec.kind == "date":
        return st.column_config.DateColumn(spec.label, format="YYYY-MM-DD", help=spec.help)
    if spec.kind == "datetime":
        return st.column_config.DatetimeColumn(spec.label, format="YYYY-MM-DD HH:mm", help=spec.help)
    return st.column_config.TextColumn(spec.label, width=width, help=spec.help)


def _header_labels(labels: Labels | None) -> dict[str, str | None]:
    """Give the headers `labels` set (a column_config's own label), for analytics.labels and the download."""
    return {name: value.get("label") if isinstance(value, Mapping) else value for name, value in (labels or {}).items()}


def column_config(frame: pd.DataFrame, labels: Labels | None = None) -> dict[str, Any]:
    """Give the column_config that shows every column of `frame` in words and formats (analytics/labels.py).

    `labels` holds only what this page says differently (see Labels); a column left out, or one whose
    header repeats an earlier one's, is hidden.
    """
    labels = labels or {}
    shown = people_columns(frame, _header_labels(labels))
    config: dict[str, Any] = {name: None for name in frame.columns if name not in shown}
    for name, spec in shown.items():
        own = labels.get(name)
        config[name] = own if isinstance(own, Mapping) else _config(spec, name)
    return config


def row_height(frame: pd.DataFrame, config: Mapping[str, Any]) -> int | None:
    """Give a row height that lets long text wrap when the table shows any, else None (one line)."""
    shown = people_columns(frame, {n: None for n, c in config.items() if c is None})
    return WRAPPED_ROW_HEIGHT if any(c.kind == "long_text" for c in shown.values()) else None


def show_table(frame: pd.DataFrame, labels: Labels | None = None, **kwargs: Any) -> None:
    """Show a table with headers in words, figures formatted and missing values as empty cells."""
    config = column_config(frame, labels)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config, placeholder="",
                 row_height=row_height(frame, config), **kwargs)


def download_table(frame: pd.DataFrame, name: str, key: str, labels: Labels | None = None) -> None:
    """Offer a table as a CSV download in words that is safe to open in a spreadsheet, written only when clicked."""
    headers = _header_labels(labels)
    st.download_button(
        f"Download {markdown_literal(name)} (CSV)", lambda: people_csv(frame, headers),
        file_name=f"{name.replace(' ', '_')}.csv", mime="text/csv", key=key, icon=":material/download:",
        on_click="ignore",
    )


def partner_links(frame: pd.DataFrame, column: str = "partner_id") -> pd.DataFrame:
    """Give the frame with a `partner` column of links to the Partner page that keep the quarter and filters.

    For tables a person edits (st.data_editor, shown with PARTNER_LINK); other tables use linked_table.
    """
    linked = frame.copy()
    view = urlencode(view_params(), doseq=True)
    ids = linked[column].astype(str).map(lambda v: quote(v, safe=""))
    linked.insert(0, "partner", "partner?partner_id=" + ids + (f"&{view}" if view else ""))
    return linked


PARTNER_LINK = st.column_config.LinkColumn("Partner", display_text=r"partner_id=([^&]*)",
                                           help="Open the partner page (in a new tab, with this quarter and filters)")
PARTNER_PICK = st.column_config.TextColumn(
    "Partner", pinned=True, help="Click a partner's id or name to open its page (this quarter and filters kept)")
PARTNER_PAGE = "views/pages/partner.py"
# Cells whose click opens the partner of their row.
_PICK_COLUMNS = ("partner", "partner_name")


def open_partner(partner_id: str) -> NoReturn:
    """Open the Partner page of `partner_id` in this tab with the quarter and filters, remembering the way back."""
    here = current_page()
    if here is not None:
        # The page's own choices (Drop-offs' periods) are in its URL; Back gives them back to it.
        st.session_state["_partner_from"] = (here, page_params(leave_out=("partner_id",)))
    st.switch_page(PARTNER_PAGE, query_params={"partner_id": partner_id, **view_params()})


def back_link() -> None:
    """Offer "← Back to <page>" to the page a partner was opened from, with its choices and the filters as now."""
    origin = st.session_state.get("_partner_from")
    if origin is not None:
        page, own = origin
        st.page_link(page, label=f"← Back to {page.title}", query_params={**own, **view_params()})


def linked_table(
    frame: pd.DataFrame, key: str, labels: Labels | None = None, first: Sequence[str] = (), column: str = "partner_id",
) -> None:
    """Show a partner table in words and reading order whose partner cells (id or name) open it with one click.

    The view is kept (see open_partner); the id column itself is hidden, the pinned Partner column shows it.
    """
    shown = frame.copy()
    shown.insert(0, "partner", shown[column].astype(str))
    config = column_config(shown, {column: None, **(labels or {})})
    config["partner"] = PARTNER_PICK
    columns = people_columns(shown, {n: None for n, c in config.items() if c is None})
    event = st.dataframe(
        shown, hide_index=True, width="stretch", key=key, on_select="rerun", selection_mode="single-cell",
        column_config=config, placeholder="", column_order=partner_order(columns, first),
        row_height=row_height(shown, config),
    )
    cells = event.selection.cells
    if cells and cells[0][1] in _PICK_COLUMNS:
        open_partner(str(shown[column].iloc[cells[0][0]]))


def partner_table(
    frame: pd.DataFrame,
    name: str,
    key: str,
    order: str,
    *,
    labels: Labels | None = None,
    first: Sequence[str] = (),
    rows: int = ROWS_SHOWN,
) -> None:
    """Show a partner table's first `rows` rows (one click on a partner opens it), and offer all of it as a CSV.

    `frame` is already in the order `order` describes ("by revenue lost, largest first"); when rows
    are left out, a caption says how many and that the download has them all. Columns read as
    analytics/labels.py says, with `labels` for what differs here, and run: link, name, `first`, long
    text, text, figures, so that what a row is read for shows without scrolling. The link shows the
    partner id, so the id column itself is hidden on screen (the download has it first).
    """
    if len(frame) > rows:
        st.caption(f"Showing the first {rows:,} of {len(frame):,} partners, {order}; the download has all of them.")
    linked_table(frame.head(rows), f"{key}_table", labels, first)
    headers = _header_labels(labels)
    st.download_button(
        f"Download {markdown_literal(name)} (CSV, {len(frame):,} rows)",
        lambda: people_csv(frame, headers, first),
        file_name=f"{name.replace(' ', '_')}.csv", mime="text/csv", key=key, icon=":material/download:",
        on_click="ignore",  # a download changes nothing on the page, so it need not run the page again
    )
