"""Validation of the parsed lines: every row's required values, currencies, repeated ids, and notes.

Each check adds a Problem per row (with the file's header and the value as written) to the report;
values understood only partly (unknown segments or tiers) add a warning and do not block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb

from analytics.ingest.parse import _text
from analytics.ingest.report import AmbiguousColumn, ExtractReport, Problem, _rows_text
from analytics.store.currencies import ISO_4217, header_currency
from analytics.store.schema import SEGMENTS, TIERS

__all__ = [
    "EARLIEST_DATE",
]

EARLIEST_DATE = dt.date(1990, 1, 1)


def _file_currency(report: ExtractReport, col: dict[str, str], chosen: str | None, reporting: str) -> str | None:
    """Give the currency of lines that name none, and say in `report.currency_note` where currencies come from.

    A code in the revenue column's header ("Amount (AUD)") wins over the currency chosen for the file; with a
    currency column, a line with an empty cell takes the header's or the chosen currency, else it is a problem
    (never guessed: a file that names currencies line by line could mix them). A file that names none anywhere
    is in the reporting currency.
    """
    revenue_header = report.mapping["revenue"]
    in_header = header_currency(revenue_header)
    if in_header and chosen and chosen != in_header:
        report.warnings.append(f"The header {revenue_header!r} names {in_header}; the amounts were read in "
                               f"{in_header}, not in {chosen} as chosen for the file.")
    file_currency = in_header or chosen
    if "currency" in col:
        if file_currency:
            why = f"the header {revenue_header!r} says so" if in_header else "as chosen for the file"
            note = (f"from column {report.mapping['currency']!r}; lines with an empty currency are in "
                    f"{file_currency} ({why})")
        else:
            note = f"from column {report.mapping['currency']!r}, line by line"
        report.currency_note = f"Currencies {note}."
        return file_currency
    if in_header:
        report.currency_note = f"Amounts in {in_header}: the header {revenue_header!r} says so."
    elif chosen:
        report.currency_note = f"Amounts in {chosen}, as chosen for the file (the file names no currency)."
    else:
        report.currency_note = (f"The file names no currency: its amounts are taken to be in {reporting}, "
                                "the reporting currency.")
    return file_currency or reporting


def _check_currencies(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str]) -> None:
    """Add a problem for every line whose currency is empty (and the file names none) or is no ISO 4217 code."""
    header = report.mapping.get("currency")
    # A file holds a handful of currencies: the codes are checked once each, and rows looked up only for bad ones.
    present = [c for (c,) in con.execute("SELECT DISTINCT currency FROM lines").fetchall()]
    bad = [c for c in present if c is not None and c not in ISO_4217]
    found = [] if not bad and None not in present else con.execute(
        "SELECT row_no, currency FROM lines WHERE currency IS NULL OR list_contains(?, currency) ORDER BY row_no",
        [bad],
    ).fetchall()
    report.problems += [
        Problem(int(row), header, "currency is empty, and the file names no currency for its amounts (choose one "
                                  "for the file: on the Upload page, or ingest --currency)")
        if code is None else
        Problem(int(row), header, "currency is not an ISO 4217 currency code (like USD, EUR or AUD)", code)
        for row, code in found
    ]
    if not found:
        report.currencies = [c for (c,) in con.execute(
            "SELECT currency FROM lines GROUP BY currency ORDER BY count(*) DESC, currency").fetchall()]



def _check_rows(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str], today: dt.date) -> None:
    """Add a problem for every row with an empty or unreadable required value, or a date far out of range."""
    header_of = report.mapping
    latest = today + dt.timedelta(days=366)
    # Rows whose parsed values could be wrong get their raw text back from raw_numbered, to tell an
    # empty value from an unreadable one and to show it in the report; the rest never carry it.
    suspect = ["partner_id IS NULL", "revenue IS NULL"]
    if "order_date" in col:
        suspect.append(f"order_date IS NULL OR order_date < DATE '{EARLIEST_DATE}' OR order_date > DATE '{latest}'")
    else:
        suspect.append(f"quarter IS NULL OR CAST(substr(quarter, 1, 4) AS INTEGER) NOT BETWEEN {EARLIEST_DATE.year} "
                       f"AND {latest.year}")
    if "quantity" in col:
        suspect.append("quantity IS NULL")
    if "customer_segment" in col or "customer_size" in col:
        suspect.append("customer_segment IS NULL")
    raw_text = {k: _text(col.get(k)) for k in ("revenue", "order_date", "quarter", "quantity", "customer_segment",
                                                "customer_size")}
    con.execute(
        "CREATE TEMP TABLE suspects AS SELECT l.*, "
        + ", ".join(f"{expr} AS raw_{name}" for name, expr in raw_text.items())
        + f" FROM (SELECT * FROM lines WHERE {' OR '.join(f'({c})' for c in suspect)}) l"
        + " JOIN raw_numbered USING (row_no)"
    )
    checks = [
        ("partner_id", "partner_id IS NULL", "partner id is empty", "NULL"),
        ("revenue", "raw_revenue IS NULL", "revenue is empty", "NULL"),
        ("revenue", "raw_revenue IS NOT NULL AND revenue IS NULL",
         "revenue is not an amount (expected like 1234.50, $1,234.50, (1,234.50) or 1.234,50)", "raw_revenue"),
    ]
    if "order_date" in col:
        checks += [
            ("order_date", "raw_order_date IS NULL", "order date is empty", "NULL"),
            ("order_date", "raw_order_date IS NOT NULL AND order_date IS NULL",
             "order date is not a date (expected YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY)", "raw_order_date"),
            ("order_date", f"order_date < DATE '{EARLIEST_DATE}' OR order_date > DATE '{latest}'",
             f"order date is far outside the expected range ({EARLIEST_DATE} to {latest})", "raw_order_date"),
        ]
    else:
        checks += [
            ("quarter", "raw_quarter IS NULL", "quarter is empty", "NULL"),
            ("quarter", "raw_quarter IS NOT NULL AND quarter IS NULL",
             "quarter is not a quarter (expected like 2025Q3 or Q3 2025)", "raw_quarter"),
            ("quarter", f"CAST(substr(quarter, 1, 4) AS INTEGER) NOT BETWEEN {EARLIEST_DATE.year} AND {latest.year}",
             f"quarter is far outside the expected range ({EARLIEST_DATE.year} to {latest.year})", "raw_quarter"),
        ]
    if "quantity" in col:
        checks.append(
            ("quantity", "raw_quantity IS NOT NULL AND quantity IS NULL", "quantity is not a number", "raw_quantity")
        )
    # Each check's SQL is one of the constant strings above (dates are formatted from date objects).
    union = " UNION ALL ".join(
        f"SELECT row_no, {i} AS check_no, CAST({value} AS VARCHAR) AS value FROM suspects WHERE {cond}"
        for i, (_, cond, _, value) in enumerate(checks)
    )
    found = con.execute(f"SELECT * FROM ({union}) ORDER BY row_no, check_no").fetchall()
    report.problems += [Problem(int(r), header_of[checks[i][0]], checks[i][2], v) for r, i, v in found]



def _check_duplicate_ids(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str]) -> None:
    """Add a problem for every row whose transaction id an earlier row of the file already has."""
    header_of = report.mapping
    # Grouping finds whether any id repeats far quicker than the window that says where each repeat is.
    repeats = "transaction_id" in col and con.execute(
        "SELECT count(*) FROM (SELECT transaction_id FROM lines WHERE transaction_id IS NOT NULL "
        "GROUP BY transaction_id HAVING count(*) > 1)"
    ).fetchall()[0][0]
    if repeats:
        dups = con.execute(
            """
            SELECT row_no, transaction_id, first_row FROM (
                SELECT row_no, transaction_id, min(row_no) OVER (PARTITION BY transaction_id) AS first_row
                FROM lines WHERE transaction_id IS NOT NULL
            ) WHERE row_no > first_row ORDER BY row_no
            """
        ).fetchall()
        report.problems += [
            Problem(int(r), header_of["transaction_id"],
                    f"transaction id appears twice in the file (first at row {first})", tx)
            for r, tx, first in dups
        ]


def _compare_candidates(
    con: duckdb.DuckDBPyConnection,
    report: ExtractReport,
    canonical: str,
    positions: list[int],
    value_of: Callable[[str], str],
) -> None:
    """Refuse a required column that several columns could hold when their values differ; note it when they agree."""
    # A column with no value readable as this field (a "Sales" column of sales reps' names) is no candidate.
    others = positions[1:]
    readable = con.execute(
        "SELECT " + ", ".join(f"count({value_of(f'c{i}')})" for i in others) + " FROM raw_numbered"
    ).fetchall()[0]
    positions = [positions[0], *(i for i, n in zip(others, readable, strict=True) if n)]
    if len(positions) < 2:
        return
    headers = [report.headers[i] for i in positions]
    chosen = value_of(f"c{positions[0]}")
    differ = " OR ".join(f"({chosen}) IS DISTINCT FROM ({value_of(f'c{i}')})" for i in positions[1:])
    count, rows = con.execute(
        f"SELECT count(*), list(row_no ORDER BY row_no)[1:5] FROM raw_numbered WHERE {differ}"
    ).fetchall()[0]
    listed = " and ".join(repr(h) for h in headers)
    if not count:
        report.warnings.append(f"Columns {listed} could each be {canonical} and hold the same values in every row; "
                               f"{headers[0]!r} was used.")
        return
    ambiguous = AmbiguousColumn(canonical, tuple(headers), int(count), tuple(int(r) for r in rows))
    report.ambiguous.append(ambiguous)
    options = " or ".join(f'--column {canonical}="{h}"' for h in headers)
    report.problems.append(Problem(1, None, (
        f"{canonical} is ambiguous: columns {listed} could each be {canonical} and differ in "
        f"{_rows_text(ambiguous.first_rows, count)}. It is not guessed: choose the column that holds {canonical} "
        f"(on the Upload page in the column mapping; on the command line with {options})."
    )))


def _collect_warnings(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str]) -> None:
    """Note values that were understood only partly: unknown segments and tiers (they do not block)."""
    if "customer_segment" in col or "customer_size" in col:
        rows = con.execute(
            """
            SELECT coalesce(raw_customer_segment, raw_customer_size) AS v, count(*) FROM suspects
            WHERE customer_segment IS NULL AND coalesce(raw_customer_segment, raw_customer_size) IS NOT NULL
            GROUP BY v ORDER BY count(*) DESC LIMIT 5
            """
        ).fetchall()
        if rows:
            seen = ", ".join(f"{v!r} ({n:,} rows)" for v, n in rows)
            report.warnings.append(
                f"Customer segments not recognised, counted as unknown segment: {seen}. Expected {', '.join(SEGMENTS)}."
            )
    if "tier" in col:
        rows = con.execute(
            "SELECT tier, count(*) FROM lines WHERE tier IS NOT NULL AND tier NOT IN ("
            + ", ".join("?" for _ in TIERS) + ") GROUP BY tier ORDER BY count(*) DESC LIMIT 5",
            list(TIERS),
        ).fetchall()
        if rows:
            seen = ", ".join(f"{v!r} ({n:,} rows)" for v, n in rows)
            report.warnings.append(f"Tiers other than {', '.join(TIERS)} kept as written: {seen}.")
    unused = [h for h in report.headers if h not in report.mapping.values()]
    if unused:
        report.warnings.append(f"Columns not used: {', '.join(repr(h) for h in unused)}.")
