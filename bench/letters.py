"""How long the letters of a whole review take: the demo channel's review saved, then every letter written.

    .venv/bin/python bench/letters.py [--db PATH] [--out DIR]

Builds the demo channel in a temporary file unless --db names one (a copy is used: a review is saved into it),
saves the recommendations as review BENCH, writes one .docx per partner and mailmerge.csv, and prints the
count and the seconds. The issue's figure: 6,000 letters in under a minute.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.demo import build_demo_channel  # noqa: E402
from analytics.filters import ChannelFilter  # noqa: E402
from analytics.program.rules import load_program  # noqa: E402
from analytics.review.decisions import recommendations, review_decisions  # noqa: E402
from analytics.review.letters import write_letters  # noqa: E402
from analytics.review.saved_reviews import save_review  # noqa: E402
from analytics.store.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a channel database to copy (default: build the demo)")
    parser.add_argument("--out", type=Path, help="folder for the letters (default: a temporary one)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_letters_"))
    db = work / "channel.duckdb"
    if args.db:
        shutil.copy(args.db, db)
    with Store(db) as store:
        if not args.db:
            build_demo_channel(store)
        as_of = store.query_df("SELECT max(quarter) AS q FROM partner_quarter")["q"].iloc[0]
        rules = load_program()
        decisions = review_decisions(recommendations(store, as_of, rules), ChannelFilter(as_of), {})
        save_review(store, "BENCH", as_of, rules, decisions, user="bench")
        out = args.out or work / "letters"
        started = time.perf_counter()
        count = write_letters(store, "BENCH", out)
        seconds = time.perf_counter() - started
    print(f"{count:,} letters of the review as of {as_of} written to {out} in {seconds:.1f} s "
          f"({seconds / max(count, 1) * 1000:.2f} ms each)")
    if not args.out:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
