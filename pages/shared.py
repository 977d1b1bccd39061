"""What every page shares: the open database, cached query results and the data-freshness sidebar.

This is the one place where the UI caches. The database is a cache_resource per file; query results
are cache_data keyed by the database's data version, which every load and rollback bumps, so a new
upload shows on the next rerun without a restart.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import streamlit as st

from analytics.queries import last_load, latest_quarter
from analytics.store import Store, default_db_path


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    return Store(path)


def get_store() -> Store:
    """Give the open database named by $CHANNEL_DB (or the default file); opened once per process."""
    return _open_store(str(default_db_path()))


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(module: str, name: str, db_path: str, data_version: int, args: tuple, kwargs: tuple) -> Any:
    function = getattr(importlib.import_module(module), name)
    return function(_open_store(db_path), *args, **dict(kwargs))


def load(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Give function(store, *args, **kwargs), cached until the data change (a load or a rollback)."""
    store = get_store()
    return _cached(function.__module__, function.__name__, str(store.path), store.data_version(), args,
                   tuple(sorted(kwargs.items())))


def clear_caches() -> None:
    """Forget cached results (after a write made in this session, the data version already does it)."""
    _cached.clear()


def data_sidebar() -> None:
    """Show which data the pages are showing: quarters covered and the last load."""
    quarter = load(latest_quarter)
    with st.sidebar:
        st.caption("Data")
        if quarter is None:
            st.info("No data loaded yet.")
            return
        newest = load(last_load)
        st.markdown(f"Latest quarter: **{quarter}**")
        if newest:
            st.caption(
                f"Last load #{newest['load_id']}: {newest['file_name']} "
                f"({newest['rows_added']:,} rows) on {newest['loaded_at']:%Y-%m-%d %H:%M}"
            )
