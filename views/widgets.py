"""Tables on the pages: partner tables (the first rows on screen, every row in the download), links, downloads.

A table of every partner runs to tens of thousands of rows at a large vendor; sending them all to
the browser on every rerun (and writing them as CSV in case someone clicks Download) made the pages
slow. The page shows the first rows in the order it states, and the CSV is written only on a click.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analytics.export import to_safe_csv
from analytics.formatting import markdown_literal

__all__ = ["ROWS_SHOWN", "PARTNER_LINK", "partner_table", "partner_links", "download_table"]

ROWS_SHOWN = 500


def download_table(frame: pd.DataFrame, name: str, key: str) -> None:
    """Offer a table as a CSV download that is safe to open in a spreadsheet, written only when clicked."""
    st.download_button(
        f"Download {markdown_literal(name)} (CSV)", lambda: to_safe_csv(frame),
        file_name=f"{name.replace(' ', '_')}.csv", mime="text/csv", key=key, icon=":material/download:",
        on_click="ignore",
    )


def partner_links(frame: pd.DataFrame, column: str = "partner_id") -> pd.DataFrame:
    """Give the frame with a `partner` column of links to the Partner page (shown by LinkColumn)."""
    linked = frame.copy()
    linked.insert(0, "partner", "partner?partner_id=" + linked[column].astype(str))
    return linked


PARTNER_LINK = st.column_config.LinkColumn("Partner", display_text=r"partner_id=(.*)", help="Open the partner page")


def partner_table(
    frame: pd.DataFrame,
    name: str,
    key: str,
    order: str,
    *,
    column_config: dict[str, Any] | None = None,
    rows: int = ROWS_SHOWN,
) -> None:
    """Show a partner table's first `rows` rows with links to the Partner page, and offer all of it as a CSV.

    `frame` is already in the order `order` describes ("by revenue lost, largest first"); when rows
    are left out, a caption says how many and that the download has them all.
    """
    if len(frame) > rows:
        st.caption(f"Showing the first {rows:,} of {len(frame):,} partners, {order}; the download has all of them.")
    st.dataframe(
        partner_links(frame.head(rows)), hide_index=True, width="stretch",
        column_config={"partner": PARTNER_LINK, **(column_config or {})},
    )
    st.download_button(
        f"Download {markdown_literal(name)} (CSV, {len(frame):,} rows)", lambda: to_safe_csv(frame),
        file_name=f"{name.replace(' ', '_')}.csv", mime="text/csv", key=key, icon=":material/download:",
        on_click="ignore",  # a download changes nothing on the page, so it need not run the page again
    )
