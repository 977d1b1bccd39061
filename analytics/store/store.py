"""The channel database: one DuckDB file holding loads, raw order lines and the partner x quarter table.

Beside it: faults (the store's errors, the guard on the file) and turns (who reads and who writes when).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from analytics.paths import PROJECT_ROOT
from analytics.store.faults import StoreError, StoreFault, file_fault, file_identity, moved_file, store_fault
from analytics.store.quarters import YEAR, quarter_index, quarter_label
from analytics.store.schema import MIGRATIONS, REDERIVE_AT, SCHEMA_VERSION
from analytics.store.turns import (
    GATE,
    IN_PROCESS_WRITER,
    OPENING,
    READERS,
    TURNS,
    WRITE_CONFLICT_MESSAGE,
    WRITE_WAIT_MESSAGE,
    connect_in_process,
    leave_note,
    write_lock,
    writer_waiting,
)

__all__ = ["PROJECT_ROOT", "Store", "default_db_path", "ACTIVE_LINES", "checkpoint", "read_only_mode", "PROCESSES_ENV"]



# Rows that count: set-aside rows of a replaced quarter stay stored (so a replace can be rolled back)
# but are excluded everywhere through this predicate.
ACTIVE_LINES = "replaced_by IS NULL"

# Set by `python -m analytics serve` for the app processes it starts (and itself): how many processes
# share the database file. Above 1 they open it read-only, which DuckDB lets several processes do at once.
PROCESSES_ENV = "CHANNEL_PROCESSES"


def read_only_mode() -> bool:
    """Tell whether this process is one of several sharing the file ($CHANNEL_PROCESSES above 1): it reads read-only.

    Such a process still writes (an upload, a rollback, a saved review or view): Store.writing() takes
    the file in turn, as the command line does, and hands it back.
    """
    try:
        return int(os.environ.get(PROCESSES_ENV, "1") or "1") > 1
    except ValueError:
        return False


def default_db_path() -> Path:
    """Give the database path: $CHANNEL_DB if set, else data/channel.duckdb in the project."""
    env = os.environ.get("CHANNEL_DB")
    return Path(env) if env else PROJECT_ROOT / "data" / "channel.duckdb"


class Store:
    """An open channel database; upgrades an older file to the current schema on open.

    Only one process at a time can have the file open (DuckDB locks it), so the app opens it per
    page run and lets go in between (views/db.py), and the command line waits for its turn:
    `wait` is how many seconds to keep trying while another process holds the file, `on_wait` is
    told why (and told when an older file is being upgraded, which can take a while, or when its write
    waits for another one), and `announce` (the command line) leaves a note beside the file while waiting
    and working, so that the app lets go and does not open it again until the note is gone.

    With `read_only` (default: read_only_mode(), never with `announce`) the file is opened read-only,
    so that several processes can read it at once; a write then takes the file in turn (writing()).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        wait: float = 0.0,
        on_wait: Callable[[str], None] | None = None,
        announce: bool = False,
        read_only: bool | None = None,
    ):
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = (read_only_mode() if read_only is None else read_only) and not announce
        self._note: Path | None = None
        self._on_wait = on_wait
        self._wait = wait
        self._con: duckdb.DuckDBPyConnection | None = None
        self._reading = False  # this store counts among the process's readers of the file (READERS)
        self._reopen = False   # a write handed the file back: open it read-only again at the next use
        self._writing = 0      # depth of writing() blocks: while above 0 the connection is read-write
        # Why writes are refused (the file was replaced while this process ran), or None: see guard_file_identity.
        self.refuse_writes: str | None = None
        try:
            # Before connecting: DuckDB would make a new, empty file where a deleted one was.
            self.refuse_writes = moved_file(self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if announce:
                self._note = leave_note(self.path)
            if self.read_only:
                self._open_read_only()
            else:
                self._con = self._connect(wait, on_wait)
                # Sessions of the app open the file at once; one upgrades it, the others then find it done.
                with _MIGRATING:
                    self._migrate(on_wait)
            self.identity = file_identity(self.path)
        except BaseException as exc:
            self._release()
            self._drop_note()
            fault = file_fault(self.path, exc)
            if fault is not None and fault is not exc:
                raise fault from exc
            raise

    def _open_read_only(self) -> None:
        """Open the file read-only; a missing file or an older schema is first made or upgraded in a turn to write."""
        if self.path.exists():
            self._con = self._connect(self._wait, self._on_wait, read_only=True)
            if self.schema_version() == SCHEMA_VERSION:
                return
        with self.writing():  # writing() makes the file or upgrades it; it opens read-only again at the next use
            pass

    def _connect(self, wait: float, on_wait: Callable[[str], None] | None,
                 read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Give a connection to the file, trying again for `wait` seconds while another process holds it.

        A read-only connection also waits while another session of this process writes (writing()):
        one process cannot hold the file read-only and read-write at once.
        """
        started = time.monotonic()
        told_at = None
        while True:
            waiting_for = None if self._note else writer_waiting(self.path)
            if waiting_for is None and read_only:
                waiting_for = self._join_readers()
            if waiting_for is None:
                try:
                    return connect_in_process(self.path, read_only)
                except BaseException as exc:
                    self._leave_readers()
                    if not isinstance(exc, duckdb.IOException):
                        raise
                    # A fault first: "block" in a damaged file's message must not pass for a lock to wait on.
                    fault = store_fault(self.path, exc)
                    if fault is not None:
                        raise fault from exc
                    if "lock" not in str(exc).lower():
                        raise StoreError(f"Cannot open the database {self.path}: {exc}") from exc
                    # The command line may have left its note between our look and our try: name it then.
                    holder = re.search(r"PID (\d+)", str(exc))
                    waiting_for = writer_waiting(self.path) or (
                        f"process {holder.group(1)}" if holder else "another process")
            waited = time.monotonic() - started
            why = f"The database {self.path} is in use by another process ({waiting_for})"
            if waited >= wait:
                raise StoreError(f"{why}; try again when it has finished.")
            if on_wait is not None and (told_at is None or time.monotonic() - told_at >= 5):
                told_at = time.monotonic()
                on_wait(f"{why}; waiting for it to finish ({waited:.0f} s of at most {wait:.0f} s).")
            time.sleep(0.1)

    def _join_readers(self) -> str | None:
        """Count this store among the process's readers of the file, or give who writes in this process now."""
        key = os.path.realpath(self.path)
        with GATE:
            writer = TURNS.get(key)
            if writer is not None and writer != threading.get_ident():
                return IN_PROCESS_WRITER
            READERS[key] = READERS.get(key, 0) + 1
            self._reading = True
            return None

    def _leave_readers(self) -> None:
        if self._reading:
            key = os.path.realpath(self.path)
            with GATE:
                READERS[key] -= 1
                self._reading = False
                GATE.notify_all()

    def _release(self) -> None:
        """Close this store's connection (its cursors with it) and leave the readers."""
        con, self._con = self._con, None
        if con is not None:
            with OPENING:
                con.close()
        self._leave_readers()

    @contextlib.contextmanager
    def writing(self, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Make this store's connection read-write for the block: at once, unless the store is read-only.

        A read-only store (one of several processes sharing the file) takes the file in turn, as the
        command line does: it lets go of its own connection, waits for the other writes of this process,
        leaves the note beside the file (other processes let go and wait), waits until no session of this
        process and no other process has the file open, opens it read-write, and afterwards hands it back
        and opens it read-only again. Cursors made before the block are closed by it: make them inside.
        """
        if not self._writing:
            # Looked at again here: the file may have gone since this store was opened.
            self.refuse_writes = moved_file(self.path) or self.refuse_writes
            if self.refuse_writes:
                raise StoreFault(self.refuse_writes)
        if not self.read_only or self._writing:
            self._writing += 1
            try:
                yield
            finally:
                self._writing -= 1
            return
        tell = on_wait or self._on_wait
        key = os.path.realpath(self.path)
        self._release()
        lock = write_lock(self.path)
        if not lock.acquire(blocking=False):
            if tell is not None:
                tell(WRITE_WAIT_MESSAGE)
            lock.acquire()
        try:
            with GATE:
                TURNS[key] = threading.get_ident()
            try:
                self._note = leave_note(self.path, "a change saved in another process of the app")
                self._wait_for_readers(key, tell)
                self._con = self._connect(max(self._wait, 30.0), tell)
                self._writing = 1
                with _MIGRATING:
                    self._migrate(tell)
                yield
            finally:
                self._writing = 0
                self._release()
                self._drop_note()
                self._reopen = True
                with GATE:
                    TURNS.pop(key, None)
                    GATE.notify_all()
        finally:
            lock.release()

    def _wait_for_readers(self, key: str, tell: Callable[[str], None] | None) -> None:
        """Wait until no other session of this process has the file open (they let go when their page run ends)."""
        deadline = time.monotonic() + max(self._wait, 30.0)
        told = False
        with GATE:
            while READERS.get(key, 0) > 0:
                if time.monotonic() > deadline:
                    raise StoreError(f"The database {self.path} is still being read by other sessions of this app; "
                                     "nothing was written. Try again in a moment.")
                if tell is not None and not told:
                    told = True
                    tell("Waiting for the pages being shown right now to finish before writing.")
                GATE.wait(0.2)

    # -- connection ---------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Give a cursor of its own, so threads (Streamlit sessions) never share one."""
        if self._reopen:
            self._con = self._connect(self._wait, self._on_wait, read_only=True)
            self._reopen = False
        return self._con.cursor()

    def close(self) -> None:
        """Close the database file (and take away the command line's note, if this store left one)."""
        self._release()
        self._reopen = False
        self._drop_note()

    def _drop_note(self) -> None:
        if self._note is not None:
            # Another writer may have written its own note over ours meanwhile: that one stays.
            with contextlib.suppress(OSError):
                if self._note.read_text().partition("\n")[0] == str(os.getpid()):
                    self._note.unlink(missing_ok=True)
            self._note = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(
        self, cur: duckdb.DuckDBPyConnection | None = None, on_wait: Callable[[str], None] | None = None,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """Give a cursor inside one write transaction: committed at the end, rolled back on any error.

        `cur` is a cursor of this store to use (its temporary tables stay visible); it is left open.
        Writes to one database take turns (see write_lock): while another one is under way, `on_wait`
        (else the store's) is told that this one follows, and it starts when the other is committed.
        """
        if cur is not None and self.read_only and not self._writing:
            raise RuntimeError("a cursor made before store.writing() is closed by it: make it inside the block")
        with self.writing(on_wait):
            with self._transaction(cur, on_wait) as inside:
                yield inside

    @contextlib.contextmanager
    def _transaction(
        self, cur: duckdb.DuckDBPyConnection | None, on_wait: Callable[[str], None] | None,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        own = cur is None
        lock = write_lock(self.path)
        if not lock.acquire(blocking=False):
            tell = on_wait or self._on_wait
            if tell is not None:
                tell(WRITE_WAIT_MESSAGE)
            lock.acquire()
        try:
            cur = self.cursor() if own else cur
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                checkpoint("commit")
                # A read-only folder shows first here: DuckDB creates the write-ahead log at the first commit.
                cur.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already ended the transaction
                    cur.execute("ROLLBACK")
                if isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower():
                    raise StoreError(WRITE_CONFLICT_MESSAGE) from exc
                fault = store_fault(self.path, exc)
                if fault is not None and fault is not exc:
                    raise fault from exc
                raise
            finally:
                if own:
                    cur.close()
        finally:
            lock.release()

    def query_df(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        """Give the result of a parameterised query as a DataFrame."""
        with contextlib.closing(self.cursor()) as cur:
            return cur.execute(sql, params or []).df()

    def query_arrow_df(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        """Give the result as a DataFrame converted through Arrow: for large results with text columns.

        DuckDB's own conversion makes a Python object of every string on the way (450 MB and a second for
        the 860,000 partner-quarter rows at ten times the demo; through Arrow 150 MB and a tenth of that).
        Arrow's types differ, so use it where only numbers and text are read: dates come as
        datetime.date objects, decimals as Decimal, integers with NULLs as floats.
        """
        with contextlib.closing(self.cursor()) as cur:
            return cur.sql(sql, params=params or None).to_arrow_table().to_pandas()

    # -- schema -------------------------------------------------------------------------------
    def schema_version(self) -> int:
        """Give the schema version stored in the file (0 for a new file)."""
        with contextlib.closing(self.cursor()) as cur:
            has_meta = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
            ).fetchall()[0][0]
            if not has_meta:
                return 0
            rows = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
            return int(rows[0][0]) if rows else 0

    def _migrate(self, on_wait: Callable[[str], None] | None = None) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer version of Channel Health (schema {version}, "
                f"this one knows {SCHEMA_VERSION}); update the product to open it."
            )
        if version == SCHEMA_VERSION:
            return
        rederive = version > 0 and any(version < v <= SCHEMA_VERSION for v in REDERIVE_AT)
        if rederive and on_wait is not None:
            # Seconds for the demo, most of a minute at ten times it: whoever opened the file hears why.
            on_wait(f"Upgrading {self.path.name} for this version of Channel Health (schema {version} to "
                    f"{SCHEMA_VERSION}): the partner tables are derived again from the stored order lines. "
                    "This happens once.")
        with self.transaction() as cur:
            for step in MIGRATIONS[version:]:
                for statement in filter(str.strip, step.split(";")):
                    cur.execute(statement)
            cur.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
            if rederive:
                # New derived columns are only right once recomputed from the raw lines.
                refresh_derived(cur, None)
            if rederive or version == 0:
                # Only a change to the derived figures makes stored scores and cached pages stale; a
                # migration that adds a table (drafts, saved views) must not send every score to be recomputed.
                bump_data_version(cur)

    # -- what changed -------------------------------------------------------------------------
    def data_version(self) -> int:
        """Give a number that changes with every load and rollback (a cache key for the pages)."""
        with contextlib.closing(self.cursor()) as cur:
            rows = cur.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchall()
            return int(rows[0][0]) if rows else 0

    def scores_version(self) -> int:
        """Give a number that changes whenever stored model scores are written (see analytics.model.scoring)."""
        with contextlib.closing(self.cursor()) as cur:
            rows = cur.execute("SELECT value FROM meta WHERE key = 'scores_version'").fetchall()
            return int(rows[0][0]) if rows else 0

    def versions(self) -> tuple[int, int]:
        """Give (data_version, scores_version) in one query: the pages' cache key, read by every cached call."""
        with contextlib.closing(self.cursor()) as cur:
            found = dict(cur.execute(
                "SELECT key, value FROM meta WHERE key IN ('data_version', 'scores_version')").fetchall())
        return int(found.get("data_version", 0)), int(found.get("scores_version", 0))

    def is_empty(self) -> bool:
        """Tell whether no order line is stored."""
        with contextlib.closing(self.cursor()) as cur:
            return cur.execute("SELECT count(*) FROM order_lines").fetchall()[0][0] == 0


_MIGRATING = threading.RLock()  # a read-only store upgrades inside writing(), which migrates again (a no-op)


def checkpoint(name: str) -> None:
    """Stop here for ten minutes when $CHANNEL_PAUSE_AT names this point: the fault tests kill the process there.

    Points: "commit" (every transaction, just before COMMIT), "fit apart" (model/scoring.py) and those named in
    ingest/load.py, store/rates.py and review/saved_reviews.py.
    """
    if os.environ.get("CHANNEL_PAUSE_AT") == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        time.sleep(600)


def bump_data_version(cur: duckdb.DuckDBPyConnection) -> None:
    """Increase the data version inside the caller's transaction."""
    cur.execute(
        """
        INSERT OR REPLACE INTO meta
        SELECT 'data_version', CAST(coalesce(max(CAST(value AS BIGINT)), 0) + 1 AS VARCHAR)
        FROM meta WHERE key = 'data_version'
        """
    )


def bump_scores_version(cur: duckdb.DuckDBPyConnection) -> None:
    """Increase the scores version inside the caller's transaction (the pages' caches key on it)."""
    cur.execute(
        """
        INSERT OR REPLACE INTO meta
        SELECT 'scores_version', CAST(coalesce(max(CAST(value AS BIGINT)), 0) + 1 AS VARCHAR)
        FROM meta WHERE key = 'scores_version'
        """
    )


def refresh_derived(cur: duckdb.DuckDBPyConnection, quarters: Sequence[str] | None) -> None:
    """Recompute what is derived from the raw lines of the given quarters (all quarters if None).

    That is the partner x quarter table and the trailing-year table, inside the caller's transaction.
    """
    last_before = cur.execute("SELECT max(q_index) FROM partner_quarter").fetchone()[0]
    _refresh_partner_quarter(cur, quarters)
    _refresh_partner_year(cur, quarters, last_before)


def _refresh_partner_quarter(cur: duckdb.DuckDBPyConnection, quarters: Sequence[str] | None) -> None:
    if quarters is None:
        cur.execute("DELETE FROM partner_quarter")
        where, params = ACTIVE_LINES, []
    else:
        cur.execute("DELETE FROM partner_quarter WHERE list_contains(?, quarter)", [list(quarters)])
        where, params = f"{ACTIVE_LINES} AND list_contains(?, quarter)", [list(quarters)]
    # "Latest" attributes are those of the last line in the quarter: by date (undated lines last), then
    # load, then row. The three are packed into one number because arg_max compares a number far
    # quicker than a (date, load, row) struct; row numbers stay below 2^32, dates below 2^31 days.
    # `where` is one of the two constant strings above; the quarters travel as a parameter.
    cur.execute(
        f"""
        INSERT INTO partner_quarter BY NAME
        SELECT
            partner_id,
            quarter,
            CAST(substr(quarter, 1, 4) AS INTEGER) * 4 + CAST(substr(quarter, 6, 1) AS INTEGER) - 1 AS q_index,
            CAST(sum(revenue) AS DOUBLE) AS revenue,
            count(*) AS order_lines,
            -- A deal is an order: one customer on one day. Undated (quarterly) rows count one each.
            count(DISTINCT (customer_id, order_date)) FILTER (WHERE order_date IS NOT NULL)
                + count(*) FILTER (WHERE order_date IS NULL) AS deals,
            count(DISTINCT customer_id) AS customers,
            count(DISTINCT product) AS products,
            coalesce(CAST(sum(revenue) FILTER (WHERE customer_segment = 'SMB') AS DOUBLE), 0) AS revenue_smb,
            coalesce(CAST(sum(revenue) FILTER (WHERE customer_segment = 'Mid-market') AS DOUBLE), 0)
                AS revenue_mid_market,
            coalesce(CAST(sum(revenue) FILTER (WHERE customer_segment = 'Enterprise') AS DOUBLE), 0)
                AS revenue_enterprise,
            arg_max(partner_name, latest) FILTER (WHERE partner_name IS NOT NULL) AS partner_name,
            arg_max(tier, latest) FILTER (WHERE tier IS NOT NULL) AS tier,
            arg_max(region, latest) FILTER (WHERE region IS NOT NULL) AS region,
            arg_max(country, latest) FILTER (WHERE country IS NOT NULL) AS country,
            arg_max(distributor, latest) FILTER (WHERE distributor IS NOT NULL) AS distributor,
            -- Order days for the BG/NBD model: a day with a positive line is a purchase (a credit is not).
            CAST(count(DISTINCT day) FILTER (WHERE revenue > 0) AS DOUBLE) AS order_days,
            CAST(min(day) FILTER (WHERE revenue > 0) AS DOUBLE) AS first_day,
            CAST(max(day) FILTER (WHERE revenue > 0) AS DOUBLE) AS last_day
        FROM (
            SELECT *,
                coalesce(date_diff('day', DATE '1970-01-01', order_date), 2147483647)::HUGEINT * 18446744073709551616
                    + load_id::HUGEINT * 4294967296 + row_no AS latest,
                -- An extract by quarter has no dates: its quarter counts as one day in the middle month.
                date_diff('day', DATE '1970-01-01', coalesce(order_date, make_date(
                    CAST(substr(quarter, 1, 4) AS INTEGER), CAST(substr(quarter, 6, 1) AS INTEGER) * 3 - 1, 15))) AS day
            FROM order_lines
            WHERE {where}
        )
        GROUP BY partner_id, quarter
        """,
        params,
    )


def _refresh_partner_year(cur: duckdb.DuckDBPyConnection, quarters: Sequence[str] | None,
                          last_before: int | None) -> None:
    """Recompute partner_year for every window that holds one of the given quarters (all if None).

    Distinct customers and products over a trailing year cannot be added up from quarterly counts, so
    they are counted from the lines once here rather than by every reader (the model's panel read ten
    million lines and a gigabyte for them at ten times the demo). A quarter's lines count in the windows
    ending at it and the YEAR - 1 quarters after it. Windows are kept for quarters up to the latest
    stored one; `last_before` is that quarter before this change, so windows ending in a gap the new
    latest quarter leaves (no lines of its own, but lines in the quarters before) are made too.
    """
    first, last = cur.execute("SELECT min(q_index), max(q_index) FROM partner_quarter").fetchone()
    if quarters is None or last_before is None or last is None:
        cur.execute("DELETE FROM partner_year")
        ends = list(range(first, last + 1)) if last is not None else []
    else:
        ends = {quarter_index(q) + k for q in quarters for k in range(YEAR)}
        ends |= set(range(last_before + 1, last + 1))
        ends = sorted(ends)
        # Windows after the latest stored quarter go too (a rollback of the latest quarter after a gap).
        cur.execute("DELETE FROM partner_year WHERE list_contains(?, q_index) OR q_index > ?", [ends, last])
    # One window at a time keeps DuckDB's memory to one year of lines; labels sort like quarters, so
    # BETWEEN lets DuckDB skip row groups of other quarters (lines are stored load by load).
    for end in ends:
        if end > last:
            continue
        cur.execute(
            f"""
            INSERT INTO partner_year BY NAME
            SELECT partner_id, ? AS quarter, ? AS q_index,
                   count(DISTINCT customer_id) AS customers, count(DISTINCT product) AS products
            FROM order_lines
            WHERE {ACTIVE_LINES} AND quarter BETWEEN ? AND ?
            GROUP BY partner_id
            """,
            [quarter_label(end), end, quarter_label(end - YEAR + 1), quarter_label(end)],
        )
