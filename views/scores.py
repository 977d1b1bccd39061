"""The model's stored scores on the pages: kept fresh in the background, the horizon picker, readiness."""

from __future__ import annotations

import os

import streamlit as st

from analytics.formatting import markdown_literal
from analytics.model.features import DEFAULT_HORIZON
from analytics.model.scoring import (
    NOT_ENOUGH_HISTORY,
    horizons_for,
    refresher,
    score_status,
    stored_report,
    wanted_runs,
)
from analytics.store.quarters import latest_quarter
from analytics.store.store import read_only_mode
from views.auth import current_actor
from views.cache import cached
from views.db import get_store

__all__ = ["keep_scores_fresh", "scores_ready", "horizon_choice", "scored_horizon"]


def _background_scoring() -> bool:
    # The test suite turns it off (tests/conftest.py) so that no thread fits models behind a test's back.
    # One of several app processes (python -m analytics serve) leaves it to the serve process: each of
    # them would otherwise fit the same models at once.
    return os.environ.get("CHANNEL_BACKGROUND_SCORES", "1") != "0" and not read_only_mode()


def keep_scores_fresh() -> None:
    """Start bringing the stored model scores up to date in the background when the data changed since they were made.

    Cheap when they are current (a few small queries); app.py calls it on every run. Loads from the
    command line bring the scores up to date themselves; this catches an upload or rollback in the
    app, a load with --no-scores, new program rules and a new model version.
    """
    if not _background_scoring():
        return
    store = get_store()
    if cached(wanted_runs):
        refresher(store.path).start()


def scores_ready(as_of: str, horizon: int, notes: bool = True) -> bool:
    """Tell whether stored scores as of `as_of` at `horizon` can be shown, saying on the page what else is true.

    No page trains a model: scores are computed when the data change (analytics.model.scoring), by the
    app itself in the background. Older scores are shown with a note while new ones are being computed;
    where none are stored for the latest quarter their computing is started (if it is not running) and
    the page says so; for an earlier quarter, those who may load data are offered to compute them. With
    `notes`, what the model said of these scores (a short history scored by BG/NBD alone, a baseline
    served instead of the model) is shown in a collapsed box.
    """
    store = get_store()
    status = cached(score_status, as_of, horizon)
    state = refresher(store.path).state
    if state.error:
        st.error(f"Bringing the scores up to date failed: {markdown_literal(state.error)}. The scores shown (if any) "
                 "are older.")
        if _background_scoring() and st.button("Try again", key=f"scores_retry_{as_of}_{horizon}",
                                               icon=":material/refresh:"):
            refresher(store.path).start()
            st.rerun()
    if status.scored:
        if not status.current:
            doing = f" New ones are being computed now ({state.message})." if state.running else ""
            st.info(f"These scores were computed on {status.run.computed_at:%Y-%m-%d %H:%M}, before the latest "
                    f"change of the data, the program rules or the model.{doing} They show here when ready.",
                    icon=":material/update:")
        said = cached(stored_report, as_of, horizon).notes if notes else ()
        if said:
            with st.expander(f"How these scores were made ({len(said)} note{'s' if len(said) > 1 else ''})",
                             icon=":material/info:"):
                for note in said:
                    st.caption(markdown_literal(note))
        return True
    if status.run is not None and status.run.status == NOT_ENOUGH_HISTORY:
        st.warning(markdown_literal(status.run.message))
        return False
    latest = cached(latest_quarter)
    if as_of == latest and not state.running and not state.error and _background_scoring():
        # The latest quarter is scored after every load and rollback: the app does it, nobody runs a command.
        refresher(store.path).start()
        state = refresher(store.path).state
    if state.running:
        st.info(f"The churn and turnaround scores for this data are being computed: {state.message}. "
                "This takes seconds for the demo channel and about a minute for a channel ten times its size; "
                "press Check again, or reload the page, in a moment.", icon=":material/hourglass_top:")
        st.button("Check again", key=f"scores_check_{as_of}_{horizon}", icon=":material/refresh:")
        return False
    if as_of == latest:
        # Several app processes: the serve process computes them (views/db.py); this one only reads.
        st.info("No scores are stored for this data yet; they are computed after every load and show here when "
                "ready.", icon=":material/hourglass_top:")
        st.button("Check again", key=f"scores_check_{as_of}_{horizon}", icon=":material/refresh:")
    else:
        st.info(f"Scores are kept for the latest quarter ({latest}) after every load; none are stored as of {as_of} "
                f"at a {horizon}-quarter horizon yet.")
    actor = current_actor()
    if actor is not None and actor.may("load") and _background_scoring():
        if st.button(f"Compute the scores as of {as_of}", key=f"scores_compute_{as_of}_{horizon}",
                     icon=":material/play_arrow:", help="In the background: pages stay usable meanwhile."):
            refresher(store.path).start(also=(as_of, horizon))
            st.rerun()
    return False


def horizon_choice(key: str) -> int:
    """Show the horizon picker with the horizons the data support (analytics.model.scoring) and give the choice."""
    offered = list(cached(horizons_for))
    default = DEFAULT_HORIZON if DEFAULT_HORIZON in offered else offered[-1]
    return st.segmented_control(
        "Horizon (quarters ahead)", offered, default=default, key=key,
        help="The model predicts what happens over this many quarters after the as-of quarter. Only horizons "
             "the data can be tested on are offered (3H quarters of history for H quarters ahead).",
    ) or default


def scored_horizon(as_of: str, key: str, notes: bool = True) -> int:
    """Show the horizon picker and give the choice; end the page run (saying why) when its scores cannot be shown."""
    horizon = horizon_choice(key)
    if not scores_ready(as_of, horizon, notes):
        st.stop()
    return horizon
