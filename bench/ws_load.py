"""Browserless load test: sessions that speak Streamlit's own websocket protocol to the real app.

Run:  .venv/bin/python bench/ws_load.py --db /tmp/loadtest/demo.duckdb [--sessions 1,10,25] [--duration 60]
      .venv/bin/python bench/ws_load.py --db PATH --processes 2          # behind `python -m analytics serve` (nginx)
      .venv/bin/python bench/ws_load.py --db PATH --processes 1 --serve  # one process, behind nginx too
      .venv/bin/python bench/ws_load.py --url http://127.0.0.1:8501 --db PATH   # an app (or proxy) already running

Not part of the test suite. No browser: each session is a websocket to `/_stcore/stream` that sends
the BackMsg the frontend sends (a `rerun_script` ClientState naming the page's script hash and URL
path, as on a click in the navigation) and reads the ForwardMsgs the server sends back, so the
figures are the server's alone. For each number of sessions in --sessions, the app is started afresh
(`streamlit run app.py` with --processes 1, `python -m analytics serve --processes N`, N app processes
behind nginx, otherwise or with --serve) on a
free port with a copy of --db, one session visits every page once to warm the caches, then N sessions
visit every page of the navigation in turn without pause for --duration seconds, each starting on a
different page. A visit is timed from sending the request to the server's `script_finished`. An
error is a run with an Exception element in its deltas, a run that did not compile, a page not
found, a lost connection, or no `script_finished` within --page-timeout seconds.

With --load-during (the default), half-way through it loads the next quarter from the command line
(`python -m analytics --db COPY ingest FILE`, scores included, as a nightly load would): FILE is the
latest quarter's stored lines moved three months on (new transaction ids), written before the app
starts, so any database works, the demo or ten times it. Every visit that starts after the load has
finished must show the new quarter in the sidebar ("Data to **QUARTER**"); one that does not is
counted as stale, and at the end every session visits once more and must see it.

The table (sessions, visits/s served, p50, p95, errors, the CPU seconds the server's processes used
per visit, nginx's share of them, and how many cores they kept busy, and the largest peak resident memory
among them) goes to
bench/results/ws_load.md with the load average before and after, the machine and the command. On a
machine others use too, CPU per visit is the figure that does not move with their load.
Exit code 1 when any visit failed, a session missed the new quarter, or the load did not succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.store.quarters import quarter_index, quarter_label  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "ws_load.md"
QUARTER_SHOWN = re.compile(r"Data to \*\*(\d{4}Q[1-4])\*\*")  # the sidebar's data freshness line


@dataclass(frozen=True)
class Page:
    """A page of the app's navigation: what the frontend sends to go there."""

    name: str
    script_hash: str
    url_path: str


@dataclass
class Visit:
    """One page run: which page, when it started (seconds into the run), how long, and what went wrong."""

    session: int
    page: str
    started: float
    seconds: float
    error: str | None = None
    quarter: str | None = None  # what the sidebar said the data go to


@dataclass
class RunResult:
    """What one step of the load test measured."""

    sessions: int
    duration: float
    visits: list[Visit] = field(default_factory=list)
    load: dict | None = None
    final_quarters: list[str | None] = field(default_factory=list)
    peak_mb: float | None = None
    cpu: float | None = None  # CPU seconds the server's processes used while the sessions ran
    nginx_cpu: float | None = None  # of which nginx's (serve's master and worker)


class Session:
    """One browser tab's worth of protocol: a websocket, the pages it was told of, and page runs."""

    def __init__(self, url: str, number: int, timeout: float):
        self.ws_url = re.sub(r"^http", "ws", url.rstrip("/")) + "/_stcore/stream"
        self.number = number
        self.timeout = timeout
        self.pages: list[Page] = []
        self._ws: ClientConnection | None = None

    async def open(self) -> Visit:
        """Connect and run the default page, as a browser opening the app does; give that visit."""
        await self.close()
        self._ws = await connect(self.ws_url, subprotocols=[Subprotocol("streamlit")], max_size=None,
                                 open_timeout=self.timeout, ping_interval=None)
        return await self.visit(Page("(first run)", "", ""))

    @property
    def connected(self) -> bool:
        """Tell whether the session has its websocket (it is dropped after a lost connection or a timeout)."""
        return self._ws is not None

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
            self._ws = None

    async def visit(self, page: Page, started_at: float = 0.0) -> Visit:
        """Ask for a run of `page` and give the visit once the server says the run finished (or failed)."""
        request = BackMsg()
        state = request.rerun_script
        state.query_string = ""
        state.page_script_hash = page.script_hash
        state.page_name = page.url_path
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        begun = time.perf_counter()
        visit = Visit(self.number, page.name, started_at, 0.0)
        try:
            if self._ws is None:
                raise ConnectionError("not connected")
            await self._ws.send(request.SerializeToString())
            await asyncio.wait_for(self._read_run(visit), self.timeout)
        except TimeoutError:
            visit.error = f"no script_finished within {self.timeout:.0f} s"
        except Exception as exc:  # a lost connection is the visit's error, not the benchmark's end
            visit.error = f"connection: {type(exc).__name__}: {exc}"
        visit.seconds = time.perf_counter() - begun
        if visit.error is not None and not visit.error.startswith("exception"):
            await self.close()  # the old run may still send; start the next visit on a new connection
        return visit

    async def _read_run(self, visit: Visit) -> None:
        """Read messages until this run's script_finished, noting exceptions, the quarter shown and the pages."""
        run_started = False
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await self._ws.recv())
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                run_started = True  # the start of a run: a finished message before it was an older run's
            elif kind == "navigation" and not self.pages:
                self.pages = [Page(p.page_name, p.page_script_hash, p.url_pathname)
                              for p in msg.navigation.app_pages if not p.is_hidden]
            elif kind == "page_not_found":
                visit.error = "page not found"
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                what = element.WhichOneof("type")
                if what == "exception":
                    visit.error = visit.error or f"exception: {element.exception.type}: {element.exception.message}"
                elif what == "markdown":
                    shown = QUARTER_SHOWN.search(element.markdown.body)
                    if shown:
                        visit.quarter = shown.group(1)
            elif kind == "script_finished" and run_started:
                status = msg.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    visit.error = visit.error or "the script did not compile"
                if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:  # st.rerun(): the visit goes on
                    return


# -- the app under test ------------------------------------------------------------------------------
def free_port() -> int:
    """Give a TCP port free on localhost now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Wait until the app answers its health check; raise with the log's tail when it does not start."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the app did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)


@contextlib.contextmanager
def started_app(db: Path, processes: int, log: Path, app: Path, behind_serve: bool = False):
    """Give the URL and process of the app on a free port: `streamlit run` alone, or `serve` (nginx) for several."""
    port = free_port()
    env = {**os.environ, "CHANNEL_DB": str(db)}
    if processes == 1 and not behind_serve:
        command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
                   "--server.address", "127.0.0.1", "--server.headless", "true",
                   "--browser.gatherUsageStats", "false"]
    else:
        command = [sys.executable, "-m", "analytics", "--db", str(db), "serve", "--processes", str(processes),
                   "--port", str(port), "--address", "127.0.0.1"]
    with log.open("wb") as out:
        # Its own process group, so that ending it ends the app processes `serve` started too.
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server, log)
        yield url, server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _server_pids(root_pid: int) -> list[int]:
    """Give the process and all below it (the app processes `serve` started, nginx and nginx's worker)."""
    pids, i = [root_pid], 0
    while i < len(pids):
        with contextlib.suppress(OSError):
            pids += [int(p) for p in Path(f"/proc/{pids[i]}/task/{pids[i]}/children").read_text().split()]
        i += 1
    return pids


def _named(pid: int, name: str | None) -> bool:
    if name is None:
        return True
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip() == name
    return False


def cpu_seconds(root_pid: int | None, name: str | None = None) -> float | None:
    """Give the CPU seconds (user and system) the server's processes (those called `name`) have used so far.

    None without a server. A process that ended meanwhile (an app process serve replaced) is not counted.
    """
    if root_pid is None:
        return None
    total = 0.0
    for pid in (p for p in _server_pids(root_pid) if _named(p, name)):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def peak_memory_mb(root_pid: int) -> float | None:
    """Give the largest peak resident memory (VmHWM) among the process and its children, in MB."""
    peaks = []
    for pid in _server_pids(root_pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return max(peaks) if peaks else None


def next_quarter_extract(db: Path, out: Path) -> str:
    """Write the latest stored quarter's lines moved three months on (new transaction ids) to `out`; give that quarter.

    Read before the app opens the file. The lines keep every column the store has, so the load costs
    what a real quarter of this channel would. Dated lines keep their dates (moved on); when any line
    of the quarter has none (a quarterly extract), the file names the quarter instead.
    """
    con = duckdb.connect(str(db), read_only=True)
    try:
        latest, undated = con.execute(
            "SELECT max(quarter), count(*) FILTER (WHERE order_date IS NULL) FROM order_lines "
            "WHERE replaced_by IS NULL AND quarter = (SELECT max(quarter) FROM order_lines WHERE replaced_by IS NULL)"
        ).fetchone()
        if latest is None:
            raise SystemExit(f"{db} holds no order lines: build the demo first (python -m analytics --db {db} demo)")
        following = quarter_label(quarter_index(latest) + 1)
        # COPY takes no parameters: both quarter labels come from quarter_label (YYYYQn), the path is ours.
        when = (f"'{following}' AS quarter" if undated
                else "CAST(order_date + INTERVAL 3 MONTH AS DATE) AS order_date")
        con.execute(
            f"""
            COPY (SELECT transaction_id || '-{following}' AS transaction_id, {when},
                         partner_id, partner_name, tier, region, country, distributor, customer_id,
                         customer_segment, product, quantity, deal_type, revenue
                  FROM order_lines WHERE replaced_by IS NULL AND quarter = '{quarter_label(quarter_index(latest))}'
                  ORDER BY load_id, row_no)
            TO '{str(out).replace("'", "''")}' (FORMAT csv, HEADER, DELIMITER ',')
            """
        )
    finally:
        con.close()
    return following


# -- one step: N sessions for a while ----------------------------------------------------------------
async def session_loop(session: Session, pages: list[Page], stop_at: float, t0: float, out: list[Visit]) -> None:
    """Visit the pages in turn, starting at the session's own offset, until stop_at."""
    i = session.number % len(pages)
    while time.perf_counter() < stop_at:
        if not session.connected:
            await session.open()
        out.append(await session.visit(pages[i], time.perf_counter() - t0))
        i = (i + 1) % len(pages)


async def command_line_load(db: Path, extract: Path, at: float, t0: float) -> dict:
    """At `at` seconds, load the extract from the command line; give how long it took, its exit code and output."""
    await asyncio.sleep(max(0.0, at - (time.perf_counter() - t0)))
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "analytics", "--db", str(db), "--wait", "300", "ingest", str(extract),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    ended = time.perf_counter()
    return {"started": began - t0, "finished": ended - t0, "seconds": ended - began, "exit": process.returncode,
            "output": output.decode(errors="replace")}


async def run_step(url: str, sessions: int, duration: float, timeout: float, db: Path | None,
                   extract: Path | None, server_pid: int | None = None, processes: int = 1) -> RunResult:
    """Warm the caches, then run `sessions` sessions for `duration` seconds (a load half-way).

    Each app process has its own caches, and a session without a cookie lands on any of them: the warm-up
    runs 4 sessions per process after another (with 2, each process is left cold once in 128 runs), so
    that the first visits of a cold process are not counted as the load's.
    """
    result = RunResult(sessions, duration)
    pages: list[Page] = []
    for number in range(1 if processes == 1 else 4 * processes):
        warm = Session(url, number, timeout)
        first = await warm.open()
        if first.error or not warm.pages:
            raise SystemExit(f"the app's first run failed: {first.error or 'no navigation was sent'}")
        pages = warm.pages
        for page in pages:
            await warm.visit(page)
        await warm.close()

    group = [Session(url, n, timeout) for n in range(sessions)]
    for s in group:
        s.pages = pages
    cpu_before, nginx_before = cpu_seconds(server_pid), cpu_seconds(server_pid, "nginx")
    t0 = time.perf_counter()
    stop_at = t0 + duration
    loading = (asyncio.create_task(command_line_load(db, extract, duration / 2, t0))
               if extract is not None else None)
    await asyncio.gather(*(session_loop(s, pages, stop_at, t0, result.visits) for s in group))
    result.duration = time.perf_counter() - t0
    if cpu_before is not None:
        result.cpu = cpu_seconds(server_pid) - cpu_before
        result.nginx_cpu = cpu_seconds(server_pid, "nginx") - nginx_before
    if loading is not None:
        result.load = await loading
        # Afterwards every session must see the new quarter.
        async def last_visit(session: Session) -> Visit:
            if not session.connected:  # dropped after a timeout: a browser would reconnect too
                await session.open()
            return await session.visit(pages[0], time.perf_counter() - t0)

        finals = await asyncio.gather(*(last_visit(s) for s in group))
        result.final_quarters = [v.quarter for v in finals]
    for s in group:
        await s.close()
    return result


# -- the report --------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Give the q-th percentile (0-100) by the nearest-rank method, or nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(round(q / 100 * len(ordered) + 0.5 - 1e-9)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_row(result: RunResult, following: str | None) -> dict:
    """Give the table's figures for one step."""
    done = [v for v in result.visits if v.error is None]
    seconds = [v.seconds for v in done]
    stale = 0
    if result.load is not None:
        stale = sum(1 for v in done if v.started > result.load["finished"] and v.quarter != following)
    return {
        "sessions": result.sessions,
        "visits": len(result.visits),
        "per_s": len(done) / result.duration if result.duration else 0.0,
        "p50": percentile(seconds, 50),
        "p95": percentile(seconds, 95),
        "errors": len(result.visits) - len(done),
        "stale": stale,
        "missed": sum(1 for q in result.final_quarters if q != following) if result.load else 0,
        "peak_mb": result.peak_mb,
        "cpu_per_visit": result.cpu / len(done) if result.cpu is not None and done else None,
        "nginx_per_visit": result.nginx_cpu / len(done) if result.nginx_cpu is not None and done else None,
        "cores_busy": result.cpu / result.duration if result.cpu is not None and result.duration else None,
    }


def report(rows: list[dict], results: list[RunResult], args: argparse.Namespace, load_before: tuple,
           load_after: tuple, following: str | None) -> str:
    """Give the Markdown report: the table, the command-line loads and the errors seen."""
    lines = [
        f"# Browserless load test ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"`{shlex.join(['bench/ws_load.py', *sys.argv[1:]])}` on {platform.node()}, {os.cpu_count()} cores, "
        f"{args.processes} app process{'es' if args.processes > 1 else ''}"
        + (" behind nginx (`python -m analytics serve`)" if not args.url and (args.serve or args.processes > 1)
           else "")
        + (f" at {args.url}" if args.url else "") + f"; database {args.db or '(the running app)'}; "
        f"{args.duration:.0f} s per step.",
        f"Load average before: {' '.join(f'{x:.2f}' for x in load_before)}; "
        f"after: {' '.join(f'{x:.2f}' for x in load_after)}.",
        "",
        "| sessions | visits/s served | p50 | p95 | errors | stale after load | missed new quarter "
        "| server CPU s per visit | of which nginx | cores busy | peak MB (largest process) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        peak = f"{r['peak_mb']:,.0f}" if r["peak_mb"] else "n/a"
        per_visit = f"{r['cpu_per_visit']:.3f}" if r["cpu_per_visit"] is not None else "n/a"
        busy = f"{r['cores_busy']:.2f}" if r["cores_busy"] is not None else "n/a"
        nginx = f"{r['nginx_per_visit']:.4f}" if r["nginx_per_visit"] else "none"
        lines.append(f"| {r['sessions']} | {r['per_s']:.2f} ({r['visits']} visits) | {r['p50']:.2f} s | "
                     f"{r['p95']:.2f} s | {r['errors']} | {r['stale']} | {r['missed']} | {per_visit} | {nginx} | "
                     f"{busy} | {peak} |")
    lines.append("")
    for result in results:
        if result.load is not None:
            load = result.load
            lines.append(f"- {result.sessions} sessions: command-line load of {following} from "
                         f"{load['started']:.1f} s to {load['finished']:.1f} s ({load['seconds']:.1f} s), "
                         f"exit code {load['exit']}.")
            if load["exit"] != 0:  # what the command line said, so a failed load can be told from a slow one
                lines.extend(f"    {line}" for line in load["output"].strip().splitlines()[-5:])
        errors: dict[str, int] = {}
        for v in result.visits:
            if v.error:
                errors[f"{v.page}: {v.error}"] = errors.get(f"{v.page}: {v.error}", 0) + 1
        for text, count in sorted(errors.items(), key=lambda kv: -kv[1])[:10]:
            lines.append(f"- {result.sessions} sessions: {count} x {text}")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,10,25", help="numbers of sessions, one step each (default 1,10,25)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per step (default 60)")
    parser.add_argument("--db", type=Path, help="the database to serve (a copy is served; the file is not changed)")
    parser.add_argument("--url", help="an app or proxy already running: no app is started, no copy made")
    parser.add_argument("--processes", type=int, default=1,
                        help="app processes behind `python -m analytics serve` (default 1: `streamlit run` alone)")
    parser.add_argument("--serve", action="store_true",
                        help="start the app with `python -m analytics serve` (nginx in front) even for one process")
    parser.add_argument("--page-timeout", type=float, default=150.0,
                        help="seconds a visit may take before it counts as an error (default 150: a page waits up "
                             "to 120 s for a command-line load)")
    parser.add_argument("--load-during", action=argparse.BooleanOptionalAction, default=True,
                        help="load the next quarter from the command line half-way through (needs --db)")
    parser.add_argument("--extract", type=Path,
                        help="the file to load half-way (default: the latest quarter's lines moved on a quarter, "
                             "written from --db before the app starts; with --url give it here)")
    parser.add_argument("--app", type=Path, default=ROOT / "app.py", help="the Streamlit script (default app.py)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where the table goes (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.db is None and args.url is None:
        parser.error("give --db (the app is started on a copy of it) or --url (an app already running)")
    if args.db is None or (args.url and args.extract is None):
        args.load_during = False  # nothing to load into, or the running app holds the file the extract comes from
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = [int(n) for n in str(args.sessions).split(",") if n.strip()]
    load_before = os.getloadavg()
    rows, results, following = [], [], None
    work = Path(tempfile.mkdtemp(prefix="ws_load-", dir=args.db.parent if args.db else None))
    try:
        extract = None
        if args.load_during and args.extract is not None:
            extract, following = args.extract, None
        elif args.load_during:
            extract = work / "next_quarter.csv"
            following = next_quarter_extract(args.db, extract)
        for n in counts:
            if args.url:
                result = asyncio.run(run_step(args.url, n, args.duration, args.page_timeout, args.db, extract))
            else:
                db = work / "channel.duckdb"
                shutil.copyfile(args.db, db)  # every step starts from the same data, the load its own
                with started_app(db, args.processes, work / f"server-{n}.log", args.app, args.serve) as (url, server):
                    result = asyncio.run(run_step(url, n, args.duration, args.page_timeout, db, extract, server.pid,
                                                  args.processes))
                    result.peak_mb = peak_memory_mb(server.pid)
            results.append(result)
            if following is None and result.final_quarters:  # a file of the caller's: its quarter is the newest seen
                following = max((q for q in result.final_quarters if q), default=None)
            rows.append(summary_row(result, following))
            r = rows[-1]
            print(f"{n} sessions: {r['per_s']:.2f} visits/s, p50 {r['p50']:.2f} s, p95 {r['p95']:.2f} s, "
                  f"errors {r['errors']}, stale {r['stale']}, missed {r['missed']}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(rows, results, args, load_before, os.getloadavg(), following)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    failed_load = any(r.load is not None and r.load["exit"] != 0 for r in results)
    return 1 if failed_load or any(r["errors"] or r["stale"] or r["missed"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
