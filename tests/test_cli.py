"""The command line as a person or a nightly job runs it: real processes, real files, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT


def run(db, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analytics", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def db(tmp_path):
    return tmp_path / "cli.duckdb"


def test_ingest_summary_loads_and_rollback(db, write_file):
    a = write_file("a.csv", "Partner ID;Booking Date;Amount (USD)\nP1;07/15/2025;$1,000.00\nP2;08/01/2025;(50.00)\n")
    b = write_file("b.csv", "partner_id,order_date,revenue\nP3,2025-10-01,5\n")
    assert run(db, "ingest", str(a), str(b)).returncode == 0

    summary = json.loads(run(db, "summary", "--json").stdout)
    assert summary == {
        "lines": 3,
        "partners": 3,
        "revenue": 955.0,
        "loads": 2,
        "quarters": [
            {"quarter": "2025Q3", "lines": 2, "partners": 2, "revenue": 950.0},
            {"quarter": "2025Q4", "lines": 1, "partners": 1, "revenue": 5.0},
        ],
    }
    loads = run(db, "loads").stdout
    assert "a.csv" in loads and "b.csv" in loads

    rolled = run(db, "rollback", "2")
    assert rolled.returncode == 0 and "2025Q4" in rolled.stdout
    assert json.loads(run(db, "summary", "--json").stdout)["lines"] == 2


def test_bad_file_exits_non_zero_with_the_report_and_no_traceback(db, write_file):
    bad = write_file("bad.csv", "partner_id,order_date,revenue\nP1,2025-07-01,ten\n")
    done = run(db, "ingest", str(bad))
    assert done.returncode == 1
    assert "bad.csv: row 2, column 'revenue': revenue is not an amount" in done.stdout
    assert "nothing was written" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert json.loads(run(db, "summary", "--json").stdout)["lines"] == 0


def test_refused_quarter_then_replace(db, write_file):
    a = write_file("a.csv", "partner_id,order_date,revenue\nP1,2025-07-01,10\n")
    b = write_file("b.csv", "partner_id,order_date,revenue\nP1,2025-07-02,20\n")
    run(db, "ingest", str(a))
    refused = run(db, "ingest", str(b))
    assert refused.returncode == 1 and "Choose replace" in refused.stdout
    assert run(db, "ingest", "--replace", str(b)).returncode == 0
    assert json.loads(run(db, "summary", "--json").stdout)["revenue"] == 20.0


def test_missing_file_and_unknown_load_are_plain_errors(db, tmp_path):
    missing = run(db, "ingest", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "No such file" in missing.stdout
    unknown = run(db, "rollback", "7")
    assert unknown.returncode == 1 and "no load #7" in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr


def _hand_made_partners() -> str:
    """Give order lines for three partners whose review is worked out by hand (review year 2024Q3–2025Q2)."""
    lines = ["partner_id,order_date,revenue,tier"]
    for q in range(10):  # 2023Q1 .. 2025Q2
        year, month = 2023 + q // 4, (q % 4) * 3 + 1
        # BIG: Silver, two orders of $150k a quarter: $1.2M and 8 deals a year meet Gold's revenue, not its deals.
        lines += [f"BIG,{year}-{month:02d}-{day:02d},150000,Silver" for day in (3, 17)]
        # FALL: Gold, five orders of $50k a quarter, then a single $100 order in the latest quarter.
        days = (2, 5, 9, 14, 20) if q < 9 else (2,)
        lines += [f"FALL,{year}-{month:02d}-{day:02d},{50000 if q < 9 else 100},Gold" for day in days]
    lines.append("NEW,2025-05-02,1000,Authorized")  # recruited in the latest quarter: the nursery
    return "\n".join(lines) + "\n"


def test_review_command_writes_one_row_per_partner_of_the_review_year(tmp_path, write_file):
    from analytics.cli import main
    from analytics.ingest import load_extract
    from analytics.store import Store
    from tests.test_model import minimal_extract

    db = tmp_path / "review.duckdb"
    with Store(db) as store:
        load_extract(store, write_file("history.csv", minimal_extract("2023Q1", 10)))
        load_extract(store, write_file("hand.csv", _hand_made_partners()), mode="append")
        active = store.query_df("SELECT count(DISTINCT partner_id) AS n FROM partner_quarter "
                                "WHERE quarter BETWEEN '2024Q3' AND '2025Q2'")["n"].iloc[0]
    out = tmp_path / "review.csv"
    assert main(["--db", str(db), "review", "--as-of", "2025Q2", "--out", str(out)]) == 0
    rows = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False, dtype={"at_risk": str})
    assert list(rows.columns) == ["partner_id", "tier", "revenue", "qualifies_for", "recommendation", "at_risk",
                                  "churn_probability", "turnaround_probability", "reasons"]
    assert len(rows) == active and rows["partner_id"].is_unique
    assert set(rows["at_risk"]) <= {"true", "false"}
    by_id = rows.set_index("partner_id")
    big = by_id.loc["BIG"]
    assert (big["tier"], float(big["revenue"]), big["qualifies_for"], big["recommendation"]) == (
        "Silver", 1_200_000.0, "Silver", "retain")
    assert "revenue $1.20M meets Silver's minimum $200.00k" in big["reasons"]
    fall = by_id.loc["FALL"]
    assert (fall["tier"], float(fall["revenue"]), fall["recommendation"], fall["at_risk"]) == (
        "Gold", 750_100.0, "retain", "true")
    assert "latest quarter $100" in fall["reasons"] and "year over year -50 %" in fall["reasons"]
    new = by_id.loc["NEW"]
    assert (new["recommendation"], new["qualifies_for"]) == ("retain", "none")
    assert "in the nursery (1 of 4 quarters)" in new["reasons"]
    # Partners without a tier in the extract are judged against the tier their revenue meets.
    assert (by_id.loc[by_id["tier"] == "", "recommendation"] != "demote").all()


def test_review_command_with_a_broken_program_file_says_which(tmp_path, write_file):
    broken = write_file("program.toml", "[tiers.Gold]\nmin_revenue = 'lots'\nmin_deals = 1\nmin_customers = 1\n")
    done = run(tmp_path / "empty.duckdb", "review", "--out", str(tmp_path / "r.csv"), "--program", str(broken))
    assert done.returncode == 1 and "tiers.Gold.min_revenue must be a number" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r.csv").exists()
