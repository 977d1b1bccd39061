"""Tables on the pages in words (headers and formats from analytics/labels.py), partner tables, links, downloads.

A table of every partner runs to tens of thousands of rows at a large vendor; sending them all to
the browser on every rerun (and writing them as CSV in case someone clicks Download) made the pages
slow. The page shows the first rows in the order it states, and the CSV is written only on a click.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from analytics.export import people_csv
from analytics.formatting import markdown_literal
from analytics.labels import Column, partner_order, people_columns

__all__ = ["ROWS_SHOWN", "PARTNER_LINK", "partner_table", "partner_links", "download_table", "column_config",
           "show_table", "linked_table", "row_height", "WRAPPED_ROW_HEIGHT", "Labels"]

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
    """Give the frame with a `partner` column of links to the Partner page (shown by LinkColumn)."""
    linked = frame.copy()
    linked.insert(0, "partner", "partner?partner_id=" + linked[column].astype(str))
    return linked


PARTNER_LINK = st.column_config.LinkColumn("Partner", display_text=r"partner_id=(.*)", help="Open the partner page")


def linked_table(frame: pd.DataFrame, labels: Labels | None = None, first: Sequence[str] = ()) -> None:
    """Show a partner table with links to the Partner page, in words and in reading order (see partner_table)."""
    shown = partner_links(frame)
    config = column_config(shown, {"partner_id": None, **(labels or {})})
    config["partner"] = PARTNER_LINK
    columns = people_columns(shown, {n: None for n, c in config.items() if c is None})
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, placeholder="",
                 column_order=partner_order(columns, first), row_height=row_height(shown, config))


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
    """Show a partner table's first `rows` rows with links to the Partner page, and offer all of it as a CSV.

    `frame` is already in the order `order` describes ("by revenue lost, largest first"); when rows
    are left out, a caption says how many and that the download has them all. Columns read as
    analytics/labels.py says, with `labels` for what differs here, and run: link, name, `first`, long
    text, text, figures, so that what a row is read for shows without scrolling. The link shows the
    partner id, so the id column itself is hidden on screen (the download has it first).
    """
    if len(frame) > rows:
        st.caption(f"Showing the first {rows:,} of {len(frame):,} partners, {order}; the download has all of them.")
    linked_table(frame.head(rows), labels, first)
    headers = _header_labels(labels)
    st.download_button(
        f"Download {markdown_literal(name)} (CSV, {len(frame):,} rows)",
        lambda: people_csv(frame, headers, first),
        file_name=f"{name.replace(' ', '_')}.csv", mime="text/csv", key=key, icon=":material/download:",
        on_click="ignore",  # a download changes nothing on the page, so it need not run the page again
    )
