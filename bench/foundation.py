"""Demo channel size and build time, ingest rate, and each page's render time (cold and warm).

Run: .venv/bin/python bench/foundation.py [--partners N] [--out bench/results/foundation.md]
Prints a table and writes it to the results file. Timings are wall-clock on this machine.
The fuller benchmark (references, 10x, memory, model) is bench/run.py; see bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.analyses.queries import channel_summary  # noqa: E402
from analytics.demo import DemoSpec, demo_rates, write_demo_extracts  # noqa: E402
from analytics.ingest.load import load_extract  # noqa: E402
from analytics.store.rates import load_rates  # noqa: E402
from analytics.store.store import Store  # noqa: E402
from bench.pages import page_times  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=DemoSpec().partners)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "foundation.md")
    args = parser.parse_args()
    spec = DemoSpec(partners=args.partners)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        paths = write_demo_extracts(tmp / "extracts", spec)
        generate = time.perf_counter() - started
        db = tmp / "bench.duckdb"
        with Store(db) as store:
            # The demo's EMEA and ANZ lines are in EUR and AUD: their rates first, as the demo loads them.
            load_rates(store, demo_rates(spec).to_csv(index=False).encode(), "demo_rates.csv")
            started = time.perf_counter()
            for path in paths:
                load_extract(store, path)
            ingest = time.perf_counter() - started
            summary = channel_summary(store)
        pages = page_times(db)

    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| demo channel | {summary['partners']:,} partners, {len(summary['quarters'])} quarters, "
        f"{summary['lines']:,} order lines |",
        f"| generate + write {len(paths)} CSV extracts | {generate:.1f} s |",
        f"| load them through the importer (validate, write, derive) | {ingest:.1f} s |",
        f"| ingest rate | {summary['lines'] / ingest:,.0f} rows/s |",
        f"| demo build total (what `python -m analytics demo` does) | {generate + ingest:.1f} s |",
        "",
        "| page | cold (s) | warm (s) |",
        "|---|---|---|",
        *[f"| {Path(p.page).stem} | {p.cold:.2f} | {p.warm:.2f} |" if not p.error
          else f"| {Path(p.page).stem} | error | |" for p in pages.pages],
        "",
        "Cold: query results not cached (database already open). Warm: median of 3 reruns with results cached.",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
