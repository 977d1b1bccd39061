"""Reading a sales extract as real extracts come, and validating all of it before anything is stored.

This is the pipeline; each stage has its own module: reading the file (analytics.ingest.read, and the
Excel reader in analytics.ingest.excel), mapping its headers (analytics.store.schema), making id and
text cells comparable (analytics.ingest.cells), parsing values in SQL (analytics.ingest.parse),
validating rows (analytics.ingest.validate), and the report it all adds to (analytics.ingest.report).

The file is read by DuckDB with every column as text, under synthetic column names (c0, c1, ...), so
the file's own header text never enters SQL. Normalisation (money, dates, quarters, segments) is done
in SQL over the whole file at once; the decisions that need the whole file (decimal comma or point,
day/month order) are taken once per file, never row by row.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb

from analytics.ingest.cells import _limit_lengths, _normalise_cells
from analytics.ingest.excel import _is_excel, _load_excel
from analytics.ingest.parse import (
    _date_value,
    _day_order,
    _decimal_convention,
    _money_value,
    _number_value,
    _quarter_from_text,
    _segment_value,
    _text,
    _tier_value,
)
from analytics.ingest.read import (
    _contains,
    _content_hash,
    _extra_empty_field_problems,
    _head,
    _is_blank,
    _number_rows,
    _read_bytes,
    _read_csv_text,
    _reject_problems,
)
from analytics.ingest.rejects import rejected_rows
from analytics.ingest.report import ExtractReport, PreparedExtract, Problem, Progress
from analytics.ingest.sniff import ENCRYPTED_STREAM, OLE, unreadable_file
from analytics.ingest.totals import skip_total_rows
from analytics.ingest.validate import (
    _check_currencies,
    _check_duplicate_ids,
    _check_rows,
    _collect_warnings,
    _compare_candidates,
    _file_currency,
)
from analytics.store.currencies import ISO_4217
from analytics.store.schema import LINE_COLUMNS, column_candidates, match_columns

__all__ = ["required_columns", "prepare_extract", "prepare_extract_in"]


# Required columns whose value a wrong guess would change: two candidate columns that differ are refused.
COMPARED_COLUMNS = ("revenue", "order_date", "quarter")


def required_columns(mapping: dict[str, str]) -> list[str]:
    """Give the columns an extract must map: partner_id, revenue, and order_date unless a quarter column is mapped."""
    return ["partner_id", "revenue"] + ([] if "order_date" in mapping or "quarter" in mapping else ["order_date"])


def prepare_extract(
    source: str | Path | bytes,
    file_name: str | None = None,
    column_overrides: dict[str, str] | None = None,
    day_first: bool | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
    currency: str | None = None,
    reporting_currency: str | None = None,
) -> PreparedExtract:
    """Give the extract read, normalised and validated; `lines` is None when it has problems.

    `source` is a path or the file's bytes (an upload, with `file_name`). `column_overrides` maps
    canonical column names to the file's own headers where the automatic matching is not wanted.
    `day_first` settles dates like 03/04/2025 when the file itself does not tell. `currency` is the
    currency of amounts the file names none for (no currency column or cell, no code in the revenue
    header); without it they are in `reporting_currency` (default: the program file's).
    """
    con = duckdb.connect()
    try:
        prepared = prepare_extract_in(con, source, file_name, column_overrides, day_first, today, progress,
                                      currency, reporting_currency)
        if prepared.report.ok or prepared.report.can_set_aside:
            # With bad rows the lines are kept all the same: a person may set those rows aside
            # (analytics.ingest.rejects.set_aside_bad_rows); until then the report blocks the load.
            prepared.rejects = rejected_rows(con, prepared.report) if not prepared.report.ok else None
            prepared.lines = con.sql(f"SELECT {', '.join(LINE_COLUMNS)} FROM lines ORDER BY row_no").to_arrow_table()
    finally:
        con.close()
    return prepared


def prepare_extract_in(
    con: duckdb.DuckDBPyConnection,
    source: str | Path | bytes,
    file_name: str | None = None,
    column_overrides: dict[str, str] | None = None,
    day_first: bool | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
    currency: str | None = None,
    reporting_currency: str | None = None,
) -> PreparedExtract:
    """Give the extract's report and hash, leaving its normalised lines in the temporary table `lines` of `con`.

    `currency` and `reporting_currency` as in prepare_extract.

    Everything it creates is temporary (seen only by `con`), so `con` may be a cursor on the channel
    database: the lines then go into order_lines without a round trip through Python. The returned
    `lines` is None; the rows are in `con`, in LINE_COLUMNS, ordered by row_no, when the report is ok.
    """
    notify = progress or (lambda fraction, message: None)
    name = file_name or (Path(source).name if not isinstance(source, bytes) else "upload")
    notify(0.0, f"Reading {name}")
    # A file given as a path is read in chunks (a command-line file can be gigabytes): only a workbook,
    # limited to MAX_EXCEL_EXPANDED_MB, is ever held whole.
    report = ExtractReport(file=name)
    content_hash = _content_hash(source)
    if _is_blank(source):
        report.problems.append(Problem(None, None, "the file is empty"))
        return PreparedExtract(name, content_hash, report, None)
    head = _head(source)
    # An encrypted workbook names its stream anywhere in the file; only such a Compound File is searched.
    sniffed = head + ENCRYPTED_STREAM if head.startswith(OLE) and _contains(source, ENCRYPTED_STREAM) else head
    unreadable = unreadable_file(sniffed, name)
    if unreadable:
        report.problems.append(Problem(None, None, unreadable))
        return PreparedExtract(name, content_hash, report, None)

    if _is_excel(name, head):
        try:
            headers, warnings = _load_excel(con, _read_bytes(source))
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            report.problems.append(Problem(None, None, f"cannot be read as an Excel workbook: {exc}"))
            return PreparedExtract(name, content_hash, report, None)
        report.warnings += warnings
        con.execute("CREATE TEMP VIEW raw_numbered AS SELECT rowid + 2 AS row_no, * FROM raw")
    else:
        try:
            headers, delim, warning, wide = _read_csv_text(con, source, report)
        except duckdb.InvalidInputException as exc:
            # Text so far from CSV that DuckDB gives up on it; its parser dump helps nobody.
            report.problems.append(Problem(None, None, (
                f"{name} cannot be read as CSV text ({str(exc).splitlines()[0]}): export the extract as CSV or "
                "Excel and load it again."
            )))
            return PreparedExtract(name, content_hash, report, None)
        if warning:
            report.warnings.append(warning)
        unsplit = _reject_problems(con)
        report.problems += unsplit
        report.unsplit_rows = len({p.row for p in unsplit})
        _number_rows(con, sorted({p.row for p in unsplit}))
        report.problems += _extra_empty_field_problems(wide, len(headers), {p.row for p in report.problems})
    report.headers = headers
    if currency is not None and currency.strip().upper() not in ISO_4217:
        report.problems.append(Problem(None, None, f"the currency chosen for the file, {currency!r}, is not an ISO "
                                                   "4217 code (like USD, EUR or AUD)"))
        return PreparedExtract(name, content_hash, report, None)
    if reporting_currency is None:
        # Imported here: the program file is read only when the caller did not say.
        from analytics.store.rates import reporting_currency as program_currency
        reporting_currency = program_currency()
    notify(0.3, f"Validating {name}")
    _normalise_and_validate(con, report, column_overrides, day_first, today or dt.date.today(),
                            currency.strip().upper() if currency else None, reporting_currency)
    notify(0.6, f"Validated {name}")
    return PreparedExtract(name, content_hash, report, None)


def _normalise_and_validate(
    con: duckdb.DuckDBPyConnection,
    report: ExtractReport,
    overrides: dict[str, str] | None,
    day_first: bool | None,
    today: dt.date,
    currency: str | None = None,
    reporting_currency: str = "USD",
) -> None:
    """Parse table raw_numbered into temporary table lines, adding every problem found to `report`."""
    mapped = _map_columns(con, report, overrides)
    if mapped is None:
        return
    col, candidates = mapped
    _limit_lengths(con, report, col)
    _parse_lines(con, report, col, candidates, day_first, _file_currency(report, col, currency, reporting_currency))
    _check_rows(con, report, col, today)
    _check_currencies(con, report, col)
    _check_duplicate_ids(con, report, col)
    skip_total_rows(con, report, col)
    report.problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    _collect_warnings(con, report, col)
    report.quarters = [
        r[0] for r in con.execute("SELECT DISTINCT quarter FROM lines WHERE quarter IS NOT NULL ORDER BY 1").fetchall()
    ]


def _map_columns(
    con: duckdb.DuckDBPyConnection, report: ExtractReport, overrides: dict[str, str] | None
) -> tuple[dict[str, str], dict[str, list[int]]] | None:
    """Give canonical column -> raw column and the candidates per column; None when the header alone stops the file.

    It stops at a header that cannot be matched, a required column missing or no data rows. Records
    the mapping, the row count and the header's problems in `report`.
    """
    headers = report.headers
    try:
        positions, notes = match_columns(headers, overrides, quiet=COMPARED_COLUMNS)
    except ValueError as exc:
        report.problems.append(Problem(1, None, str(exc)))
        return None
    report.warnings += notes
    # A column a person chose is not compared with the others that could hold it.
    candidates = {c: found for c, found in column_candidates(headers, positions).items() if c not in (overrides or {})}
    report.mapping = {canonical: headers[i] for canonical, i in positions.items()}
    # Rows DuckDB could not split are already reported; they count as rows of the file all the same.
    report.rows = con.execute("SELECT count(*) FROM raw_numbered").fetchall()[0][0] + report.unsplit_rows
    col = {canonical: f"c{i}" for canonical, i in positions.items()}

    listed = ", ".join(repr(h) for h in headers)
    report.missing = [c for c in required_columns(report.mapping) if c not in col]
    for required in report.missing:
        what = "order_date (or quarter)" if required == "order_date" else required
        report.problems.append(
            Problem(1, None, f"Required column {what} missing: no header matches it (headers: {listed})")
        )
    if report.problems and any(p.row == 1 for p in report.problems):
        return None
    if report.rows == 0:
        report.problems.append(Problem(None, None, "the file has a header but no data rows"))
        return None
    return col, candidates


def _parse_lines(
    con: duckdb.DuckDBPyConnection,
    report: ExtractReport,
    col: dict[str, str],
    candidates: dict[str, list[int]],
    day_first: bool | None,
    file_currency: str | None = None,
) -> None:
    """Create temporary table lines: every row's values parsed (amounts, dates, quarters, tiers, segments, currency).

    `file_currency` is the currency of lines that name none (see _file_currency); a line's revenue is its amount
    until the load converts it (analytics.ingest.load).
    """
    _normalise_cells(con, report, col)

    convention, note = _decimal_convention(con, col["revenue"])
    if note:
        report.warnings.append(note)
    if "order_date" in col:
        decided, order_problems, order_notes = _day_order(con, col["order_date"], day_first)
        report.problems += order_problems
        report.warnings += order_notes
        date_expr = _date_value(col["order_date"], decided)
        quarter_expr = "CAST(year(order_date) AS VARCHAR) || 'Q' || CAST(quarter(order_date) AS VARCHAR)"
    else:
        date_expr = "CAST(NULL AS DATE)"
        quarter_expr = "quarter_text"
        if "quarter" in col and "order_date" not in col:
            report.warnings.append("The file has quarters but no dates; each row counts in its quarter.")
    value_of = {
        "revenue": lambda c: _money_value(c, convention),
        "order_date": lambda c: _date_value(c, decided),
        "quarter": _quarter_from_text,
    }
    for canonical in ("revenue", "order_date" if "order_date" in col else "quarter"):
        if len(candidates.get(canonical, ())) > 1:
            _compare_candidates(con, report, canonical, candidates[canonical], value_of[canonical])

    select = {
        "row_no": "row_no",
        "transaction_id": _text(col.get("transaction_id")),
        "partner_id": _text(col["partner_id"]),
        "partner_name": _text(col.get("partner_name")),
        "tier": _tier_value(col.get("tier")),
        "region": _text(col.get("region")),
        "country": _text(col.get("country")),
        "distributor": _text(col.get("distributor")),
        "customer_id": _text(col.get("customer_id")),
        "customer_segment": _segment_value(col.get("customer_segment"), col.get("customer_size")),
        "product": _text(col.get("product")),
        "quantity": _number_value(col["quantity"]) if "quantity" in col else "CAST(NULL AS DOUBLE)",
        "deal_type": _text(col.get("deal_type")),
        "order_date": date_expr,
        "revenue": _money_value(col["revenue"], convention),
        "contact_email": _text(col.get("contact_email")),
        "quarter_text": _quarter_from_text(col["quarter"]) if "quarter" in col else "NULL",
        "currency_text": f"upper({_text(col['currency'])})" if "currency" in col else "NULL",
    }
    parsed = "SELECT " + ", ".join(f"{expr} AS {name}" for name, expr in select.items()) + " FROM raw_numbered"
    # A code checked against ISO 4217 (three capital letters), so it is safe to write into the SQL.
    fallback = f"'{file_currency}'" if file_currency and re.fullmatch("[A-Z]{3}", file_currency) else "NULL"
    con.execute(f"CREATE TEMP TABLE lines AS SELECT *, {quarter_expr} AS quarter, revenue AS amount, "
                f"coalesce(currency_text, {fallback}) AS currency FROM ({parsed})")
