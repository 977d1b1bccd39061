"""What converting currencies costs a load (issue 28: at most 10 % more than the same load in one currency).

    .venv/bin/python bench/currency_load.py                  # 1,000,000 lines, median of 3 loads each
    .venv/bin/python bench/currency_load.py --lines 200000 --runs 1

One quarterly demo extract (its EMEA lines in EUR, ANZ's in AUD, the rest in USD) and the very same file with
every line in USD (the same amounts, the same columns), each loaded into a fresh database holding the demo's
rates; prints both times and their ratio. Wall-clock seconds: other work on the machine slows both alike, so
the ratio is the figure to read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from analytics.demo import DemoSpec, write_demo_extracts, write_demo_rates  # noqa: E402
from analytics.ingest.load import load_extract  # noqa: E402
from analytics.store.rates import load_rates  # noqa: E402
from analytics.store.store import Store  # noqa: E402


def extracts(folder: Path, lines: int) -> tuple[Path, Path, Path]:
    """Give the demo's rates file, a quarterly extract of exactly `lines` lines in three currencies, and it in USD."""
    # One quarter of about 14 lines a partner a year: 72,000 partners give a little over a million.
    partners = max(100, round(lines * 72_000 / 1_000_000))
    (generated,) = write_demo_extracts(folder / "generated", DemoSpec(partners=partners, quarters=1))
    mixed, dollars = folder / "three_currencies.csv", folder / "one_currency.csv"
    con = duckdb.connect()
    # COPY takes no parameters; the paths are ours and quoted as SQL string literals.
    source = str(generated).replace("'", "''")
    con.execute(f"CREATE TABLE extract AS SELECT * FROM read_csv('{source}', all_varchar = true) LIMIT {int(lines)}")
    con.execute(f"COPY extract TO '{str(mixed).replace(chr(39), chr(39) * 2)}' (FORMAT csv, HEADER)")
    con.execute(f"COPY (SELECT * REPLACE ('USD' AS currency) FROM extract) TO "
                f"'{str(dollars).replace(chr(39), chr(39) * 2)}' (FORMAT csv, HEADER)")
    counts = con.execute("SELECT currency, count(*) FROM extract GROUP BY ALL ORDER BY 2 DESC").fetchall()
    con.close()
    print("lines per currency in the mixed file: " + ", ".join(f"{c} {n:,}" for c, n in counts))
    return write_demo_rates(folder), mixed, dollars


def load_seconds(extract: Path, rates: Path, work: Path) -> float:
    """Give the seconds loading `extract` takes into a fresh database that holds the rates (loaded untimed)."""
    db = work / "bench.duckdb"
    db.unlink(missing_ok=True)
    with Store(db) as store:
        load_rates(store, rates)
        started = time.perf_counter()
        load_extract(store, extract)
        elapsed = time.perf_counter() - started
    db.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="loads of each file; the median is kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rates, mixed, dollars = extracts(work, args.lines)
        times: dict[str, list[float]] = {"one currency": [], "three currencies": []}
        for _ in range(args.runs):  # alternated, so a busy moment of the machine falls on both
            times["one currency"].append(load_seconds(dollars, rates, work))
            times["three currencies"].append(load_seconds(mixed, rates, work))
    one, three = (statistics.median(times[k]) for k in ("one currency", "three currencies"))
    print(f"{args.lines:,} lines, median of {args.runs}: one currency {one:.2f} s, three currencies {three:.2f} s, "
          f"ratio {three / one:.3f} (target: at most 1.10)")


if __name__ == "__main__":
    main()
