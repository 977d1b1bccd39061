"""What every page shares: the open database, cached query results and the data-freshness sidebar.

This is the one place where the UI caches. The database is a cache_resource per file; query results
are cache_data keyed by the database's data version, which every load and rollback bumps, so a new
upload shows on the next rerun without a restart.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from analytics.export import to_safe_csv
from analytics.filters import SEGMENT_REVENUE_COLUMNS, ChannelFilter
from analytics.queries import filter_options, last_load, latest_quarter
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
    """Show which data the pages are showing: the latest quarter and the last load."""
    quarter = load(latest_quarter)
    with st.sidebar:
        if quarter is None:
            st.info("No data loaded yet.")
            return
        newest = load(last_load)
        st.caption(f"Data to **{quarter}**")
        if newest:
            st.caption(
                f"Last load #{newest['load_id']}: {newest['file_name']} "
                f"({newest['rows_added']:,} rows) on {newest['loaded_at']:%Y-%m-%d %H:%M}"
            )


# Widget key -> URL parameter. Values in the URL let a person share exactly the view they see.
_FILTER_PARAMS = {
    "f_quarter": "quarter",
    "f_tiers": "tier",
    "f_regions": "region",
    "f_distributors": "distributor",
    "f_segments": "segment",
}


def _keep(key: str) -> None:
    st.session_state[f"_kept{key}"] = st.session_state[key]


def _restore_filters(options) -> None:
    """Set the filter widgets from the choice kept so far or, on a session's first run, from the URL.

    A widget's value does not follow a person to another page (each page makes its own widget), so
    every change is also kept under a key of our own (on_change) and put back here before the
    widgets are drawn. A shared link carries the choice in its URL.
    """
    if not st.session_state.get("_filters_seeded"):
        allowed = {
            "f_quarter": options.quarters,
            "f_tiers": options.tiers,
            "f_regions": options.regions,
            "f_distributors": options.distributors,
            "f_segments": tuple(SEGMENT_REVENUE_COLUMNS),
        }
        for key, param in _FILTER_PARAMS.items():
            values = [v for v in st.query_params.get_all(param) if v in allowed[key]]
            if values:
                st.session_state[f"_kept{key}"] = values[0] if key == "f_quarter" else values
        st.session_state["_filters_seeded"] = True
    if st.session_state.get("_keptf_quarter") is None:
        # Nobody chose a quarter: follow the latest one, also after an upload adds a newer quarter.
        st.session_state["f_quarter"] = options.quarters[-1]
    for key in _FILTER_PARAMS:
        kept = st.session_state.get(f"_kept{key}")
        if kept is not None and (key != "f_quarter" or kept in options.quarters):
            st.session_state[key] = kept


def sidebar_filters() -> ChannelFilter:
    """Show the filters in the sidebar, keep them in the URL, and give the selection they make."""
    options = load(filter_options)
    if not options.quarters:
        st.session_state["_channel_filter"] = ChannelFilter()
        return ChannelFilter()
    _restore_filters(options)
    with st.sidebar:
        st.subheader("Filters")
        quarter = st.selectbox(
            "As of quarter", options.quarters[::-1], key="f_quarter", on_change=_keep, args=("f_quarter",),
            help="The period's last quarter: figures cover this quarter or the four quarters to it.",
        )
        tiers = st.multiselect(
            "Tier", options.tiers, key="f_tiers", placeholder="All tiers", on_change=_keep, args=("f_tiers",)
        )
        regions = st.multiselect(
            "Region", options.regions, key="f_regions", placeholder="All regions", on_change=_keep, args=("f_regions",)
        )
        distributors = st.multiselect(
            "Distributor", options.distributors, key="f_distributors", placeholder="All distributors",
            on_change=_keep, args=("f_distributors",),
        )
        segments = st.multiselect(
            "Customer segment", tuple(SEGMENT_REVENUE_COLUMNS), key="f_segments", placeholder="All segments",
            help="Counts only revenue from customers in these segments.", on_change=_keep, args=("f_segments",),
        )
    flt = ChannelFilter(quarter, tuple(tiers), tuple(regions), tuple(distributors), tuple(segments))
    st.session_state["_channel_filter"] = flt
    params = {"quarter": quarter, "tier": tiers, "region": regions, "distributor": distributors, "segment": segments}
    partner = st.query_params.get("partner_id")  # the Partner page's own parameter survives
    st.query_params.from_dict({k: v for k, v in {**params, "partner_id": partner}.items() if v})
    return flt


def current_filter() -> ChannelFilter:
    """Give the sidebar's selection; app.py draws the sidebar before it runs the page."""
    return st.session_state.get("_channel_filter", ChannelFilter())


def download_table(frame: pd.DataFrame, name: str, key: str) -> None:
    """Offer a table as a CSV download that is safe to open in a spreadsheet."""
    st.download_button(
        f"Download {name} (CSV)", to_safe_csv(frame), file_name=f"{name.replace(' ', '_')}.csv", mime="text/csv",
        key=key, icon=":material/download:",
    )


def partner_links(frame: pd.DataFrame, column: str = "partner_id") -> pd.DataFrame:
    """Give the frame with a `partner` column of links to the Partner page (shown by LinkColumn)."""
    linked = frame.copy()
    linked.insert(0, "partner", "partner?partner_id=" + linked[column].astype(str))
    return linked


PARTNER_LINK = st.column_config.LinkColumn("Partner", display_text=r"partner_id=(.*)", help="Open the partner page")


def model_ready(as_of: str, horizon: int) -> bool:
    """Make sure the churn model for this data, quarter and horizon is trained, showing progress; False if it cannot be.

    The engine keeps the fitted model until the data change, so this trains once per upload or
    rollback; when the history is too short it says how much is needed and gives False.
    """
    from analytics.model import NotEnoughHistory, fitted_for, is_fitted

    store = get_store()
    if not is_fitted(store, as_of, horizon):
        bar = st.progress(0.0, text="Training the churn and turnaround models on this data…")
        try:
            fitted_for(store, as_of, horizon, progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m))
        except NotEnoughHistory as exc:
            bar.empty()
            st.warning(str(exc))
            return False
        bar.empty()
    return True


def current_user() -> str:
    """Give who is using the app, for the record of who decided: the signed-in e-mail, or the local user."""
    import getpass

    try:
        if st.user.is_logged_in:
            return str(st.user.email)
    except (AttributeError, KeyError):  # no sign-in configured: local single-user mode
        pass
    return f"local user ({getpass.getuser()})"
