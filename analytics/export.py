"""Tables as files safe to open in a spreadsheet, with headers in words and numbers rounded to what they mean."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import openpyxl
import pandas as pd
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from analytics.cells import NEEDS_WORK, one_line, safe_cell
from analytics.labels import Column, Kind, partner_order, people_columns
from analytics.periods import trailing_span
from analytics.program.rules import ProgramRules, rules_settings
from analytics.review.actions import ACTIONS
from analytics.review.decisions import action_counts

__all__ = ["neutralise_formulas", "to_safe_csv", "to_safe_excel", "for_people", "people_csv",
           "people_excel", "review_workbook", "review_out_line"]


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a copy whose text cells (and column names) a spreadsheet cannot run as formulas (see safe_cell)."""
    safe = frame.copy()
    safe.columns = [safe_cell(c) for c in safe.columns]
    for i in range(safe.shape[1]):
        column = safe.iloc[:, i]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        if pd.api.types.is_string_dtype(column) and column.dtype != object:
            needs = column.str.contains(NEEDS_WORK.pattern, regex=True, na=False).to_numpy(dtype=bool)
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
# Long text gets room even when its cells are empty (a Note column six characters wide invites nobody to write).
_NARROWEST = {"long_text": 30}
_MAX_WIDTH = 40
# A sheet set up to print: headers wrap past this many characters, other columns no wider than this.
_PRINTED_HEADER = 12
_PRINTED_WIDEST = 22


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
    # Write-only: rows stream out as written (twice as fast on a review of every partner).
    book = openpyxl.Workbook(write_only=True)
    _table_sheet(book, sheet, frame, kinds)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _table_sheet(book: openpyxl.Workbook, sheet: str, frame: pd.DataFrame, kinds: Sequence[Kind] | None,
                 printable: bool = False) -> None:
    """Write the frame as a sheet of a write-only book (see to_safe_excel); `printable` sets it up to print.

    Printed, the sheet is landscape, fitted to the page width, with its header row on every page; its
    headers and text wrap within narrower columns, and each row is as tall as its longest wrapped text.
    """
    kinds = list(kinds) if kinds is not None else ["text"] * frame.shape[1]
    columns = [frame.iloc[:, i].tolist() for i in range(frame.shape[1])]
    # Widths, the frozen row, the filter and the page set-up must be set before the first row is written.
    ws = book.create_sheet(one_line(sheet)[:31] or "data")
    widths = []
    for j, (name, kind, values) in enumerate(zip(frame.columns, kinds, columns, strict=True), start=1):
        # Printed, a header wraps onto a second line rather than widening a column of short figures, so that
        # the page fitted to its width keeps a readable type size.
        header = min(len(str(name)), _PRINTED_HEADER) if printable else len(str(name))
        width = max([header, *(_shown_length(v, kind) for v in values if not _missing(v))])
        widest = _PRINTED_WIDEST if printable and kind != "long_text" else _WIDEST.get(kind, _MAX_WIDTH)
        widths.append(max(min(width + 2, widest), _NARROWEST.get(kind, 0)))
        ws.column_dimensions[get_column_letter(j)].width = widths[-1]
    if printable:
        _print_setup(ws)
        ws.print_title_rows = "1:1"
    ws.freeze_panes = "A2"
    if frame.shape[1]:
        ws.auto_filter.ref = f"A1:{get_column_letter(frame.shape[1])}{len(frame) + 1}"
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top") if printable else None  # a figure beside wrapped text reads on its first line
    wrapped = [kind == "long_text" or (printable and kind in ("text", "id")) for kind in kinds]
    if printable:
        ws.row_dimensions[1].height = _row_height(frame.columns, widths, [True] * len(widths))
    ws.append([_text_cell(ws, str(name), font=Font(bold=True), alignment=wrap if printable else None)
               for name in frame.columns])
    formats = [_EXCEL_FORMATS.get(kind) for kind in kinds]
    for i, row in enumerate(zip(*columns, strict=True), start=2):
        if printable:
            # A spreadsheet need not size rows to their wrapped text when it opens a file (LibreOffice does
            # not): without a height, wrapped reasons print over the rows below.
            ws.row_dimensions[i].height = _row_height(row, widths, wrapped)
        ws.append([_value_cell(ws, value, number_format, wrap if wraps else top)
                   for value, wraps, number_format in zip(row, wrapped, formats, strict=True)])


_LINE_HEIGHT = 15.0  # points per line of 11-point text


def _row_height(values: Sequence[object], widths: Sequence[float], wrapped: Sequence[bool]) -> float | None:
    """Give the height in points that a row's longest wrapped text needs in its column (None: one line)."""
    lines = 1
    for value, width, wraps in zip(values, widths, wrapped, strict=True):
        if wraps and isinstance(value, str) and len(value) > width - 2:
            # Words wrap whole, so a line holds a little less than the column's width in characters.
            lines = max(lines, math.ceil(len(value) * 1.15 / max(width - 2, 1)))
    return lines * _LINE_HEIGHT if lines > 1 else None


def _print_setup(ws) -> None:
    """Set a sheet to print landscape on A4 or Letter, as many pages down as it takes but one page wide."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages as the rows need
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.4


# -- the review as a workbook a chief sends ---------------------------------------------------------
def review_out_line(terminations: int, partners: int, review_out_share: float) -> str:
    """Give terminations against the program's review-out share in words: "283 (4.9 %) against 10 %"."""
    share = terminations / partners if partners else 0.0
    return f"{terminations:,} ({share:.1%}) against {review_out_share:.0%}".replace("%", " %")


def review_workbook(decisions: pd.DataFrame, review_name: str, as_of: str, rules: ProgramRules, rules_file: str,
                    labels: Mapping[str, str | None] | None = None, first: Sequence[str] | None = None) -> bytes:
    """Give a review as an .xlsx a chief can send as is: a Summary sheet, then the decisions set up to print.

    The summary names the review, its as-of quarter and year, the rules file with its terms, the
    model version(s) the probabilities come from, the partners by decision (analytics.review.decisions
    .action_counts on `decision`) and by recorded tier and decision, and the terminations against the
    program's review-out share. The Decisions sheet has one row per partner in words (see for_people,
    `labels` and `first`), without the model version per row; Note and Reasons wide and wrapped.
    `decisions` needs partner_id, tier, decision and revenue_trailing.
    """
    missing = [c for c in ("partner_id", "tier", "decision", "revenue_trailing") if c not in decisions.columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(missing)} missing from the decisions")
    book = openpyxl.Workbook(write_only=True)
    _summary_sheet(book, decisions, review_name, as_of, rules, rules_file)
    per_partner = decisions.drop(columns=[c for c in ("model_version",) if c in decisions.columns])
    readable, kinds = for_people(per_partner, labels, first)
    _table_sheet(book, "Decisions", readable, kinds, printable=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _summary_sheet(book: openpyxl.Workbook, decisions: pd.DataFrame, review_name: str, as_of: str,
                   rules: ProgramRules, rules_file: str) -> None:
    """Write the review's Summary sheet: who and when, the counts, the terminations, the rules."""
    ws = book.create_sheet("Summary")
    for letter, width in zip("ABCDEFG", (46, 18, 18, 20, 18, 14, 14), strict=True):
        ws.column_dimensions[letter].width = width
    _print_setup(ws)
    ws.page_setup.orientation = "portrait"
    bold, title = Font(bold=True), Font(bold=True, size=14)
    money_format, share_format, count_format = _EXCEL_FORMATS["money"], _EXCEL_FORMATS["share"], "#,##0"
    year = trailing_span(as_of)

    def text(value: str, font: Font | None = None) -> WriteOnlyCell:
        return _text_cell(ws, str(value), font=font)

    def header(value: str) -> WriteOnlyCell:
        return _text_cell(ws, str(value), font=bold, alignment=Alignment(wrap_text=True, vertical="bottom"))

    def number(value: float, number_format: str, font: Font | None = None) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = number_format
        if font is not None:
            cell.font = font
        return cell

    counts = action_counts(decisions, "decision")
    partners = len(decisions)
    versions = sorted({str(v) for v in decisions.get("model_version", pd.Series(dtype=object)).dropna() if str(v)})
    changed = (int((decisions["decision"] != decisions["recommendation"]).sum())
               if "recommendation" in decisions.columns else None)
    ws.append([text(f"Annual review {review_name}", title)])
    ws.append([])
    ws.append([text("Review", bold), text(review_name)])
    ws.append([text("As-of quarter", bold), text(as_of)])
    ws.append([text("Review year", bold), text(year)])
    ws.append([text("Partners", bold), number(partners, count_format)])
    ws.append([text("Rules file", bold), text(rules_file)])
    ws.append([text("Model version", bold), text(", ".join(versions) if versions else "not recorded")])
    if changed is not None:
        ws.append([text("Decisions that differ from the recommendation", bold), number(changed, count_format)])
    terminated = int(counts.set_index("action").loc["terminate", "partners"])
    ws.append([text("Terminations against the review-out share", bold),
               text(review_out_line(terminated, partners, rules.review_out_share))])
    ws.append([])
    ws.append([text("Partners by decision", title)])
    ws.append([header(h) for h in ("Decision", "Partners", "Share of partners", f"Revenue {year}")])
    for row in counts.itertuples():
        ws.append([text(row.action.capitalize()), number(int(row.partners), count_format),
                   number(float(row.share_of_partners), share_format), number(float(row.revenue_trailing),
                                                                             money_format)])
    ws.append([text("Total", bold), number(partners, count_format, bold), number(1.0 if partners else 0.0,
                                                                               share_format, bold),
               number(float(decisions["revenue_trailing"].sum()), money_format, bold)])
    ws.append([])
    ws.append([text("Partners by recorded tier and decision", title)])
    ws.append([header(h) for h in ("Recorded tier", *(a.capitalize() for a in ACTIONS), "Total")])
    for tier, row in _tier_by_decision(decisions, rules).iterrows():
        font = bold if tier == "Total" else None
        ws.append([text(tier, font), *(number(int(v), count_format, font) for v in row)])
    ws.append([])
    ws.append([text(f"Program rules ({rules_file})", title)])
    ws.append([header(h) for h in ("Tier", f"Minimum revenue {year}", "Minimum deals", "Minimum customers")])
    for tier in rules.tiers:
        ws.append([text(tier.name), number(tier.min_revenue, money_format), number(tier.min_deals, count_format),
                   number(tier.min_customers, count_format)])
    for setting, value in rules_settings(rules):
        ws.append([text(setting, bold), text(value)])


def _tier_by_decision(decisions: pd.DataFrame, rules: ProgramRules) -> pd.DataFrame:
    """Give partners by recorded tier (the program's tiers first, highest down) and decision, with totals."""
    tiers = decisions["tier"].fillna("not recorded").astype(str)
    table = pd.crosstab(tiers, decisions["decision"]).reindex(columns=list(ACTIONS), fill_value=0)
    order = [t for t in rules.tier_names if t in table.index] + sorted(set(table.index) - set(rules.tier_names))
    table = table.reindex(order)
    table["Total"] = table.sum(axis=1)
    table.loc["Total"] = table.sum(axis=0)
    return table


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
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _text_cell(ws, text: str, font: Font | None = None, alignment: Alignment | None = None) -> WriteOnlyCell:
    """Give a cell holding text as text, never a formula: quote-prefixed where a spreadsheet would run it."""
    text = one_line(text)
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"  # openpyxl takes a value starting with "=" for a formula
    if NEEDS_WORK.search(text):
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
