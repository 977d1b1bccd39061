"""The benchmarks of issue 7 in one run: ingest against its references, pages, memory, model, 10x build.

Quick (demo size only):  .venv/bin/python bench/run.py --quick
Full (demo size and 10x): .venv/bin/python bench/run.py
Writes bench/results/quick.md or bench/results/full.md (the full run also updates the table in
bench/README.md). Databases and extracts go to a temporary folder that is removed afterwards
(--workdir keeps them). Timings are wall-clock seconds on this machine; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from analytics.analyses.queries import channel_summary  # noqa: E402
from analytics.demo import DemoSpec, demo_rates, write_demo_extracts  # noqa: E402
from analytics.ingest.load import load_extract  # noqa: E402
from analytics.model.scoring import refresh_scores  # noqa: E402
from analytics.store.rates import load_rates  # noqa: E402
from analytics.store.store import Store  # noqa: E402

RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
MODEL_EVAL = ROOT / "bench" / "model_eval.py"
INGEST_LINES = 1_000_000
# Targets from issue 7.
PAGE_WARM_TARGET = {1: 0.5, 10: 1.5}
# A page's first visit after a load (cold: nothing cached) and a quarter's load with its scores (issue 15).
PAGE_COLD_TARGET = {1: 2.0, 10: 5.0}
LOAD_WITH_SCORES_TARGET = {1: 30.0}
MEMORY_TARGET_MB = 1500
BUILD_TARGET_S = 300
MODEL_TARGETS = {1: {"backtest": 10.0, "fit": 10.0, "score": 3.0}}
MARK_START, MARK_END = "<!-- results:start -->", "<!-- results:end -->"


# ---------------------------------------------------------------------------------------------
# Ingest: the importer against the two references, on the same file


def ingest_extract(folder: Path, lines: int = INGEST_LINES) -> Path:
    """Give a quarterly demo extract of exactly `lines` order lines (a one-quarter channel, cut to size)."""
    # One quarter of about 14 lines a partner a year: 72,000 partners give a little over a million.
    partners = max(100, round(lines * 72_000 / 1_000_000))
    (generated,) = write_demo_extracts(folder / "generated", DemoSpec(partners=partners, quarters=1))
    path = folder / f"sales_{lines // 1000}k.csv"
    with generated.open("rb") as src, path.open("wb") as dst:
        for i, line in enumerate(src):
            if i > lines:
                break
            dst.write(line)
    shutil.rmtree(folder / "generated")
    return path


def bare_read(path: Path, work: Path) -> float:
    """Time DuckDB counting the CSV's rows: the floor any importer stands on."""
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute("SELECT count(*) FROM read_csv(?)", [str(path)]).fetchall()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def _timed_write(db: Path, write: Callable[[Path], None]) -> float:
    """Give the seconds `write` takes to fill a fresh database file at db (removed before and after)."""
    db.unlink(missing_ok=True)
    # From opening the file to closing it, the same for the importer and the two references.
    started = time.perf_counter()
    write(db)
    elapsed = time.perf_counter() - started
    db.unlink()
    return elapsed


def pandas_route(path: Path, work: Path) -> float:
    """Time what a person writes by hand: pandas.read_csv, then the frame written into a DuckDB file."""

    def write(db: Path) -> None:
        frame = pd.read_csv(path)
        con = duckdb.connect(str(db))
        con.register("frame", frame)
        con.execute("CREATE TABLE order_lines AS SELECT * FROM frame")
        con.close()

    return _timed_write(work / "pandas.duckdb", write)


def duckdb_copy(path: Path, work: Path) -> float:
    """Time DuckDB alone writing the CSV into a table of a database file (types detected, nothing checked)."""

    def write(db: Path) -> None:
        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE order_lines AS SELECT * FROM read_csv(?)", [str(path)])
        con.close()

    return _timed_write(work / "copy.duckdb", write)


def with_demo_rates(store: Store) -> None:
    """Load the demo's exchange rates (its EMEA and ANZ lines are in EUR and AUD), as the demo does first."""
    load_rates(store, demo_rates(DemoSpec()).to_csv(index=False).encode(), "demo_rates.csv")


def importer(path: Path, work: Path) -> float:
    """Time the product's importer: read, validate, write order lines and refresh partner x quarter."""

    def write(db: Path) -> None:
        with Store(db) as store:
            with_demo_rates(store)
            load_extract(store, path)

    return _timed_write(work / "importer.duckdb", write)


def importer_into(channel: Path) -> Callable[[Path, Path], float]:
    """Give a timer of the importer loading into a copy of an existing channel (its quarters already held)."""

    def run(path: Path, work: Path) -> float:
        db = work / "into_channel.duckdb"
        shutil.copyfile(channel, db)
        started = time.perf_counter()
        with Store(db) as store:
            load_extract(store, path, mode="append")
        elapsed = time.perf_counter() - started
        db.unlink()
        return elapsed

    return run


def median_time(timer: Callable[[Path, Path], float], path: Path, work: Path, runs: int) -> float:
    """Give the median of `runs` timings (the first run also warms the file cache)."""
    return statistics.median(timer(path, work) for _ in range(runs))


# ---------------------------------------------------------------------------------------------
# A channel of a given size: generated, loaded, its pages rendered, the model timed


@dataclass
class SizeResult:
    """What one channel size measured."""

    scale: int
    partners: int = 0
    lines: int = 0
    quarters: int = 0
    generate: float = 0.0
    load: float = 0.0
    last_load: float = 0.0      # the latest quarter's extract alone, loaded last
    scores: float = 0.0         # then bringing the stored scores up to date (every supported horizon)
    db_mb: float = 0.0
    pages: dict = field(default_factory=dict)
    model: dict | None = None
    model_error: str | None = None


def build_channel(scale: int, work: Path, base: int = DemoSpec().partners) -> tuple[SizeResult, Path]:
    """Generate and load the demo channel at `scale` times `base` partners; give its figures and database."""
    spec = DemoSpec(partners=base * scale)
    result = SizeResult(scale)
    folder = work / f"extracts_{scale}x"
    started = time.perf_counter()
    paths = write_demo_extracts(folder, spec)
    result.generate = time.perf_counter() - started
    db = work / f"channel_{scale}x.duckdb"
    db.unlink(missing_ok=True)
    with Store(db) as store:
        with_demo_rates(store)
        started = time.perf_counter()
        for path in paths:
            loaded = time.perf_counter()
            load_extract(store, path)
            result.last_load = time.perf_counter() - loaded
        result.load = time.perf_counter() - started
        # As the command line's ingest does after a load: the pages read these, none trains.
        started = time.perf_counter()
        refresh_scores(store)
        result.scores = time.perf_counter() - started
        summary = channel_summary(store)
    shutil.rmtree(folder)
    result.partners, result.lines, result.quarters = summary["partners"], summary["lines"], len(summary["quarters"])
    result.db_mb = db.stat().st_size / 1e6
    return result, db


def measure_pages(db: Path, warm_runs: int) -> dict:
    """Give the page figures of bench/pages.py, run in a fresh process so its peak memory is the app's alone."""
    out = db.with_suffix(".pages.json")
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "pages.py"), str(db), "--warm-runs", str(warm_runs), "--json", str(out)],
        check=True, cwd=ROOT,
    )
    return json.loads(out.read_text())


def measure_model(db: Path) -> tuple[dict | None, str | None]:
    """Give bench/model_eval.py's measure(db) in a fresh process, or why it gave nothing (None if absent)."""
    if not MODEL_EVAL.exists():
        return None, None
    code = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[2]); sys.path.insert(0, sys.argv[3]);"
        "from model_eval import measure; print('\\n' + json.dumps(measure(Path(sys.argv[1])), default=str))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(db), str(ROOT), str(MODEL_EVAL.parent)],
        capture_output=True, text=True, cwd=ROOT,
    )
    if done.returncode != 0:
        return None, (done.stderr.strip().splitlines() or ["failed"])[-1][:300]
    return json.loads(done.stdout.strip().splitlines()[-1]), None


# ---------------------------------------------------------------------------------------------
# Report


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        mem = next(int(x.split()[1]) for x in meminfo if x.startswith("MemTotal"))
        mem_text = f", {mem / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration):
        mem_text = ""
    return (f"{cpu}, {os.cpu_count()} cores{mem_text}; Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}, pandas {pd.__version__}")


def _model_rows(size: SizeResult) -> list[str]:
    """Give a row per number measure() returned (seconds checked against their targets); text is left out."""
    label = f"{size.scale}x"
    if size.model is None:
        if size.model_error:
            return [f"| model ({label}) | failed: {size.model_error} | | |"]
        return [f"| model ({label}) | pending: bench/model_eval.py not there yet | | |"]
    rows = []
    targets = MODEL_TARGETS.get(size.scale, {})
    for key, value in size.model.items():
        if isinstance(value, bool) or not isinstance(value, float | int | str) or "\n" in str(value):
            continue  # tables and reports: model_eval's own output, too long for this table
        text = f"{value:.2f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
        timed = "second" in key or key.endswith("_s")
        target = next((t for word, t in targets.items() if word in key and timed), None)
        verdict = f"< {target:g} s: {_verdict(float(value) < target)}" if target is not None else ""
        rows.append(f"| model ({label}): {key} | {text} | {verdict} | |")
    return rows


def report(ingest: dict, sizes: list[SizeResult], runs: int, started: str, load_before: float) -> str:
    """Give the results as Markdown: the headline table, then pages per size."""
    lines = [
        f"Measured {started} on {_machine()}. Load average (1 min) {load_before:.1f} before the run, "
        f"{os.getloadavg()[0]:.1f} after.",
        "",
        "| figure | value | target | reference / ratio |",
        "|---|---|---|---|",
    ]
    if ingest:
        bare, pandas_s, copy, imp = ingest["bare"], ingest["pandas"], ingest["copy"], ingest["importer"]
        lines += [
            f"| ingest: bare DuckDB `count(*)` of the {ingest['lines']:,}-line CSV ({ingest['mb']:.0f} MB) | "
            f"{bare:.2f} s | floor | 1.0x |",
            f"| ingest: pandas `read_csv` + write into a DuckDB file | {pandas_s:.2f} s | reference | "
            f"{pandas_s / bare:.1f}x bare |",
            f"| ingest: DuckDB alone writing the CSV into a database file (no checks) | {copy:.2f} s | for scale | "
            f"{copy / bare:.1f}x bare |",
            f"| **ingest: the importer** (read, validate, write, derive) into an empty database | **{imp:.2f} s** | "
            f"<= 3x bare: {_verdict(imp <= 3 * bare)}; < pandas: {_verdict(imp < pandas_s)} | "
            f"{imp / bare:.1f}x bare, {imp / pandas_s:.2f}x pandas |",
        ]
        for size in sizes:
            into = ingest.get(f"into_{size.scale}x")
            if into is None:
                continue
            lines.append(
                f"| ingest: the importer into the {size.scale}x channel (beside its "
                f"{ingest[f'into_{size.scale}x_lines']:,} lines) | {into:.2f} s | "
                f"| {into / bare:.1f}x bare, {into / pandas_s:.2f}x pandas |"
            )
        lines.append(f"| ingest rate of the importer | {ingest['lines'] / imp:,.0f} lines/s | | |")
    for size in sizes:
        label = f"{size.scale}x"
        pages = size.pages.get("pages", [])
        warm = [p["warm"] for p in pages if p["warm"] is not None]
        cold = [p["cold"] for p in pages if p["cold"] is not None]
        broken = [p["title"] for p in pages if p["error"]]
        peak = size.pages.get("peak_rss_mb") or 0
        lines += [
            f"| channel {label}: {size.partners:,} partners, {size.quarters} quarters, {size.lines:,} lines, "
            f"database {size.db_mb:,.0f} MB | generate {size.generate:.1f} s + load {size.load:.1f} s "
            f"= {size.generate + size.load:.1f} s | "
            + (f"minutes at most (< {BUILD_TARGET_S} s): {_verdict(size.generate + size.load < BUILD_TARGET_S)}"
               if size.scale > 1 else "")
            + f" | {size.lines / size.load:,.0f} lines/s loaded |",
        ]
        with_scores = size.last_load + size.scores
        load_target = LOAD_WITH_SCORES_TARGET.get(size.scale)
        lines.append(
            f"| load {label}: the latest quarter's extract, then the scores for every supported horizon | "
            f"{with_scores:.1f} s (load {size.last_load:.1f} s + scores {size.scores:.1f} s) | "
            + (f"< {load_target:g} s: {_verdict(with_scores < load_target)}" if load_target else "") + " | |"
        )
        if cold:
            target = PAGE_COLD_TARGET.get(size.scale)
            slowest = max(pages, key=lambda p: p["cold"] or 0)
            lines.append(
                f"| pages {label}: slowest first visit after a load, nothing cached ({slowest['title']}) | "
                f"{max(cold):.2f} s | " + (f"< {target:g} s: {_verdict(max(cold) < target)}" if target else "") + " | |"
            )
        if warm:
            target = PAGE_WARM_TARGET.get(size.scale)
            slowest = max(pages, key=lambda p: p["warm"] or 0)
            # Every page over the target is named, not only the slowest: each has its own cause.
            over = [f"{p['title']} {p['warm']:.2f} s" for p in sorted(pages, key=lambda p: -(p["warm"] or 0))
                    if target and p["warm"] is not None and p["warm"] >= target]
            lines.append(
                f"| pages {label}: slowest warm ({slowest['title']}) | {max(warm):.2f} s | "
                + (f"< {target} s: {_verdict(max(warm) < target)}" if target else "")
                + f" | cold: slowest {max(cold):.2f} s"
                + (f"; over the target: {', '.join(over)}" if over else "")
                + " |"
            )
        if broken:
            lines.append(f"| pages {label}: raised an error | {', '.join(broken)} | every page renders: **missed** | |")
        lines.append(
            f"| memory {label}: peak RSS of the app process rendering every page | {peak:,.0f} MB | "
            + (f"< {MEMORY_TARGET_MB:,} MB: {_verdict(peak < MEMORY_TARGET_MB)}" if size.scale == 10 else "")
            + f" | {size.pages.get('rss_before_mb', 0):,.0f} MB after imports |"
        )
        lines += _model_rows(size)

    by_scale = {s.scale: {p["page"]: p for p in s.pages.get("pages", [])} for s in sizes}
    scales = [s.scale for s in sizes]
    lines += [
        "",
        "Pages, seconds under AppTest (cold: query results not cached, database open; warm: median of "
        f"{runs} reruns with results cached), and the page process's peak resident memory once the page "
        "has rendered (pages run in this order in one process, so a page that raises it needed the memory):",
        "",
        "| page | " + " | ".join(f"cold {s}x | warm {s}x" for s in scales)
        + (" | warm 10x / 1x" if 1 in scales and 10 in scales else "")
        + " | " + " | ".join(f"peak MB {s}x" for s in scales) + " |",
        "|---|" + "---|---|" * len(scales) + ("---|" if 1 in scales and 10 in scales else "") + "---|" * len(scales),
    ]
    all_pages = list(dict.fromkeys(p for s in scales for p in by_scale[s]))
    for page in all_pages:
        cells = []
        for s in scales:
            p = by_scale[s].get(page)
            if p is None:
                cells += ["", ""]
            elif p["error"]:
                cells += ["error", p["error"][:60]]
            else:
                cells += [f"{p['cold']:.2f}", f"{p['warm']:.2f}"]
        title = next(by_scale[s][page]["title"] for s in scales if page in by_scale[s])
        row = f"| {title} (`{page}`) | " + " | ".join(cells)
        if 1 in scales and 10 in scales:
            a, b = by_scale[1].get(page), by_scale[10].get(page)
            ratio = f"{b['warm'] / a['warm']:.1f}x" if a and b and a["warm"] and b["warm"] else ""
            row += f" | {ratio}"
        # The process's peak so far: a page that raises it is the one whose work needed the memory.
        peaks = [by_scale[s].get(page, {}).get("peak_rss_mb") for s in scales]
        row += " | " + " | ".join(f"{m:,.0f}" if m else "" for m in peaks)
        lines.append(row + " |")
    unlisted = sorted({v for s in sizes for v in s.pages.get("not_in_navigation", [])})
    if unlisted:
        lines += ["", f"View scripts not in app.py's navigation, so not measured: {', '.join(unlisted)}."]
    if 1 in scales and 10 in scales:
        small, big = (next(s for s in sizes if s.scale == k) for k in (1, 10))
        lines += ["", f"Raw lines grow {big.lines / small.lines:.1f}x from 1x to 10x; a warm page that reads derived "
                      "tables should grow far less."]
    return "\n".join(lines)


def update_readme(text: str) -> None:
    """Put the latest full results into bench/README.md between its result markers."""
    if not README.exists():
        return
    readme = README.read_text()
    if MARK_START in readme and MARK_END in readme:
        head, rest = readme.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        README.write_text(f"{head}{MARK_START}\n{text}\n{MARK_END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="demo size only (no 10x), one ingest run each")
    parser.add_argument("--scales", default=None, help="channel sizes to measure, e.g. 1,10 (default: 1,10; quick: 1)")
    parser.add_argument("--runs", type=int, default=None, help="ingest timings per route (median; default 3, quick 1)")
    parser.add_argument("--warm-runs", type=int, default=3, help="warm reruns per page (median)")
    parser.add_argument("--no-ingest", action="store_true", help="skip the ingest comparison")
    parser.add_argument("--base-partners", type=int, default=DemoSpec().partners, help="the 1x size (for a smoke test)")
    parser.add_argument("--ingest-lines", type=int, default=INGEST_LINES, help="lines of the ingest extract")
    parser.add_argument("--workdir", type=Path, help="keep databases and extracts here instead of a temporary folder")
    parser.add_argument("--out", type=Path, help="results file (default bench/results/quick.md or full.md)")
    args = parser.parse_args()
    scales = [int(s) for s in (args.scales or ("1" if args.quick else "1,10")).split(",")]
    runs = args.runs or (1 if args.quick else 3)
    out = args.out or RESULTS / ("quick.md" if args.quick else "full.md")
    started, load_before = time.strftime("%Y-%m-%d %H:%M"), os.getloadavg()[0]

    work = args.workdir or Path(tempfile.mkdtemp(prefix="channel-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        sizes: list[SizeResult] = []
        dbs: dict[int, Path] = {}
        for scale in scales:
            print(f"building the {scale}x channel ...", flush=True)
            size, db = build_channel(scale, work, args.base_partners)
            dbs[scale] = db
            print(f"  {size.lines:,} lines: generate {size.generate:.1f} s, load {size.load:.1f} s", flush=True)
            print(f"rendering every page at {scale}x ...", flush=True)
            size.pages = measure_pages(db, args.warm_runs)
            print(f"timing the model at {scale}x ...", flush=True)
            size.model, size.model_error = measure_model(db)
            sizes.append(size)

        ingest: dict = {}
        if not args.no_ingest:
            print(f"ingest: {args.ingest_lines:,}-line extract, {runs} run(s) per route ...", flush=True)
            path = ingest_extract(work, args.ingest_lines)
            ingest = {"lines": args.ingest_lines, "mb": path.stat().st_size / 1e6}
            timers = {"bare": bare_read, "pandas": pandas_route, "copy": duckdb_copy, "importer": importer}
            # The same file into each channel built above: the transaction-id check and the derived
            # tables' refresh then work beside a million or ten million stored lines.
            for size in sizes:
                timers[f"into_{size.scale}x"] = importer_into(dbs[size.scale])
                ingest[f"into_{size.scale}x_lines"] = size.lines
            for name, timer in timers.items():
                ingest[name] = median_time(timer, path, work, runs)
                print(f"  {name}: {ingest[name]:.2f} s", flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    text = report(ingest, sizes, args.warm_runs, started, load_before)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    if not args.quick and args.out is None:
        update_readme(text)


if __name__ == "__main__":
    main()
