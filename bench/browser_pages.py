"""What a person waits for in the browser: from the click to the settled page, per page, and where the time goes.

Run on a demo database (about two minutes; a copy of the file is served, so nothing is written to it):
    .venv/bin/python bench/browser_pages.py --db data/channel.duckdb [--runs 3] [--out bench/results/browser_pages.md]

The app is started as the README's run command starts it (`streamlit run app.py`, one process) and Debian's
Chromium (the browser the tests drive) opens it at 1280 x 900:

- first start: from `goto` of the app's address to the settled Overview, on a server that has just started;
- first visit: each page once, by a click on its link in the sidebar, in the sidebar's order (nothing cached yet
  for that page);
- warm: the same clicks again, `--runs` rounds; the median is shown.

A page is settled when the script has finished (the app's script state is notRunning), no element of the
previous run is still shown greyed out (data-stale), no skeleton is left and every Plotly chart has drawn its
SVG. The time from the click is split by the websocket messages the browser receives (parsed with Streamlit's
own protobuf classes), so that a slow page names what is slow:

- wait: the click to the first message of the run (the browser sending the rerun, the server starting it);
- server: the first message to "script finished" (the page's script running on the server and its elements
  streaming to the browser as they are made);
- drawing: "script finished" to settled (React laying the page out, Plotly drawing the charts).

The messages' times are those at which the browser handled them, so a browser busy drawing an earlier chart
makes "server" look longer; two more figures tell the two apart: the server's CPU seconds for the visit (user
and system of the app process, read from /proc) and, from one more round recorded with Chromium's tracing
(toplevel tasks), the seconds the page's main thread was busy (scripts, layout, painting: the browser's own
work). The kilobytes received and the charts drawn are shown beside them. Other work on the machine slows
every figure: the header gives the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ws_load import cpu_seconds, started_app  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "browser_pages.md"
# The sidebar's links, in its order (app.py's navigation); the Partner page opens from a link, not the sidebar.
PAGES = ["Overview", "Tiers", "Revenue drop-offs", "Engagement and fit", "Recruits and ramp", "Distributors",
         "Partners at risk", "Model", "Annual review", "Upload extracts"]

SETTLED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
    if (!chart.querySelector('svg.main-svg')) return false;
  }
  return true;
}"""


@dataclass
class Timing:
    """One click (or the first start) to its settled page, in seconds, and what the browser received."""

    page: str
    total: float
    wait: float | None
    server: float | None
    drawing: float | None
    server_cpu: float | None
    kb: float
    charts: int
    browser_busy: float | None = None


class Frames:
    """The websocket messages the page receives, each with the time it arrived (perf_counter) and its size."""

    def __init__(self) -> None:
        self.received: list[tuple[float, int, str]] = []

    def attach(self, page) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self._on_frame))

    def _on_frame(self, payload) -> None:
        at = time.perf_counter()
        if isinstance(payload, str):
            return
        message = ForwardMsg()
        try:
            message.ParseFromString(payload)
        except Exception:  # a message this Streamlit does not parse is counted by its size only
            self.received.append((at, len(payload), ""))
            return
        self.received.append((at, len(payload), message.WhichOneof("type") or ""))

    def since(self, start: float) -> list[tuple[float, int, str]]:
        return [frame for frame in self.received if frame[0] >= start]


def settle(page, frames: Frames, start: float, timeout: float = 120) -> tuple[float, list]:
    """Wait for the run started at `start` to finish and the page to settle; give the settled time and the frames."""
    deadline = start + timeout
    while not any(kind == "script_finished" for _, _, kind in frames.since(start)):
        if time.perf_counter() > deadline:
            raise TimeoutError("the run did not finish")
        page.wait_for_timeout(5)  # lets Playwright deliver the websocket events meanwhile
    page.wait_for_function(SETTLED_JS, timeout=timeout * 1000, polling="raf")
    return time.perf_counter(), frames.since(start)


def timing(name: str, page, frames: Frames, start: float, cpu_before: float | None, server_pid: int) -> Timing:
    settled, received = settle(page, frames, start)
    cpu_after = cpu_seconds(server_pid)
    first = received[0][0] if received else None
    finished = next((at for at, _, kind in received if kind == "script_finished"), None)
    return Timing(
        page=name,
        total=settled - start,
        wait=None if first is None else first - start,
        server=None if first is None or finished is None else finished - first,
        drawing=None if finished is None else settled - finished,
        server_cpu=None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
        kb=sum(size for _, size, _ in received) / 1024,
        charts=page.locator('[data-testid="stPlotlyChart"]').count(),
    )


def click_page(page, frames: Frames, name: str, server_pid: int, browser=None) -> Timing:
    """Click the page's link in the sidebar and time it to settled; with `browser`, record a trace of it too."""
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True)
    if browser is not None:
        browser.start_tracing(page=page, categories=["toplevel", "devtools.timeline"])
    cpu_before = cpu_seconds(server_pid)
    start = time.perf_counter()
    link.click()
    result = timing(name, page, frames, start, cpu_before, server_pid)
    if browser is not None:
        result.browser_busy = main_thread_busy(json.loads(browser.stop_tracing()))
    return result


def main_thread_busy(trace: dict) -> float | None:
    """Give the seconds the renderer's main thread ran tasks in a Chromium trace (top-level tasks only)."""
    events = trace.get("traceEvents", [])
    main = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"
            and e.get("args", {}).get("name") == "CrRendererMain"}
    tasks = [e for e in events if e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in main
             and e.get("name") in ("RunTask", "ThreadControllerImpl::RunTask") and "dur" in e]
    if not main or not tasks:
        return None
    # Nested tasks (a task run inside another) are counted once: only those that start after the last one ended.
    busy, end = 0, -1
    for task in sorted(tasks, key=lambda e: e["ts"]):
        if task["ts"] >= end:
            busy += task["dur"]
            end = task["ts"] + task["dur"]
    return busy / 1e6


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _seconds(value: float | None) -> str:
    return "unavailable" if value is None else f"{value:.2f}"


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def table(first_start: Timing, first: dict[str, Timing], warm: dict[str, list[Timing]],
          traced: dict[str, Timing]) -> list[str]:
    lines = [
        "| page | click to settled, first visit (s) | click to settled, warm (s) | wait (s) | server (s) | drawing (s) "
        "| server CPU (s) | browser busy (s) | KB received | charts |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| first start (Overview) | {_seconds(first_start.total)} | | {_seconds(first_start.wait)} "
        f"| {_seconds(first_start.server)} | {_seconds(first_start.drawing)} | {_seconds(first_start.server_cpu)} "
        f"| | {first_start.kb:,.0f} | {first_start.charts} |",
    ]
    for name, runs in warm.items():
        lines.append(
            f"| {name} | {_seconds(first[name].total)} | {_seconds(_median([r.total for r in runs]))} "
            f"| {_seconds(_median([r.wait for r in runs]))} | {_seconds(_median([r.server for r in runs]))} "
            f"| {_seconds(_median([r.drawing for r in runs]))} | {_seconds(_median([r.server_cpu for r in runs]))} "
            f"| {_seconds(traced[name].browser_busy)} | {statistics.median(r.kb for r in runs):,.0f} "
            f"| {runs[0].charts} |"
        )
    return lines


def measure(db: Path, runs: int, width: int, height: int, workdir: Path) -> tuple[Timing, dict, dict, dict]:
    from playwright.sync_api import sync_playwright

    served = workdir / "channel.duckdb"
    shutil.copyfile(db, served)
    with started_app(served, 1, workdir / "server.log", ROOT / "app.py") as (url, server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        frames = Frames()
        frames.attach(page)
        cpu_before = cpu_seconds(server.pid)
        start = time.perf_counter()
        page.goto(url)
        first_start = timing("first start", page, frames, start, cpu_before, server.pid)
        print(f"first start {first_start.total:.2f} s", flush=True)
        sidebar = page.get_by_test_id("stSidebarNav")
        names = [n for n in PAGES if sidebar.get_by_role("link", name=n, exact=True).count()]
        first: dict[str, Timing] = {}
        # The Overview is open: its first visit is the first start; the others are clicked in the sidebar's order.
        for name in names[1:] + names[:1]:
            first[name] = click_page(page, frames, name, server.pid)
            print(f"first visit {name}: {first[name].total:.2f} s", flush=True)
        warm: dict[str, list[Timing]] = {name: [] for name in names}
        for round_ in range(runs):
            for name in names[1:] + names[:1]:
                warm[name].append(click_page(page, frames, name, server.pid))
            print(f"warm round {round_ + 1}: " + ", ".join(f"{n} {warm[n][-1].total:.2f}" for n in names), flush=True)
        # One more round, traced: tracing slows the browser a little, so its totals are not among the warm ones.
        traced = {name: click_page(page, frames, name, server.pid, browser) for name in names[1:] + names[:1]}
        browser.close()
    return first_start, first, warm, traced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "data" / "channel.duckdb",
                        help="the database to serve a copy of")
    parser.add_argument("--runs", type=int, default=3, help="warm rounds through every page")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--label", default="", help="a heading for this run in the results file")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)", file=sys.stderr)
        return 2
    if not args.db.exists():
        print(f"no database at {args.db}: build the demo first (python -m analytics demo)", file=sys.stderr)
        return 2
    before = load_average()
    with tempfile.TemporaryDirectory() as workdir:
        first_start, first, warm, traced = measure(args.db, args.runs, args.width, args.height, Path(workdir))
    after = load_average()
    heading = (f"### {args.label or args.db.name}: {time.strftime('%Y-%m-%d %H:%M')} UTC, "
               f"load average {before} before, {after} after")
    text = "\n".join([heading, "", *table(first_start, first, warm, traced), ""])
    print(text)
    if not args.out.exists():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            "# What a person waits for in the browser\n\nWritten by `bench/browser_pages.py` (see its docstring): "
            f"Chromium at {args.width} px, one app process, the median of {args.runs} warm rounds.\n\n"
        )
    with args.out.open("a") as out:
        out.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
