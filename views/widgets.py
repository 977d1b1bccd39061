"""Tables on the pages: partner tables (the first rows on screen, every row in the download), links, downloads.

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

from typing import Any, NoReturn
from urllib.parse import quote, urlencode

import pandas as pd
import streamlit as st

from analytics.export import to_safe_csv
from analytics.formatting import markdown_literal
from views.sidebar import current_page, page_params, view_params

__all__ = [
    "ROWS_SHOWN", "PARTNER_LINK", "PARTNER_PICK", "partner_table", "partner_links", "clickable_partners",
    "open_partner", "back_link", "download_table",
]

ROWS_SHOWN = 500


def download_table(frame: pd.DataFrame, name: str, key: str) -> None:
    """Offer a table as a CSV download that is safe to open in a spreadsheet, written only when clicked."""
    st.download_button(
        f"Download {markdown_literal(name)} (CSV)", lambda: to_safe_csv(frame),
        file_name=f"{name.replace(' ', '_')}.csv", mime="text/csv", key=key, icon=":material/download:",
        on_click="ignore",
    )


def partner_links(frame: pd.DataFrame, column: str = "partner_id") -> pd.DataFrame:
    """Give the frame with a `partner` column of links to the Partner page that keep the quarter and filters.

    For tables a person edits (st.data_editor, shown with PARTNER_LINK); other tables use clickable_partners.
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
PARTNER_PAGE = "views/partner.py"
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


def clickable_partners(
    frame: pd.DataFrame, key: str, column_config: dict[str, Any] | None = None, column: str = "partner_id",
) -> None:
    """Show a table whose partner cells (id or name) open that partner's page with one click, the view kept."""
    shown = frame.copy()
    shown.insert(0, "partner", shown[column].astype(str))
    event = st.dataframe(
        shown, hide_index=True, width="stretch", key=key, on_select="rerun", selection_mode="single-cell",
        column_config={"partner": PARTNER_PICK, column: None, **(column_config or {})},
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
    column_config: dict[str, Any] | None = None,
    rows: int = ROWS_SHOWN,
) -> None:
    """Show a partner table's first `rows` rows (one click on a partner opens it), and offer all of it as a CSV.

    `frame` is already in the order `order` describes ("by revenue lost, largest first"); when rows
    are left out, a caption says how many and that the download has them all.
    """
    if len(frame) > rows:
        st.caption(f"Showing the first {rows:,} of {len(frame):,} partners, {order}; the download has all of them.")
    clickable_partners(frame.head(rows), f"{key}_table", column_config)
    st.download_button(
        f"Download {markdown_literal(name)} (CSV, {len(frame):,} rows)", lambda: to_safe_csv(frame),
        file_name=f"{name.replace(' ', '_')}.csv", mime="text/csv", key=key, icon=":material/download:",
        on_click="ignore",  # a download changes nothing on the page, so it need not run the page again
    )
