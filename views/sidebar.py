"""The shared sidebar: which data the pages show, and the filters (kept across pages and in the URL)."""

from __future__ import annotations

import streamlit as st

from analytics.analyses.queries import FilterOptions, filter_options, last_load, latest_quarter
from analytics.filters import SEGMENT_REVENUE_COLUMNS, ChannelFilter
from analytics.formatting import markdown_literal
from views.db import cached

__all__ = ["data_sidebar", "sidebar_filters", "current_filter", "filter_with_data"]


def data_sidebar() -> None:
    """Show which data the pages are showing: the latest quarter and the last load."""
    quarter = cached(latest_quarter)
    with st.sidebar:
        if quarter is None:
            st.info("No data loaded yet.")
            return
        newest = cached(last_load)
        st.caption(f"Data to **{quarter}**")
        if newest:
            st.caption(
                f"Last load #{newest['load_id']}: {markdown_literal(newest['file_name'])} "
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


def _restore_filters(options: FilterOptions) -> None:
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
    options = cached(filter_options)
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


def filter_with_data() -> ChannelFilter:
    """Give the sidebar's selection; on an empty database say so and end the page run there."""
    flt = current_filter()
    if not flt.quarter:
        st.info("No data loaded yet. Load an extract on the Upload page.")
        st.stop()
    return flt
