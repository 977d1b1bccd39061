"""Exports a spreadsheet opens without running anything."""

from __future__ import annotations

import io
import re

import openpyxl
import pandas as pd
import pytest

from analytics.cells import safe_cell
from analytics.export import (
    for_people,
    neutralise_formulas,
    people_csv,
    people_excel,
    to_safe_csv,
    to_safe_excel,
)
from tests.file_checks import assert_csv_is_safe, assert_excel_is_safe


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
     ("Acme", "Acme")],
    ids=["equals", "plus", "minus", "at", "plain"],
)
def test_formula_starts_are_neutralised(value, expected):
    frame = pd.DataFrame({"name": [value], "revenue": [-5.0]})
    safe = neutralise_formulas(frame)
    assert safe.loc[0, "name"] == expected
    assert safe.loc[0, "revenue"] == -5.0  # numbers stay numbers


def test_csv_and_excel_round_trip_safely():
    frame = pd.DataFrame({"partner": ["=cmd|' /C calc'!A0", "Beta"], "revenue": [1.5, -2.0]})
    csv = pd.read_csv(io.BytesIO(to_safe_csv(frame)), encoding="utf-8-sig")
    assert csv.loc[0, "partner"].startswith("'=") and csv.loc[1, "revenue"] == -2.0
    # Excel keeps the words as written, stored as text with the quote prefix (no apostrophe in the value).
    cell = openpyxl.load_workbook(io.BytesIO(to_safe_excel(frame))).active["A2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=cmd|' /C calc'!A0", "s", True)


# Text a spreadsheet (or a line-based reader) could split into a new cell that starts with a formula.
SPLIT_ATTACKS = [
    "\r=1+1",
    "Acme\n=HYPERLINK(\"http://evil.example\",\"click\")",
    "Acme\r\n+1-555",
    "Acme\t@SUM(A1)",
    "Acme;=1+1",
    "Acme,-2+3",
    "Acme| =cmd",
    "bell\x07\x00=1",
    "Acme GmbH, Köln",
]
def visible(text: str) -> str:
    """Give the words a reader sees: line breaks and tabs as spaces, control characters and added quotes gone."""
    return re.sub(r"[\x00-\x08]", "", re.sub(r"\r\n|[\r\n\t]", " ", text)).replace("'", "")


def test_text_split_at_a_line_break_or_separator_never_starts_a_formula():
    frame = pd.DataFrame({"partner_name": SPLIT_ATTACKS, "revenue": [-1.5] * len(SPLIT_ATTACKS)})
    rows = assert_csv_is_safe(to_safe_csv(frame), frame)
    assert [row[0] for row in rows[1:]] == [safe_cell(v) for v in SPLIT_ATTACKS]
    assert [visible(row[0]) for row in rows[1:]] == [visible(v) for v in SPLIT_ATTACKS]  # nothing else changed
    assert [float(row[1]) for row in rows[1:]] == [-1.5] * len(SPLIT_ATTACKS)  # numbers stay numbers
    book = assert_excel_is_safe(to_safe_excel(frame), frame)
    assert [row[0] for row in book[1:]] == [visible(v) for v in SPLIT_ATTACKS]  # the words, no added quotes
    assert [row[1] for row in book[1:]] == [-1.5] * len(SPLIT_ATTACKS)


def test_column_names_and_categories_are_neutralised_too():
    # Pivoted tables take their column names from the data (a tier called "=1+1").
    frame = pd.DataFrame({"=1+1": ["a"], "region": pd.Categorical(["x\n@SUM(A1)"])})
    rows = assert_csv_is_safe(to_safe_csv(frame), frame)
    assert rows == [["'=1+1", "region"], ["a", "x @SUM(A1)"]]
    assert_excel_is_safe(to_safe_excel(frame), frame)


# --- exports for people: headers in words, figures rounded, a workbook that reads well -----------------------------

REVIEWED = pd.DataFrame({
    "partner_id": ["P00001", "P00002"],
    "partner_name": ["=HYPERLINK(\"http://evil.example\")", "Beta GmbH"],
    "revenue_trailing": [29746.829999999998, None],
    "churn_probability": [0.85137, None],
    "at_risk": [True, False],
    "deals_trailing": [3.0, None],
    "decision": ["terminate", "retain"],
    "note": ["no reply since March", None],
    "reasons": ["revenue down 64 % year over year; no deal for 3 quarters", "meets Silver"],
})


def test_a_csv_for_people_has_headers_in_words_and_figures_rounded_to_what_they_mean():
    data = people_csv(REVIEWED, {"revenue_trailing": "Revenue 2025Q3–2026Q2"}, first=["decision", "note"])
    rows = assert_csv_is_safe(data, REVIEWED)
    assert rows[0] == ["Partner id", "Name", "Decision", "Note", "Reasons", "At risk", "Revenue 2025Q3–2026Q2",
                       "Churn probability", "Deals, last 4 quarters"]
    assert rows[1] == ["P00001", "'=HYPERLINK(\"http://evil.example\")", "terminate", "no reply since March",
                       "revenue down 64 % year over year; no deal for 3 quarters", "yes", "29746.83", "0.8514", "3"]
    assert rows[2][5:] == ["no", "", "", ""]  # missing figures stay empty, not "nan" or "None"


def test_an_excel_file_for_people_has_formats_a_frozen_header_filters_and_widths():
    sheet = openpyxl.load_workbook(io.BytesIO(people_excel(REVIEWED, "decisions", first=["decision", "note"]))).active
    assert sheet.title == "decisions"
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["Partner id", "Name", "Decision", "Note", "Reasons"]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:I3"
    by_header = {name: sheet.cell(row=2, column=j) for j, name in enumerate(header, start=1)}
    revenue, churn, deals = by_header["Revenue, last 4 quarters"], by_header["Churn probability"], by_header[
        "Deals, last 4 quarters"]
    assert (revenue.value, revenue.number_format) == (29746.83, '"$"#,##0.00')
    assert (churn.value, churn.number_format) == (0.8514, "0.0%")
    assert (deals.value, deals.number_format) == (3, "#,##0")
    name = by_header["Name"]
    # Shown as written, with no apostrophe, yet text: Excel runs nothing, and editing the cell keeps it text.
    assert (name.value, name.data_type, name.quotePrefix) == ('=HYPERLINK("http://evil.example")', "s", True)
    assert by_header["Reasons"].alignment.wrap_text
    widths = {c.value: sheet.column_dimensions[c.column_letter].width for c in sheet[1]}
    assert widths["Reasons"] > widths["Decision"] >= len("Decision")
    assert widths["Revenue, last 4 quarters"] >= len("Revenue, last 4 quarters")
    assert sheet.cell(row=3, column=header.index("Churn probability") + 1).value is None  # empty, not "nan"


def test_a_second_column_with_the_same_header_is_left_out():
    frame = pd.DataFrame({"partner_id": ["P1"], "revenue_at_stake": [10.0], "revenue_trailing": [10.0]})
    window = "Revenue 2025Q3–2026Q2"
    readable, kinds = for_people(frame, {"revenue_at_stake": window, "revenue_trailing": window})
    assert list(readable.columns) == ["Partner id", window] and kinds == ["id", "money"]
