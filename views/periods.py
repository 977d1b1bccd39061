"""The Drop-offs page's choice of the two periods it compares, kept in the URL (period_a, period_b)."""

from __future__ import annotations

import streamlit as st

from analytics.analyses.dropoffs import ComparePeriods
from analytics.formatting import markdown_literal
from analytics.store.quarters import quarter_range

__all__ = ["compare_periods"]

# Widget key -> URL parameter, a period written "2024Q1-2024Q4" (quarter labels hold no hyphen).
_PARAMS = {"dropoff_period_a": "period_a", "dropoff_period_b": "period_b"}
_CUSTOM = "dropoff_custom"


def _parse(text: str, available: list[str]) -> tuple[str, str] | None:
    """Give a period from the URL as (first, last) quarter, or None when it is not two loaded quarters in order."""
    first, _, last = text.partition("-")
    last = last or first
    if first in available and last in available and first <= last:
        return first, last
    return None


def _seed_from_url(available: list[str]) -> None:
    """Set the period widgets from the URL, or say which period the link asked for that is not loaded."""
    periods = {key: _parse(st.query_params.get(param, ""), available) for key, param in _PARAMS.items()}
    bad = [param for key, param in _PARAMS.items() if periods[key] is None]
    if bad:
        asked = ", ".join(f"{p.replace('_', ' ')} “{markdown_literal(st.query_params.get(p, ''))}”" for p in bad)
        st.warning(f"The link asked for {asked}, which is not loaded up to {available[-1]}; showing the "
                   "4 quarters to the as-of quarter against the 4 before.", icon=":material/link_off:")
        st.session_state[_CUSTOM] = False
        return
    st.session_state[_CUSTOM] = True
    st.session_state.update(periods)


def _on_slider(first: str, last: str, available: list[str]) -> tuple[str, str]:
    """Give a period moved inside the quarters the slider offers (a short history has no 8 quarters)."""
    return min(max(first, available[0]), available[-1]), min(max(last, available[0]), available[-1])


def compare_periods(quarters: tuple[str, ...], as_of: str) -> ComparePeriods:
    """Give the two periods Drop-offs compares: the person's choice (kept in the URL), else the default.

    The default is the last 4 quarters to `as_of` against the 4 before; a choice that cannot be
    compared (periods of different lengths, A not before B) is explained, and the default shown.
    """
    default = ComparePeriods.trailing(as_of)
    available = quarter_range(quarters[0], as_of)  # every quarter, also one without orders
    asked = {p: st.query_params[p] for p in _PARAMS.values() if p in st.query_params}
    if asked and (asked != st.session_state.get("_periods_written") or _CUSTOM not in st.session_state):
        _seed_from_url(available)
    custom = st.toggle("Compare two periods of my choice", key=_CUSTOM,
                       help="By default the last 4 quarters to the as-of quarter against the 4 before.")
    if not custom:
        for param in _PARAMS.values():
            if param in st.query_params:
                del st.query_params[param]
        st.session_state["_periods_written"] = {}
        return default
    # A tuple as the value makes a range slider; a value off the slider (a later as-of) is reset by Streamlit.
    left, right = st.columns(2)
    a = left.select_slider("Period A (before)", available, key="dropoff_period_a",
                           value=_on_slider(default.a_first, default.a_last, available))
    b = right.select_slider("Period B (after)", available, key="dropoff_period_b",
                            value=_on_slider(default.b_first, default.b_last, available))
    written = {"period_a": f"{a[0]}-{a[1]}", "period_b": f"{b[0]}-{b[1]}"}
    st.query_params.update(written)
    st.session_state["_periods_written"] = written
    try:
        return ComparePeriods(a[0], a[1], b[0], b[1])
    except ValueError as exc:
        st.warning(f"{exc}. Showing {default.label_b} against {default.label_a} until then.")
        return default
