"""Demo channel size and build time, ingest rate, and each page's render time (cold and warm).

Run: .venv/bin/python bench/foundation.py [--partners N] [--out bench/results/foundation.md]
Prints a table and writes it to the results file. Timings are wall-clock on this machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.demo import DemoSpec, write_demo_extracts  # noqa: E402
from analytics.ingest import load_extract  # noqa: E402
from analytics.queries import channel_summary  # noqa: E402
from analytics.store import Store  # noqa: E402

PAGES = ["views/overview.py", "views/tiers.py", "views/dropoffs.py", "views/engagement.py", "views/partner.py"]


def page_times(db: Path, warm_runs: int = 3) -> list[tuple[str, float, float]]:
    """Give (page, cold seconds, median warm seconds) for each page under AppTest on `db`."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["CHANNEL_DB"] = str(db)
    rows = []
    for page in PAGES:
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.query_params["partner_id"] = "P000001"
        at.run()  # opens the database and draws the default page; not counted
        st.cache_data.clear()  # cold: results not cached, the database already open
        started = time.perf_counter()
        at.switch_page(page).run()
        cold = time.perf_counter() - started
        assert not at.exception, at.exception
        warm = []
        for _ in range(warm_runs):
            started = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - started)
        rows.append((page, cold, statistics.median(warm)))
    return rows


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
        *[f"| {Path(p).stem} | {cold:.2f} | {warm:.2f} |" for p, cold, warm in pages],
        "",
        "Cold: query results not cached (database already open). Warm: median of 3 reruns with results cached.",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
