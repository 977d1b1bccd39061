"""The `ingest` command end to end against DuckDB alone storing the same CSV into a new database file.

Run:  .venv/bin/python bench/ingest_speed.py [--lines 1000000] [--runs 5] [--csv FILE] [--before DIR]

Not part of the test suite. It writes a quarterly demo extract of --lines order lines (bench/run.py's
generator; or takes --csv), then times, alternating, --runs times each, every one into a new file:
- *the command*: `python -m analytics --db NEW ingest FILE --no-scores`, from start to exit: Python's start,
  the imports, the limits' streaming pass, reading, validating, writing the order lines and deriving the
  partner x quarter tables. NEW is a copy (made before the clock starts) of a database holding only the
  demo's exchange rates: the demo extract's EMEA and ANZ lines are in euros and Australian dollars, and a
  file with no rate for its currencies is refused;
- *DuckDB alone, as a command*: `python -c "import duckdb; ...CREATE TABLE lines AS SELECT * FROM
  read_csv(FILE)"`, from start to exit (Python's start and DuckDB's import included, as for the command);
- *DuckDB alone, in this process*: the same statement timed around it (no start, no import);
- with `--before DIR` (a checkout of an earlier commit, `git worktree add DIR COMMIT`), the command as it
  was there, in the same alternation, so both meet the same load from others.
Each figure is the median of its runs; the ratio the issue sets (at most 1.5) is the command's median over
DuckDB's as a command, and the one over DuckDB in-process is given too. The table goes to
bench/results/ingest_speed.md with the load average before and after: on a machine others use, run it
several times and read the medians with that in mind.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import duckdb  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "ingest_speed.md"
TARGET_RATIO = 1.5
DUCKDB_ALONE = ("import sys, duckdb; con = duckdb.connect(sys.argv[1]); "
                "con.execute('CREATE TABLE lines AS SELECT * FROM read_csv(?)', [sys.argv[2]]); con.close()")


def timed_command(command: list[str], cwd: Path = ROOT) -> float:
    """Give the wall-clock seconds a command takes from start to exit; raise with its output when it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def the_command(csv: Path, db: Path, checkout: Path = ROOT) -> float:
    db.unlink(missing_ok=True)
    shutil.copy(db.parent / "rates_only.duckdb", db)
    return timed_command([sys.executable, "-m", "analytics", "--db", str(db), "ingest", str(csv), "--no-scores"],
                         cwd=checkout)


def duckdb_command(csv: Path, db: Path) -> float:
    db.unlink(missing_ok=True)
    return timed_command([sys.executable, "-c", DUCKDB_ALONE, str(db), str(csv)])


def duckdb_in_process(csv: Path, db: Path) -> float:
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE lines AS SELECT * FROM read_csv(?)", [str(csv)])
    con.close()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines in the generated CSV")
    parser.add_argument("--runs", type=int, default=5, help="timings of each route; the median is quoted")
    parser.add_argument("--csv", type=Path, help="time this file instead of a generated one")
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit: its command is timed too")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ingest_speed-") as work_dir:
        work = Path(work_dir)
        if args.csv is None:
            from run import ingest_extract  # bench/run.py's generator (it imports the model: only here)

            csv = ingest_extract(work, args.lines)
        else:
            csv = args.csv
        from analytics.demo import DemoSpec, write_demo_rates

        rates = write_demo_rates(work, DemoSpec())
        timed_command([sys.executable, "-m", "analytics", "--db", str(work / "rates_only.duckdb"), "rates", str(rates)])
        routes = {"command": the_command, "duckdb_command": duckdb_command, "duckdb_in_process": duckdb_in_process}
        if args.before is not None:
            routes["before"] = lambda csv, db: the_command(csv, db, args.before.resolve())
        times: dict[str, list[float]] = {name: [] for name in routes}
        for run in range(args.runs):
            for name, route in routes.items():  # alternating, so a burst of others' work hits all three alike
                times[name].append(route(csv, work / f"{name}.duckdb"))
            print(f"run {run + 1}: " + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items()), flush=True)
        size_mb = csv.stat().st_size / 1e6
        lines = sum(1 for _ in csv.open("rb")) - 1
    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = median["command"] / median["duckdb_command"]
    ratio_in_process = median["command"] / median["duckdb_in_process"]
    load_after = os.getloadavg()

    def row(label: str, name: str, note: str) -> str:
        spread = f"{min(times[name]):.2f}–{max(times[name]):.2f} s"
        return f"| {label} | {median[name]:.2f} s | {spread} | {note} |"

    text = "\n".join([
        f"# Ingest end to end against DuckDB alone ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"`{shlex.join(['bench/ingest_speed.py', *sys.argv[1:]])}` on {platform.node()}, {os.cpu_count()} cores; "
        f"{lines:,} order lines, {size_mb:,.0f} MB; median of {args.runs} runs each, alternating. "
        f"Load average before: {' '.join(f'{x:.2f}' for x in load_before)}; after: "
        f"{' '.join(f'{x:.2f}' for x in load_after)} (the machine was shared with other work).",
        "",
        "| route, into a new database file | median | range | |",
        "|---|---|---|---|",
        row("`python -m analytics ingest FILE --no-scores` (start to exit)", "command",
            f"**{ratio:.2f}x** DuckDB as a command (target at most {TARGET_RATIO}x: "
            f"{'met' if ratio <= TARGET_RATIO else 'missed'}); {ratio_in_process:.2f}x DuckDB in-process"),
        row("DuckDB alone as a command: `python -c` CREATE TABLE AS SELECT * FROM read_csv (start to exit)",
            "duckdb_command", "reference"),
        row("DuckDB alone in this process: the same statement", "duckdb_in_process", "no start, no import"),
        *([row(f"the command as it was in {args.before}", "before",
               f"{median['before'] / median['duckdb_command']:.2f}x DuckDB as a command")] if args.before else []),
        "",
    ])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
