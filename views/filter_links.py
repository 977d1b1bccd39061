"""The sidebar's filters in the URL: a shared link, a partner's Back or a saved view names the whole view.

Which URL parameter holds which filter, taking the filters from a link (with a note for each value the
data no longer hold), writing them back after each run, and the parameters links keep.
"""

from __future__ import annotations

import re

import streamlit as st

from analytics.analyses.queries import FilterOptions
from analytics.filters import SEGMENT_REVENUE_COLUMNS
from analytics.formatting import markdown_literal

__all__ = ["FILTER_PARAMS", "asked_in_url", "arrived_by_link", "seed_from_url", "write_filters_to_url",
           "page_params", "view_params"]

# Widget key -> URL parameter. Values in the URL let a person share exactly the view they see.
FILTER_PARAMS = {
    "f_quarter": "quarter",
    "f_tiers": "tier",
    "f_regions": "region",
    "f_countries": "country",
    "f_distributors": "distributor",
    "f_segments": "segment",
}
_QUARTER = re.compile(r"\d{4}Q[1-4]")
# How a note names a filter the link asked for, and what the page shows without it.
_FILTER_WORDS = {
    "f_tiers": ("tier", "tiers"),
    "f_regions": ("region", "regions"),
    "f_countries": ("country", "countries"),
    "f_distributors": ("distributor", "distributors"),
    "f_segments": ("customer segment", "segments"),
}


def asked_in_url() -> dict[str, list[str]]:
    """Give the filter values the URL carries, by URL parameter (only those present)."""
    return {param: st.query_params.get_all(param) for param in FILTER_PARAMS.values() if param in st.query_params}


def arrived_by_link() -> bool:
    """Tell whether this run's URL carries a view other than the one the sidebar last wrote into it.

    That is a session's first run, and a link followed within the session (a partner's Back, a saved
    view): the URL then says which view to show, even though the session already has filters of its
    own. A page change through the menu clears the URL, which changes nothing.
    """
    if not st.session_state.get("_filters_seeded"):
        return True
    asked = asked_in_url()
    return bool(asked) and asked != st.session_state.get("_url_written")


def seed_from_url(options: FilterOptions) -> None:
    """Take the filters from the URL, and note each value asked for that the data no longer hold.

    A link names the whole view: a filter it leaves out is "all", a quarter it leaves out the latest.
    """
    allowed = {
        "f_quarter": options.quarters,
        "f_tiers": options.tiers,
        "f_regions": options.regions,
        "f_countries": options.countries,
        "f_distributors": options.distributors,
        "f_segments": tuple(SEGMENT_REVENUE_COLUMNS),
    }
    asked_any = bool(asked_in_url())
    notes = []
    for key, param in FILTER_PARAMS.items():
        asked = st.query_params.get_all(param)
        values = [v for v in asked if v in allowed[key]]
        missing = [v for v in asked if v not in allowed[key]]
        if key == "f_quarter":
            if missing:
                asked_for = missing[0] if _QUARTER.fullmatch(missing[0]) else _literal(missing[0])
                notes.append(f"The link asked for {asked_for}, which is no longer loaded; showing "
                             f"{values[0] if values else options.quarters[-1]}.")
            if values or asked_any:
                st.session_state["_keptf_quarter"] = values[0] if values else None
            continue
        if missing:
            one, many = _FILTER_WORDS[key]
            showing = f"the other {many} asked for" if values else f"all {many}"
            notes.append(f"The link asked for {one} {', '.join(_literal(v) for v in missing)}, which "
                         f"{'is' if len(missing) == 1 else 'are'} not in the loaded data; showing {showing}.")
        if values or asked_any:
            st.session_state[f"_kept{key}"] = values
    st.session_state["_link_notes"] = notes
    st.session_state["_filters_seeded"] = True


def _literal(value: str) -> str:
    """Give a value from the URL (typed by anyone) as it is written, quoted: never Markdown or a link."""
    return f"“{markdown_literal(value)}”"


def page_params(leave_out: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Give the URL parameters that are the page's own (not the sidebar's filters), less `leave_out`."""
    own = set(st.query_params) - set(FILTER_PARAMS.values()) - set(leave_out)
    return {k: st.query_params.get_all(k) for k in own}


def view_params() -> dict[str, list[str]]:
    """Give the URL parameters of the sidebar's current view (quarter and filters), for links that keep it."""
    return dict(st.session_state.get("_url_written", {}))


def write_filters_to_url(written: dict[str, list[str]]) -> None:
    """Put the filters chosen (URL parameter: values, only those set) in the URL, and remember what was written."""
    # Only the filters' own parameters: a page's (the Partner page's partner_id, Drop-offs' periods) stay.
    for param in FILTER_PARAMS.values():
        if param in written:
            st.query_params[param] = written[param]
        elif param in st.query_params:
            del st.query_params[param]
    st.session_state["_url_written"] = written
