"""Time the upload limits' streaming pass over a CSV (lines, columns and the quote-aware cell lengths).

    .venv/bin/python bench/cell_scan.py --mb 100

Writes a CSV of order lines with a quoted partner name on every line (the worst case for the cell
scan: a quote in every chunk) into a temporary folder, times check_extract on it (best of --runs), and
prints MB, seconds and MB/s. Under a minute at 100 MB on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.ingest.limits import check_extract  # noqa: E402

LINE = b'T0000001,P000001,"Acme Systems, Inc.",Gold,EMEA,2025-07-01,1234.50\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="file size in MB (default 100)")
    parser.add_argument("--runs", type=int, default=3, help="timings; the best is reported (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "extract.csv"
        lines = args.mb * 1024 * 1024 // len(LINE)
        with path.open("wb") as handle:
            handle.write(b"transaction_id,partner_id,partner_name,tier,region,order_date,revenue\n")
            for _ in range(lines // 10_000):
                handle.write(LINE * 10_000)
        size = path.stat().st_size / 1024 / 1024
        best = min(_timed(path) for _ in range(args.runs))
    print(f"{size:,.0f} MB, {lines // 10_000 * 10_000:,} lines: check_extract {best:.2f} s ({size / best:,.0f} MB/s)")


def _timed(path: Path) -> float:
    started = time.perf_counter()
    check_extract(path)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
