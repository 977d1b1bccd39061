"""Time the annual review with each partner under its own program against the single-program review.

Works on a copy of a database (the demo's): puts APAC under the product's ANZ program (AUD) and gives AUD a
rate in every quarter, so that a fifth of the partners are judged in another currency. Prints the median of
`--runs` timings of analytics.review.decisions.recommendations (one program) and of
analytics.review.regional.regional_recommendations (every program; and scoped to one region).

    .venv/bin/python bench/regional_review.py --db data/channel.duckdb [--as-of 2026Q3] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.program.regional_programs import load_programs  # noqa: E402
from analytics.program.rules import PROGRAM_PATH  # noqa: E402
from analytics.review.decisions import recommendations  # noqa: E402
from analytics.review.regional import regional_recommendations  # noqa: E402
from analytics.store.store import Store  # noqa: E402


def _median(runs: int, work) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--as-of", default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "channel.duckdb"
        shutil.copy(args.db, copy)
        rules = Path(folder) / "program.toml"
        rules.write_text(PROGRAM_PATH.read_text().replace('regions = ["ANZ"]', 'regions = ["APAC"]'))
        programs = load_programs(rules)
        with Store(copy) as store:
            with store.transaction() as cur:
                cur.execute("CREATE TABLE IF NOT EXISTS exchange_rates (quarter VARCHAR, currency VARCHAR, "
                            "rate DOUBLE)")
                cur.execute("INSERT INTO exchange_rates SELECT DISTINCT quarter, 'AUD', 0.65 FROM partner_quarter")
            as_of = args.as_of or store.query_df("SELECT max(quarter) AS q FROM partner_quarter").iloc[0]["q"]
            one, frame = _median(args.runs, lambda: recommendations(store, as_of, programs.global_rules))
            every, regional = _median(args.runs, lambda: regional_recommendations(store, as_of, programs))
            scoped, mine = _median(args.runs, lambda: regional_recommendations(store, as_of, programs,
                                                                              scope=("APAC",)))
    print(f"{len(frame):,} partners as of {as_of}; median of {args.runs}:")
    print(f"  one program:                  {one:.2f} s")
    print(f"  each partner's program:       {every:.2f} s ({(regional['program'] != 'Global').sum():,} in AUD)")
    print(f"  one region (APAC, scoped):    {scoped:.2f} s ({len(mine):,} partners)")


if __name__ == "__main__":
    main()
