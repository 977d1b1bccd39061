"""Nothing lost under faults: a write killed outright at any point leaves the database as it was, and it opens.

Each test runs the real command line (or the engine) in a second process, stops it at a named point
inside the write ($CHANNEL_PAUSE_AT, analytics.store.store.checkpoint) or at a random moment, kills it with
SIGKILL, and compares every table of the file with what it held before.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from analytics.analyses.queries import channel_summary
from analytics.formatting import markdown_literal
from analytics.ingest.history import list_loads
from analytics.ingest.load import load_extract
from analytics.store.faults import StoreDamaged, StoreReadOnly, store_fault
from analytics.store.store import Store
from analytics.store.turns import writer_waiting
from tests.apptest_helpers import open_page
from tests.builders import quarter_file
from tests.processes import kill_when_paused, start

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("order_lines", "loads", "partner_quarter", "partner_year", "meta", "reviews", "review_decisions",
          "column_mappings")


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


def _two_quarters(db: Path, folder: Path) -> None:
    with Store(db) as store:
        load_extract(store, quarter_file(folder / "q3.csv", "2025-07"))
        load_extract(store, quarter_file(folder / "q4.csv", "2025-10"))


@pytest.fixture
def channel(databases, tmp_path: Path) -> Path:
    """Give a database with two loads (2025Q3 and 2025Q4): a copy of one built once per session."""
    return databases.copy("faults_two_quarters", _two_quarters, tmp_path / "channel.duckdb")


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
    process = start(["-m", "analytics", "ingest", "--replace", "--force", str(again)], point, channel)
    kill_when_paused(process, point)
    assert_unchanged_and_usable(channel, before, tmp_path)


def test_a_rollback_killed_half_way_leaves_the_database_as_it_was(channel, tmp_path):
    before = fingerprint(channel)
    process = start(["-m", "analytics", "rollback", "2", "--force"], "rollback:deleted", channel)
    kill_when_paused(process, "rollback:deleted")
    assert_unchanged_and_usable(channel, before, tmp_path)
    with Store(channel) as store:
        assert list_loads(store).set_index("load_id").loc[2, "status"] == "active"


SAVE_REVIEW = """
import pandas as pd
from analytics.program.rules import load_program
from analytics.review.saved_reviews import DECISION_COLUMNS, save_review
from analytics.program.rules import load_program
from analytics.review.saved_reviews import DECISION_COLUMNS, save_review
from analytics.store.store import Store
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
        process = start(["-m", "analytics", "ingest", "--replace", "--force", str(big)], None, channel)
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


# -- a damaged file or a read-only folder: a plain message, never a traceback ---------------------------
RESTORE_HINT = "python -m analytics restore DIR"


def damage(db: Path, how: str) -> Path:
    """Damage the database file for real: cut it short, garble blocks, empty it, or put text in its place."""
    data = db.read_bytes()
    if how == "cut-short":
        db.write_bytes(data[: len(data) // 2])
    elif how == "garbled-blocks":
        # The header block and the one after it: what opening the file reads first.
        db.write_bytes(data[:4096] + random.Random(7).randbytes(8192) + data[4096 + 8192:])
    elif how == "zero-length":
        db.write_bytes(b"")
    else:
        db.write_text("partner_id,order_date,revenue\nP1,2025-07-01,10\n")
    return db


def cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    # The default --wait: a fault taken for a busy file would wait minutes and time out here.
    return subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


DAMAGES = ["cut-short", "garbled-blocks", "zero-length", "not-duckdb"]
DAMAGE_WORDS = {"cut-short": "cut short", "garbled-blocks": "garbled", "zero-length": "empty: 0 bytes",
                "not-duckdb": "not a DuckDB database file"}


@pytest.mark.parametrize("how", DAMAGES, ids=DAMAGES)
def test_a_damaged_file_gives_the_command_line_a_plain_message_and_exit_code_2(channel, how):
    done = cli(damage(channel, how), "summary")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert f"{channel} is damaged (" in done.stderr and DAMAGE_WORDS[how] in done.stderr
    assert RESTORE_HINT in done.stderr


@pytest.mark.parametrize("args", [["ingest", "q1.csv"], ["demo", "--partners", "50"], ["loads"], ["backup", "bk"]],
                         ids=["ingest", "demo", "loads", "backup"])
def test_every_command_stops_at_a_damaged_file_with_the_message(channel, tmp_path, args):
    quarter_file(tmp_path / "q1.csv", "2026-01", lines=10)
    before = damage(channel, "cut-short").read_bytes()
    done = cli(channel, *[str(tmp_path / a) if a in ("q1.csv", "bk") else a for a in args])
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert "is damaged (it is cut short)" in done.stderr
    assert channel.read_bytes() == before, "a damaged file is left as it is, for a restore or a look"
    assert not (tmp_path / "bk").exists() or not list((tmp_path / "bk").iterdir()), "no backup of a damaged file"


def garbled_past_the_catalogue(db: Path) -> Path:
    """Garble the first block that opening the file does not read but a summary does; fail if there is none."""
    data = db.read_bytes()
    block = 262144
    for offset in range(block, len(data), block):
        db.write_bytes(data[:offset] + random.Random(offset).randbytes(min(block, len(data) - offset))
                       + data[offset + block:])
        try:
            with Store(db) as store:
                channel_summary(store)
        except StoreDamaged:
            continue  # opening already finds it; the tests above cover that
        except duckdb.Error:
            return db
    pytest.fail("no block of the test database is read by a summary only: make the channel larger")


def test_damage_that_only_a_query_reaches_gives_the_plain_message_on_the_command_line_and_the_page(channel):
    garbled_past_the_catalogue(channel)
    done = cli(channel, "summary")
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert "is damaged (some of its blocks are garbled)" in done.stderr

    at = open_page(channel)
    assert [e.value for e in at.error if "is damaged" in e.value], [e.value for e in at.error]


@pytest.mark.parametrize("how", ["cut-short", "not-duckdb"])
def test_a_damaged_file_shows_the_message_on_the_page_without_an_exception(channel, how):
    at = open_page(damage(channel, how))
    shown = [e.value for e in at.error]
    assert any("is damaged" in text and "restore DIR" in text for text in shown), shown


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Path:
    """Give a folder this process cannot write into: mode 555, or as root (who ignores modes) an immutable one."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    shutil.copy(quarter_file(tmp_path / "seed.csv", "2025-07", lines=10), folder / "kept.csv")
    as_root = os.geteuid() == 0
    if as_root:
        # chattr +i makes the folder immutable: no file can be made or removed in it, by root either.
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True) \
            if shutil.which("chattr") else None
        if made is None or made.returncode != 0:
            pytest.skip("running as root, which ignores permission bits, and `chattr +i` cannot make the folder "
                        f"immutable here ({made.stderr.strip() if made else 'no chattr'}): no read-only folder")
    else:
        folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip(f"{folder} is still writable for this process: no read-only folder to test with")
        yield folder
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_a_read_only_folder_gives_the_command_line_a_plain_message_and_exit_code_2(read_only_folder, channel,
                                                                                   tmp_path):
    extract = quarter_file(tmp_path / "q3.csv", "2025-07", lines=10)
    assert cli(channel, "backup", str(tmp_path / "bk")).returncode == 0
    for command in (["ingest", str(extract)], ["demo", "--partners", "50"], ["summary"],
                    ["restore", str(tmp_path / "bk")]):
        done = cli(read_only_folder / "channel.duckdb", *command)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
        assert (f"channel.duckdb cannot be written: the folder is read-only. Give the app's user write access to "
                f"{read_only_folder} or set CHANNEL_DB to a writable path.") in done.stderr


def test_a_database_in_a_folder_made_read_only_is_read_but_its_first_write_says_why(channel, tmp_path):
    folder = channel.parent
    before = fingerprint(channel)
    extract = quarter_file(tmp_path / "q1.csv", "2026-01", lines=10)
    if os.geteuid() != 0:
        pytest.skip("the write-ahead log of an existing file is only refused here through chattr +i, as root")
    subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        with Store(channel) as store:
            assert channel_summary(store)["lines"] == 8000  # reading needs no write
            with pytest.raises(StoreReadOnly, match="cannot be written: the folder is read-only"):
                load_extract(store, extract)
        done = cli(channel, "ingest", str(extract))
        assert done.returncode == 2 and "cannot be written" in done.stderr and "Traceback" not in done.stderr
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert fingerprint(channel) == before


def test_a_read_only_folder_shows_the_message_on_the_page_without_an_exception(read_only_folder):
    at = open_page(read_only_folder / "channel.duckdb")
    shown = [e.value for e in at.error]
    assert any("cannot be written" in text and "CHANNEL" in text for text in shown), shown


def test_an_os_error_elsewhere_is_not_taken_for_a_fault_of_the_database(tmp_path):
    # `score --out` into a folder one may not write is about that file, not about the database.
    assert store_fault(tmp_path / "channel.duckdb", PermissionError(13, "Permission denied")) is None
    assert store_fault(tmp_path / "channel.duckdb", duckdb.ConversionException("Could not convert")) is None


def test_an_upload_into_a_database_whose_folder_became_read_only_says_why_on_the_page(channel, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the write-ahead log of an existing file is only refused here through chattr +i, as root")
    before = fingerprint(channel)
    extract = quarter_file(tmp_path / "q1.csv", "2026-01", lines=10).read_bytes()
    subprocess.run(["chattr", "+i", str(channel.parent)], check=True)
    try:
        at = open_page(channel, "views/pages/upload.py")
        at.file_uploader(key="uploads").upload("q1.csv", extract, "text/csv").run()
        at.button(key="load_0").click().run()
        assert not at.exception
        shown = [e.value for e in at.error]
        # Shown literally: the page escapes the Markdown characters of the message (a path may hold any).
        assert any(markdown_literal("cannot be written: the folder is read-only") in text for text in shown), shown
    finally:
        subprocess.run(["chattr", "-i", str(channel.parent)], check=True)
    assert fingerprint(channel) == before
