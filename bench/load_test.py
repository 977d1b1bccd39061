"""Load test: concurrent browser sessions against the running app, with a command-line load in the middle.

Run:  .venv/bin/python bench/load_test.py [--sessions 8] [--duration 60] [--navigate click|url]
      .venv/bin/python bench/load_test.py --url http://127.0.0.1:8501 [--db PATH --load-during --extract FILE]

Not part of the test suite. By default it builds a small demo channel (`python -m analytics --db PATH
demo --partners 1500 --extracts-dir DIR --hold-back 2026Q3`: the last quarter's extract is written
but not loaded), serves the real app with `streamlit run app.py` on a free localhost port, and opens
one headless Chromium (Debian's /usr/bin/chromium) with one browser context per session.

Every session goes round the pages (Overview, Tiers, Revenue drop-offs, Engagement and fit, Partners
at risk, Model, Annual review, Partner), each session starting on a different one. With
--navigate click (the default) a session loads the app once and then moves by the sidebar's links,
one Streamlit session for the whole run, as a person browsing in one tab; on the Partner page it
types a partner's id into the search box. With --navigate url every visit is a page load of the
page's address (the Partner page with ?partner_id=), a new Streamlit session each time.

A visit is timed from the click or navigation until the page is drawn: no script run under way (the
`data-test-script-state` of the app's root reads `notRunning`) and the page's own heading with its
first chart there (the Overview: its figures and three charts; the Partner page: the typed partner's
figures and risk). The time until Streamlit reported the run over is kept too, to tell the server's
time from the browser's. A visit is an error when the page shows an exception, an error box, a
warning that it could not get the database, nothing of its content for 30 s after its run, loses its
connection, or has not finished within --page-timeout seconds.

Half-way through (--load-during, on by default when it built its own channel) it runs the command
line loading the held-back quarter, `python -m analytics --db PATH --wait 120 ingest
sales_2026Q3.csv`, while the sessions browse, and records how long the command took, whether and how
long it waited for the app to let go of the database, and its exit code. Visits are grouped by
whether they ran before, during or after that load; every visit reads which quarter the sidebar says
the data go to, so a visit that starts after the load has committed and still shows the old quarter
is counted. At the end every session opens the Overview once more and must see "Revenue in 2026Q3".

Prints a table (per page: visits, errors, p50, p95 and max seconds; all pages; by phase; by page load
or click; the command-line load; whether every session saw the new quarter) and writes it to
bench/results/load.md with the date, the machine and the exact command. Exit code 1 when any visit
failed or the load did not succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_ARGS, serve_app  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "load.md"
HELD_BACK = "2026Q3"  # the demo's last quarter, held back and loaded from the command line during the run


@dataclass(frozen=True)
class PageSpec:
    name: str     # its label in the sidebar's navigation
    path: str     # URL path after the app's address ("" for the Overview)
    title: str    # its st.title
    content: str  # what must be there when it has finished: "overview", "chart", "search" or "partner"


PAGES = [
    PageSpec("Overview", "", "Channel overview", "overview"),
    PageSpec("Tiers", "tiers", "Tiers", "chart"),
    PageSpec("Revenue drop-offs", "dropoffs", "Revenue drop-offs", "chart"),
    PageSpec("Engagement and fit", "engagement", "Engagement and fit", "chart"),
    PageSpec("Partners at risk", "risk", "Partners at risk", "chart"),
    PageSpec("Model", "model", "Model", "chart"),
    PageSpec("Annual review", "review", "Annual review", "chart"),  # its chart sits in a hidden tab: attached
    PageSpec("Partner", "partner", "Partner", "partner"),
]
SEARCH_LABEL = "Find a partner by name or id"

# Installed in every page before its own scripts: notes when Streamlit last reported a script run
# over (the app's root attribute turning `notRunning`), so that a visit also tells how long the server
# took, apart from the time the browser then needs to draw the page (on this machine, a lot).
_WATCH_JS = """
(() => {
  const lt = window.__lt = {sawWait: false, idleSince: null, connected: false, endedAt: null};
  new MutationObserver(changes => {
    for (const c of changes) {
      if (c.target.getAttribute('data-test-script-state') === 'notRunning') lt.endedAt = Date.now();
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
})();
"""
# Forget what the last visit saw (whether the page said it waited for the database, since when it idles).
_RESET_JS = "() => { const lt = window.__lt; if (lt) { lt.sawWait = false; lt.idleSince = null; lt.endedAt = null; } }"

# What the page shows now, read in the browser.
_SNAPSHOT_JS = """
([title, content, partner]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return null;
  const st = window.__lt = window.__lt || {sawWait: false, idleSince: null, connected: false, endedAt: null};
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const side = document.querySelector('[data-testid="stSidebar"]');
  const texts = (root, sel) => [...root.querySelectorAll(sel)].map(e => e.textContent.trim());
  const heading = texts(main, 'h1').includes(title);
  const charts = main.querySelectorAll('.js-plotly-plot').length;
  const metrics = main.querySelectorAll('[data-testid="stMetric"]').length;
  const drawing = main.querySelectorAll('[data-testid="stSkeleton"]').length;  // lazily loaded parts still coming
  const mainText = main.textContent || '';
  let hasContent = heading;
  if (content === 'overview') hasContent = hasContent && charts >= 3 && metrics >= 4 &&
      /Revenue in \\d{4}Q\\d/.test(mainText);
  else if (content === 'chart') hasContent = hasContent && charts >= 1;
  else if (content === 'search') hasContent = hasContent && !!main.querySelector('input[aria-label="__SEARCH__"]');
  else if (content === 'partner') hasContent = hasContent && metrics >= 4 &&
      /What raises the risk|no risk score|history/.test(mainText) &&
      [...main.querySelectorAll('input')].some(i => i.value.includes('(' + partner + ')'));
  const infos = texts(document, '[data-testid="stAlertContentInfo"]');
  if (infos.some(t => /in use by another process/.test(t))) st.sawWait = true;
  const conn = app.getAttribute('data-test-connection-state');
  if (conn === 'CONNECTED') st.connected = true;
  const state = app.getAttribute('data-test-script-state');
  const dataTo = side ? (side.textContent.match(/Data to (\\d{4}Q\\d)/) || [])[1] || null : null;
  const revenueIn = (mainText.match(/Revenue in (\\d{4}Q\\d)/) || [])[1] || null;
  return {
    state, conn, connected: st.connected, hasContent, drawing, sawWait: st.sawWait, endedAt: st.endedAt,
    text: mainText.slice(0, 300),
    exceptions: texts(document, '[data-testid="stException"]').map(t => t.slice(0, 400)),
    errors: texts(document, '[data-testid="stAlertContentError"]').map(t => t.slice(0, 400)),
    warnings: texts(document, '[data-testid="stAlertContentWarning"]').map(t => t.slice(0, 400)),
    dataTo, revenueIn,
  };
}
""".replace("__SEARCH__", SEARCH_LABEL)

# Done when no script run is under way and the page has its own content (the heading of the page
# asked for, so not the last page's), or shows a failure, or lost its connection, or has sat idle for
# 30 s without its content and without placeholders (a page that stopped early). Charts and metrics
# are drawn by scripts the browser loads when first needed, showing placeholders (stSkeleton) until
# then: on a busy machine that takes long after the run is over, and is not idling. Whether a run was
# seen starting is no signal: a quick run can go from notRunning to running and back between two
# renders of the page.
_DONE_JS = """
(args) => {
  const snap = (__SNAPSHOT__)(args);
  if (!snap) return false;
  const st = window.__lt;
  if (snap.connected && snap.conn !== 'CONNECTED') return snap;
  if (snap.state !== 'notRunning' || snap.drawing) { st.idleSince = null; return false; }
  if (st.idleSince === null) st.idleSince = Date.now();
  if (snap.hasContent || snap.exceptions.length || snap.errors.length) return snap;
  if (snap.warnings.some(t => /in use by another process|try again|reload it/i.test(t))) return snap;
  return Date.now() - st.idleSince > 30000 ? snap : false;
}
""".replace("__SNAPSHOT__", _SNAPSHOT_JS.strip())

_REFUSED = re.compile(r"in use by another process|try again|reload it", re.I)


@dataclass
class Visit:
    session: int
    page: str
    started: float  # seconds since the sessions started
    seconds: float
    outcome: str    # ok, exception, error box, refused, no content, disconnected, timeout, browser error
    detail: str = ""
    data_to: str | None = None
    revenue_in: str | None = None
    waited: bool = False
    phase: str = ""
    how: str = "url"  # "url": a page load of the page's address; "click": the sidebar's link in the app
    run_seconds: float | None = None  # until Streamlit reported the run over (None when no change was seen)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass
class CliLoad:
    command: list[str]
    at: float                      # seconds after the sessions started
    started: float = 0.0           # monotonic
    got_database: float | None = None  # monotonic time of its first progress line: the wait is over
    ended: float = 0.0
    exit_code: int | None = None
    output: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def waited(self) -> float | None:
        return None if self.got_database is None else self.got_database - self.started


# -- the app ------------------------------------------------------------------------------------
def build_demo(workdir: Path, partners: int) -> tuple[Path, Path, float]:
    """Build the demo channel with its last quarter held back; give the database, that quarter's extract, seconds."""
    db, extracts = workdir / "channel.duckdb", workdir / "extracts"
    command = [sys.executable, "-m", "analytics", "--db", str(db), "demo", "--partners", str(partners),
               "--extracts-dir", str(extracts), "--hold-back", HELD_BACK]
    print("building the demo channel:", shlex.join(command[1:]), flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return db, extracts / f"sales_{HELD_BACK}.csv", time.perf_counter() - started


def channel_facts(db: Path) -> tuple[list[str], str]:
    """Give partner ids to open on the Partner page (active ones, big to small) and a line about the channel."""
    from analytics.store.store import Store

    with Store(db) as store:
        ids = store.query_df(
            "SELECT partner_id FROM partner_quarter WHERE quarter = (SELECT max(quarter) FROM partner_quarter) "
            "GROUP BY partner_id ORDER BY sum(revenue) DESC, partner_id"
        )["partner_id"].tolist()
        facts = store.query_df(
            "SELECT count(DISTINCT partner_id) AS partners, count(DISTINCT quarter) AS quarters, "
            "min(quarter) AS first, max(quarter) AS last, sum(order_lines) AS lines FROM partner_quarter"
        ).iloc[0]
    step = max(1, len(ids) // 12)
    picked = ids[::step][:12] or ["P000002"]
    line = (f"{int(facts.partners):,} partners, {int(facts.lines):,} order lines, {int(facts.quarters)} quarters "
            f"{facts['first']}–{facts['last']}")
    return picked, line


# -- the sessions -------------------------------------------------------------------------------
class Browsing:
    """One person's tab: a browser context of its own, one Streamlit session as long as the tab is not reloaded."""

    def __init__(self, number: int, base: str, how: str, partner_ids: list[str], t0: float, timeout: float,
                 shots: Path | None):
        self.number, self.base, self.how, self.t0, self.timeout, self.shots = number, base, how, t0, timeout, shots
        self.partner_ids = partner_ids
        self.rng = random.Random(number)
        self.page = None
        self.fresh = True         # the next visit must load the page by its URL (first visit, or after a failure)
        self.reloads = 0          # page loads after the first: each one starts a new Streamlit session
        self.last_partner = ""

    async def open(self, browser) -> None:
        self.context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        await self.context.add_init_script(_WATCH_JS)
        self.page = await self.context.new_page()

    async def close(self) -> None:
        await self.context.close()

    async def visit(self, spec: PageSpec) -> Visit:
        """Go to a page and wait until it has finished; give what happened and how long it took."""
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        partner = self.rng.choice([p for p in self.partner_ids if p != self.last_partner] or self.partner_ids)
        by_url = self.how == "url" or self.fresh
        started, wall = time.monotonic(), time.time()
        record = Visit(self.number, spec.name, started - self.t0, 0.0, "ok", how="url" if by_url else "click")
        deadline = started + self.timeout
        snap = None
        content = spec.content
        try:
            if by_url:
                if self.page.url != "about:blank":
                    self.reloads += 1
                path = f"{spec.path}?partner_id={partner}" if spec.content == "partner" else spec.path
                await self.page.goto(f"{self.base}/{path}", wait_until="commit", timeout=self.timeout * 1000)
            else:
                # In the app: the sidebar's link; on the Partner page the person then types an id.
                content = "search" if spec.content == "partner" else spec.content
                await self.page.evaluate(_RESET_JS)
                link = self.page.locator(f'a[data-testid="stSidebarNavLink"]:has(span[label="{spec.name}"])')
                await link.click(timeout=self.timeout * 1000)
            snap = await self._finished(spec.title, content, partner, deadline)
            if content == "search" and snap.get("hasContent"):
                await self.page.evaluate(_RESET_JS)
                await self.page.get_by_label(SEARCH_LABEL).fill(partner)
                await self.page.get_by_label(SEARCH_LABEL).press("Enter")
                snap = await self._finished(spec.title, "partner", partner, deadline)
            self.last_partner = partner
            self.fresh = False
        except PlaywrightTimeout:
            record.outcome = "timeout"
            with contextlib.suppress(PlaywrightError):
                snap = await self.page.evaluate(_SNAPSHOT_JS, [spec.title, spec.content, partner])
            record.detail = f"not finished after {self.timeout:.0f} s (script {snap and snap.get('state')})"
        except PlaywrightError as exc:
            record.outcome = "browser error"
            record.detail = str(exc).splitlines()[0][:300]
        record.seconds = time.monotonic() - started
        if snap:
            record.data_to, record.revenue_in, record.waited = snap["dataTo"], snap["revenueIn"], snap["sawWait"]
            if snap.get("endedAt") and record.outcome == "ok":
                record.run_seconds = min(record.seconds, max(0.0, snap["endedAt"] / 1000 - wall))
            if record.outcome == "ok":
                refused = [w for w in snap["warnings"] if _REFUSED.search(w)]
                if snap["connected"] and snap["conn"] != "CONNECTED":
                    record.outcome, record.detail = "disconnected", f"connection {snap['conn']}"
                elif snap["exceptions"]:
                    record.outcome, record.detail = "exception", snap["exceptions"][0]
                elif snap["errors"]:
                    record.outcome, record.detail = "error box", snap["errors"][0]
                elif refused:
                    record.outcome, record.detail = "refused", refused[0]
                elif not snap["hasContent"]:
                    record.outcome = "no content"
                    shown = " ".join(snap["text"].split())[:200]
                    record.detail = ("; ".join(snap["warnings"])[:300]
                                     or f"finished without its heading and chart, showing {shown!r}")
        if not record.ok:
            self.fresh = True  # start again from a page load, as a person would
        await self._note(record)
        return record

    async def _finished(self, title: str, content: str, partner: str, deadline: float) -> dict:
        left = max(1.0, deadline - time.monotonic())
        handle = await self.page.wait_for_function(_DONE_JS, arg=[title, content, partner], polling=100,
                                                   timeout=left * 1000)
        return await handle.json_value()

    async def _note(self, record: Visit) -> None:
        """Print a visit as it ends; keep a screenshot of a page that failed."""
        mark = "" if record.ok else f"  <- {record.outcome}: {record.detail[:160]}"
        print(f"[{record.started + record.seconds:6.1f} s] session {record.session} {record.page:<20} "
              f"{record.seconds:6.2f} s ({record.how}), data to {record.data_to}{mark}", flush=True)
        if not record.ok and self.shots is not None:
            self.shots.mkdir(parents=True, exist_ok=True)
            name = f"{record.started:07.1f}_s{record.session}_{record.page}_{record.outcome}.png".replace(" ", "_")
            with contextlib.suppress(Exception):
                await self.page.screenshot(path=str(self.shots / name), timeout=10000)


async def browse(tab: Browsing, stop: asyncio.Event, think: float, visits: list[Visit], delay: float) -> Visit:
    """Visit page after page until told to stop, then open the Overview once more; give that last visit."""
    await asyncio.sleep(delay)
    n = tab.number % len(PAGES)
    order = PAGES[n:] + PAGES[:n]  # sessions start on different pages
    while not stop.is_set():
        for spec in order:
            if stop.is_set():
                break
            visits.append(await tab.visit(spec))
            if think:
                await asyncio.sleep(think * tab.rng.uniform(0.5, 1.5))
    return await tab.visit(PAGES[0])


async def run_cli(load: CliLoad, t0: float) -> None:
    """Start the command-line load at its time and follow its output."""
    await asyncio.sleep(max(0.0, t0 + load.at - time.monotonic()))
    print(f"[{time.monotonic() - t0:6.1f} s] command line starts: {shlex.join(load.command[1:])}", flush=True)
    load.started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*load.command, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    async for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip()
        if load.got_database is None and line.startswith("["):
            load.got_database = time.monotonic()
        load.output.append(line)
        print(f"[{time.monotonic() - t0:6.1f} s] command line: {line}", flush=True)
    load.exit_code = await proc.wait()
    load.ended = time.monotonic()


async def drive(base: str, sessions: int, duration: float, how: str, partner_ids: list[str],
                load: CliLoad | None, think: float, ramp: float, timeout: float, settle: float, shots: Path | None,
                meter: CpuMeter) -> tuple[list[Visit], list[Visit], list[Browsing]]:
    """Run the sessions (and the load); give every visit, each session's last Overview visit, and the sessions."""
    from playwright.async_api import async_playwright

    visits: list[Visit] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            stop = asyncio.Event()
            meter.start()
            t0 = time.monotonic()
            tabs = [Browsing(i, base, how, partner_ids, t0, timeout, shots) for i in range(sessions)]
            for tab in tabs:
                await tab.open(browser)
            tasks = [asyncio.create_task(browse(tab, stop, think, visits, tab.number * ramp)) for tab in tabs]
            cli = asyncio.create_task(run_cli(load, t0)) if load else None
            await asyncio.sleep(duration)
            if cli is not None:
                await cli  # keep browsing until the load is over and a little after
                left = load.ended + settle - time.monotonic()
                if left > 0:
                    await asyncio.sleep(left)
            print(f"[{time.monotonic() - t0:6.1f} s] stop: every session opens the Overview once more", flush=True)
            stop.set()
            final = list(await asyncio.gather(*tasks))
            meter.stop()
            for tab in tabs:
                await tab.close()
        finally:
            await browser.close()
    for record in visits + final:
        record.phase = _phase(record, load, t0)
    return visits, final, tabs


def _phase(record: Visit, load: CliLoad | None, t0: float) -> str:
    if load is None or load.ended == 0.0:
        return "no load"
    start, end = t0 + record.started, t0 + record.started + record.seconds
    if end <= load.started:
        return "before the load"
    if start >= load.ended:
        return "after the load"
    return "during the load"


# -- the report ---------------------------------------------------------------------------------
def percentile(values: list[float], share: float) -> float:
    """Give the nearest-rank percentile (share 0.5 = median) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


_HEADER = "p50 s | p95 s | max s | run over: p50 s | p95 s |"


def _row(label: str, group: list[Visit], extra: str = "") -> str:
    """A table row: visits, errors, [extra,] percentiles of the time to the drawn page and to the run's end."""
    if not group:
        return f"| {label} | 0 | 0 |{extra} | | | | |"
    times = [v.seconds for v in group]
    runs = [v.run_seconds for v in group if v.run_seconds is not None]
    run = f"{percentile(runs, 0.5):.2f} | {percentile(runs, 0.95):.2f}" if runs else " | "
    errors = sum(not v.ok for v in group)
    return (f"| {label} | {len(group)} | {errors} |{extra} {percentile(times, 0.5):.2f} | "
            f"{percentile(times, 0.95):.2f} | {max(times):.2f} | {run} |")


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kib / 1024 ** 2:.0f} GiB"
    return f"{cpu}, nproc {os.cpu_count()}, {mem} RAM, {platform.system()} {platform.release()}"


def versions() -> str:
    from importlib.metadata import version

    parts = [f"Python {platform.python_version()}"]
    for package in ("streamlit", "duckdb", "playwright"):
        with contextlib.suppress(Exception):
            parts.append(f"{package} {version(package)}")
    with contextlib.suppress(Exception):
        parts.append(subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True,
                                    timeout=20).stdout.strip())
    return ", ".join(parts)


def _descendants(root: int) -> set[int]:
    """Give the ids of a process's living descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """Give each living process's user + system CPU seconds so far."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / tick
    return used


class CpuMeter:
    """CPU time the app server and the browser (Chromium with Playwright's driver) use between start() and stop()."""

    def __init__(self, server_pid: int | None):
        self.server_pid = server_pid
        self.before: dict[int, float] = {}
        self.after: dict[int, float] = {}
        self.wall = 0.0

    def _processes(self) -> set[int]:
        return _descendants(os.getpid())

    def start(self) -> None:
        self.before, self.wall = cpu_seconds(self._processes()), time.monotonic()

    def stop(self) -> None:
        self.after, self.wall = cpu_seconds(self._processes()), time.monotonic() - self.wall

    def summary(self) -> str:
        server = ({self.server_pid} | _descendants(self.server_pid)) if self.server_pid else set()
        used = {pid: t - self.before.get(pid, 0.0) for pid, t in self.after.items()}
        app = sum(t for pid, t in used.items() if pid in server)
        browser = sum(t for pid, t in used.items() if pid not in server)
        app_text = f"the app server {app:.0f} s" if self.server_pid else "the app server not measured (not ours)"
        return (f"CPU used while the sessions ran ({self.wall:.0f} s on {os.cpu_count()} cores, "
                f"{self.wall * (os.cpu_count() or 1):.0f} CPU-seconds in all, shared with other work): {app_text}, "
                f"headless Chromium and Playwright {browser:.0f} s (processes that ended before the end are not "
                f"counted).")


def peak_rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        status = Path(f"/proc/{pid}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024
    return None


def report(args, visits: list[Visit], final: list[Visit], load: CliLoad | None, expected: str | None,
           setup: list[str], server_notes: list[str], load_before: tuple, load_after: tuple) -> str:
    lines = [
        "# Load test",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {machine()}; {versions()}.",
        f"Load average (1, 5, 15 min) {' / '.join(f'{x:.1f}' for x in load_before)} before the run, "
        f"{' / '.join(f'{x:.1f}' for x in load_after)} after.",
        "",
        "Command:",
        "",
        "```bash",
        shlex.join([".venv/bin/python", "bench/load_test.py", *sys.argv[1:]]),
        "```",
        "",
        *setup,
        "",
        "*p50, p95, max*: seconds from the click or navigation until the page is drawn (no run under way, the "
        "page's heading and first chart there). *Run over*: until Streamlit reported the page's script run over, "
        "before the browser draws the charts; the difference is the browser's work on this machine.",
        "",
        f"| page | visits | errors | {_HEADER}",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in PAGES:
        lines.append(_row(spec.name, [v for v in visits if v.page == spec.name]))
    lines.append(_row("**all pages**", visits))
    if visits:
        times = [v.seconds for v in visits]
        lines += ["", f"**Summary: {args.sessions} sessions, {len(visits)} page visits (requests), "
                  f"{sum(not v.ok for v in visits)} errors; median {percentile(times, 0.5):.2f} s, "
                  f"95th percentile {percentile(times, 0.95):.2f} s, max {max(times):.2f} s.**"]
    lines += ["", "By phase (a visit is *during the load* when any part of it overlaps the command line's run; "
              "*waited* counts visits whose page said it was waiting for the database):", "",
              f"| phase | visits | errors | waited | {_HEADER}", "|---|---|---|---|---|---|---|---|---|"]
    for phase in ("before the load", "during the load", "after the load", "no load"):
        group = [v for v in visits if v.phase == phase]
        if group:
            lines.append(_row(phase, group, f" {sum(v.waited for v in group)} |"))
    if len({v.how for v in visits}) > 1:
        lines += ["", "By how the page was reached (*url*: a page load, the first visit of every session and any "
                  "visit after a failure; *click*: the sidebar's link in the running app):", "",
                  f"| how | visits | errors | {_HEADER}", "|---|---|---|---|---|---|---|---|"]
        for how in ("url", "click"):
            lines.append(_row(how, [v for v in visits if v.how == how]))
    outcomes = Counter(v.outcome for v in visits if not v.ok)
    lines += ["", f"Errors by kind: {', '.join(f'{k} {n}' for k, n in outcomes.most_common()) or 'none'}."]
    distinct = Counter((v.page, v.outcome, v.detail.splitlines()[0][:200] if v.detail else "") for v in visits
                       if not v.ok)
    for (page, outcome, detail), n in distinct.most_common(8):
        lines.append(f"- {n} x {page}: {outcome}: {detail}")
    lines.append("")
    if load is not None:
        told = [line for line in load.output if "in use by another process" in line]
        if load.waited is None:
            waited = "it never got the database"
        elif told:
            waited = (f"it waited for the app to let go of the database and said why {len(told)} time(s) "
                      f"(\"{told[0][:160]}\"); its first progress line came {load.waited:.1f} s after it started")
        else:
            waited = (f"it did not have to wait for the database (no waiting message); its first progress line "
                      f"came {load.waited:.1f} s after it started (Python start-up and imports included)")
        last = next((line for line in reversed(load.output) if line and not line.startswith("[")), "")
        lines += [
            f"Command-line load during the run: `{shlex.join(['python', *load.command[1:]])}`, started "
            f"{load.at:.0f} s into the run: {load.seconds:.1f} s in all, exit code {load.exit_code}"
            + (f' ("{last}")' if last else "") + f"; {waited}.",
            "",
        ]
        for v in final:
            if not (v.ok and v.revenue_in == expected and v.data_to == expected):
                lines.append(f"- session {v.session}'s last Overview: {v.outcome} after {v.seconds:.1f} s, revenue in "
                             f"{v.revenue_in}, data to {v.data_to}{': ' + v.detail if v.detail else ''}")
        stale = [v for v in visits if v.phase == "after the load" and v.ok and v.data_to != expected]
        torn = [v for v in visits + final if v.ok and v.page == "Overview" and v.revenue_in != v.data_to]
        saw = [v for v in final if v.ok and v.revenue_in == expected and v.data_to == expected]
        lines += [
            f"New quarter: {len(saw)} of {len(final)} sessions saw {expected} on the Overview after the load "
            f"(\"Revenue in {expected}\", sidebar \"Data to {expected}\"): "
            f"**{'yes, every session' if len(saw) == len(final) else 'NO'}**. Visits that started after the "
            f"load had ended and still showed older data: {len(stale)}. Overview visits whose figures and "
            f"sidebar named different quarters: {len(torn)}. Quarters the sidebar showed during "
            f"the load: {', '.join(sorted({str(v.data_to) for v in visits if v.phase == 'during the load'})) or '-'}.",
            "",
        ]
    lines += server_notes
    lines += [
        "",
        "Notes: client and server share the machine: headless Chromium rendering every session's page "
        "(Plotly charts included) runs on the same cores as the app, so the times are those of a browser "
        "on a loaded machine, not of the server alone. The machine was shared with other work during "
        "the run (see the load average), so the figures are noisy; compare runs only with that in mind. "
        "Times are from the navigation to the page's finished state, polled every 0.1 s.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an already running app (default: build a demo channel and serve it)")
    parser.add_argument("--db", type=Path, help="with --url: the app's database (partner ids; the load goes into it)")
    parser.add_argument("--extract", type=Path, help=f"with --url and --load-during: the file to load "
                                                     f"(default sales_{HELD_BACK}.csv next to --db)")
    parser.add_argument("--sessions", type=int, default=8, help="concurrent browser sessions (default 8)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of browsing (default 60)")
    parser.add_argument("--load-during", action=argparse.BooleanOptionalAction, default=None,
                        help="load the held-back quarter from the command line half-way through "
                             "(default: on when the script built its own channel)")
    parser.add_argument("--load-at", type=float, default=None,
                        help="seconds into the run to start the load (default: half of --duration)")
    parser.add_argument("--partners", type=int, default=1500, help="demo size (default 1500)")
    parser.add_argument("--navigate", choices=("click", "url"), default="click",
                        help="click: each session loads the app once and then moves by the sidebar's links (one "
                             "Streamlit session per tab; the Partner page by typing an id); url: every visit is a "
                             "page load of the page's address (a new Streamlit session each time). Default click")
    parser.add_argument("--think", type=float, default=0.5, help="mean pause between visits, seconds (default 0.5)")
    parser.add_argument("--ramp", type=float, default=2.0,
                        help="seconds between one session's start and the next (default 2: the first page load "
                             "of a tab costs the browser far more than a click)")
    parser.add_argument("--page-timeout", type=float, default=180,
                        help="seconds before a visit counts as timed out (default 180: the app waits up to 120 s)")
    parser.add_argument("--settle", type=float, default=15, help="seconds to keep browsing after the load ends")
    parser.add_argument("--workdir", type=Path, help="keep the channel, extracts and server log here")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        parser.error(f"Debian's chromium is not installed at {CHROMIUM}")

    load_before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        if args.workdir:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="channel-load-")))
        setup: list[str] = []
        server_notes: list[str] = []
        server = None
        if args.url:
            base, db = args.url.rstrip("/"), args.db
            extract = args.extract or (db.parent / f"sales_{HELD_BACK}.csv" if db else None)
            load_during = bool(args.load_during)
            if load_during and (db is None or extract is None or not extract.exists()):
                parser.error("--load-during with --url needs --db (and --extract, or the extract next to it)")
            partner_ids, facts = ["P000002"], "the app's channel"
            if db is not None:
                from analytics.store.faults import StoreError

                with contextlib.suppress(StoreError):  # the app holds the file while a page runs
                    partner_ids, facts = channel_facts(db)
            setup.append(f"Against the running app at {base} ({facts}).")
        else:
            db, extract, built = build_demo(workdir, args.partners)
            partner_ids, facts = channel_facts(db)
            load_during = args.load_during is not False
            setup.append(f"Demo channel of {args.partners:,} partners at the start, {HELD_BACK} held back: {facts}; "
                         f"built in {built:.0f} s. Served by `streamlit run app.py` on localhost.")
            base, server = stack.enter_context(serve_app(db, workdir / "server.log", timeout=90))
        setup.append(
            f"{args.sessions} sessions (one headless Chromium, one browser context each) for {args.duration:.0f} s"
            f"{' and until the load has ended plus ' + format(args.settle, '.0f') + ' s' if load_during else ''}"
            + (", each loading the app once and then going through the pages in turn by the sidebar's links "
               "(the Partner page: its link, then typing the id of one of "
               if args.navigate == "click" else
               ", each opening the pages in turn by their URL, every visit a page load and a new Streamlit session "
               "(the Partner page with the id of one of ")
            + f"{len(partner_ids)} partners), starting {args.ramp:.0f} s apart, {args.think:.1f} s mean pause "
            f"between visits. A visit is timed from the click or navigation until no script run is under way and "
            f"the page's heading and first chart (Overview: figures and three charts; Partner: the partner's "
            f"figures and risk) are drawn; an exception, an error box, a warning that the database could not be "
            f"had, no content, a lost connection or {args.page_timeout:.0f} s without finishing is an error.")
        load = None
        if load_during:
            command = [sys.executable, "-m", "analytics", "--db", str(db), "--wait", "120", "ingest", str(extract)]
            load = CliLoad(command, at=args.load_at if args.load_at is not None else args.duration / 2)
        meter = CpuMeter(server.pid if server is not None else None)
        visits, final, tabs = asyncio.run(drive(base, args.sessions, args.duration, args.navigate, partner_ids, load,
                                                args.think, args.ramp, args.page_timeout, args.settle,
                                                workdir / "failed", meter))
        server_notes.append(meter.summary())
        if server is not None:
            peak = peak_rss_mb(server.pid)
            log = (workdir / "server.log").read_text(errors="replace")
            tracebacks = log.count("Traceback (most recent call last)")
            server_notes.append(
                f"Server: peak resident memory {peak:,.0f} MB; {tracebacks} traceback(s) in its log"
                + (f" (first: `{_first_traceback(log)}`)" if tracebacks else "") + "."
                if peak is not None else f"Server: {tracebacks} traceback(s) in its log.")
        kept = sum(tab.reloads == 0 for tab in tabs)
        if args.navigate == "click":
            setup.append(f"Sessions that kept one Streamlit session from the first visit to the last (no reload "
                         f"after a failure): {kept} of {len(tabs)}.")
        text = report(args, visits, final, load, HELD_BACK if load else None, setup, server_notes, load_before,
                      os.getloadavg())
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}")
    failed = any(not v.ok for v in visits + final) or (load is not None and load.exit_code != 0)
    return 1 if failed else 0


def _first_traceback(log: str) -> str:
    block = log.split("Traceback (most recent call last)", 1)[1]
    last = [line.strip() for line in block.splitlines() if line.strip() and not line.startswith(" ")]
    return (last[0] if last else block.strip().splitlines()[-1])[:200]


if __name__ == "__main__":
    sys.exit(main())
