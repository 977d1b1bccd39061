"""Peak memory of the command line loading one large extract (over the page's 400 MB limit, or a given size).

Run:  .venv/bin/python bench/ingest_large.py [--lines 7000000] [--csv FILE] [--out bench/results/ingest_large.md]

Not part of the test suite. It writes a quarterly demo extract of --lines order lines (bench/run.py's generator;
about 175 bytes a line: 7,000,000 lines are about 1.2 GB, 1,750,000 about 300 MB) or takes --csv, loads the
demo's exchange rates into a new database (its EMEA and ANZ lines are in euros and Australian dollars), then
runs `/usr/bin/time -v python -m analytics --db NEW ingest FILE --no-scores` and reports the command's
wall-clock time and peak resident memory (Maximum resident set size), with the load average before and after.
Run it on a quiet machine (load average under 4) for a file of about 1 GB; on a busy one, a smaller file.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

RESULTS = ROOT / "bench" / "results" / "ingest_large.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=7_000_000, help="order lines in the generated CSV")
    parser.add_argument("--csv", type=Path, help="load this file instead of a generated one")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from analytics.demo import DemoSpec, write_demo_rates
    from analytics.store.turns import MEMORY_LIMIT

    with tempfile.TemporaryDirectory(prefix="ingest_large-", dir=os.environ.get("TMPDIR")) as work_dir:
        work = Path(work_dir)
        if args.csv is None:
            from run import ingest_extract  # bench/run.py's generator

            csv = ingest_extract(work, args.lines)
        else:
            csv = args.csv
        size_mb = csv.stat().st_size / 1024 / 1024
        with csv.open("rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 22), b"")) - 1
        db = work / "large.duckdb"
        rates = write_demo_rates(work, DemoSpec())
        subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), "rates", str(rates)], cwd=ROOT,
                       check=True, capture_output=True, timeout=600)
        command = [sys.executable, "-m", "analytics", "--db", str(db), "ingest", str(csv), "--no-scores"]
        load_before = os.getloadavg()
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-v", *command], cwd=ROOT, capture_output=True, text=True,
                              timeout=3600)
        elapsed = time.perf_counter() - started
        load_after = os.getloadavg()
        if done.returncode != 0:
            raise SystemExit(f"ingest failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        peak_mb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1]) / 1024
        loaded = re.search(r"Loaded [^\n]*", done.stdout)[0].rstrip(".")
    text = "\n".join([
        f"# The command line loading one large extract ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"`{shlex.join(['bench/ingest_large.py', *sys.argv[1:]])}` on {platform.node()}, {os.cpu_count()} cores: "
        f"`/usr/bin/time -v python -m analytics --db NEW ingest FILE --no-scores` (NEW holds the demo's exchange "
        f"rates only). Load average before: {' '.join(f'{x:.2f}' for x in load_before)}; after: "
        f"{' '.join(f'{x:.2f}' for x in load_after)}.",
        "",
        "| file | data lines | wall clock | peak resident memory |",
        "|---|---|---|---|",
        f"| {size_mb:,.0f} MB | {lines:,} | {elapsed:,.1f} s | {peak_mb:,.0f} MB |",
        "",
        f"The command said: {loaded}. DuckDB's memory cap for the database was {MEMORY_LIMIT} "
        "(analytics.store.store.MEMORY_LIMIT, $CHANNEL_DB_MEMORY): past it, DuckDB spills its temporary tables to "
        "disk, so the peak stays near the cap plus Python's own (about 150 MB) whatever the file's size; the file "
        "itself is read by DuckDB from disk and by the checks in chunks of 4 MB.",
        "",
    ])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
