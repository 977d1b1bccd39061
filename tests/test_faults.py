"""Nothing lost under faults: a write killed outright at any point leaves the database as it was, and it opens.

Each test runs the real command line (or the engine) in a second process, stops it at a named point
inside the write ($CHANNEL_PAUSE_AT, analytics.store.checkpoint) or at a random moment, kills it with
SIGKILL, and compares every table of the file with what it held before.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analytics.ingest import list_loads, load_extract
from analytics.store import Store, writer_waiting

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("order_lines", "loads", "partner_quarter", "partner_year", "meta", "reviews", "review_decisions", "column_mappings")


def fingerprint(db: Path) -> dict[str, tuple]:
    """Give each table's row count and a hash of all its rows, read in a fresh open of the file."""
    with Store(db) as store:
        present = set(store.query_df("SELECT table_name FROM information_schema.tables")["table_name"])
        return {
            # Exact text of the hash sum: a float would round away a changed row.
            table: store.cursor().execute(
                f"SELECT count(*), CAST(coalesce(sum(CAST(hash(t) AS HUGEINT)), 0) AS VARCHAR) FROM {table} t"
            ).fetchall()[0]
            for table in TABLES if table in present
        }


def quarter_file(path: Path, quarter_month: str, partners: int = 40, lines: int = 4000, scale: int = 1) -> Path:
    """Write an extract of `lines` order lines in the month `quarter_month` (like 2025-07)."""
    rows = ["partner_id,partner_name,customer_id,order_date,revenue,tier"]
    for i in range(lines):
        rows.append(f"P{i % partners},Partner {i % partners},C{i % 97},{quarter_month}-{1 + i % 28:02d},"
                    f"{(i % 50 + 1) * scale},Gold")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def channel(tmp_path: Path) -> Path:
    """Give a database with two loads (2025Q3 and 2025Q4) and a saved review."""
    db = tmp_path / "channel.duckdb"
    with Store(db) as store:
        load_extract(store, quarter_file(tmp_path / "q3.csv", "2025-07"))
        load_extract(store, quarter_file(tmp_path / "q4.csv", "2025-10"))
    return db


def start(args: list[str], pause_at: str | None, db: Path) -> subprocess.Popen:
    env = {**os.environ, "CHANNEL_DB": str(db)}
    env.pop("CHANNEL_PAUSE_AT", None)
    if pause_at:
        env["CHANNEL_PAUSE_AT"] = pause_at
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def kill_when_paused(process: subprocess.Popen, point: str, timeout: float = 120) -> None:
    """Wait until the process says it paused at `point`, then kill it outright."""
    deadline = time.monotonic() + timeout
    said = []
    for line in process.stderr:
        said.append(line)
        if line.strip() == f"paused at {point}":
            break
        assert time.monotonic() < deadline, "".join(said)
    else:
        process.wait()
        pytest.fail(f"the process ended without reaching {point}: {''.join(said)[-2000:]}")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def assert_unchanged_and_usable(db: Path, before: dict, tmp_path: Path) -> None:
    assert fingerprint(db) == before
    assert writer_waiting(db) is None, "a killed command line's note must not keep the app waiting"
    # The next start opens the file without repair and takes the next load.
    with Store(db) as store:
        result = load_extract(store, quarter_file(tmp_path / "q1.csv", "2026-01"))
        assert result.rows_added == 4000


@pytest.mark.parametrize("point", ["load:read", "load:replaced", "load:inserted", "load:recorded",
                                   "load:refreshed", "commit"])
def test_a_replacing_load_killed_at_each_point_leaves_the_database_as_it_was(channel, tmp_path, point):
    before = fingerprint(channel)
    again = quarter_file(tmp_path / "q4_restated.csv", "2025-10", scale=3)
    process = start(["-m", "analytics", "ingest", "--replace", str(again)], point, channel)
    kill_when_paused(process, point)
    assert_unchanged_and_usable(channel, before, tmp_path)


def test_a_rollback_killed_half_way_leaves_the_database_as_it_was(channel, tmp_path):
    before = fingerprint(channel)
    process = start(["-m", "analytics", "rollback", "2"], "rollback:deleted", channel)
    kill_when_paused(process, "rollback:deleted")
    assert_unchanged_and_usable(channel, before, tmp_path)
    with Store(channel) as store:
        assert list_loads(store).set_index("load_id").loc[2, "status"] == "active"


SAVE_REVIEW = """
import pandas as pd
from analytics.program import load_program
from analytics.review import DECISION_COLUMNS, save_review
from analytics.store import Store
rows = [{c: None for c in DECISION_COLUMNS} | {"partner_id": f"P{i}", "recommendation": "retain",
        "decision": "retain", "note": ""} for i in range(40)]
with Store() as store:
    save_review(store, "FY2026", "2025Q4", load_program(), pd.DataFrame(rows)[DECISION_COLUMNS], user="chief")
"""


def test_a_review_save_killed_before_commit_leaves_no_review(channel, tmp_path):
    before = fingerprint(channel)
    process = start(["-c", SAVE_REVIEW], "review:written", channel)
    kill_when_paused(process, "review:written")
    assert_unchanged_and_usable(channel, before, tmp_path)


def test_loads_killed_at_moments_spread_over_the_load_leave_the_database_as_it_was_or_fully_loaded(channel, tmp_path):
    big = quarter_file(tmp_path / "q4_big.csv", "2025-10", partners=500, lines=300_000, scale=7)
    before = fingerprint(channel)
    after = None
    outcomes = []
    # Kills spread over the load (about 0.7 s from its first progress line on this machine), earliest first.
    for delay in (0.0, 0.15, 0.3, 0.4, 0.5, 0.6, 0.8):
        process = start(["-m", "analytics", "ingest", "--replace", str(big)], None, channel)
        process.stderr.readline()  # the first progress line: the load is under way
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        now = fingerprint(channel)
        outcomes.append("whole" if now != before else "as before")
        if now != before:  # the kill came after the commit: then the load is whole
            with Store(channel) as store:
                loads = list_loads(store)
                assert loads["file_name"].iloc[0] == "q4_big.csv" and loads["rows_added"].iloc[0] == 300_000
                lines = store.query_df(
                    "SELECT count(*) AS n FROM order_lines WHERE quarter = '2025Q4' AND replaced_by IS NULL")
                assert lines["n"].iloc[0] == 300_000
            after = now
            break
    if after is None:
        assert_unchanged_and_usable(channel, before, tmp_path)
    assert "as before" in outcomes, "no kill landed before the commit: the test did not test anything"
