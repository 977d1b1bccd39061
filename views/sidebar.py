"""The shared sidebar: which data the pages show, and the filters (kept across pages; the URL in views/filter_links)."""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from analytics.analyses.queries import FilterOptions, filter_options, last_load
from analytics.filters import SEGMENT_REVENUE_COLUMNS, ChannelFilter
from analytics.formatting import markdown_literal
from analytics.store.quarters import latest_quarter
from views.cache import cached
from views.filter_links import FILTER_PARAMS, arrived_by_link, seed_from_url, write_filters_to_url

__all__ = [
    "data_sidebar", "sidebar_filters", "current_filter", "filter_with_data", "remember_page", "current_page",
]


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


def _keep(key: str) -> None:
    st.session_state[f"_kept{key}"] = st.session_state[key]
    st.session_state.pop("_link_notes", None)  # a choice of one's own answers what the link asked


def remember_page(page: StreamlitPage) -> None:
    """Keep which page this run shows, so that links from it (a partner's) can lead back to it."""
    before = st.session_state.get("_page")
    if before is not None and before.url_path != page.url_path:
        st.session_state.pop("_link_notes", None)  # what a link asked for is said on the page it opened
    st.session_state["_page"] = page
    if page.url_path != "partner":
        st.session_state.pop("_partner_from", None)  # a Back link is only for the partner just opened


def current_page() -> StreamlitPage | None:
    """Give the page this run shows (app.py tells it before the page runs)."""
    return st.session_state.get("_page")


def _restore_filters(options: FilterOptions) -> None:
    """Set the filter widgets from the choice kept so far or, when the run came by a link, from the URL.

    A widget's value does not follow a person to another page (each page makes its own widget), so
    every change is also kept under a key of our own (on_change) and put back here before the
    widgets are drawn. A shared link, a partner's Back and a saved view carry the choice in the URL.
    """
    if arrived_by_link():
        seed_from_url(options)
    kept_quarter = st.session_state.get("_keptf_quarter")
    if kept_quarter is not None and kept_quarter not in options.quarters:
        # Rolled back since it was chosen: say so rather than show another quarter silently.
        st.session_state.setdefault("_link_notes", []).append(
            f"The quarter chosen, {kept_quarter}, is no longer loaded; showing {options.quarters[-1]}.")
        st.session_state["_keptf_quarter"] = kept_quarter = None
    if kept_quarter is None:
        # Nobody chose a quarter: follow the latest one, also after an upload adds a newer quarter.
        st.session_state["f_quarter"] = options.quarters[-1]
    for key in FILTER_PARAMS:
        kept = st.session_state.get(f"_kept{key}")
        if kept is not None:
            st.session_state[key] = kept


def sidebar_filters(scope: tuple[str, ...] = ()) -> ChannelFilter:
    """Show the filters in the sidebar, keep them in the URL, and give the selection they make.

    `scope` is the signed-in person's regions (analytics.access.Actor.regions): the selection is always
    limited to them, the sidebar offers only their values, and a link asking for another region shows
    nothing of it (the note says it is not in the data this person sees).
    """
    scope = tuple(scope)
    options = cached(filter_options, scope)
    if not options.quarters:
        st.session_state["_channel_filter"] = ChannelFilter(scope=scope)
        return ChannelFilter(scope=scope)
    _restore_filters(options)
    for note in st.session_state.get("_link_notes", []):
        st.warning(note, icon=":material/link_off:")
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
            "Region", options.regions, key="f_regions", on_change=_keep, args=("f_regions",),
            placeholder=f"All of {', '.join(scope)} (your regions)" if scope else "All regions",
        )
        countries = st.multiselect(
            "Country", options.countries, key="f_countries", placeholder="All countries", on_change=_keep,
            args=("f_countries",), help="The partner's country as recorded (a region such as APAC holds several).",
        )
        distributors = st.multiselect(
            "Distributor", options.distributors, key="f_distributors", placeholder="All distributors",
            on_change=_keep, args=("f_distributors",),
        )
        segments = st.multiselect(
            "Customer segment", tuple(SEGMENT_REVENUE_COLUMNS), key="f_segments", placeholder="All segments",
            help="Counts only revenue from customers in these segments.", on_change=_keep, args=("f_segments",),
        )
    flt = ChannelFilter(quarter, tuple(tiers), tuple(regions), tuple(distributors), tuple(segments), tuple(countries),
                        scope=scope)
    st.session_state["_channel_filter"] = flt
    written = {param: list(values) for param, values in (
        ("quarter", [quarter]), ("tier", tiers), ("region", regions), ("country", countries),
        ("distributor", distributors),
        ("segment", segments)) if values}
    write_filters_to_url(written)
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
