"""Checks that an exported file is safe to open in a spreadsheet: no cell runs as a formula."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pandas as pd

__all__ = ["FORMULA_SIGNS", "unsafe_pieces", "is_number", "assert_csv_is_safe", "assert_excel_is_safe"]

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
    """Check that no workbook cell is a formula and text looking like one is quote-prefixed text; give its rows.

    A workbook cell is never split, and text stored as text is never run: the quote prefix also keeps it
    text when someone edits the cell, and shows no apostrophe to the reader.
    """
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(rows) == len(frame) + 1
    assert all(cell.data_type != "f" for cell in cells)
    looks_like_formula = [c for c in cells if isinstance(c.value, str) and unsafe_pieces(c.value)]
    assert [(c.coordinate, c.data_type, c.quotePrefix) for c in looks_like_formula] == [
        (c.coordinate, "s", True) for c in looks_like_formula]
    assert all(not re.search(r"[\x00-\x1f]", v) for row in rows for v in row if isinstance(v, str))
    return rows
