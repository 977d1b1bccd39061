"""Exports a spreadsheet opens without running anything."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from analytics.export import neutralise_formulas, to_safe_csv, to_safe_excel


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
