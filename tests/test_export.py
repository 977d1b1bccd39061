"""Exports a spreadsheet opens without running anything."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pandas as pd
import pytest

from analytics.export import neutralise_formulas, safe_cell, to_safe_csv, to_safe_excel


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
    excel = pd.read_excel(io.BytesIO(to_safe_excel(frame)))
    assert excel.loc[0, "partner"].startswith("'=")


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
FORMULA_SIGNS = ("=", "+", "-", "@", "\t", "\r")
PIECE_BREAKS = re.compile(r"[\r\n\t,;|]")


def unsafe_pieces(cell: str) -> list[str]:
    """Give the pieces of a cell, split wherever a spreadsheet might split it, that would run as formulas."""
    pieces = [cell, *PIECE_BREAKS.split(cell)[1:]]
    return [p for p in pieces if not is_number(p)
            and (p.startswith(FORMULA_SIGNS) or p.lstrip(" ").startswith(FORMULA_SIGNS[:4]))]


def is_number(text: str) -> bool:
    """Tell whether the text is a plain number (a negative amount is not a formula)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def visible(text: str) -> str:
    """Give the words a reader sees: line breaks and tabs as spaces, control characters and added quotes gone."""
    return re.sub(r"[\x00-\x08]", "", re.sub(r"\r\n|[\r\n\t]", " ", text)).replace("'", "")


def assert_csv_is_safe(data: bytes, frame: pd.DataFrame) -> list[list[str]]:
    """Check that every cell of the CSV reads back as one cell that runs nothing, and give its rows."""
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(frame) + 1 and all(len(row) == frame.shape[1] for row in rows), rows
    assert [cell for row in rows for cell in row if unsafe_pieces(cell)] == []
    # A line-based reader (or a spreadsheet that ignores quotes) sees no line that starts a formula either.
    assert [line for line in re.split(r"\r\n|[\r\n]", text) if line.startswith(FORMULA_SIGNS)] == []
    return rows


def assert_excel_is_safe(data: bytes, frame: pd.DataFrame) -> list[list[object]]:
    """Check that no cell of the workbook is a formula or holds a piece that would run as one, and give its rows."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(rows) == len(frame) + 1
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert [v for row in rows for v in row if isinstance(v, str) and unsafe_pieces(v)] == []
    return rows


def test_text_split_at_a_line_break_or_separator_never_starts_a_formula():
    frame = pd.DataFrame({"partner_name": SPLIT_ATTACKS, "revenue": [-1.5] * len(SPLIT_ATTACKS)})
    rows = assert_csv_is_safe(to_safe_csv(frame), frame)
    assert [row[0] for row in rows[1:]] == [safe_cell(v) for v in SPLIT_ATTACKS]
    assert [visible(row[0]) for row in rows[1:]] == [visible(v) for v in SPLIT_ATTACKS]  # nothing else changed
    assert [float(row[1]) for row in rows[1:]] == [-1.5] * len(SPLIT_ATTACKS)  # numbers stay numbers
    book = assert_excel_is_safe(to_safe_excel(frame), frame)
    assert [row[0] for row in book[1:]] == [row[0] for row in rows[1:]]
    assert [row[1] for row in book[1:]] == [-1.5] * len(SPLIT_ATTACKS)


def test_column_names_and_categories_are_neutralised_too():
    # Pivoted tables take their column names from the data (a tier called "=1+1").
    frame = pd.DataFrame({"=1+1": ["a"], "region": pd.Categorical(["x\n@SUM(A1)"])})
    rows = assert_csv_is_safe(to_safe_csv(frame), frame)
    assert rows == [["'=1+1", "region"], ["a", "x @SUM(A1)"]]
    assert_excel_is_safe(to_safe_excel(frame), frame)
