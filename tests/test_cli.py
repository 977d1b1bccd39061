"""The command line as a person or a nightly job runs it: real processes, real files, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.test_export import assert_csv_is_safe
from tests.test_model import minimal_extract


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
        "R0000": "' =1+1", "R0001": 'Acme =HYPERLINK("http://evil.example","x")', "R0002": "Beta;'@SUM(A1)"}
