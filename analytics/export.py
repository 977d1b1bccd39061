"""Tables as files safe to open in a spreadsheet, with headers in words and numbers rounded to what they mean."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence

import openpyxl
import pandas as pd
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from analytics.labels import Column, Kind, partner_order, people_columns

__all__ = ["neutralise_formulas", "safe_cell", "to_safe_csv", "to_safe_excel", "for_people", "people_csv",
           "people_excel"]

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


def _one_line(text: str) -> str:
    """Give text on one line without control characters (see _BREAKS and _CONTROL)."""
    return _CONTROL.sub("", _BREAKS.sub(" ", text))


def safe_cell(value: object) -> object:
    """Give a text value that no spreadsheet runs as a formula, however it splits it; other values as they are."""
    if not isinstance(value, str):
        return value
    return _FORMULA_AFTER_SPLIT.sub(r"\1'", _one_line(value))


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


# How many decimals a kind of figure means: cents, and shares or probabilities to a hundredth of a percent.
_DECIMALS: dict[str, int] = {"money": 2, "share": 4, "number": 4}
_EXCEL_FORMATS: dict[str, str] = {
    "money": '"$"#,##0.00', "share": "0.0%", "count": "#,##0", "number": "#,##0.####",
    "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm",
}
_WIDEST = {"long_text": 60}  # characters; long text wraps within that width
_MAX_WIDTH = 40


def for_people(
    frame: pd.DataFrame,
    labels: Mapping[str, str | None] | None = None,
    first: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, list[Kind]]:
    """Give the frame with headers in words, figures rounded to what they mean, flags as yes/no, and each column's kind.

    `labels` renames columns the engine names alike everywhere (a period in a header) or leaves them
    out (None), as on the page (analytics.labels.people_columns). With `first`, the columns follow the
    partner tables' reading order (those named, the name, text, then figures).
    """
    columns = people_columns(frame, labels)
    names = partner_order(columns, first) if first is not None else list(columns)
    out = pd.DataFrame(index=range(len(frame)))
    for name in names:
        out[columns[name].label] = _readable(frame[name].reset_index(drop=True), columns[name])
    return out, [columns[n].kind for n in names]


def _readable(values: pd.Series, spec: Column) -> pd.Series:
    """Give a column's values as they mean: rounded figures, whole counts, yes/no flags, times without a zone."""
    if spec.kind in _DECIMALS and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float).round(_DECIMALS[spec.kind])
    if spec.kind == "count" and pd.api.types.is_numeric_dtype(values):
        whole = values.dropna()
        return values.astype("Int64") if (whole == whole.round()).all() else values.astype(float).round(4)
    if spec.kind == "flag":
        return values.map({True: "yes", False: "no"}, na_action="ignore").astype(object)
    if pd.api.types.is_datetime64_any_dtype(values):
        # A spreadsheet has no time zones (openpyxl refuses them): local wall time, as the pages show it.
        return values.dt.tz_localize(None) if getattr(values.dt, "tz", None) is not None else values
    return values


def people_csv(frame: pd.DataFrame, labels: Mapping[str, str | None] | None = None,
               first: Sequence[str] | None = None) -> bytes:
    """Give the frame as a CSV people read (see for_people), safe to open in a spreadsheet (see to_safe_csv)."""
    return to_safe_csv(for_people(frame, labels, first)[0])


def people_excel(frame: pd.DataFrame, sheet: str = "data", labels: Mapping[str, str | None] | None = None,
                 first: Sequence[str] | None = None) -> bytes:
    """Give the frame as an .xlsx workbook people read (see for_people and to_safe_excel)."""
    readable, kinds = for_people(frame, labels, first)
    return to_safe_excel(readable, sheet, kinds)


def to_safe_excel(frame: pd.DataFrame, sheet: str = "data", kinds: Sequence[Kind] | None = None) -> bytes:
    """Give the frame as an .xlsx workbook: formats per kind, a frozen header row with filters, widths; no formulas.

    Text that a spreadsheet would take for a formula is written as text, marked with Excel's quote
    prefix (shown only when the cell is edited, where it keeps the text from becoming a formula), so
    the reader sees the words as written and no apostrophe in front of them. `kinds` (one per column,
    analytics.labels) give the number formats; without them, columns are written as they are.
    """
    kinds = list(kinds) if kinds is not None else ["text"] * frame.shape[1]
    columns = [frame.iloc[:, i].tolist() for i in range(frame.shape[1])]
    # Write-only: rows stream out as written (twice as fast on a review of every partner); widths, the
    # frozen row and the filter must therefore be set before the first row.
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(_one_line(sheet)[:31] or "data")
    for j, (name, kind, values) in enumerate(zip(frame.columns, kinds, columns, strict=True), start=1):
        width = max([len(str(name)), *(_shown_length(v, kind) for v in values if not _missing(v))])
        ws.column_dimensions[get_column_letter(j)].width = min(width + 2, _WIDEST.get(kind, _MAX_WIDTH))
    ws.freeze_panes = "A2"
    if frame.shape[1]:
        ws.auto_filter.ref = f"A1:{get_column_letter(frame.shape[1])}{len(frame) + 1}"
    header = Font(bold=True)
    ws.append([_text_cell(ws, str(name), font=header) for name in frame.columns])
    wrap = Alignment(wrap_text=True, vertical="top")
    formats = [_EXCEL_FORMATS.get(kind) for kind in kinds]
    for row in zip(*columns, strict=True):
        ws.append([_value_cell(ws, value, number_format, wrap if kind == "long_text" else None)
                   for value, kind, number_format in zip(row, kinds, formats, strict=True)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _missing(value: object) -> bool:
    """Tell whether a value is missing (None, NA, NaT or NaN): its cell stays empty."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _value_cell(ws, value: object, number_format: str | None, alignment: Alignment | None) -> object:
    """Give what to append for one value: an empty cell, text as text, or a number or time in its format."""
    if _missing(value):
        return None
    if isinstance(value, str):
        return _text_cell(ws, value, alignment=alignment)
    cell = WriteOnlyCell(ws, value=value.to_pydatetime() if isinstance(value, pd.Timestamp) else value)
    if number_format:
        cell.number_format = number_format
    return cell


def _text_cell(ws, text: str, font: Font | None = None, alignment: Alignment | None = None) -> WriteOnlyCell:
    """Give a cell holding text as text, never a formula: quote-prefixed where a spreadsheet would run it."""
    text = _one_line(text)
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"  # openpyxl takes a value starting with "=" for a formula
    if _NEEDS_WORK.search(text):
        cell.quotePrefix = True
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _shown_length(value: object, kind: str) -> int:
    """Give about how many characters a value takes in its cell's format."""
    if kind == "money" and isinstance(value, int | float):
        return len(f"${value:,.2f}")
    if kind == "share" and isinstance(value, int | float):
        return len(f"{value:.1%}")
    if kind in ("date", "datetime"):
        return 16
    return len(str(value))
