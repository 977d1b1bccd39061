"""The database for this page run and the cached results of engine functions.

This is the one place where the UI caches. Query results are cached once per process, shared by its
sessions (each run gets its own copy-on-write view, see _own_view), and keyed by the database's data
version, which every load and rollback bumps, so a new upload shows on the next rerun without a restart.

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
`python -m analytics restore` is simply taken. Cached results are keyed by the file as well as its
data version, so a restored file never shows what was cached of the one it replaced.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from analytics.formatting import markdown_literal
from analytics.ingest.extract import prepare_extract
from analytics.ingest.report import PreparedExtract
from analytics.store.store import (
    Store,
    StoreError,
    StoreFault,
    default_db_path,
    file_identity,
    guard_file_identity,
    store_fault,
    writer_waiting,
)

__all__ = ["FIGURE_LOCK", "ON_NEW_VERSIONS", "LINGER", "APP_WAIT", "database", "get_store", "cached", "derived",
           "cached_figure", "clear_caches", "prepared_upload"]

P = ParamSpec("P")
T = TypeVar("T")

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


def _own_view(result: T) -> T:
    """Give a run its own view of a shared cached result: frames without copying their data.

    Results are cached once per process (cache_resource) and shared by every session, not copied
    into each run as st.cache_data does (it unpickles a copy per call: ten sessions at ten times the
    demo held ten copies of every frame, and the process grew past 3 GB). Under pandas' copy-on-write
    a shallow copy shares the data until either side writes, so a page that adds or changes a column
    changes its own view only. Containers get views of their items; arrays come read-only.
    """
    if isinstance(result, (pd.DataFrame, pd.Series)):
        return result.copy(deep=False)  # type: ignore[return-value]
    if isinstance(result, np.ndarray):
        view = result.view()
        view.flags.writeable = False
        return view  # type: ignore[return-value]
    if isinstance(result, dict):
        return {k: _own_view(v) for k, v in result.items()}  # type: ignore[return-value]
    if isinstance(result, (list, tuple)) and not hasattr(result, "_fields"):
        return type(result)(_own_view(v) for v in result)  # type: ignore[return-value]
    return result


# 64 results: one result at ten times the demo is 7-13 MB, and a long-running app would otherwise keep
# hundreds of them.
@st.cache_resource(show_spinner=False, max_entries=64)
def _cached_result(module: str, name: str, db_path: str, version: tuple, args: tuple, kwargs: tuple) -> Any:
    # The function comes as its module and name: plain values that Streamlit hashes into the key.
    function = getattr(importlib.import_module(module), name)
    return function(get_store(), *args, **dict(kwargs))


def _run_versions(store: Store) -> tuple[int, int, tuple[int, int] | None]:
    """Give the data and scores versions and the file, read once per page run (a run's figures all come from one).

    The file (device, inode) is part of the key: a restored or replaced file may carry a version the app
    has already cached of another file.

    A page calls cached() five to fifteen times a run; each read was a query. A run that writes (a load,
    a rollback) reruns the page afterwards, so the next run reads the new version.
    """
    held = getattr(_run, "versions", None)
    if held is None or held[0] is not store or not getattr(_run, "active", False):
        held = _run.versions = (store, (*store.versions(), store.identity))
        _forget_older_versions(str(store.path), held[1])
    return held[1]


_latest_versions: dict[str, tuple] = {}
_versions_lock = threading.Lock()
# Called with no arguments when a database's versions change (views/style.py forgets its figure copies).
ON_NEW_VERSIONS: list[Callable[[], None]] = []


def _forget_older_versions(path: str, versions: tuple) -> None:
    """Drop every cached result, derivation and figure once a database's data or scores version moves on.

    Their keys hold the versions, so the old entries would never be asked for again, yet they stayed
    until pushed out: after a load at ten times the demo the app held both generations (a process
    grew past 3.5 GB under load). A run still on the old version recomputes what it asks for next.
    """
    with _versions_lock:
        before = _latest_versions.get(path)
        # Versions count up within one file; another file (a restore) starts a new generation whatever its number.
        if before is not None and versions[2] == before[2] and versions[:2] <= before[:2]:
            return
        _latest_versions[path] = versions
    if before is not None:
        _cached_result.clear()
        _derived_result.clear()
        _cached_figure.clear()
        for forget in ON_NEW_VERSIONS:
            forget()


def _made_in_run() -> dict[int, tuple[Any, tuple]]:
    """Give this page run's results of cached() by id: the result (held, so the id stays its own) and its key."""
    store = getattr(_run, "store", None)
    held = getattr(_run, "made", None)
    if held is None or held[0] is not store:
        held = _run.made = (store, {})
    return held[1]


def cached(function: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Give function(store, *args, **kwargs), cached until the data or the stored scores change.

    The result has the function's own return type. The cache refreshes at once after a load, a
    rollback or new scores, because their data and scores versions are part of the key.
    """
    store = get_store()
    key = (function.__module__, function.__name__, str(store.path), _run_versions(store), args,
           tuple(sorted(kwargs.items())))
    result = _own_view(_cached_result(*key))
    if getattr(_run, "active", False):  # derived() and cached_figure() key on this, not on hashing the frame
        _made_in_run()[id(result)] = (result, key)
    return result


def _made_key(function: Callable, args: tuple, kwargs: dict) -> tuple:
    """Give the cache key of function(*args, **kwargs), arguments from cached() or derived() keyed by their making.

    Such an argument (a frame) is replaced by its own call's key, so it is never hashed; other
    arguments (a quarter, a frame the page made itself) are hashed as they are.
    """
    store = get_store()
    made = _made_in_run()

    def key(value: Any) -> Any:
        entry = made.get(id(value))
        return ("made", entry[1]) if entry is not None and entry[0] is value else value

    return (function.__module__, function.__name__, str(store.path), _run_versions(store),
            tuple(key(a) for a in args), tuple(sorted((k, key(v)) for k, v in kwargs.items())))


@st.cache_resource(show_spinner=False, max_entries=64)
def _derived_result(module: str, name: str, db_path: str, version: tuple, key_args: tuple, key_kwargs: tuple,
                    _args: tuple, _kwargs: dict) -> Any:
    # Keyed by key_args (how each argument was made); the arguments themselves (_args) are not hashed.
    # A view is kept, not the result itself: a function may hand back a run's own argument, which that
    # run could still change.
    return _own_view(getattr(importlib.import_module(module), name)(*_args, **_kwargs))


def derived(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Give function(*args, **kwargs) for a pure function of results of cached(), cached as they are.

    For what a page computes from a cached frame on every run (ranking, narrowing, shares): the key
    is how the arguments were made, so neither the work nor hashing the frame is repeated. Pass
    frames as cached() or derived() gave them, unchanged: a frame changed in place keeps its key.
    """
    key = _made_key(function, args, kwargs)
    result = _own_view(_derived_result(*key, args, kwargs))
    if getattr(_run, "active", False):
        _made_in_run()[id(result)] = (result, key)
    return result


# One figure made at a time in this process (views/style.py copies them under it too): plotly makes its
# property validators lazily, and sessions building figures at once after a load raised plotly errors.
FIGURE_LOCK = threading.RLock()

# Figures are shared, not copied: st.plotly_chart only reads them, and a copy would cost what the cache saves.
# 64, as for results: a scatter of every partner at ten times the demo holds tens of thousands of labels.
@st.cache_resource(show_spinner=False, max_entries=64)
def _cached_figure(module: str, name: str, db_path: str, version: tuple, key_args: tuple, key_kwargs: tuple,
                   _args: tuple, _kwargs: dict) -> Any:
    with FIGURE_LOCK:
        return getattr(importlib.import_module(module), name)(*_args, **_kwargs)


def cached_figure(chart: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Give chart(*args, **kwargs), built once per data version and arguments, the same figure after that.

    Building a plotly figure (validating every property) took half of a warm page run. Arguments
    are keyed as derived() keys them. The figure is shared between sessions: pass it to
    st.plotly_chart and never change it.
    """
    return _cached_figure(*_made_key(chart, args, kwargs), args, kwargs)


def clear_caches() -> None:
    """Forget cached results (after a write made in this session, the data version already does it)."""
    _cached_result.clear()
    _derived_result.clear()
    _cached_figure.clear()
    _run.versions = None


# An upload read and checked once, not on every rerun of the Upload page. A resource, not data: the
# page only reads it, and a copy of a file's rows on every rerun would cost what the cache saves.
# Keyed by the upload's id and the mapping, so the file's bytes are not hashed on every rerun.
@st.cache_resource(show_spinner=False, max_entries=8)
def _prepared(file_id: str, _data: bytes, name: str, overrides: str, currency: str | None) -> PreparedExtract:
    return prepare_extract(_data, file_name=name, column_overrides=json.loads(overrides), currency=currency)


def prepared_upload(file_id: str, data: bytes, name: str, overrides: dict[str, str] | None,
                    currency: str | None = None) -> PreparedExtract:
    """Give an uploaded file read and validated with the column overrides and the currency chosen for amounts that
    name none, read once per upload, mapping and currency."""
    return _prepared(file_id, data, name, json.dumps(overrides, sort_keys=True), currency)
