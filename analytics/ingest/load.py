"""Loading validated extracts into the store, and rolling loads back: nothing lost, nothing doubled."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analytics.access import Actor, check
from analytics.ingest.extract import (
    ExtractInvalid,
    PreparedExtract,
    Progress,
    extract_headers,
    prepare_extract_in,
)
from analytics.ingest.limits import check_extract
from analytics.ingest.mappings import remembered_mapping
from analytics.ingest.rejects import rejects_csv, set_aside_in, set_aside_text
from analytics.store.quarters import shift_quarter
from analytics.store.rates import RatesMissing, converted_revenue, missing_rates, missing_rates_text, reporting_currency
from analytics.store.schema import LINE_COLUMNS
from analytics.store.store import ACTIVE_LINES, Store, StoreError, bump_data_version, checkpoint, refresh_derived

__all__ = [
    "AppendRefused",
    "rates_missing_for",
    "MODES",
    "MODE_WORDS",
    "MOSTLY_REMOVED",
    "QuarterPlan",
    "LoadPlan",
    "load_plan",
    "ReplaceRefused",
    "RollbackPlan",
    "rollback_plan",
    "RollbackRefused",
    "load_rejects",
    "load_history",
    "LoadRefused",
    "LoadResult",
    "load_extract",
    "store_prepared",
    "rollback_load",
    "list_loads",
    "loaded_as",
    "quarters_holding_data",
    "load_summary",
]

# refuse: a quarter that already holds rows the file could double is refused (the default);
# replace: the file's quarters are swapped for the file's rows; append: rows are added.
MODES = ("refuse", "replace", "append")
# What each mode did, as the loads table says it ("refuse" is the engine's word for "refuse to touch a quarter
# that holds data"): a load that went through in that mode only added new quarters or new transactions.
MODE_WORDS = {"refuse": "new data only", "replace": "replaced its quarters", "append": "appended"}


class LoadRefused(StoreError):
    """A load that would double rows already stored; `quarters` names the quarters at stake."""

    def __init__(self, message: str, quarters: list[str]):
        self.quarters = quarters
        super().__init__(message)


class ReplaceRefused(LoadRefused):
    """A replace that would remove most of a quarter, asked for without the confirmation that names what goes."""


class AppendRefused(LoadRefused):
    """An append whose rows (without transaction ids) are identical to rows already stored: they would count twice."""


class RollbackRefused(StoreError):
    """A rollback that would leave a quarter empty, asked for without the confirmation that names what goes."""

    def __init__(self, message: str, quarters: list[str]):
        self.quarters = quarters
        super().__init__(message)


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


@dataclass
class LoadResult:
    """What a load did: its id, whether anything changed, and the rows added, skipped and replaced."""

    file_name: str
    status: str  # "loaded" or "unchanged"
    load_id: int | None
    rows_in_file: int
    rows_added: int = 0
    rows_skipped: int = 0
    rows_replaced: int = 0
    quarters: list[str] = field(default_factory=list)
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    rows_set_aside: int = 0
    # The rows set aside, each as it was in the file with its row number and reason (see rejects_csv).
    rejects: pd.DataFrame | None = None
    # Where the amounts' currencies came from (analytics.ingest.extract.ExtractReport.currency_note).
    currency_note: str = ""


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


def load_extract(
    store: Store,
    source: str | Path | bytes,
    file_name: str | None = None,
    mode: str = "refuse",
    column_overrides: dict[str, str] | None = None,
    day_first: bool | None = None,
    loaded_by: str | None = None,
    progress: Progress | None = None,
    actor: Actor | None = None,
    force: bool = False,
    skip_bad_rows: bool = False,
    currency: str | None = None,
) -> LoadResult:
    """Give the result of reading, validating and storing one extract in a single transaction.

    `currency` is the currency of amounts the file names none for (see analytics.ingest.extract.prepare_extract);
    lines in a currency other than the reporting one are converted at their quarter's rate, and RatesMissing
    refuses the file (nothing written) when some currency has no rate for some quarter.

    Raises AccessDenied when `actor` may not load (or replace), ExtractTooLarge when the file breaks
    a stated limit (analytics.ingest.limits), ExtractInvalid (with the full report) when the file has
    problems, LoadRefused when the file's quarters already hold rows it could double and `mode`
    is "refuse", and ReplaceRefused when a replace would remove most of a quarter without `force`.
    With `skip_bad_rows`, rows with problems of their own are set aside (in the result's `rejects`,
    and kept with the load) and the good rows load; problems of the whole file still refuse it.
    The load records `loaded_by`, else the actor's name.
    """
    loaded_by = _allowed(actor, mode, loaded_by)
    check_extract(source, file_name)
    if column_overrides is None:
        # A layout whose mapping a person confirmed before is read the same way again.
        column_overrides = remembered_mapping(store, extract_headers(source, file_name))
    # The file is read and checked in temporary tables of the store's own connection, so its rows
    # reach order_lines in one INSERT ... SELECT, never leaving DuckDB. That connection must be the one
    # that writes: a read-only store (several app processes) takes the file for the whole load.
    with store.writing(), contextlib.closing(store.cursor()) as cur:
        prepared = prepare_extract_in(cur, source, file_name, column_overrides, day_first, progress=progress,
                                      currency=currency)
        if not prepared.report.ok:
            if not (skip_bad_rows and prepared.report.can_set_aside):
                raise ExtractInvalid(prepared.report)
            prepared.rejects = set_aside_in(cur, prepared.report)
        _converted_view(cur, "lines")
        rows = cur.execute("SELECT count(*) FROM lines").fetchall()[0][0]
        return _store_incoming(store, cur, prepared, rows, mode, loaded_by, progress, force)


def store_prepared(
    store: Store,
    prepared: PreparedExtract,
    mode: str = "refuse",
    loaded_by: str | None = None,
    progress: Progress | None = None,
    actor: Actor | None = None,
    force: bool = False,
) -> LoadResult:
    """Give the result of storing an already validated extract (see load_extract).

    An extract with bad rows is stored only once they are set aside (rejects.set_aside_bad_rows).
    """
    loaded_by = _allowed(actor, mode, loaded_by)
    if prepared.lines is None or not prepared.report.ok:
        raise ExtractInvalid(prepared.report)
    with store.writing(), contextlib.closing(store.cursor()) as cur:
        cur.register("file_lines", prepared.lines)
        _converted_view(cur, "file_lines")
        return _store_incoming(store, cur, prepared, prepared.lines.num_rows, mode, loaded_by, progress, force)


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


def _allowed(actor: Actor | None, mode: str, loaded_by: str | None) -> str | None:
    """Give who the load is recorded as, after checking the mode and that the actor may load this way."""
    if mode not in MODES:
        raise ValueError(f"Unknown load mode {mode!r}; expected one of {', '.join(MODES)}")
    check(actor, "replace" if mode == "replace" else "load")
    return loaded_by if loaded_by is not None else actor.who if actor is not None else None


def _store_incoming(
    store: Store,
    cur: duckdb.DuckDBPyConnection,
    prepared: PreparedExtract,
    n_rows: int,
    mode: str,
    loaded_by: str | None,
    progress: Progress | None,
    force: bool = False,
) -> LoadResult:
    """Give the result of storing the rows of relation `incoming` (visible to `cur`) as one load."""
    notify = progress or (lambda fraction, message: None)
    name, quarters = prepared.file_name, prepared.report.quarters
    checkpoint("load:read")
    with store.transaction(cur, on_wait=lambda why: notify(0.6, why)):
        unchanged = _already_loaded(cur, prepared, n_rows)
        if unchanged is not None:
            return unchanged
        # Never a silent mix of currencies in one sum: a line without a rate stops the file before any write.
        no_rate = missing_rates(cur, "incoming", reporting_currency())
        if no_rate:
            raise RatesMissing(missing_rates_text(name, no_rate), no_rate)
        conflicts = _conflicting_quarters(cur, quarters)
        if conflicts and mode == "refuse":
            raise LoadRefused(_refusal_message(name, conflicts), sorted(conflicts))
        if mode == "replace" and not force:
            plan = _plan(cur, prepared)
            if plan.replace_removes_most:
                raise ReplaceRefused(
                    f"Not loaded: {name}. {plan.replace_warning()} Nothing was changed. To replace all the same, "
                    "confirm it (on the command line: --force).",
                    [q.quarter for q in plan.replace_removes_most],
                )
        if mode == "append" and not force:
            _refuse_identical_rows(cur, name)
        load_id = cur.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchall()[0][0]
        notify(0.7, f"Writing {n_rows:,} rows of {name}")
        rows_replaced = _replace_quarters(cur, load_id, quarters) if mode == "replace" else 0
        rows_added = _insert_new_lines(cur, load_id)
        rows_skipped = n_rows - rows_added
        checkpoint("load:inserted")
        _record_load(cur, load_id, prepared, mode, n_rows, rows_added, rows_skipped, rows_replaced, loaded_by)
        set_aside = len(prepared.rejects) if prepared.rejects is not None and prepared.report.set_aside else 0
        if set_aside:
            cur.execute("UPDATE loads SET rows_set_aside = ? WHERE load_id = ?", [set_aside, load_id])
            cur.execute("INSERT INTO load_rejects VALUES (?, ?, ?)",
                        [load_id, set_aside, rejects_csv(prepared.rejects).decode("utf-8-sig")])
        checkpoint("load:recorded")
        notify(0.9, f"Refreshing the partner x quarter and trailing-year tables for {len(quarters)} quarter(s)")
        refresh_derived(cur, quarters)
        bump_data_version(cur)
        checkpoint("load:refreshed")
    checkpoint("load:committed")
    message = _loaded_message(name, load_id, quarters, rows_added, rows_skipped, rows_replaced)
    if set_aside:
        message += f"; {set_aside_text(prepared.report)}"
    notify(1.0, message)
    return LoadResult(
        name, "loaded", load_id, n_rows, rows_added, rows_skipped, rows_replaced, quarters,
        message + ".", prepared.report.warnings, set_aside, prepared.rejects if set_aside else None,
        prepared.report.currency_note,
    )


def _refuse_identical_rows(cur: duckdb.DuckDBPyConnection, name: str) -> None:
    """Refuse an append whose rows without a transaction id match stored rows in every figure (they would double).

    Rows with a transaction id are matched by it when inserted (a stored id is skipped), so only rows
    without one can be counted twice. Two genuinely equal order lines are possible: --force adds them.
    """
    found = cur.execute(
        f"""
        SELECT i.quarter, count(*) AS n FROM incoming i
        WHERE i.transaction_id IS NULL AND EXISTS (
            SELECT 1 FROM order_lines o
            WHERE o.{ACTIVE_LINES} AND o.partner_id = i.partner_id AND o.quarter = i.quarter
              AND o.revenue = i.revenue AND o.order_date IS NOT DISTINCT FROM i.order_date
              AND o.customer_id IS NOT DISTINCT FROM i.customer_id AND o.product IS NOT DISTINCT FROM i.product
              AND o.quantity IS NOT DISTINCT FROM i.quantity)
        GROUP BY i.quarter ORDER BY i.quarter
        """
    ).fetchall()
    if not found:
        return
    total = sum(n for _, n in found)
    where = ", ".join(f"{quarter}: {n:,}" for quarter, n in found)
    raise AppendRefused(
        f"Not appended: {name}. {total:,} of its rows are identical to rows already stored ({where}): partner, "
        "date, revenue, customer, product and quantity all the same, and no transaction id to tell them apart, so "
        "they would count twice. Nothing was changed. If they are really new order lines, append them all the same "
        "(on the command line: --append --force).",
        [quarter for quarter, _ in found],
    )


def _already_loaded(cur: duckdb.DuckDBPyConnection, prepared: PreparedExtract, n_rows: int) -> LoadResult | None:
    """Give the result of loading a file whose very contents are already loaded (nothing changes), else None."""
    same = cur.execute(
        "SELECT load_id, loaded_at FROM loads WHERE content_hash = ? AND status = 'active' "
        "ORDER BY load_id LIMIT 1",
        [prepared.content_hash],
    ).fetchall()
    if not same:
        return None
    load_id, loaded_at = same[0]
    name = prepared.file_name
    return LoadResult(
        name, "unchanged", load_id, n_rows, rows_skipped=n_rows, quarters=prepared.report.quarters,
        message=f"{name} was already loaded as load #{load_id} on {loaded_at:%Y-%m-%d %H:%M}; nothing changed.",
    )


def _replace_quarters(cur: duckdb.DuckDBPyConnection, load_id: int, quarters: list[str]) -> int:
    """Give how many stored lines of `quarters` load `load_id` replaces, marking them replaced by it."""
    rows_replaced = cur.execute(
        f"UPDATE order_lines SET replaced_by = ? WHERE {ACTIVE_LINES} AND list_contains(?, quarter)",
        [load_id, quarters],
    ).fetchall()[0][0]
    checkpoint("load:replaced")
    return rows_replaced


def _insert_new_lines(cur: duckdb.DuckDBPyConnection, load_id: int) -> int:
    """Give how many lines of relation `incoming` were added as load `load_id` (those not already stored)."""
    # A transaction id already stored (and still counting) means the row is already in: skip it.
    # Only stored ids within the file's range can match; saying so lets DuckDB skip the row groups
    # of other periods (ids mostly follow time) instead of hashing every stored id.
    columns = ", ".join(LINE_COLUMNS)
    return cur.execute(
        f"""
        INSERT INTO order_lines ({columns}, load_id)
        SELECT {", ".join(f"i.{c}" for c in LINE_COLUMNS)}, ? FROM incoming i
        WHERE i.transaction_id IS NULL OR NOT EXISTS (
            SELECT 1 FROM order_lines o
            WHERE o.transaction_id = i.transaction_id AND o.{ACTIVE_LINES}
              AND o.transaction_id BETWEEN (SELECT min(transaction_id) FROM incoming)
                                       AND (SELECT max(transaction_id) FROM incoming)
        )
        """,
        [load_id],
    ).fetchall()[0][0]


def _record_load(
    cur: duckdb.DuckDBPyConnection,
    load_id: int,
    prepared: PreparedExtract,
    mode: str,
    n_rows: int,
    rows_added: int,
    rows_skipped: int,
    rows_replaced: int,
    loaded_by: str | None,
) -> None:
    """Record load `load_id` in the loads table, in effect from now."""
    name, quarters = prepared.file_name, prepared.report.quarters
    cur.execute(
        """
        INSERT INTO loads (load_id, file_name, content_hash, rows_in_file, rows_added, rows_skipped,
                           rows_replaced, quarters, mode, loaded_at, loaded_by, status)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active')
        """,
        [load_id, name, prepared.content_hash, n_rows, rows_added, rows_skipped, rows_replaced,
         quarters, mode, dt.datetime.now(), loaded_by],
    )


def _loaded_message(
    name: str, load_id: int, quarters: list[str], rows_added: int, rows_skipped: int, rows_replaced: int
) -> str:
    """Give the sentence that says what a load added, skipped and replaced (without the full stop)."""
    message = f"Loaded {name} as load #{load_id}: {rows_added:,} rows added"
    if rows_skipped:
        message += f", {rows_skipped:,} skipped (transaction id already stored)"
    if rows_replaced:
        message += f", {rows_replaced:,} stored rows of {', '.join(quarters)} replaced"
    return message


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


def _refusal_message(name: str, conflicts: dict[str, list[tuple]]) -> str:
    held = "; ".join(
        f"{quarter} holds "
        + ", ".join(f"{n:,} rows from load #{load_id} ({file_name})" for load_id, file_name, n in loads)
        for quarter, loads in sorted(conflicts.items())
    )
    return (
        f"Not loaded: {name} has rows for quarters that already hold data, and without transaction ids "
        f"they cannot be told apart ({held}). Choose replace (swap those quarters for this file) or "
        "append (add this file's rows to them)."
    )


@dataclass(frozen=True)
class RollbackPlan:
    """What rolling a load back would do: per quarter its rows that go, and those that would remain."""

    load_id: int
    file_name: str
    # (quarter, rows of the load that go, revenue that goes, active rows of other loads left)
    quarters: tuple[tuple[str, int, float, int], ...]

    @property
    def emptied(self) -> tuple[str, ...]:
        """Give the quarters the rollback would leave without any row (rows it replaced come back otherwise)."""
        return tuple(q for q, gone, _, left in self.quarters if gone and not left)

    @property
    def confirmation(self) -> str:
        """Give the words a person types to confirm a rollback that empties quarters."""
        return "remove " + " ".join(self.emptied)

    def warning(self) -> str:
        """Give the sentence naming the quarters the rollback removes entirely ('' when none)."""
        if not self.emptied:
            return ""
        gone = "; ".join(f"{q}: {n:,} rows ({_dollars(r)})" for q, n, r, left in self.quarters if n and not left)
        return (f"Rolling back load #{self.load_id} ({self.file_name}) removes "
                f"{', '.join(self.emptied)} entirely: {gone}. No page would show "
                f"{'that quarter' if len(self.emptied) == 1 else 'those quarters'} any more.")


def rollback_plan(store: Store, load_id: int) -> RollbackPlan:
    """Give what rolling back load `load_id` would do (see RollbackPlan); reads only."""
    with contextlib.closing(store.cursor()) as cur:
        return _rollback_plan(cur, load_id)


def _rollback_plan(cur: duckdb.DuckDBPyConnection, load_id: int) -> RollbackPlan:
    rows = cur.execute("SELECT status, quarters, file_name FROM loads WHERE load_id = ?", [load_id]).fetchall()
    if not rows:
        raise StoreError(f"There is no load #{load_id}.")
    status, quarters, file_name = rows[0]
    if status != "active":
        raise StoreError(f"Load #{load_id} ({file_name}) was already rolled back.")
    figures = cur.execute(
        f"""
        SELECT quarter,
               count(*) FILTER (WHERE load_id = ? AND {ACTIVE_LINES}),
               coalesce(sum(revenue) FILTER (WHERE load_id = ? AND {ACTIVE_LINES}), 0),
               count(*) FILTER (WHERE (load_id <> ? AND {ACTIVE_LINES}) OR replaced_by = ?)
        FROM order_lines WHERE list_contains(?, quarter) GROUP BY quarter ORDER BY quarter
        """,
        [load_id, load_id, load_id, load_id, list(quarters)],
    ).fetchall()
    return RollbackPlan(load_id, file_name, tuple((q, int(n), float(r), int(left)) for q, n, r, left in figures))


def rollback_load(
    store: Store, load_id: int, by: str | None = None, actor: Actor | None = None, force: bool = False
) -> list[str]:
    """Give the quarters a load touched, after undoing it: its rows go, rows it replaced come back.

    Raises AccessDenied when `actor` may not roll back, and RollbackRefused (nothing changed) when the
    rollback would leave a quarter without any row and `force` is not given; records `by`, else the
    actor's name.
    """
    check(actor, "roll back")
    by = by if by is not None else actor.who if actor is not None else None
    with store.transaction() as cur:
        plan = _rollback_plan(cur, load_id)
        if plan.emptied and not force:
            raise RollbackRefused(f"Not rolled back: {plan.warning()} Nothing was changed. To roll it back all the "
                                  "same, confirm it (on the command line: --force).", list(plan.emptied))
        quarters = cur.execute("SELECT quarters FROM loads WHERE load_id = ?", [load_id]).fetchall()[0][0]
        cur.execute("DELETE FROM order_lines WHERE load_id = ?", [load_id])
        cur.execute("UPDATE order_lines SET replaced_by = NULL WHERE replaced_by = ?", [load_id])
        checkpoint("rollback:deleted")
        cur.execute(
            "UPDATE loads SET status = 'rolled_back', rolled_back_at = ?, rolled_back_by = ? WHERE load_id = ?",
            [dt.datetime.now(), by, load_id],
        )
        refresh_derived(cur, quarters)
        bump_data_version(cur)
    return list(quarters)


def list_loads(store: Store) -> pd.DataFrame:
    """Give every recorded load, newest first, with its counts, quarters and status."""
    return store.query_df(
        """
        SELECT load_id, file_name, status, mode, rows_in_file, rows_added, rows_skipped, rows_replaced,
               coalesce(rows_set_aside, 0) AS rows_set_aside, array_to_string(quarters, ', ') AS quarters,
               loaded_at, loaded_by, rolled_back_at, rolled_back_by,
               content_hash
        FROM loads ORDER BY load_id DESC
        """
    )



def load_history(store: Store) -> pd.DataFrame:
    """Give every load, newest first, as people read it: who, when, file, rows, quarters, mode, status.

    The status says "in effect", or "rolled back" with when and by whom; empty `loaded_by` (loads
    recorded before it was kept) stays empty.
    """
    loads = list_loads(store)
    status = [
        "in effect" if state == "active"
        else " ".join(["rolled back", *([f"{at:%Y-%m-%d %H:%M}"] if pd.notna(at) else []),
                       *([f"by {by}"] if isinstance(by, str) and by else [])])
        for state, at, by in zip(loads["status"], loads["rolled_back_at"], loads["rolled_back_by"], strict=True)
    ]
    return pd.DataFrame({
        "load_id": loads["load_id"],
        "loaded_by": loads["loaded_by"],
        "loaded_at": loads["loaded_at"],
        "file_name": loads["file_name"],
        "rows_added": loads["rows_added"],
        "rows_skipped": loads["rows_skipped"],
        "rows_replaced": loads["rows_replaced"],
        "rows_set_aside": loads["rows_set_aside"],
        "quarters": loads["quarters"],
        "mode": loads["mode"].map(MODE_WORDS).fillna(loads["mode"]),
        "status": pd.Series(status, index=loads.index, dtype=object),
    })


def load_rejects(store: Store, load_id: int) -> bytes | None:
    """Give the rejects file of a load that set rows aside (CSV, as rejects.rejects_csv wrote it), else None."""
    frame = store.query_df("SELECT rejects_csv FROM load_rejects WHERE load_id = ?", [load_id])
    return None if frame.empty else frame.iloc[0]["rejects_csv"].encode("utf-8-sig")


def loaded_as(store: Store, content_hash: str) -> dict | None:
    """Give the load in effect that stored a file with this content (id, file, time), or None."""
    frame = store.query_df(
        "SELECT load_id, file_name, loaded_at FROM loads WHERE content_hash = ? AND status = 'active' "
        "ORDER BY load_id LIMIT 1",
        [content_hash],
    )
    return None if frame.empty else frame.iloc[0].to_dict()


def quarters_holding_data(store: Store, quarters: list[str]) -> pd.DataFrame:
    """Give, for those of `quarters` that already hold rows, the rows, the untracked rows and the loads."""
    return store.query_df(
        f"""
        SELECT o.quarter, count(*) AS rows, count(*) FILTER (WHERE o.transaction_id IS NULL) AS rows_without_id,
               string_agg(DISTINCT '#' || o.load_id || ' ' || l.file_name, ', ') AS loads
        FROM order_lines o JOIN loads l USING (load_id)
        WHERE o.{ACTIVE_LINES} AND list_contains(?, o.quarter)
        GROUP BY o.quarter ORDER BY o.quarter
        """,
        [list(quarters)],
    )


def load_summary(store: Store, load_id: int) -> tuple[dict, pd.DataFrame]:
    """Give what a load changed (rows, quarters, new partners) and the partners gone since the quarter before.

    New partners: partners in this load that no earlier load had. Gone: partners with orders in the
    quarter before the load's latest quarter and none in that latest quarter.
    """
    load = store.query_df(
        "SELECT load_id, file_name, rows_in_file, rows_added, rows_skipped, rows_replaced, "
        "coalesce(rows_set_aside, 0) AS rows_set_aside, quarters FROM loads WHERE load_id = ?",
        [load_id],
    )
    if load.empty:
        raise StoreError(f"There is no load #{load_id}.")
    summary = load.iloc[0].to_dict()
    summary["quarters"] = list(summary["quarters"])
    summary["new_partners"] = int(
        store.query_df(
            """
            SELECT count(DISTINCT partner_id) AS n FROM order_lines
            WHERE load_id = ? AND partner_id NOT IN (SELECT partner_id FROM order_lines WHERE load_id < ?)
            """,
            [load_id, load_id],
        ).iloc[0]["n"]
    )
    latest = max(summary["quarters"])
    before = shift_quarter(latest, -1)
    gone = store.query_df(
        """
        SELECT b.partner_id, b.partner_name, b.tier, b.region, b.revenue AS revenue_quarter_before
        FROM partner_quarter b
        WHERE b.quarter = ? AND NOT EXISTS (
            SELECT 1 FROM partner_quarter n WHERE n.partner_id = b.partner_id AND n.quarter = ?
        )
        ORDER BY b.revenue DESC
        """,
        [before, latest],
    )
    summary["latest_quarter"], summary["quarter_before"] = latest, before
    summary["partners_gone"] = len(gone)
    return summary, gone
