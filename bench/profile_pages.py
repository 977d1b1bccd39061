"""Where a warm visit of each page spends its server time, split by kind of work, under Streamlit's AppTest.

Run on a demo database (one process, a few warm runs per page, about a minute):
    .venv/bin/python bench/profile_pages.py DB [--warm-runs 5] [--out bench/results/profile_pages.md --label after]
    .venv/bin/python bench/profile_pages.py DB --cprofile views/pages/engagement.py   # the top functions of one page

AppTest runs app.py in a thread of this process, as the server does for a session, each script
compiled once as the server does. The script run (ScriptRunner._run_script) is timed on that
thread, and named functions are wrapped with timers whose time goes to the innermost one running
(exclusive), so the columns add up to the run. Times are the script thread's CPU time
(time.thread_time), which other processes on a shared machine sway far less than elapsed time
(--wall gives that); work in DuckDB's own threads is not in it (a warm run's queries are small).

- chrome: app.py before the page's `page.run()` (sign-in check, navigation, sidebar, filters,
  score freshness), all kinds of work in it together;
- db open/close: opening and closing Store connections (views.db and the keep-alive);
- versions: the data/scores version query that keys every cached call;
- cached: the rest of views.cache.cached (and cached_figure, derived): st.cache_data's hashing of the
  arguments and the copy of a hit;
- figure build: analytics.charts functions;
- figure send: st.plotly_chart (the figure to a dict, plotly's JSON, the element id's hash);
- table send: st.dataframe and st.data_editor (pandas to Arrow and the element);
- rest: everything else in the page (metrics, widgets, pandas in the page, Streamlit's own work).

Beyond the run, "gc" is the full garbage collection Streamlit runs after every script run unless
.streamlit/config.toml turns it off (runner.postScriptGC; AppTest's runner skips it, so it is timed
here, from the project folder's config, and counted in total), and "wire" the time to serialise the
run's protobuf messages for the websocket, which the server does on its event loop (not in total).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import io
import os
import pstats
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pages import APP, discover_pages  # noqa: E402  (bench/pages.py: the navigation's pages)

CATEGORIES = ("db open/close", "versions", "cached", "figure build", "figure send", "table send", "rest")


class SplitTimer:
    """Give each wrapped call's time to its category, minus the time of wrapped calls inside it (exclusive)."""

    def __init__(self, clock=time.thread_time) -> None:
        self.clock = clock
        self._local = threading.local()
        self.totals: dict[str, float] = defaultdict(float)
        self.chrome: float | None = None  # seconds from the run's start to page.run()
        self.run_seconds = 0.0
        self._run_started = 0.0

    def _stack(self) -> list[list]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    def reset(self) -> None:
        self.totals = defaultdict(float)
        self.chrome = None
        self.run_seconds = 0.0

    def wrap(self, function, category: str):
        """Give `function` wrapped so that its exclusive time counts as `category`."""
        if getattr(function, "_profiled", False):
            return function

        @functools.wraps(function)
        def timed(*args, **kwargs):
            stack = self._stack()
            frame = [category, 0.0]  # category, time of wrapped calls inside it
            stack.append(frame)
            started = self.clock()
            try:
                return function(*args, **kwargs)
            finally:
                spent = self.clock() - started
                stack.pop()
                self.totals[category] += spent - frame[1]
                if stack:
                    stack[-1][1] += spent

        timed._profiled = True
        return timed

    def run_started(self) -> None:
        self._run_started = self.clock()

    def run_ended(self) -> None:
        self.run_seconds = self.clock() - self._run_started

    def page_started(self) -> None:
        if self.chrome is None:
            self.chrome = self.clock() - self._run_started


def instrument(timer: SplitTimer) -> None:
    """Wrap the functions each category counts, before app.py's helper modules are first imported."""
    import plotly.io
    import plotly.tools
    import streamlit as st
    import streamlit.elements.plotly_chart as st_plotly
    from streamlit.elements.arrow import ArrowMixin
    from streamlit.elements.plotly_chart import PlotlyMixin
    from streamlit.elements.widgets.data_editor import DataEditorMixin
    from streamlit.navigation.page import StreamlitPage
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    import analytics.charts as charts
    import views.cache
    from analytics.store.store import Store

    run_script = ScriptRunner._run_script

    def timed_run(self, rerun_data):
        timer.run_started()
        try:
            return run_script(self, rerun_data)
        finally:
            timer.run_ended()

    ScriptRunner._run_script = timed_run
    page_run = StreamlitPage.run

    def timed_page_run(self):
        timer.page_started()
        return page_run(self)

    StreamlitPage.run = timed_page_run

    Store.__init__ = timer.wrap(Store.__init__, "db open/close")
    Store.close = timer.wrap(Store.close, "db open/close")
    Store.versions = timer.wrap(Store.versions, "versions")
    for name in ("cached", "cached_figure", "derived"):  # the last two are newer than the first table
        if hasattr(views.cache, name):
            setattr(views.cache, name, timer.wrap(getattr(views.cache, name), "cached"))
    for name in getattr(charts, "__all__", dir(charts)):
        value = getattr(charts, name)
        module = getattr(value, "__module__", None) or ""  # each chart is defined in a page family's module
        if callable(value) and module.startswith(charts.__name__ + ".") and not isinstance(value, type):
            wrapped = timer.wrap(value, "figure build")
            # Pages name a chart through the package; views.db's figure cache calls it from its own module.
            setattr(charts, name, wrapped)
            setattr(sys.modules[module], name, wrapped)
    # st.plotly_chart is bound to the main container when streamlit is imported, so both the module's
    # name (st.x) and the class method (columns, tabs: left.x) are wrapped; plotly.io.to_json and the
    # figure's to_dict are looked up at each call, so they count even when reached another way.
    plotly.io.to_json = timer.wrap(plotly.io.to_json, "figure send")
    plotly.tools.return_figure_from_figure_or_data = timer.wrap(
        plotly.tools.return_figure_from_figure_or_data, "figure send")
    st_plotly.compute_and_register_element_id = timer.wrap(st_plotly.compute_and_register_element_id, "figure send")
    st.plotly_chart = timer.wrap(st.plotly_chart, "figure send")
    PlotlyMixin.plotly_chart = timer.wrap(PlotlyMixin.plotly_chart, "figure send")
    st.dataframe = timer.wrap(st.dataframe, "table send")
    st.data_editor = timer.wrap(st.data_editor, "table send")
    ArrowMixin.dataframe = timer.wrap(ArrowMixin.dataframe, "table send")
    DataEditorMixin.data_editor = timer.wrap(DataEditorMixin.data_editor, "table send")


def _wire_seconds() -> tuple[float, int]:
    """Give the time and bytes of serialising the last run's messages as the server sends them."""
    messages = _last_messages.get("messages", [])
    started = time.thread_time()
    size = sum(len(m.SerializeToString()) for m in messages)
    return time.thread_time() - started, size


_last_messages: dict[str, list] = {}


def _keep_messages() -> None:
    """Keep each AppTest run's protobuf messages (AppTest parses them into its tree and drops them)."""
    from streamlit.testing.v1 import local_script_runner

    parse = local_script_runner.parse_tree_from_messages

    def keeping(messages):
        _last_messages["messages"] = list(messages)
        return parse(messages)

    local_script_runner.parse_tree_from_messages = keeping


def _share_script_cache() -> None:
    """Compile each script once, as the server does (AppTest makes a new ScriptCache, so compiles, every run)."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared


def profile_pages(db: Path, warm_runs: int, partner_id: str, only: list[str] | None = None,
                  clock=time.thread_time) -> list[dict]:
    """Give per page the median warm run's seconds: total, chrome, each category, wire, and the bytes sent."""
    import streamlit as st
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    os.environ["CHANNEL_DB"] = str(db)
    os.environ.setdefault("CHANNEL_BACKGROUND_SCORES", "0")  # no model fitting behind the timings' back
    os.chdir(ROOT)  # the app's .streamlit/config.toml, as `streamlit run app.py` reads it
    config.get_config_options(force_reparse=True)
    collect = config.get_option("runner.postScriptGC")
    timer = SplitTimer(clock)
    instrument(timer)
    _keep_messages()
    _share_script_cache()
    rows = []
    for page, title in discover_pages():
        if only and page not in only:
            continue
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(APP), default_timeout=900)
        at.query_params["partner_id"] = partner_id
        at.run()
        at.switch_page(page).run()  # cold: fills the caches
        if at.exception:
            rows.append({"page": title, "error": "; ".join(e.message for e in at.exception)[:200]})
            continue
        runs = []
        for _ in range(warm_runs):
            timer.reset()
            at.run()
            started = clock()
            if collect:
                gc.collect(2)
            collected = clock() - started
            wire, size = _wire_seconds()
            split = {c: timer.totals.get(c, 0.0) for c in CATEGORIES if c != "rest"}
            split["rest"] = timer.run_seconds - sum(split.values())
            runs.append({"total": timer.run_seconds + collected, "chrome": timer.chrome or 0.0, **split,
                         "gc": collected, "wire": wire, "bytes": size})
        median = min(runs, key=lambda r: abs(r["total"] - statistics.median(x["total"] for x in runs)))
        rows.append({"page": title, **median})
    return rows


def cprofile_page(db: Path, page: str, warm_runs: int, partner_id: str, top: int) -> str:
    """Give cProfile's top functions (by own time and cumulative) over warm runs of one page, on the script thread."""
    import streamlit as st
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
    from streamlit.testing.v1 import AppTest

    os.environ["CHANNEL_DB"] = str(db)
    os.environ.setdefault("CHANNEL_BACKGROUND_SCORES", "0")
    profiler = cProfile.Profile()
    active = {"on": False}
    run_script = ScriptRunner._run_script

    def profiled(self, rerun_data):
        if not active["on"]:
            return run_script(self, rerun_data)
        profiler.enable()
        try:
            return run_script(self, rerun_data)
        finally:
            profiler.disable()

    ScriptRunner._run_script = profiled
    _share_script_cache()
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=900)
    at.query_params["partner_id"] = partner_id
    at.run()
    at.switch_page(page).run()
    active["on"] = True
    for _ in range(warm_runs):
        at.run()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def markdown_table(rows: list[dict], heading: str) -> str:
    """Give the rows as a Markdown table in milliseconds."""
    cols = ["total", "chrome", *CATEGORIES, "gc", "wire"]
    lines = [heading, "", "| page | " + " | ".join(cols) + " | KB sent |", "|---" * (len(cols) + 2) + "|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['page']} | error: {r['error']} |")
            continue
        cells = " | ".join(f"{r[c] * 1000:.0f}" for c in cols)
        lines.append(f"| {r['page']} | {cells} | {r['bytes'] / 1024:,.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--partner-id", default="P000001")
    parser.add_argument("--out", type=Path, help="append the table to this Markdown file")
    parser.add_argument("--label", default="", help="the table's heading (e.g. before / after)")
    parser.add_argument("--cprofile", metavar="PAGE", help="print cProfile's top functions for this page instead")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--page", action="append", help="only this page (views/x.py; repeatable)")
    parser.add_argument("--wall", action="store_true",
                        help="elapsed time, not the script thread's CPU time (swayed by other processes' load)")
    args = parser.parse_args()
    if args.cprofile:
        print(cprofile_page(args.db, args.cprofile, args.warm_runs, args.partner_id, args.top))
        return
    load = os.getloadavg()[0]
    rows = profile_pages(args.db, args.warm_runs, args.partner_id, args.page,
                         time.perf_counter if args.wall else time.thread_time)
    clock = "elapsed" if args.wall else "CPU"
    heading = (f"### {args.label or 'Warm visits'}: milliseconds of server {clock} time per warm run "
               f"(median of {args.warm_runs}; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)")
    text = markdown_table(rows, heading)
    print(text)
    if args.out:
        with args.out.open("a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
