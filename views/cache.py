"""The cached results of engine calls: one shared copy per process, a view per run, refreshed by a new load.

This is the one place where the UI caches. Three calls, each an explicit typed wrapper:
- cached(function, *args): function(store, *args), an engine query on this run's database;
- derived(function, *args): a pure function of cached frames (ranking, narrowing, shares);
- cached_figure(chart, *args): a plotly figure, built once and shared.
Each result is made once per process and shared by every session (st.cache_resource), not copied into
each run as st.cache_data does. A run gets its own copy-on-write view of it (own_view), so a page that
changes a frame changes its copy only. Keys hold the database file and its data and scores versions,
read once per run: a load, a rollback or new scores are seen on the next run, and when the versions
move on, every older result is dropped at once. The function itself is passed to the cache unhashed;
the key names it by module and qualified name, and holds how its frame arguments were made (their
own keys), so a frame is never hashed on a run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from analytics.ingest.extract import PreparedExtract, prepare_extract
from analytics.store.store import Store
from views.db import get_store, in_page_run

__all__ = ["FIGURE_LOCK", "ON_NEW_VERSIONS", "cached", "derived", "cached_figure", "own_view", "prepared_upload"]

P = ParamSpec("P")
T = TypeVar("T")
Key = tuple[Hashable, ...]  # (function, file, versions, arguments): what a result is cached under

# One figure made at a time in this process (views/style.py copies them under it too): plotly makes its
# property validators lazily, and sessions building figures at once after a load raised plotly errors.
FIGURE_LOCK = threading.RLock()
# Called with no arguments when a database's versions change (views/style.py forgets its figure copies).
ON_NEW_VERSIONS: list[Callable[[], None]] = []

_this_run = threading.local()  # per thread: (the run's store, its versions) and (the run's store, what it made)
_latest_versions: dict[str, tuple] = {}
_versions_lock = threading.Lock()


def own_view(result: T) -> T:
    """Give a run its own view of a shared cached result: frames without copying their data.

    Ten sessions at ten times the demo held ten copies of every frame under st.cache_data (past 3 GB).
    Under pandas' copy-on-write a shallow copy shares the data until either side writes, so a page
    that adds or changes a column changes its own view only. Containers get views of their items;
    arrays come read-only.
    """
    if isinstance(result, (pd.DataFrame, pd.Series)):
        return result.copy(deep=False)  # type: ignore[return-value]
    if isinstance(result, np.ndarray):
        view = result.view()
        view.flags.writeable = False
        return view  # type: ignore[return-value]
    if isinstance(result, dict):
        return {k: own_view(v) for k, v in result.items()}  # type: ignore[return-value]
    if isinstance(result, (list, tuple)) and not hasattr(result, "_fields"):
        return type(result)(own_view(v) for v in result)  # type: ignore[return-value]
    return result


# The shared copies, 64 of each: one result at ten times the demo is 7-13 MB, and a long-running app
# would otherwise keep hundreds. `_make` (leading underscore) is not hashed: `key` says what it makes.
@st.cache_resource(show_spinner=False, max_entries=64)
def _shared_result(key: Key, _make: Callable[[], object]) -> object:
    return _make()


@st.cache_resource(show_spinner=False, max_entries=64)
def _shared_derivation(key: Key, _make: Callable[[], object]) -> object:
    # A view is kept, not the result itself: a function may hand back a run's own argument, which that
    # run could still change.
    return own_view(_make())


# Figures are shared, not copied: st.plotly_chart only reads them, and a copy would cost what the cache saves.
@st.cache_resource(show_spinner=False, max_entries=64)
def _shared_figure(key: Key, _make: Callable[[], object]) -> object:
    with FIGURE_LOCK:
        return _make()


def _versions(store: Store) -> tuple[int, int, tuple[int, int] | None]:
    """Give the data and scores versions and the file (device, inode), read once per page run.

    A page calls cached() five to fifteen times a run; each read was a query. A run that writes reruns
    the page afterwards, so the next run reads the new versions. The file is in the key: a restored
    file may carry a version the app has already cached of another file.
    """
    held = getattr(_this_run, "versions", None)
    if held is None or held[0] is not store or not in_page_run():
        held = _this_run.versions = (store, (*store.versions(), store.identity))
        _forget_older_versions(str(store.path), held[1])
    return held[1]


def _forget_older_versions(path: str, versions: tuple) -> None:
    """Drop every shared result, derivation and figure once a database's data or scores version moves on.

    Their keys hold the versions, so the old entries would never be asked for again, yet they stayed
    until pushed out: after a load at ten times the demo the app held both generations (past 3.5 GB).
    """
    with _versions_lock:
        before = _latest_versions.get(path)
        # Versions count up within one file; another file (a restore) starts a new generation whatever its number.
        if before is not None and versions[2] == before[2] and versions[:2] <= before[:2]:
            return
        _latest_versions[path] = versions
    if before is not None:
        _shared_result.clear()
        _shared_derivation.clear()
        _shared_figure.clear()
        for forget in ON_NEW_VERSIONS:
            forget()


def _made_in_run(store: Store) -> dict[int, tuple[object, Key]]:
    """Give this run's results of cached() and derived() by id: the result (held, so its id stays its own), its key."""
    held = getattr(_this_run, "made", None)
    if held is None or held[0] is not store:
        held = _this_run.made = (store, {})
    return held[1]


def _key(store: Store, function: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Key:
    """Give the key of function(*args, **kwargs) on `store`: a frame this run made is keyed by its own key."""
    if "<" in function.__qualname__:  # a lambda or a nested function: its name does not say which one
        raise ValueError(f"{function.__qualname__} cannot be cached: pass a function defined at a module's top level")
    made = _made_in_run(store)

    def made_as(value: Any) -> Any:
        entry = made.get(id(value))
        return ("made", entry[1]) if entry is not None and entry[0] is value else value

    return (function.__module__, function.__qualname__, str(store.path), _versions(store),
            tuple(made_as(a) for a in args), tuple(sorted((k, made_as(v)) for k, v in kwargs.items())))


def _remember(store: Store, result: T, key: Key) -> T:
    if in_page_run():  # derived() and cached_figure() key on this, not on hashing the frame
        _made_in_run(store)[id(result)] = (result, key)
    return result


def cached(function: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Give function(store, *args, **kwargs) on this run's database, cached until the data or the scores change."""
    store = get_store()
    key = _key(store, function, args, kwargs)
    result = _shared_result(key, lambda: function(store, *args, **kwargs))
    return _remember(store, own_view(result), key)  # type: ignore[arg-type]


def derived(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Give function(*args, **kwargs) for a pure function of results of cached(), cached as they are.

    The key is how the arguments were made, so neither the work nor hashing the frame is repeated. Pass
    frames as cached() or derived() gave them, unchanged: a frame changed in place keeps its key.
    """
    store = get_store()
    key = _key(store, function, args, kwargs)
    result = _shared_derivation(key, lambda: function(*args, **kwargs))
    return _remember(store, own_view(result), key)  # type: ignore[arg-type]


def cached_figure(chart: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Give chart(*args, **kwargs), built once per data version and arguments (keyed as derived() keys them).

    Building a plotly figure took half of a warm page run. The figure is shared between sessions: pass it
    to st.plotly_chart and never change it.
    """
    key = _key(get_store(), chart, args, kwargs)
    return _shared_figure(key, lambda: chart(*args, **kwargs))  # type: ignore[return-value]


# An upload read and checked once, not on every rerun of the Upload page: a resource, not data (the page
# only reads it). Keyed by the upload's id and the mapping, so the file's bytes are not hashed on every rerun.
@st.cache_resource(show_spinner=False, max_entries=8)
def _prepared(file_id: str, _data: bytes, name: str, overrides: str, currency: str | None) -> PreparedExtract:
    return prepare_extract(_data, file_name=name, column_overrides=json.loads(overrides), currency=currency)


def prepared_upload(file_id: str, data: bytes, name: str, overrides: dict[str, str] | None,
                    currency: str | None = None) -> PreparedExtract:
    """Give an uploaded file read and validated with the column overrides and the currency for amounts naming none."""
    return _prepared(file_id, data, name, json.dumps(overrides, sort_keys=True), currency)
