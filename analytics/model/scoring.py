"""Stored model scores: computed when the data change, kept in the database, read by the pages.

Training the churn and turnaround models takes seconds at the demo size and about a minute at ten
times it, so no page visit trains. Whoever changes the data (the command line's ingest, rollback
and demo; the app after an upload or rollback, in the background) calls `refresh_scores`, which
fits the models for the latest quarter at every horizon the data support and writes, per horizon,
one *run*: the model's version, the data version and program rules it came from, the backtest and
what drives risk (as the Model page's report) and every partner's scores. A new run replaces the
previous one of the same quarter and horizon in one transaction, so the pages show the previous
scores until the new ones are complete, and say that they are being updated.

Other as-of quarters are scored on request (`python -m analytics score --as-of QUARTER`, or the
button the pages offer to those who may load data) and kept the same way.
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.model.features import DEFAULT_HORIZON, NotEnoughHistory, Panel, load_panel
from analytics.model.fit import (
    SCORE_COLUMNS,
    Evaluation,
    FittedModels,
    ModelReport,
    Progress,
    fit_models,
    report_from,
    score_partners,
)
from analytics.program.rules import ProgramRules, load_program
from analytics.store.quarters import quarter_index, quarter_label
from analytics.store.store import Store, bump_scores_version, checkpoint

__all__ = [
    "CANDIDATE_HORIZONS",
    "SCORED",
    "NOT_ENOUGH_HISTORY",
    "ScoreRun",
    "ScoreStatus",
    "model_version",
    "supported_horizons",
    "horizons_for",
    "refresh_scores",
    "refresh_scores_apart",
    "RefreshState",
    "Refresher",
    "refresher",
    "score_status",
    "stored_scores",
    "stored_report",
    "stale_runs",
    "wanted_runs",
]

# Horizons a person may choose; only those the data support are offered (see supported_horizons).
CANDIDATE_HORIZONS = (2, 4, 6, 8)
SCORED = "scored"
NOT_ENOUGH_HISTORY = "not enough history"


def model_version() -> str:
    """Give the version of the model's code that scores are stored with (a change makes stored scores stale)."""
    from analytics.model import fit as model

    return str(getattr(model, "MODEL_VERSION", "1"))


def _rules_key(rules: ProgramRules) -> str:
    # Scores depend on the program only through the tier minimums (who is underperforming).
    return json.dumps(sorted(rules.minimum_revenue().items()))


def supported_horizons(quarters: int) -> tuple[int, ...]:
    """Give the horizons `quarters` of data support: an honest backtest needs 3H quarters; the default is always kept.

    A training cutoff needs H quarters of history, its label the H quarters after it, and all of that
    must be over by the test cutoff, whose own H quarters ahead must be observed too.

    The default horizon stays even on a short history so that the pages have one to show (with the
    model's own words on what it could and could not do).
    """
    return tuple(h for h in CANDIDATE_HORIZONS if quarters >= 3 * h or h == DEFAULT_HORIZON)


def horizons_for(store: Store) -> tuple[int, ...]:
    """Give the horizons the stored data support (see supported_horizons)."""
    with contextlib.closing(store.cursor()) as cur:
        first, last = cur.execute("SELECT min(q_index), max(q_index) FROM partner_quarter").fetchone()
    return supported_horizons(0 if first is None else last - first + 1)


@dataclass(frozen=True)
class ScoreRun:
    """One stored run: the quarter and horizon, where it came from, and whether it scored anyone."""

    run_id: int
    as_of: str
    horizon: int
    data_version: int
    model_version: str
    rules_key: str
    status: str          # SCORED or NOT_ENOUGH_HISTORY
    message: str         # why nobody was scored (status NOT_ENOUGH_HISTORY)
    computed_at: datetime
    seconds: float
    partners: int


@dataclass(frozen=True)
class ScoreStatus:
    """What a page can show for an as-of quarter and horizon: the stored run, and whether it is current."""

    as_of: str
    horizon: int
    run: ScoreRun | None
    current: bool        # the run is from the data, model and rules in force now

    @property
    def scored(self) -> bool:
        return self.run is not None and self.run.status == SCORED


# -- writing -----------------------------------------------------------------------------------
def _encode(value):
    """Give `value` (a report: dataclasses, frames, dates, numbers) as plain JSON data."""
    if isinstance(value, pd.DataFrame):
        return {"__frame__": value.to_json(orient="split", date_format="iso"), "index_name": value.index.name}
    if is_dataclass(value):
        return {"__class__": type(value).__name__, **{f.name: _encode(getattr(value, f.name)) for f in fields(value)
                                                      if f.name != "rules"}}
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, np.generic):
        return _encode(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_REPORT_CLASSES = {cls.__name__: cls for cls in (ModelReport, Evaluation)}


def _decode(value):
    """Give the report back from JSON data made by _encode."""
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    if not isinstance(value, dict):
        return value
    if "__frame__" in value:
        frame = pd.read_json(StringIO(value["__frame__"]), orient="split")
        frame.index.name = value.get("index_name")
        return frame
    if "__datetime__" in value:
        return datetime.fromisoformat(value["__datetime__"])
    if "__class__" in value:
        cls = _REPORT_CLASSES[value["__class__"]]
        known = {f.name for f in fields(cls)}
        return cls(**{k: _decode(v) for k, v in value.items() if k in known})
    return {k: _decode(v) for k, v in value.items()}


@dataclass(frozen=True)
class _Computed:
    """A run before it is written: the fit's report and scores, or why there are none."""

    as_of: str
    horizon: int
    data_version: int
    rules: ProgramRules
    status: str
    message: str = ""
    seconds: float = 0.0
    report: ModelReport | None = None
    scores: pd.DataFrame | None = None


def _compute(panel: Panel, as_of: str, horizon: int, data_version: int, rules: ProgramRules,
             progress: Progress) -> _Computed:
    """Fit the models for one quarter and horizon on `panel` and score every active partner (no database needed)."""
    try:
        fitted: FittedModels = fit_models(panel, as_of, horizon, rules=rules, progress=progress,
                                          data_version=data_version)
    except NotEnoughHistory as exc:
        return _Computed(as_of, horizon, data_version, rules, NOT_ENOUGH_HISTORY, str(exc))
    progress(0.95, f"Scoring partners as of {as_of}")
    scores = score_partners(panel, fitted, with_effects=True)
    return _Computed(as_of, horizon, data_version, rules, SCORED, "", fitted.fit_seconds,
                     report_from(fitted, scores), scores)


def _write_run(store: Store, run: _Computed) -> ScoreRun:
    """Store one run in one transaction, replacing the previous run of the same quarter and horizon."""
    with store.transaction() as cur:
        run_id = cur.execute("SELECT coalesce(max(run_id), 0) + 1 FROM model_runs").fetchone()[0]
        previous = [r[0] for r in cur.execute(
            "SELECT run_id FROM model_runs WHERE as_of = ? AND horizon = ?", [run.as_of, run.horizon]).fetchall()]
        cur.execute(
            "INSERT INTO model_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, run.as_of, run.horizon, run.data_version, model_version(), _rules_key(run.rules), run.status,
             run.message, None if run.report is None else json.dumps(_encode(run.report)), datetime.now(),
             run.seconds, 0 if run.scores is None else len(run.scores)],
        )
        if run.scores is not None and len(run.scores):
            rows = run.scores[SCORE_COLUMNS].assign(run_id=run_id)
            cur.register("incoming_scores", rows)
            names = ", ".join(SCORE_COLUMNS)  # fixed column names, no values
            cur.execute(f"INSERT INTO model_scores (run_id, {names}) SELECT run_id, {names} FROM incoming_scores")
            cur.unregister("incoming_scores")
        if previous:
            marks = ", ".join("?" * len(previous))
            cur.execute(f"DELETE FROM model_scores WHERE run_id IN ({marks})", previous)
            cur.execute(f"DELETE FROM model_runs WHERE run_id IN ({marks})", previous)
        bump_scores_version(cur)
    written = _run_of(store, run.as_of, run.horizon)
    assert written is not None  # just written
    return written


def _quiet(fraction: float, message: str) -> None:
    return None


def _todo(store: Store, as_of: str | None, horizons: tuple[int, ...] | None) -> tuple[str | None, list[int]]:
    """Give the quarter to score (the latest unless `as_of`) and its horizons whose stored run is missing or old."""
    with contextlib.closing(store.cursor()) as cur:
        first, last = cur.execute("SELECT min(q_index), max(q_index) FROM partner_quarter").fetchone()
    if last is None:
        return None, []
    quarter = as_of or quarter_label(last)
    wanted = horizons or supported_horizons(quarter_index(quarter) - first + 1)
    version, rules = store.data_version(), load_program()
    return quarter, [h for h in wanted if not _is_current(_run_of(store, quarter, h), version, rules)]


Compute = Callable[[Panel, str, int, int, ProgramRules, Progress], "_Computed"]


def _computed_runs(panel: Panel, jobs: list[tuple[str, int]], version: int, rules: ProgramRules,
                   say: Progress, compute: Compute | None = None) -> Iterator[_Computed]:
    """Give the fitted run of each (quarter, horizon) in `jobs` in turn, telling `say` how far along the whole is.

    `compute` fits one run (default _compute, in this process; the app's refresher fits in a worker process).
    """
    compute = compute or _compute
    for step, (quarter, horizon) in enumerate(jobs):
        def part(fraction: float, message: str, step: int = step, quarter: str = quarter,
                 horizon: int = horizon) -> None:
            say((step + min(max(fraction, 0.0), 1.0)) / len(jobs),
                f"Churn scores as of {quarter}, {horizon}-quarter horizon ({step + 1} of {len(jobs)}): {message}")
        part(0.0, "fitting the models")
        yield compute(panel, quarter, horizon, version, rules, part)


def refresh_scores(store: Store, progress: Progress | None = None, as_of: str | None = None,
                   horizons: tuple[int, ...] | None = None) -> list[ScoreRun]:
    """Bring the stored scores up to date: the latest quarter (or `as_of`) at every horizon the data support.

    Runs already made from this data, model and rules are kept as they are; gives the runs written.
    Scores of quarters the data no longer hold (after a rollback) are removed.
    """
    say = progress or _quiet
    _drop_runs_beyond_data(store)
    quarter, todo = _todo(store, as_of, horizons)
    if not todo:
        return []
    say(0.0, "Reading the partners' history")
    panel, version, rules = load_panel(store), store.data_version(), load_program()
    # Each run is written as soon as it is fitted: the file is held throughout here anyway.
    jobs = [(quarter, h) for h in todo]
    written = [_write_run(store, run) for run in _computed_runs(panel, jobs, version, rules, say)]
    say(1.0, "Scores up to date")
    return written


def refresh_scores_apart(open_store: Callable[[], Store], progress: Progress | None = None) -> list[ScoreRun]:
    """Bring the stored scores up to date as refresh_scores does, holding the file only to read and to write.

    For the command line, which keeps every other process off the file while it holds it: the models
    are fitted (most of a minute at the demo size, minutes at ten times it) with the file let go, so the
    app's pages read meanwhile. `open_store` gives a store opened to write (and closed by the caller's
    `with`). If the data changed in between (another load), nothing is written: those scores would be
    stale at once, and the next refresh (the app's, or `rescore`) computes them from the new data.
    """
    say = progress or _quiet
    with open_store() as store:
        _drop_runs_beyond_data(store)
        quarter, todo = _todo(store, None, None)
        if not todo:
            return []
        say(0.0, "Reading the partners' history")
        panel, version, rules = load_panel(store), store.data_version(), load_program()
    checkpoint("fit apart")  # the file is let go here (the fault tests stop here to read it meanwhile)
    computed = list(_computed_runs(panel, [(quarter, h) for h in todo], version, rules, say))
    with open_store() as store:
        if store.data_version() != version:
            say(1.0, "The data changed while the scores were computed: they are left for the next refresh")
            return []
        written = [_write_run(store, run) for run in computed]
    say(1.0, "Scores up to date")
    return written


def _drop_runs_beyond_data(store: Store) -> None:
    """Remove runs of as-of quarters no longer in the data (a rolled-back quarter), so no page shows them."""
    with contextlib.closing(store.cursor()) as cur:
        quarters = {r[0] for r in cur.execute("SELECT DISTINCT quarter FROM partner_quarter").fetchall()}
        gone = [r[0] for r in cur.execute("SELECT run_id, as_of FROM model_runs").fetchall() if r[1] not in quarters]
    if gone:
        marks = ", ".join("?" * len(gone))
        with store.transaction() as cur:
            cur.execute(f"DELETE FROM model_scores WHERE run_id IN ({marks})", gone)
            cur.execute(f"DELETE FROM model_runs WHERE run_id IN ({marks})", gone)
            bump_scores_version(cur)


# -- reading -----------------------------------------------------------------------------------
_RUN_COLUMNS = ("run_id, as_of, horizon, data_version, model_version, rules_key, status, coalesce(message, ''), "
                "computed_at, coalesce(seconds, 0), partners")


def _run_of(store: Store, as_of: str, horizon: int) -> ScoreRun | None:
    with contextlib.closing(store.cursor()) as cur:
        row = cur.execute(f"SELECT {_RUN_COLUMNS} FROM model_runs WHERE as_of = ? AND horizon = ? "
                          "ORDER BY run_id DESC LIMIT 1", [as_of, horizon]).fetchone()
    return None if row is None else ScoreRun(*row)


def _is_current(run: ScoreRun | None, data_version: int, rules: ProgramRules) -> bool:
    return (run is not None and run.data_version == data_version and run.model_version == model_version()
            and run.rules_key == _rules_key(rules))


def score_status(store: Store, as_of: str, horizon: int = DEFAULT_HORIZON) -> ScoreStatus:
    """Give what is stored for `as_of` and `horizon`, and whether it is from the data, model and rules in force."""
    run = _run_of(store, as_of, horizon)
    return ScoreStatus(as_of, horizon, run, _is_current(run, store.data_version(), load_program()))


def stale_runs(store: Store) -> list[tuple[str, int]]:
    """Give the (quarter, horizon) pairs refresh_scores would compute now: the latest quarter's missing or old runs."""
    quarter, todo = _todo(store, None, None)
    return [(quarter, h) for h in todo]


def wanted_runs(store: Store) -> list[tuple[str, int]]:
    """Give the (quarter, horizon) pairs the app computes in the background: the stale runs (stale_runs), and
    the quarter before the latest at the default horizon when none is stored ("what changed" compares the two)."""
    quarter, todo = _todo(store, None, None)
    return [(quarter, h) for h in todo] + _missing_previous(store, quarter)


def _missing_previous(store: Store, latest: str | None) -> list[tuple[str, int]]:
    """Give [(the quarter before `latest`, DEFAULT_HORIZON)] when the data can score it and no run of it is stored."""
    if latest is None:
        return []
    previous = quarter_label(quarter_index(latest) - 1)
    with contextlib.closing(store.cursor()) as cur:
        first = cur.execute("SELECT min(q_index) FROM partner_quarter").fetchone()[0]
    if quarter_index(previous) < first:
        return []  # a single quarter of data: nothing before it to score
    return [(previous, DEFAULT_HORIZON)] if _run_of(store, previous, DEFAULT_HORIZON) is None else []


def stored_scores(store: Store, as_of: str, horizon: int = DEFAULT_HORIZON) -> pd.DataFrame:
    """Give every partner's stored scores as of a quarter (SCORE_COLUMNS, riskiest first); empty if none are stored.

    The columns are those of analytics.model.fit.score_partners; the run they come from is in score_status.
    """
    run = _run_of(store, as_of, horizon)
    if run is None or run.status != SCORED:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SCORE_COLUMNS})
    frame = store.query_arrow_df(
        f"SELECT {', '.join(SCORE_COLUMNS)} FROM model_scores WHERE run_id = ? "  # noqa: S608 (fixed names)
        "ORDER BY churn_probability DESC NULLS LAST, partner_id", [run.run_id])
    frame["underperforming"] = frame["underperforming"].fillna(False).astype(bool)
    for column in ("churn_reasons", "churn_reasons_against", "turnaround_reasons", "turnaround_reasons_against"):
        if column in frame:
            frame[column] = frame[column].fillna("")
    return frame


def stored_report(store: Store, as_of: str, horizon: int = DEFAULT_HORIZON) -> ModelReport | None:
    """Give the Model page's report stored with the run for `as_of` and `horizon`, or None if none was scored."""
    run = _run_of(store, as_of, horizon)
    if run is None or run.status != SCORED:
        return None
    with contextlib.closing(store.cursor()) as cur:
        text = cur.execute("SELECT report FROM model_runs WHERE run_id = ?", [run.run_id]).fetchone()[0]
    return _decode(json.loads(text))


# -- in the background, for the app ------------------------------------------------------------
@dataclass(frozen=True)
class RefreshState:
    """What a background refresh of one database is doing: running or not, its last message and error."""

    running: bool
    message: str = ""
    started_at: datetime | None = None
    error: str = ""


class Refresher:
    """Bring one database's stored scores up to date from a thread of this process, one refresh at a time.

    The thread reads the history and writes the runs; the models are fitted in a worker process at a
    lower priority (_compute_apart), so that the pages drawn meanwhile do not wait for the fit.

    The app starts it after a load or rollback and when it finds old scores (a load from the command
    line, a new model version); pages meanwhile show the previous scores and say so. The database is
    open only while reading the history and writing a run, not while fitting, so a command-line load
    waits seconds, not the whole fit. A refresh whose data changed meanwhile stops without writing;
    the next page run starts another on the new data.
    """

    def __init__(self, path: Path, wait: float = 120.0, settle: float = 5.0) -> None:
        self.path = Path(path)
        self._wait = wait
        # Seconds a refresh lets pass before it reads the history: the pages opened right after a load or a
        # rollback (the summary, then the Overview) are drawn first, not beside the history being read.
        self._settle = settle
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._state = RefreshState(False)
        self._extra: list[tuple[str, int]] = []

    @property
    def state(self) -> RefreshState:
        return self._state

    def start(self, also: tuple[str, int] | None = None) -> bool:
        """Start a refresh unless one is running; True if this call started it.

        `also` is a quarter and horizon to score besides the latest quarter's (a person asked for it).
        """
        with self._lock:
            if also is not None and also not in self._extra:
                self._extra.append(also)
            if self._thread is not None and self._thread.is_alive():
                return False
            self._state = RefreshState(True, "Starting in a few seconds", datetime.now())
            self._thread = threading.Thread(target=self._run, daemon=True, name=f"scores-{self.path.name}")
            self._thread.start()
            return True

    def join(self, timeout: float | None = None) -> None:
        """Wait for the running refresh (tests and benchmarks)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _say(self, fraction: float, message: str) -> None:
        self._state = RefreshState(True, f"{message} ({fraction:.0%})", self._state.started_at)

    def _pending(self, store: Store) -> list[tuple[str, int]]:
        """Give the runs to compute now: the latest quarter's old or missing ones, and those asked for."""
        with self._lock:
            asked = list(self._extra)
        version, rules = store.data_version(), load_program()
        extra = [(q, h) for q, h in asked if not _is_current(_run_of(store, q, h), version, rules)]
        with self._lock:
            self._extra = extra
        wanted = wanted_runs(store)
        return wanted + [job for job in extra if job not in wanted]

    def _run(self) -> None:
        try:
            time.sleep(self._settle)
            while True:  # until nothing is pending: data or requests may come in while it fits
                with Store(self.path, wait=self._wait) as store:
                    _drop_runs_beyond_data(store)
                    todo = self._pending(store)
                    if not todo:
                        break
                    self._say(0.0, "Reading the partners' history")
                    panel, version, rules = load_panel(store), store.data_version(), load_program()
                for computed in _computed_runs(panel, todo, version, rules, self._say, _compute_apart):
                    with Store(self.path, wait=self._wait) as store:
                        if store.data_version() != version:
                            break  # new data arrived while fitting: start over on them
                        _write_run(store, computed)
            self._state = RefreshState(False, "Scores up to date")
        except Exception as exc:  # a thread has nobody to raise to: keep it for the pages to show
            self._state = RefreshState(False, "", None, f"{type(exc).__name__}: {exc}")


# The app's refresher fits in a process of its own, at a lower priority: in a thread of the app's process
# the fit held the interpreter (and both cores) while the first pages after a load were drawn, which then
# took several seconds. One worker process per app process, started at the first refresh and kept.
_FIT_POOL: ProcessPoolExecutor | None = None
_FIT_POOL_LOCK = threading.Lock()


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)  # pages and loads come first; the scores can wait a few seconds more


def _compute_quietly(panel: Panel, as_of: str, horizon: int, data_version: int, rules: ProgramRules) -> _Computed:
    return _compute(panel, as_of, horizon, data_version, rules, _quiet)


def _compute_apart(panel: Panel, as_of: str, horizon: int, data_version: int, rules: ProgramRules,
                   progress: Progress = _quiet) -> _Computed:
    """Give _compute's run fitted in the worker process (see _FIT_POOL); in this thread if that process broke.

    `progress` hears nothing from the worker process: the caller tells where the whole is between runs.
    """
    global _FIT_POOL
    with _FIT_POOL_LOCK:
        if _FIT_POOL is None:
            # spawn, not fork: the app's process runs threads (Streamlit's, DuckDB's) that a fork would copy mid-step.
            _FIT_POOL = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_lower_priority)
        pool = _FIT_POOL
    try:
        return pool.submit(_compute_quietly, panel, as_of, horizon, data_version, rules).result()
    except BrokenProcessPool:
        with _FIT_POOL_LOCK:
            _FIT_POOL = None
        return _compute_quietly(panel, as_of, horizon, data_version, rules)


_REFRESHERS: dict[Path, Refresher] = {}
_REFRESHERS_LOCK = threading.Lock()


def refresher(path: Path) -> Refresher:
    """Give this process's background refresher of the database at `path` (one per file)."""
    key = Path(path).resolve()
    with _REFRESHERS_LOCK:
        if key not in _REFRESHERS:
            _REFRESHERS[key] = Refresher(key)
        return _REFRESHERS[key]
