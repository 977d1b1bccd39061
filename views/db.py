"""The database for this page run: opened at its first use in the run, let go of soon after.

The database file is opened per page run, not once per process. DuckDB lets one process at a time
open a file, so an app that kept it open for its whole life would shut out the command line (a
nightly `python -m analytics ingest`) for as long as it runs. Instead every run opens the file
(a connection to the already open database when another run or the keep-alive holds it: well under
a millisecond), and the file is let go of LINGER seconds after the last run, or at once when the
command line leaves its note beside the file (analytics.store.store.writer_waiting). While the command
line holds the file, a run waits for it (up to APP_WAIT seconds) and says why. Sessions of this
process share one DuckDB database, so a load made in one session is committed or invisible to the
others, never half there (DuckDB's transactions).

When the app runs as several processes (`python -m analytics serve --processes N` sets
$CHANNEL_PROCESSES), every store here is read-only, so the processes read the file at once, and a write
from a page (an upload, a rollback, a saved review, anything in Store.transaction()) takes the file in
turn inside the Store (Store.writing()): it leaves the same note as the command line, the keep-alive and
the page runs of every process let go and wait, and the write is done read-write; then all read again.
That is why new writes need nothing here. The score refresher does not run in those processes
(views/scores.py); the serve process keeps the scores fresh for all of them.

The app notices when its database file is deleted or replaced while it runs (Store, guard_file_identity):
a file deleted under it used to be served on, and an upload written into it was lost. A deleted file
stops the pages with a message and nothing is written (no new empty file is made); a file replaced by
someone else is shown, with a warning, and writes are refused until a restart; a file put there by
`python -m analytics restore` is simply taken. The cached results (views/cache.py) are keyed by the
file as well as its data version, so a restored file never shows what was cached of the one it replaced.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import streamlit as st

from analytics.formatting import markdown_literal
from analytics.store.faults import StoreError, StoreFault, file_identity, guard_file_identity, store_fault
from analytics.store.store import Store, default_db_path
from analytics.store.turns import writer_waiting

__all__ = ["LINGER", "APP_WAIT", "database", "get_store", "in_page_run"]

LINGER = 10.0     # seconds the file stays open after the last page run (unless the command line waits)
APP_WAIT = 120.0  # seconds a page run waits for the command line to finish a load

_run = threading.local()  # the store of the page run on this thread (Streamlit runs a session's script in a thread)


class _KeepAlive:
    """Hold the database open for LINGER seconds after the last run, so runs in quick succession do not reopen it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._last_use = 0.0

    def touch(self, store: Store) -> None:
        with self._lock:
            self._last_use = time.monotonic()
            if self._store is not None and self._store.path == store.path:
                return
            old, self._store = self._store, None
            if old is not None:
                old.close()
            try:
                self._store = Store(store.path)  # a second connection to the open database: instant
            except StoreError:
                return
            threading.Thread(target=self._watch, args=(self._store,), daemon=True, name="db-keepalive").start()

    def _watch(self, held: Store) -> None:
        while True:
            time.sleep(0.2)
            with self._lock:
                if self._store is not held:
                    return
                # A file deleted or replaced meanwhile: let go, or every run would go on reading the old one.
                moved = file_identity(held.path) != held.identity
                if moved or time.monotonic() - self._last_use > LINGER or writer_waiting(held.path):
                    self._store = None
                    held.close()
                    return


_keep_alive = _KeepAlive()


@contextlib.contextmanager
def database() -> Iterator[None]:
    """Let this page run use the database (opened at its first use) and let go of it when the run ends."""
    _run.active, _run.store = True, None
    try:
        yield
    except Exception as exc:
        # Garbled blocks beyond those opening the file reads show only when a page's query reaches them.
        fault = store_fault(default_db_path(), exc)
        if fault is None:
            raise
        _stop_for_fault(fault)
    finally:
        store, _run.store, _run.active = _run.store, None, False
        if store is not None:
            _keep_alive.touch(store)
            store.close()


def _open_for_run() -> Store:
    """Open the database, waiting (and saying why on the page) while the command line holds it."""
    notice = st.empty()
    try:
        store = Store(default_db_path(), wait=APP_WAIT,
                      on_wait=lambda why: notice.info(why, icon=":material/hourglass_top:"))
    except StoreFault as exc:
        notice.empty()
        _stop_for_fault(exc)
    except StoreError as exc:
        notice.empty()
        st.warning(f"{exc} The page shows as soon as it is free: reload it in a minute.")
        st.stop()
    notice.empty()
    guard_file_identity(store.path)  # from its first opening on, this process notices the file going or changing
    if store.refuse_writes:
        st.warning(markdown_literal(store.refuse_writes), icon=":material/database:")
    return store


def _stop_for_fault(fault: StoreFault) -> None:
    """Say on the page what is wrong with the database file and what to do, and end the run there."""
    st.error(markdown_literal(str(fault)), icon=":material/database:")
    st.stop()


def get_store() -> Store:
    """Give this page run's database ($CHANNEL_DB or the default file), opened at the first use in the run.

    app.py wraps every run in database(), which lets go of the file at the end of the run. Outside
    one (a script run on its own) the store stays with the thread until the thread ends.
    """
    store = getattr(_run, "store", None)
    if store is None or store.path != default_db_path():
        store = _open_for_run()
        _run.store = store
    return store


def in_page_run() -> bool:
    """Tell whether this thread is inside a page run (app.py's database() block)."""
    return bool(getattr(_run, "active", False))
