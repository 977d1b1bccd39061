"""Exchange rates: the reporting currency, the rates in force per quarter and currency, and their history.

A rate is units of the reporting currency per unit of a currency in a quarter ("EUR 2026Q3 1.08": a euro is
1.08 dollars). A line's revenue is its amount converted once and rounded to the cent: round(amount * rate, 2),
half away from zero, with the rate taken to 10 decimal places. Loading rates that change a quarter's rate
converts that quarter's lines in that currency again and re-derives the tables built from them, in one
transaction, and records who loaded which file when, and each rate with the one it replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analytics.access import check
from analytics.program.rules import load_program, program_path
from analytics.store.currencies import ISO_4217
from analytics.store.faults import StoreError
from analytics.store.schema import normalise_header
from analytics.store.store import ACTIVE_LINES, Store, bump_data_version, checkpoint, refresh_derived

__all__ = [
    "RATE_COLUMNS",
    "RatesInvalid",
    "RatesMissing",
    "RateLoad",
    "reporting_currency",
    "current_rates",
    "reporting_per_unit",
    "rate_history",
    "rate_loads",
    "read_rates",
    "load_rates",
    "missing_rates",
    "missing_rates_text",
    "converted_revenue",
    "rate_changes_since",
]

# The columns of a rates file and the header spellings recognised for them (compared after normalise_header).
RATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "quarter": ("quarter", "qtr", "period", "fiscalquarter", "yearquarter", "calendarquarter"),
    "currency": ("currency", "curr", "ccy", "currencycode", "code", "isocode", "fromcurrency"),
    "rate": ("rate", "fxrate", "exchangerate", "conversionrate", "averagerate", "avgrate", "ratetoreporting"),
}
# Rates are taken to this many decimal places when a line is converted (a DECIMAL product, exact to the cent).
RATE_DECIMALS = 10
_QUARTER = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Qq]\s*([1-4])\s*$|^\s*[Qq]\s*([1-4])\s*[-/ ]?\s*(\d{4})\s*$")


class RatesInvalid(StoreError):
    """A rates file with problems; nothing was stored. `problems` are (row, column, problem, value)."""

    def __init__(self, file_name: str, problems: list[tuple[int | None, str | None, str, str | None]]):
        self.file_name = file_name
        self.problems = problems
        lines = [f"Rates not loaded: {file_name} has {len(problems)} problem(s); nothing was changed."]
        for row, column, problem, value in problems[:25]:
            where = ", ".join(x for x in (f"row {row}" if row else "", f"column {column!r}" if column else "") if x)
            lines.append(f"  {file_name}: {where + ': ' if where else ''}{problem}"
                         + (f" (value: {value!r})" if value is not None else ""))
        if len(problems) > 25:
            lines.append(f"  ... and {len(problems) - 25:,} more problem(s)")
        super().__init__("\n".join(lines))

    def problems_frame(self) -> pd.DataFrame:
        """Give every problem as a table with file, row, column, problem and value."""
        return pd.DataFrame([(self.file_name, *p) for p in self.problems],
                            columns=["file", "row", "column", "problem", "value"])


class RatesMissing(StoreError):
    """A load refused because some of its lines are in a currency with no rate for their quarter."""

    def __init__(self, message: str, missing: dict[str, list[str]]):
        self.missing = missing
        super().__init__(message)


@dataclass
class RateLoad:
    """What loading a rates file did: its id (None when nothing changed) and the rates it changed."""

    file_name: str
    rate_load_id: int | None
    rows_in_file: int
    # quarter, currency, previous_rate (NaN when new), rate, lines converted again, revenue_change
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    message: str = ""


def reporting_currency(rules=None) -> str:
    """Give the reporting currency: that of `rules` (analytics.program.rules.ProgramRules), else the program file's."""
    if rules is not None:
        return rules.reporting_currency
    try:
        return load_program(program_path()).reporting_currency
    except ValueError as exc:
        raise StoreError(f"The reporting currency cannot be read from the program file: {exc}") from exc


def current_rates(store: Store) -> pd.DataFrame:
    """Give the rates in force: quarter, currency, rate (units of the reporting currency per unit), by quarter."""
    return store.query_df("SELECT quarter, currency, rate FROM exchange_rates ORDER BY quarter, currency")


def reporting_per_unit(store: Store, currency: str, reporting: str | None = None) -> pd.Series:
    """Give, per quarter with a rate (index), units of the reporting currency per unit of `currency`: 1.0 in every
    stored quarter for the reporting currency itself. Divide a figure in the reporting currency by it to show it in
    `currency` (a region's review in its program's currency)."""
    reporting = reporting or reporting_currency()
    if currency == reporting:
        quarters = store.query_df("SELECT DISTINCT quarter FROM order_lines ORDER BY quarter")["quarter"]
        return pd.Series(1.0, index=pd.Index(quarters, name="quarter"), name="rate")
    rates = store.query_df("SELECT quarter, rate FROM exchange_rates WHERE currency = ? ORDER BY quarter", [currency])
    return rates.set_index("quarter")["rate"]


def rate_loads(store: Store) -> pd.DataFrame:
    """Give every rates file loaded, newest first: id, file, rows, rates changed, when and by whom."""
    return store.query_df(
        "SELECT rate_load_id, file_name, rows_in_file, rates_changed, loaded_at, loaded_by FROM rate_loads "
        "ORDER BY rate_load_id DESC")


def rate_history(store: Store) -> pd.DataFrame:
    """Give every rate ever set, newest load first: quarter, currency, rate, the rate before, lines and revenue moved,
    with the file, when and by whom."""
    return store.query_df(
        """
        SELECT h.rate_load_id, h.quarter, h.currency, h.previous_rate, h.rate, h.lines,
               CAST(h.revenue_change AS DOUBLE) AS revenue_change, l.file_name, l.loaded_at, l.loaded_by
        FROM rate_history h JOIN rate_loads l USING (rate_load_id)
        ORDER BY h.rate_load_id DESC, h.quarter, h.currency
        """
    )


def converted_revenue(amount: str, rate: str) -> str:
    """Give the SQL expression of a line's revenue from its amount and rate (both SQL expressions): to the cent."""
    # DuckDB keeps a product's width at its widest factor's: both go to 38 digits so none overflows.
    return (f"CAST(round(CAST({amount} AS DECIMAL(38, 2)) * CAST({rate} AS DECIMAL(38, {RATE_DECIMALS})), 2) "
            "AS DECIMAL(18, 2))")


def missing_rates(cur: duckdb.DuckDBPyConnection, relation: str, reporting: str) -> dict[str, list[str]]:
    """Give, per currency of relation `relation` (a name of ours, never a person's) with no rate for some of its
    lines' quarters, those quarters; the reporting currency needs none."""
    rows = cur.execute(
        f"""
        SELECT i.currency, list(DISTINCT i.quarter ORDER BY i.quarter)
        FROM (SELECT DISTINCT currency, quarter FROM {relation}) i
        LEFT JOIN exchange_rates r ON r.quarter = i.quarter AND r.currency = i.currency
        WHERE i.currency <> ? AND r.rate IS NULL
        GROUP BY i.currency ORDER BY i.currency
        """,
        [reporting],
    ).fetchall()
    return {currency: list(quarters) for currency, quarters in rows}


def missing_rates_text(file_name: str, missing: dict[str, list[str]]) -> str:
    """Give the refusal of a file whose lines lack rates: "EUR has no rate for 2025Q4: load rates first"."""
    each = "; ".join(f"{currency} has no rate for {_and(quarters)}" for currency, quarters in missing.items())
    return (f"Not loaded: {file_name}. {each}: load rates first (the Upload page's Exchange rates, or "
            "python -m analytics rates FILE). Nothing was changed.")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _read_table(data: bytes, name: str) -> pd.DataFrame:
    """Give the file's cells as text (CSV with , ; tab or | separators, or the first sheet of a workbook)."""
    if name.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        return pd.read_excel(io.BytesIO(data), dtype=str, keep_default_na=False)
    text = data.decode("utf-8-sig") if _is_utf8(data) else data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    sep = max((",", ";", "\t", "|"), key=first.count)
    return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True


def _rate_value(text: str) -> float | None:
    cleaned = text.strip().replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")  # a decimal comma: 1,0834
    try:
        return float(cleaned)
    except ValueError:
        return None


def read_rates(source: str | Path | bytes, file_name: str | None = None, reporting: str | None = None) -> pd.DataFrame:
    """Give a rates file's rows checked: row (as a spreadsheet numbers it), quarter, currency, rate.

    Raises RatesInvalid naming file, row and column for an unrecognised layout, a quarter that is none, an unknown
    currency code, an empty, zero, negative or unreadable rate, a rate other than 1 for the reporting currency, and
    a quarter and currency given twice. Rows of the reporting currency at rate 1 are dropped (it needs none).
    """
    name = file_name or (Path(source).name if not isinstance(source, bytes) else "rates")
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    reporting = reporting or reporting_currency()
    try:
        table = _read_table(data, name)
    except Exception as exc:  # pandas and openpyxl raise many kinds for a damaged file
        raise RatesInvalid(name, [(None, None, f"cannot be read as CSV or Excel: {exc}", None)]) from exc
    headers = [str(h).strip() for h in table.columns]
    found = {}
    for canonical, spellings in RATE_COLUMNS.items():
        matches = [h for h in headers if normalise_header(h) in spellings]
        if matches:
            found[canonical] = matches[0]
    missing = [c for c in RATE_COLUMNS if c not in found]
    if missing:
        raise RatesInvalid(name, [(1, None, f"no {' or '.join(missing)} column: a rates file has the columns "
                                            f"quarter, currency and rate (its headers are {', '.join(headers)})",
                                   None)])
    if table.empty:
        raise RatesInvalid(name, [(None, None, "the file holds no rates", None)])
    table.columns = headers
    problems: list[tuple[int | None, str | None, str, str | None]] = []
    rows, first_row = [], {}
    for i, (q_text, c_text, r_text) in enumerate(
            zip(table[found["quarter"]], table[found["currency"]], table[found["rate"]], strict=True)):
        row = i + 2
        q_text, c_text, r_text = str(q_text).strip(), str(c_text).strip(), str(r_text).strip()
        if not (q_text or c_text or r_text):
            continue  # a blank line
        match = _QUARTER.match(q_text)
        quarter = f"{match[1] or match[4]}Q{match[2] or match[3]}" if match else None
        if quarter is None:
            problems.append((row, found["quarter"], "quarter is empty" if not q_text
                             else "quarter is not a quarter (expected like 2025Q3 or Q3 2025)", q_text or None))
        currency = c_text.upper()
        if currency not in ISO_4217:
            problems.append((row, found["currency"], "currency is empty" if not c_text
                             else "currency is not an ISO 4217 code (like EUR, AUD or GBP)", c_text or None))
        rate = _rate_value(r_text) if r_text else None
        if not r_text:
            problems.append((row, found["rate"], "rate is missing", None))
        elif rate is None:
            problems.append((row, found["rate"], "rate is not a number", r_text))
        elif rate == 0:
            problems.append((row, found["rate"], "rate is zero: a rate is units of "
                                                 f"{reporting} per unit of the currency", r_text))
        elif rate < 0:
            problems.append((row, found["rate"], "rate is negative", r_text))
        elif currency == reporting and rate != 1:
            problems.append((row, found["rate"], f"{reporting} is the reporting currency: its rate is 1", r_text))
        if quarter and currency in ISO_4217:
            if (quarter, currency) in first_row:
                problems.append((row, found["quarter"], f"{currency} {quarter} is given twice (first at row "
                                                        f"{first_row[quarter, currency]})", f"{quarter} {currency}"))
            else:
                first_row[quarter, currency] = row
        if quarter and currency in ISO_4217 and rate and rate > 0 and currency != reporting:
            rows.append((row, quarter, currency, rate))
    if problems:
        raise RatesInvalid(name, sorted(problems, key=lambda p: (p[0] or 0, p[1] or "")))
    return pd.DataFrame(rows, columns=["row", "quarter", "currency", "rate"])


def load_rates(
    store: Store,
    source: str | Path | bytes,
    file_name: str | None = None,
    loaded_by: str | None = None,
    actor=None,
) -> RateLoad:
    """Give what loading a rates file did: rates that differ from those in force replace them, every stored line of
    their quarter and currency is converted again, and the derived tables follow, in one transaction.

    Raises AccessDenied when `actor` may not load, and RatesInvalid (nothing stored) for a file with problems.
    A file whose rates are all in force already changes nothing (no load is recorded).
    """
    check(actor, "load")
    loaded_by = loaded_by if loaded_by is not None else actor.who if actor is not None else None
    name = file_name or (Path(source).name if not isinstance(source, bytes) else "rates")
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    rates = read_rates(data, name)
    with store.transaction() as cur:
        cur.register("rates_file", rates[["quarter", "currency", "rate"]])
        try:
            changes = cur.execute(
                """
                SELECT f.quarter, f.currency, r.rate AS previous_rate, f.rate
                FROM rates_file f LEFT JOIN exchange_rates r USING (quarter, currency)
                WHERE r.rate IS NULL OR r.rate <> f.rate ORDER BY f.quarter, f.currency
                """
            ).df()
        finally:
            cur.unregister("rates_file")
        if changes.empty:
            return RateLoad(name, None, len(rates), changes.assign(lines=0, revenue_change=0.0),
                            f"{name}: every rate in it is in force already; nothing changed.")
        rate_load_id = cur.execute("SELECT coalesce(max(rate_load_id), 0) + 1 FROM rate_loads").fetchall()[0][0]
        cur.register("rate_changes_df", changes)
        cur.execute("CREATE OR REPLACE TEMP TABLE rate_changes AS SELECT * FROM rate_changes_df")
        cur.unregister("rate_changes_df")
        new_revenue = converted_revenue("o.amount", "c.rate")
        effect = cur.execute(
            f"""
            SELECT c.quarter, c.currency, count(o.amount) FILTER (WHERE o.{ACTIVE_LINES}) AS lines,
                   coalesce(sum({new_revenue} - o.revenue) FILTER (WHERE o.{ACTIVE_LINES}), 0) AS revenue_change
            FROM rate_changes c LEFT JOIN order_lines o ON o.quarter = c.quarter AND o.currency = c.currency
            GROUP BY c.quarter, c.currency
            """
        ).df()
        changes = changes.merge(effect, on=["quarter", "currency"], how="left")
        # Every line of the quarter and currency, replaced ones too: a rollback that brings them back finds them
        # converted at the rate in force.
        cur.execute(
            f"UPDATE order_lines o SET revenue = {converted_revenue('o.amount', 'c.rate')} FROM rate_changes c "
            "WHERE o.quarter = c.quarter AND o.currency = c.currency"
        )
        checkpoint("rates:converted")
        cur.execute(
            "INSERT OR REPLACE INTO exchange_rates SELECT quarter, currency, rate, ? FROM rate_changes", [rate_load_id])
        cur.execute("INSERT INTO rate_loads VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [rate_load_id, name, hashlib.sha256(data).hexdigest(), len(rates), len(changes),
                     dt.datetime.now(), loaded_by])
        cur.register("rate_effects", changes)
        cur.execute(
            "INSERT INTO rate_history SELECT ?, quarter, currency, rate, previous_rate, lines, revenue_change "
            "FROM rate_effects", [rate_load_id])
        cur.unregister("rate_effects")
        cur.execute("DROP TABLE rate_changes")
        touched = sorted(changes.loc[changes["lines"] > 0, "quarter"].unique())
        if touched:
            refresh_derived(cur, touched)
            bump_data_version(cur)
    changes["revenue_change"] = changes["revenue_change"].astype(float)
    converted = int(changes["lines"].sum())
    message = (f"Loaded rates {name} as rates load #{rate_load_id}: {len(changes):,} rate(s) set or changed"
               + (f", {converted:,} stored lines of {', '.join(touched)} converted again" if converted else "")
               + ".")
    return RateLoad(name, int(rate_load_id), len(rates), changes, message)


def rate_changes_since(store: Store, since: object | None = None, reporting: str | None = None) -> list[str]:
    """Give, newest first, a sentence per rate that replaced another (since `since`, a time, when given):
    "EUR rate for 2026Q3 changed from 1.08 to 1.1 by ana on 2026-12-05 22:10, revenue +$1,234.00"."""
    history = rate_history(store)
    history = history[history["previous_rate"].notna()]
    if since is not None:
        history = history[history["loaded_at"] > pd.Timestamp(since)]
    reporting = reporting or reporting_currency()
    sentences = []
    for r in history.itertuples():
        by = f" by {r.loaded_by}" if isinstance(r.loaded_by, str) and r.loaded_by else ""
        change = r.revenue_change
        sign = "+" if change >= 0 else "-"
        sentences.append(
            f"{r.currency} rate for {r.quarter} changed from {r.previous_rate:g} to {r.rate:g}{by} on "
            f"{r.loaded_at:%Y-%m-%d %H:%M} ({r.file_name}), revenue {sign}{abs(change):,.2f} {reporting} "
            f"over {r.lines:,} line(s)")
    return sentences

