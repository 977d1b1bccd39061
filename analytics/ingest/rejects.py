"""Rows of an extract set aside on purpose: the good rows load, the bad ones go to a rejects file.

Without that choice a file with bad rows is refused (analytics.ingest.load). With it, each bad row is
kept as it was in the file, with its row number and the reason, so that it can be fixed and loaded
later; the load records how many were set aside and keeps the rejects file (analytics.store).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from analytics.ingest.report import ExtractReport, PreparedExtract

__all__ = ["REJECT_COLUMNS", "rejected_rows", "set_aside_in", "set_aside_bad_rows", "rejects_csv", "set_aside_text"]

# The rejects file's own columns, before the file's headers (and, for a row that could not be split into
# columns, the line as it was written).
REJECT_COLUMNS = ("row", "reason")
LINE_AS_WRITTEN = "line as written"


def rejected_rows(con: duckdb.DuckDBPyConnection, report: ExtractReport) -> pd.DataFrame:
    """Give each row with a problem as it was in the file: row number, reason(s), then the file's cells.

    Reads the cells from `con`'s temporary table raw_numbered (prepare_extract_in leaves it there). A row
    that could not be split into the header's columns has no cells: its line as written is given instead.
    """
    rows = report.bad_rows
    reasons: dict[int, list[str]] = {}
    written: dict[int, str] = {}
    for p in report.problems:
        if p.row in (None, 1) or p.whole_file:
            continue
        where = f"{p.column}: " if p.column else ""
        reasons.setdefault(p.row, []).append(where + p.message)
        if p.message.startswith("cannot be split") and p.value is not None:
            written[p.row] = p.value
    headers = report.headers
    cells: dict[int, tuple] = {}
    if rows and headers:
        con.register("bad_row_numbers", pa.table({"row_no": pa.array(rows, pa.int64())}))
        try:
            # Synthetic column names only (c0, c1, ...): no file text enters the SQL.
            found = con.execute(
                f"SELECT row_no, {', '.join(f'c{i}' for i in range(len(headers)))} FROM raw_numbered "
                "WHERE row_no IN (SELECT row_no FROM bad_row_numbers) ORDER BY row_no"
            ).fetchall()
        finally:
            con.unregister("bad_row_numbers")
        cells = {int(r[0]): r[1:] for r in found}
    records = []
    for row in rows:
        values = cells.get(row, (None,) * len(headers))
        record = [row, "; ".join(reasons.get(row, [])), *("" if v is None else v for v in values)]
        if written:
            record.append(written.get(row, ""))
        records.append(record)
    columns = [*REJECT_COLUMNS, *headers] + ([LINE_AS_WRITTEN] if written else [])
    return pd.DataFrame(records, columns=columns)


def set_aside_in(con: duckdb.DuckDBPyConnection, report: ExtractReport) -> pd.DataFrame:
    """Set the bad rows aside in `con`'s temporary table lines; give them (see rejected_rows).

    The report's problems move to `report.set_aside`, so the rest of the file loads. Raises ValueError
    when a problem is the whole file's, not a row's (then nothing can be set aside).
    """
    if not report.can_set_aside:
        raise ValueError(f"{report.file}: its problems are not all problems of single rows; none can be set aside")
    rejects = rejected_rows(con, report)
    con.register("bad_row_numbers", pa.table({"row_no": pa.array(report.bad_rows, pa.int64())}))
    try:
        con.execute("DELETE FROM lines WHERE row_no IN (SELECT row_no FROM bad_row_numbers)")
    finally:
        con.unregister("bad_row_numbers")
    report.set_aside, report.problems = report.problems, []
    return rejects


def set_aside_bad_rows(prepared: PreparedExtract) -> PreparedExtract:
    """Give the prepared extract without its bad rows, their problems moved to the report's set_aside.

    For the Upload page, where a person chose "Load the good rows, set the bad ones aside" after seeing
    the report. Raises ValueError when some problem is not a single row's.
    """
    report = prepared.report
    if report.ok:
        return prepared
    if not report.can_set_aside or prepared.lines is None:
        raise ValueError(f"{report.file}: its problems are not all problems of single rows; none can be set aside")
    keep = pc.invert(pc.is_in(prepared.lines.column("row_no"), value_set=pa.array(report.bad_rows, pa.int64())))
    return dataclasses.replace(
        prepared,
        report=dataclasses.replace(report, problems=[], set_aside=list(report.problems)),
        lines=prepared.lines.filter(keep),
    )


def rejects_csv(rejects: pd.DataFrame) -> bytes:
    """Give the rejects as a CSV file (UTF-8 with a BOM, so spreadsheets read it), cells exactly as in the file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rejects.columns)
    writer.writerows(rejects.itertuples(index=False, name=None))
    return out.getvalue().encode("utf-8-sig")


def set_aside_text(report: ExtractReport) -> str:
    """Give one sentence saying how many rows were set aside, and which (for a terminal or the page)."""
    rows = sorted({p.row for p in report.set_aside if p.row is not None})
    shown = ", ".join(f"{r:,}" for r in rows[:10]) + (f" and {len(rows) - 10:,} more" if len(rows) > 10 else "")
    plural = "s" if len(rows) != 1 else ""
    return f"{len(rows):,} row{plural} with problems set aside (row{plural} {shown})"
