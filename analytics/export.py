"""Tables as files that are safe to open in a spreadsheet."""

from __future__ import annotations

import io

import pandas as pd

__all__ = ["neutralise_formulas", "to_safe_csv", "to_safe_excel"]

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a copy whose text cells that a spreadsheet would run as formulas start with a quote instead."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_STARTS) else v
            )
    return safe


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    """Give the frame as UTF-8 CSV (with BOM, so spreadsheets detect the encoding), formulas neutralised."""
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8-sig")


def to_safe_excel(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """Give the frame as an .xlsx workbook, formulas neutralised."""
    buffer = io.BytesIO()
    neutralise_formulas(frame).to_excel(buffer, index=False, sheet_name=sheet)
    return buffer.getvalue()
