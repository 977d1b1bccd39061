"""The Excel reader: an .xlsx workbook's first sheet read into table raw, every cell as text.

Workbooks are checked before they are read (analytics.ingest.limits: size once unzipped, rows); the
first sheet is read whole through pandas, which is why they are limited to MAX_EXCEL_EXPANDED_MB.
"""

from __future__ import annotations

import io

import duckdb
import pandas as pd

__all__ = [
    "EXCEL_SUFFIXES",
]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def _is_excel(name: str, data: bytes) -> bool:
    return name.lower().endswith(EXCEL_SUFFIXES) or data[:4] == b"PK\x03\x04"


def _load_excel(con: duckdb.DuckDBPyConnection, data: bytes) -> tuple[list[str], list[str]]:
    """Read the first sheet into table raw (all text) and give its headers and warnings."""
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=str, header=0, keep_default_na=False)
    warnings = []
    names = list(sheets)
    if len(names) > 1:
        warnings.append(f"The workbook has {len(names)} sheets; only the first ({names[0]!r}) was read.")
    frame = sheets[names[0]] if names else pd.DataFrame()
    headers = [str(h).strip() or f"column {i + 1}" for i, h in enumerate(frame.columns)]
    frame = frame.set_axis([f"c{i}" for i in range(len(headers))], axis=1).astype("object")
    con.register("excel_frame", frame)
    con.execute("CREATE TEMP TABLE raw AS SELECT * FROM excel_frame")
    con.unregister("excel_frame")
    return headers, warnings
