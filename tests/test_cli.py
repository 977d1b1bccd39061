"""The command line as a person or a nightly job runs it: real processes, real files, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.builders import ROOT, minimal_extract
from tests.file_checks import assert_csv_is_safe


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
        "reporting_currency": "USD",
        "loads": 2,
        "quarters": [
            {"quarter": "2025Q3", "lines": 2, "partners": 2, "revenue": 950.0},
            {"quarter": "2025Q4", "lines": 1, "partners": 1, "revenue": 5.0},
        ],
    }
    loads = run(db, "loads").stdout
    assert "a.csv" in loads and "b.csv" in loads

    rolled = run(db, "rollback", "2", "--force")
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
    assert run(db, "ingest", "--replace", "--force", str(b)).returncode == 0
    assert json.loads(run(db, "summary", "--json").stdout)["revenue"] == 20.0


def test_missing_file_and_unknown_load_are_plain_errors(db, tmp_path):
    missing = run(db, "ingest", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "No such file" in missing.stdout
    unknown = run(db, "rollback", "7")
    assert unknown.returncode == 1 and "no load #7" in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr


AMBIGUOUS = "Partner,Revenue,Amount (USD),Date\nP1,5,5,2025-07-01\nP2,6,7.50,2025-07-01\n"


def test_ambiguous_revenue_is_refused_until_a_column_is_chosen(db, write_file):
    amb = write_file("amb.csv", AMBIGUOUS)
    refused = run(db, "ingest", str(amb))
    assert refused.returncode == 1
    assert "columns 'Revenue' and 'Amount (USD)' could each be revenue and differ in row 3" in refused.stdout
    assert json.loads(run(db, "summary", "--json").stdout)["lines"] == 0
    chosen = run(db, "ingest", "--column", "revenue=Amount (USD)", "--column", "partner_id=Partner", str(amb))
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert json.loads(run(db, "summary", "--json").stdout)["revenue"] == 12.5


@pytest.mark.parametrize(
    ("value", "error"),
    [("revenue", "is not FIELD=HEADER"), ("revnue=Revenue", "Unknown column 'revnue'"),
     ("revenue=Turnover", "'Turnover', which is not a header of this file")],
    ids=["no-equals", "unknown-field", "unknown-header"],
)
def test_a_wrong_column_choice_is_a_plain_error(db, write_file, value, error):
    done = run(db, "ingest", "--column", value, str(write_file("amb.csv", AMBIGUOUS)))
    assert done.returncode != 0 and error in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_an_image_and_a_password_protected_workbook_get_one_sentence(db, write_file):
    from tests.builders import PNG, encrypted_workbook

    big_png = write_file("q3.csv", PNG[:8] + bytes(range(11, 256)) * 5000)  # over a megabyte, no line break
    locked = write_file("q4.xlsx", encrypted_workbook())
    done = run(db, "ingest", str(big_png), str(locked))
    assert done.returncode == 1
    assert "q3.csv is not a text file (it looks like a PNG image): export the extract as CSV or Excel" in done.stdout
    assert "q4.xlsx is password-protected: save it without a password, or export it as CSV" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr and "calamine" not in done.stdout


def test_backup_then_restore_into_a_new_file_and_a_folder_without_backup(db, write_file, tmp_path):
    a = write_file("a.csv", "partner_id,order_date,revenue\nP1,2025-07-01,10\nP2,2025-08-01,-3\n")
    assert run(db, "ingest", str(a)).returncode == 0
    taken = run(db, "backup", str(tmp_path / "backups"))
    assert taken.returncode == 0 and "2 order lines, 1 loads" in taken.stdout, taken.stderr

    copy = tmp_path / "copy.duckdb"
    restored = run(copy, "restore", str(tmp_path / "backups"))
    assert restored.returncode == 0 and "Restored" in restored.stdout, restored.stderr
    assert run(copy, "summary", "--json").stdout == run(db, "summary", "--json").stdout

    nothing = run(copy, "restore", str(tmp_path))
    assert nothing.returncode == 1 and "holds no backup" in nothing.stderr and "Traceback" not in nothing.stderr


def test_score_out_splits_no_partner_name_into_a_formula(db, write_file, tmp_path):
    # A small extract with names that hold a line break or a separator before a formula.
    lines = minimal_extract("2023Q1", 8, partners=150).splitlines()
    names = {"R0000": "\r=1+1", "R0001": 'Acme\n=HYPERLINK("http://evil.example","x")', "R0002": "Beta;@SUM(A1)"}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*lines[0].split(","), "Partner Name"])
    for line in lines[1:]:
        fields = line.split(",")
        writer.writerow([*fields, names.get(fields[0], f"Partner {fields[0]}")])
    extract = write_file("named.csv", buffer.getvalue())
    assert run(db, "ingest", str(extract)).returncode == 0
    out = tmp_path / "scores.csv"
    done = run(db, "score", "--as-of", "2024Q4", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    scores = pd.read_csv(out, encoding="utf-8-sig")
    rows = assert_csv_is_safe(out.read_bytes(), scores)
    shown = {row[0]: row[rows[0].index("partner_name")] for row in rows[1:]}
    assert {pid: shown.get(pid) for pid in names} == {
        # The importer already strips the carriage return that leads R0000's name (invisible characters).
        "R0000": "'=1+1", "R0001": 'Acme =HYPERLINK("http://evil.example","x")', "R0002": "Beta;'@SUM(A1)"}


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


def test_review_command_writes_one_row_per_partner_of_the_program(tmp_path, write_file):
    from analytics.cli import main
    from analytics.ingest.load import load_extract
    from analytics.store.store import Store

    db = tmp_path / "review.duckdb"
    with Store(db) as store:
        load_extract(store, write_file("history.csv", minimal_extract("2023Q1", 10)))
        load_extract(store, write_file("hand.csv", _hand_made_partners()), mode="append")
        # The review year and the year before (review_lookback_quarters = 8): partners that stopped are reviewed.
        active = store.query_df("SELECT count(DISTINCT partner_id) AS n FROM partner_quarter "
                                "WHERE quarter BETWEEN '2023Q3' AND '2025Q2'")["n"].iloc[0]
    out = tmp_path / "review.csv"
    assert main(["--db", str(db), "review", "--as-of", "2025Q2", "--out", str(out)]) == 0
    rows = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False, dtype={"at_risk": str, "dormant": str})
    assert list(rows.columns) == ["partner_id", "tier", "revenue", "qualifies_for", "recommendation", "at_risk",
                                  "dormant", "last_order_quarter", "churn_probability", "turnaround_probability",
                                  "reasons", "second_look", "incentive_plan"]
    assert len(rows) == active and rows["partner_id"].is_unique
    assert set(rows["at_risk"]) <= {"true", "false"} and set(rows["dormant"]) <= {"true", "false"}
    dormant = rows[rows["dormant"] == "true"]
    assert (dormant["recommendation"] == "terminate").all() and (dormant["revenue"].astype(float) == 0).all()
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
