"""What every page shares: the database for this run, cached query results, who is signed in, the sidebar.

This is the one place where the UI caches. Query results are cache_data keyed by the database's
data version, which every load and rollback bumps, so a new upload shows on the next rerun without
a restart.

The database file is opened per page run, not once per process. DuckDB lets one process at a time
open a file, so an app that kept it open for its whole life would shut out the command line (a
nightly `python -m analytics ingest`) for as long as it runs. Instead every run opens the file
(a connection to the already open database when another run or the keep-alive holds it: well under
a millisecond), and the file is let go of LINGER seconds after the last run, or at once when the
command line leaves its note beside the file (analytics.store.writer_waiting). While the command
line holds the file, a run waits for it (up to APP_WAIT seconds) and says why. Sessions of this
process share one DuckDB database, so a load made in one session is committed or invisible to the
others, never half there (DuckDB's transactions).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAuthError

from analytics.access import Actor, actor_from_claims, load_roles, local_actor
from analytics.export import to_safe_csv
from analytics.features import DEFAULT_HORIZON
from analytics.filters import SEGMENT_REVENUE_COLUMNS, ChannelFilter
from analytics.formatting import markdown_literal
from analytics.queries import filter_options, last_load, latest_quarter
from analytics.scoring import NOT_ENOUGH_HISTORY, horizons_for, refresher, score_status, stale_runs, stored_report
from analytics.store import Store, StoreError, StoreFault, default_db_path, store_fault, writer_waiting

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
                if time.monotonic() - self._last_use > LINGER or writer_waiting(held.path):
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


# -- who is using the app ---------------------------------------------------------------------
def auth_configured() -> bool:
    """Tell whether sign-in is set up: an [auth] section in .streamlit/secrets.toml (st.login / st.user)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False


def _signed_in() -> tuple[Actor | None, str | None]:
    """Give the signed-in person's actor and the note on a limited role, or (None, None) when nobody is signed in."""
    user = st.user.to_dict()
    if not user.get("is_logged_in"):
        return None, None
    return actor_from_claims(user, load_roles())


def current_actor() -> Actor | None:
    """Give who is using the app with their role, or None when sign-in is set up and nobody is signed in.

    Without sign-in the app runs in local single-user mode: the person at the machine, as admin.
    Signed in, the engine decides the role from the ID token's claims (analytics.access.actor_from_claims).
    AppTest fakes a signed-in person through `at.user` (read here as st.user) and sign-in through
    `at.secrets["auth"]`, so no test-only path is needed.
    """
    if not auth_configured():
        return local_actor()
    return _signed_in()[0]


def sign_in_page() -> None:
    """The only page offered when sign-in is set up and nobody is signed in."""
    st.title("Channel Health")
    st.write("Sign in to see the channel's figures.")
    if st.button("Sign in", key="sign_in", type="primary", icon=":material/login:"):
        try:
            st.login()
        except StreamlitAuthError as exc:  # an [auth] section that is incomplete: say so, not a trace
            st.error(f"Sign-in is set up in .streamlit/secrets.toml but cannot be used: {exc} "
                     "See .streamlit/secrets.toml.example.")


def identity_sidebar(actor: Actor | None) -> None:
    """Say in the sidebar who is signed in with which role, or that the app runs in local single-user mode."""
    with st.sidebar:
        if not auth_configured():
            st.caption(f"Local single-user mode: no sign-in is configured, so {actor.who} may do everything "
                       "(admin). Set up sign-in in .streamlit/secrets.toml to give people roles.")
        elif actor is not None:
            # The name comes from the provider's token: shown as written, never as Markdown.
            st.caption(f"Signed in as {markdown_literal(actor.who)} · role: **{actor.role}**")
            note = _signed_in()[1]
            if note:
                st.warning(note, icon=":material/gpp_maybe:")
            if st.button("Sign out", key="sign_out", icon=":material/logout:"):
                st.logout()


# 64 results: one result at ten times the demo is 7-13 MB, and a long-running app would otherwise keep
# hundreds of them.
@st.cache_data(show_spinner=False, max_entries=64)
def _cached(module: str, name: str, db_path: str, version: tuple, args: tuple, kwargs: tuple) -> Any:
    function = getattr(importlib.import_module(module), name)
    return function(get_store(), *args, **dict(kwargs))


def load(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Give function(store, *args, **kwargs), cached until the data or the stored scores change."""
    store = get_store()
    version = (store.data_version(), store.scores_version())
    return _cached(function.__module__, function.__name__, str(store.path), version, args,
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
    """Offer a table as a CSV download that is safe to open in a spreadsheet, written only when clicked."""
    st.download_button(
        f"Download {markdown_literal(name)} (CSV)", lambda: to_safe_csv(frame),
        file_name=f"{name.replace(' ', '_')}.csv", mime="text/csv", key=key, icon=":material/download:",
        on_click="ignore",
    )


def partner_links(frame: pd.DataFrame, column: str = "partner_id") -> pd.DataFrame:
    """Give the frame with a `partner` column of links to the Partner page (shown by LinkColumn)."""
    linked = frame.copy()
    linked.insert(0, "partner", "partner?partner_id=" + linked[column].astype(str))
    return linked


PARTNER_LINK = st.column_config.LinkColumn("Partner", display_text=r"partner_id=(.*)", help="Open the partner page")


def _background_scoring() -> bool:
    # The test suite turns it off (tests/conftest.py) so that no thread fits models behind a test's back.
    return os.environ.get("CHANNEL_BACKGROUND_SCORES", "1") != "0"


def keep_scores_fresh() -> None:
    """Start bringing the stored model scores up to date in the background when the data changed since they were made.

    Cheap when they are current (a few small queries); app.py calls it on every run. Loads from the
    command line bring the scores up to date themselves; this catches an upload or rollback in the
    app, a load with --no-scores, new program rules and a new model version.
    """
    if not _background_scoring():
        return
    store = get_store()
    if load(stale_runs):
        refresher(store.path).start()


def scores_ready(as_of: str, horizon: int, notes: bool = True) -> bool:
    """Tell whether stored scores as of `as_of` at `horizon` can be shown, saying on the page what else is true.

    No page trains a model: scores are computed when the data change (analytics.scoring). Older
    scores are shown with a note while new ones are being computed; where none are stored the page
    says why and, for those who may load data, offers to compute them in the background. With
    `notes`, what the model said of these scores (a short history scored by BG/NBD alone, a baseline
    served instead of the model) is shown in a collapsed box.
    """
    store = get_store()
    status = load(score_status, as_of, horizon)
    state = refresher(store.path).state
    if state.error:
        st.error(f"Bringing the scores up to date failed: {markdown_literal(state.error)}. The scores shown (if any) "
                 "are older; "
                 "`python -m analytics rescore` computes them again and prints any problem.")
    if status.scored:
        if not status.current:
            doing = f" New ones are being computed now ({state.message})." if state.running else ""
            st.info(f"These scores were computed on {status.run.computed_at:%Y-%m-%d %H:%M}, before the latest "
                    f"change of the data, the program rules or the model.{doing} They show here when ready.",
                    icon=":material/update:")
        said = load(stored_report, as_of, horizon).notes if notes else ()
        if said:
            with st.expander(f"How these scores were made ({len(said)} note{'s' if len(said) > 1 else ''})",
                             icon=":material/info:"):
                for note in said:
                    st.caption(markdown_literal(note))
        return True
    if status.run is not None and status.run.status == NOT_ENOUGH_HISTORY:
        st.warning(markdown_literal(status.run.message))
        return False
    latest = load(latest_quarter)
    if state.running:
        st.info(f"The churn and turnaround scores for this data are being computed: {state.message}. "
                "This takes seconds for the demo channel and about a minute for a channel ten times its size; "
                "press Check again, or reload the page, in a moment.", icon=":material/hourglass_top:")
        st.button("Check again", key=f"scores_check_{as_of}_{horizon}", icon=":material/refresh:")
        return False
    if as_of == latest:
        st.info("No scores are stored for this data yet; they are computed after every load. "
                "Run `python -m analytics rescore` on the server to compute them now.")
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
    """Show the horizon picker with the horizons the data support (analytics.scoring) and give the choice."""
    offered = list(load(horizons_for))
    default = DEFAULT_HORIZON if DEFAULT_HORIZON in offered else offered[-1]
    return st.segmented_control(
        "Horizon (quarters ahead)", offered, default=default, key=key,
        help="The model predicts what happens over this many quarters after the as-of quarter. Only horizons "
             "the data can be tested on are offered (3H quarters of history for H quarters ahead).",
    ) or default
