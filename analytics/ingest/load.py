"""Loading validated extracts into the store in one transaction: nothing lost, nothing doubled.

A file already loaded changes nothing; a quarter that already holds rows the file could double is
refused unless a person chose replace or append; a replace that would remove most of a quarter, or an
append of rows identical to stored ones, is refused unless confirmed. What a load would meet is
analytics.ingest.plan; rolling a load back is analytics.ingest.rollback; the record of loads is
analytics.ingest.history.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analytics.access import Actor, check
from analytics.ingest.extract import prepare_extract_in
from analytics.ingest.limits import ExtractLimits, check_extract
from analytics.ingest.mappings import remembered_mapping
from analytics.ingest.plan import _conflicting_quarters, _converted_view, _plan
from analytics.ingest.read import extract_headers
from analytics.ingest.rejects import rejects_csv, set_aside_in, set_aside_text
from analytics.ingest.report import ExtractInvalid, PreparedExtract, Progress
from analytics.store.faults import StoreError
from analytics.store.rates import RatesMissing, missing_rates, missing_rates_text, reporting_currency
from analytics.store.schema import LINE_COLUMNS
from analytics.store.store import ACTIVE_LINES, Store, bump_data_version, checkpoint, refresh_derived

__all__ = [
    "AppendRefused",
    "MODES",
    "ReplaceRefused",
    "LoadRefused",
    "LoadResult",
    "load_extract",
    "store_prepared",
]

# refuse: a quarter that already holds rows the file could double is refused (the default);
# replace: the file's quarters are swapped for the file's rows; append: rows are added.
MODES = ("refuse", "replace", "append")


class LoadRefused(StoreError):
    """A load that would double rows already stored; `quarters` names the quarters at stake."""

    def __init__(self, message: str, quarters: list[str]):
        self.quarters = quarters
        super().__init__(message)


class ReplaceRefused(LoadRefused):
    """A replace that would remove most of a quarter, asked for without the confirmation that names what goes."""


class AppendRefused(LoadRefused):
    """An append whose rows (without transaction ids) are identical to rows already stored: they would count twice."""


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
    # Where the amounts' currencies came from (analytics.ingest.report.ExtractReport.currency_note).
    currency_note: str = ""


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
    limits: ExtractLimits | None = None,
) -> LoadResult:
    """Give the result of reading, validating and storing one extract in a single transaction.

    `currency` is the currency of amounts the file names none for (see analytics.ingest.extract.prepare_extract);
    lines in a currency other than the reporting one are converted at their quarter's rate, and RatesMissing
    refuses the file (nothing written) when some currency has no rate for some quarter.

    Raises AccessDenied when `actor` may not load (or replace), ExtractTooLarge when the file breaks
    a stated limit (analytics.ingest.limits: `limits`, default a page's; the command line passes
    COMMAND_LINE_LIMITS, which takes files of any size and streams them), ExtractInvalid (with the
    full report) when the file has problems, LoadRefused when the file's quarters already hold rows it
    could double and `mode` is "refuse", and ReplaceRefused when a replace would remove most of a quarter
    without `force`.
    With `skip_bad_rows`, rows with problems of their own are set aside (in the result's `rejects`,
    and kept with the load) and the good rows load; problems of the whole file still refuse it.
    The load records `loaded_by`, else the actor's name.
    """
    loaded_by = _allowed(actor, mode, loaded_by)
    check_extract(source, file_name, limits)
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
