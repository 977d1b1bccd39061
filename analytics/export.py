"""Tables as files that are safe to open in a spreadsheet."""

from __future__ import annotations

import io
import re

import pandas as pd

__all__ = ["neutralise_formulas", "safe_cell", "to_safe_csv", "to_safe_excel"]

# Line breaks (and the tab, itself a formula start and a separator) become one space. Spreadsheets,
# import wizards and line-based tools disagree about a quoted line break (pandas does not even quote
# a lone CR), so a cell that keeps one can be split and the text after it start a new cell; with the
# breaks gone there is nothing to split on, and the words stay readable ("Acme =1+1").
_BREAKS = re.compile("\r\n|[\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029]")
# Other control characters are invisible, and openpyxl refuses to write them at all.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f]")
# A spreadsheet runs a piece of text that starts with one of these as a formula (CSV injection). A
# piece starts at the start of the cell and, where a spreadsheet might split a cell with a separator
# it guesses (`,` `;` `|`), right after one; an import that trims spaces would bring a sign after
# spaces to the front, so each such piece gets a quote in front of it.
_FORMULA_AFTER_SPLIT = re.compile(r"(^|[,;|])(?=[ ]*[=+\-@])")
# Most cells need none of this: one search (vectorised on text columns) finds those that do.
_NEEDS_WORK = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]|(?:^|[,;|]) *[=+\\-@]")


def safe_cell(value: object) -> object:
    """Give a text value that no spreadsheet runs as a formula, however it splits it; other values as they are."""
    if not isinstance(value, str):
        return value
    text = _CONTROL.sub("", _BREAKS.sub(" ", value))
    return _FORMULA_AFTER_SPLIT.sub(r"\1'", text)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a copy whose text cells (and column names) a spreadsheet cannot run as formulas (see safe_cell)."""
    safe = frame.copy()
    safe.columns = [safe_cell(c) for c in safe.columns]
    for i in range(safe.shape[1]):
        column = safe.iloc[:, i]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        if pd.api.types.is_string_dtype(column) and column.dtype != object:
            needs = column.str.contains(_NEEDS_WORK.pattern, regex=True, na=False).to_numpy(dtype=bool)
            if needs.any():
                fixed = column.copy()
                fixed[needs] = [safe_cell(v) for v in column[needs]]  # by position: an index may repeat
                safe.isetitem(i, fixed)
        elif column.dtype == object:
            safe.isetitem(i, column.map(safe_cell))
    return safe


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    """Give the frame as UTF-8 CSV (with BOM, so spreadsheets detect the encoding), formulas neutralised."""
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8-sig")


def to_safe_excel(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """Give the frame as an .xlsx workbook, formulas neutralised."""
    buffer = io.BytesIO()
    neutralise_formulas(frame).to_excel(buffer, index=False, sheet_name=sheet)
    return buffer.getvalue()
