"""What loading a file would meet: per quarter, the file's rows and revenue against those stored.

The Upload page renders a LoadPlan and the command line prints it; the decisions (which quarters a
person must choose replace or append for, which a replace would mostly remove) are taken here once.
Its queries read relation `incoming`: the file's lines with revenue in the reporting currency.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import duckdb

from analytics.ingest.report import PreparedExtract
from analytics.store.rates import converted_revenue, missing_rates, reporting_currency
from analytics.store.schema import LINE_COLUMNS
from analytics.store.store import ACTIVE_LINES, Store

__all__ = [
    "MOSTLY_REMOVED",
    "QuarterPlan",
    "LoadPlan",
    "load_plan",
    "rates_missing_for",
]

# A replace that leaves less than this share of a quarter's stored rows or revenue removes "most of it".
MOSTLY_REMOVED = 0.1


@dataclass(frozen=True)
class QuarterPlan:
    """One quarter of a file against what the store holds for it: rows and revenue on each side."""

    quarter: str
    file_rows: int
    file_revenue: float
    stored_rows: int = 0
    stored_revenue: float = 0.0
    loads: str = ""  # the loads whose rows are stored, like "#3 sales_2026Q3.csv"

    @property
    def replace_removes_most(self) -> bool:
        """Tell whether replacing the quarter with the file's rows would leave under a tenth of its rows or revenue."""
        if not self.stored_rows:
            return False
        fewer_rows = self.file_rows < MOSTLY_REMOVED * self.stored_rows
        less_revenue = self.stored_revenue > 0 and self.file_revenue < MOSTLY_REMOVED * self.stored_revenue
        return fewer_rows or less_revenue

    def describe(self) -> str:
        """Give the quarter's figures as one phrase: what is stored and what the file brings."""
        return (f"{self.quarter}: {self.stored_rows:,} stored rows ({_dollars(self.stored_revenue)}) from "
                f"{self.loads or 'earlier loads'}, the file brings {self.file_rows:,} rows "
                f"({_dollars(self.file_revenue)})")


@dataclass(frozen=True)
class LoadPlan:
    """What loading a file would meet: per quarter its rows and revenue against those stored, and what to ask.

    The Upload page renders it and the command line prints it; the decisions are taken here once.
    """

    file_name: str
    quarters: tuple[QuarterPlan, ...]
    # Quarters holding rows that the file's rows cannot be told apart from (no transaction ids): a person
    # must choose between replace and append (else the load is refused).
    conflicts: tuple[str, ...]

    @property
    def held(self) -> tuple[QuarterPlan, ...]:
        """Give the quarters of the file that already hold data."""
        return tuple(q for q in self.quarters if q.stored_rows)

    @property
    def needs_choice(self) -> bool:
        """Tell whether a person must choose replace or append (rows that could be doubled)."""
        return bool(self.conflicts)

    @property
    def replace_removes_most(self) -> tuple[QuarterPlan, ...]:
        """Give the quarters a replace would mostly remove (under a tenth of their rows or revenue left)."""
        return tuple(q for q in self.quarters if q.replace_removes_most)

    @property
    def replace_confirmation(self) -> str:
        """Give the words a person types to confirm a replace that removes most of some quarters."""
        return "replace " + " ".join(q.quarter for q in self.replace_removes_most)

    def replace_warning(self) -> str:
        """Give the sentence naming what a replace would remove ('' when it removes no quarter's most)."""
        most = self.replace_removes_most
        if not most:
            return ""
        gone = "; ".join(q.describe() for q in most)
        return (f"Replacing would remove most of what is stored for {', '.join(q.quarter for q in most)} ({gone}). "
                f"The stored rows of "
                f"{'that quarter' if len(most) == 1 else 'those quarters'} would no longer count anywhere.")


def _dollars(amount: float) -> str:
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def _converted_view(cur: duckdb.DuckDBPyConnection, source: str) -> str:
    """Create temporary view `incoming` over relation `source` (a name of ours) with revenue in the reporting
    currency: each line's amount at its quarter's rate (analytics.store.rates), and give the reporting currency."""
    reporting = reporting_currency()
    # The code is checked against ISO 4217 when the program is read (three capital letters): a view takes no
    # parameters, so it is written into the SQL.
    assert len(reporting) == 3 and reporting.isalpha() and reporting.isupper()
    columns = ", ".join(
        f"CASE WHEN i.currency = '{reporting}' THEN i.amount ELSE {converted_revenue('i.amount', 'r.rate')} END "
        "AS revenue" if c == "revenue" else f"i.{c}"
        for c in LINE_COLUMNS
    )
    cur.execute(f"CREATE OR REPLACE TEMP VIEW incoming AS SELECT {columns} FROM {source} i "
                "LEFT JOIN exchange_rates r ON r.quarter = i.quarter AND r.currency = i.currency")
    return reporting


def load_plan(store: Store, prepared: PreparedExtract) -> LoadPlan:
    """Give what loading this prepared extract would meet (see LoadPlan); reads only."""
    if prepared.lines is None:
        return LoadPlan(prepared.file_name, (), ())
    with contextlib.closing(store.cursor()) as cur:
        cur.register("file_lines", prepared.lines)
        try:
            _converted_view(cur, "file_lines")
            return _plan(cur, prepared)
        finally:
            cur.execute("DROP VIEW IF EXISTS incoming")
            cur.unregister("file_lines")


def rates_missing_for(store: Store, prepared: PreparedExtract) -> dict[str, list[str]]:
    """Give, per currency of a prepared extract with no rate for some of its quarters, those quarters (reads only)."""
    if prepared.lines is None:
        return {}
    with contextlib.closing(store.cursor()) as cur:
        cur.register("file_lines", prepared.lines)
        try:
            return missing_rates(cur, "file_lines", reporting_currency())
        finally:
            cur.unregister("file_lines")


def _plan(cur: duckdb.DuckDBPyConnection, prepared: PreparedExtract) -> LoadPlan:
    """Give the plan of storing relation `incoming` (visible to `cur`): per quarter, file against store."""
    rows = cur.execute(
        f"""
        WITH file AS (
            SELECT quarter, count(*) AS n, coalesce(sum(revenue), 0) AS revenue FROM incoming GROUP BY quarter
        ), stored AS (
            SELECT o.quarter, count(*) AS n, coalesce(sum(o.revenue), 0) AS revenue,
                   string_agg(DISTINCT '#' || o.load_id || ' ' || l.file_name, ', ') AS loads
            FROM order_lines o JOIN loads l USING (load_id)
            WHERE o.{ACTIVE_LINES} AND o.quarter IN (SELECT quarter FROM file)
            GROUP BY o.quarter
        )
        SELECT f.quarter, f.n, f.revenue, coalesce(s.n, 0), coalesce(s.revenue, 0), coalesce(s.loads, '')
        FROM file f LEFT JOIN stored s USING (quarter) ORDER BY f.quarter
        """
    ).fetchall()
    quarters = tuple(QuarterPlan(q, int(n), float(r), int(sn), float(sr), loads) for q, n, r, sn, sr, loads in rows)
    conflicts = tuple(sorted(_conflicting_quarters(cur, [q.quarter for q in quarters])))
    return LoadPlan(prepared.file_name, quarters, conflicts)


def _conflicting_quarters(cur: duckdb.DuckDBPyConnection, quarters: list[str]) -> dict[str, list[tuple]]:
    """Give the quarters where stored rows and the file's rows cannot be told apart by transaction id."""
    rows = cur.execute(
        f"""
        WITH stored AS (
            SELECT quarter, load_id, count(*) AS n, count(*) FILTER (WHERE transaction_id IS NULL) AS n_untracked
            FROM order_lines WHERE {ACTIVE_LINES} AND list_contains(?, quarter) GROUP BY quarter, load_id
        ), incoming_untracked AS (
            SELECT quarter, count(*) FILTER (WHERE transaction_id IS NULL) AS n_untracked FROM incoming GROUP BY quarter
        )
        SELECT s.quarter, s.load_id, l.file_name, s.n
        FROM stored s JOIN loads l USING (load_id) JOIN incoming_untracked i USING (quarter)
        WHERE s.quarter IN (SELECT quarter FROM stored GROUP BY quarter HAVING sum(n_untracked) > 0)
           OR i.n_untracked > 0
        ORDER BY s.quarter, s.load_id
        """,
        [quarters],
    ).fetchall()
    conflicts: dict[str, list[tuple]] = {}
    for quarter, load_id, file_name, n in rows:
        conflicts.setdefault(quarter, []).append((load_id, file_name, n))
    return conflicts
