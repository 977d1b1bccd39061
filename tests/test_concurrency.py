"""Safe concurrent use: readers never see half a load or an error while a write is under way.

Three set-ups, all on a real file: reader threads and a writer thread sharing the app's process; reader
threads that open the file per run as the app does while the command line loads from a second
process; and the real app (AppTest) holding the file while the command line loads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from analytics.analyses.queries import channel_summary
from analytics.ingest.load import load_extract
from analytics.ingest.rollback import rollback_load
from analytics.model.scoring import refresh_scores_apart
from analytics.store.faults import StoreError
from analytics.store.store import ACTIVE_LINES, Store, bump_data_version
from tests.apptest_helpers import APP, metric, open_page
from tests.builders import quarter_file

ROOT = Path(__file__).resolve().parents[1]

# One statement, so one snapshot: the raw lines, the derived table and the load count read together.
SNAPSHOT = f"""
SELECT (SELECT coalesce(sum(revenue), 0) FROM order_lines WHERE {ACTIVE_LINES}) AS lines_revenue,
       (SELECT coalesce(sum(revenue), 0) FROM partner_quarter) AS derived_revenue,
       (SELECT count(*) FROM loads WHERE status = 'active') AS loads
"""

MONTHS = ["2024-10", "2025-01", "2025-04", "2025-07", "2025-10", "2026-01"]
LINES_PER_FILE = 20_000


def file_revenue(lines: int = LINES_PER_FILE) -> int:
    return sum(i % 50 + 1 for i in range(lines))


def check_snapshot(row: tuple, seen: list, problems: list) -> None:
    lines_revenue, derived_revenue, loads = row
    if lines_revenue != derived_revenue:
        problems.append(f"half a load: raw lines {lines_revenue} but derived table {derived_revenue}")
    if lines_revenue != loads * file_revenue():
        problems.append(f"{loads} loads but revenue {lines_revenue}")
    seen.append(loads)


def test_reader_threads_see_whole_loads_while_a_writer_thread_loads(tmp_path):
    files = [quarter_file(tmp_path / f"{m}.csv", m, partners=300, lines=LINES_PER_FILE) for m in MONTHS]
    problems, seen = [], []
    with Store(tmp_path / "channel.duckdb") as store:
        done = threading.Event()

        def read():
            while not done.is_set():
                try:
                    cur = store.cursor()
                    check_snapshot(cur.execute(SNAPSHOT).fetchall()[0], seen, problems)
                    channel_summary(store)  # what the Overview reads, while the write is under way
                    cur.close()
                except Exception as exc:  # noqa: BLE001 - any error while a write runs is the failure
                    problems.append(repr(exc))

        readers = [threading.Thread(target=read) for _ in range(4)]
        for reader in readers:
            reader.start()
        try:
            for path in files:
                load_extract(store, path)
                time.sleep(0.05)
        finally:
            done.set()
            for reader in readers:
                reader.join()
        final = store.cursor().execute(SNAPSHOT).fetchall()[0]
    assert problems == []
    assert final[2] == len(MONTHS)
    # The readers kept reading during the loads: they saw more than the first and the last state.
    assert len(set(seen)) >= 3, sorted(set(seen))


def test_readers_that_open_per_run_let_the_command_line_load_from_another_process(tmp_path):
    db = tmp_path / "channel.duckdb"
    with Store(db) as store:
        load_extract(store, quarter_file(tmp_path / "first.csv", MONTHS[0], partners=300, lines=LINES_PER_FILE))
    problems, seen, waits = [], [], []
    done = threading.Event()

    def page_runs():
        # As the app does (views/db.py): open for a run, read, let go; wait while a load is announced.
        while not done.is_set():
            try:
                with Store(db, wait=120, on_wait=waits.append) as store:
                    check_snapshot(store.cursor().execute(SNAPSHOT).fetchall()[0], seen, problems)
                    channel_summary(store)
            except Exception as exc:  # noqa: BLE001
                problems.append(repr(exc))

    readers = [threading.Thread(target=page_runs) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        time.sleep(0.5)
        extra = [quarter_file(tmp_path / f"{m}.csv", m, partners=300, lines=LINES_PER_FILE) for m in MONTHS[1:3]]
        cli = subprocess.run(
            [sys.executable, "-m", "analytics", "--db", str(db), "--wait", "60", "ingest", *map(str, extra)],
            cwd=ROOT, capture_output=True, text=True, timeout=180,
        )
        time.sleep(0.5)
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert cli.stdout.count("rows added") == 2
    assert problems == []
    assert seen[-1] == 3 and 1 in seen
    assert waits, "the readers waited while the command line held the file"
    assert all("a load from the command line" in why for why in waits)


def test_the_command_line_waits_for_another_holder_and_says_why(tmp_path):
    db = tmp_path / "busy.duckdb"
    Store(db).close()
    path = quarter_file(tmp_path / "q.csv", MONTHS[0], lines=100)
    # The holder keeps the file until told to let go (a line on its stdin): no timing to race.
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(db)!r}); print('ok', flush=True); "
                               "sys.stdin.readline(); c.close()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    cli = [sys.executable, "-m", "analytics", "--db", str(db)]
    try:
        assert holder.stdout.readline().strip() == "ok"
        refused = subprocess.run([*cli, "--wait", "0", "ingest", str(path)], cwd=ROOT, capture_output=True,
                                 text=True, timeout=60)
        assert refused.returncode == 1
        assert "is in use by another process" in refused.stderr and "try again" in refused.stderr
        waiting = subprocess.Popen([*cli, "--wait", "120", "ingest", str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        first = waiting.stderr.readline()
        assert "waiting for it to finish" in first, first
        holder.stdin.write("\n")
        holder.stdin.flush()
        out, err = waiting.communicate(timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert waiting.returncode == 0, first + err
    assert "100 rows added" in out
    with Store(db) as store:
        assert channel_summary(store)["lines"] == 100


def test_the_running_app_lets_the_command_line_load_and_then_shows_the_new_data(tmp_path):
    from streamlit.testing.v1 import AppTest

    db = tmp_path / "app.duckdb"
    with Store(db) as store:
        load_extract(store, quarter_file(tmp_path / "q3.csv", "2025-07", lines=1000))
    os.environ["CHANNEL_DB"] = str(db)  # conftest.py puts it back
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception
    assert metric(at, "Revenue in 2025Q3")
    # The app keeps the file open for a few seconds after a run; the command line must get in anyway.
    started = time.monotonic()
    cli = subprocess.run(
        [sys.executable, "-m", "analytics", "--db", str(db), "--wait", "60", "ingest",
         str(quarter_file(tmp_path / "q4.csv", "2025-10", lines=1000))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert time.monotonic() - started < 30
    at.run()
    assert not at.exception
    assert metric(at, "Revenue in 2025Q4")


def count_lines(store: Store) -> tuple[int, int]:
    """Give the active order lines and the active loads."""
    cur = store.cursor()
    row = cur.execute(f"SELECT (SELECT count(*) FROM order_lines WHERE {ACTIVE_LINES}), "
                      "(SELECT count(*) FROM loads WHERE status = 'active')").fetchall()[0]
    cur.close()
    return row


def run_while_held(tmp_path, second_write) -> tuple[list, list, list]:
    """Give (problems, what the second writer was told, outcomes) after a load and `second_write` overlap.

    The first writer, a load, stops inside its transaction until the second (each on a Store of its own,
    as two sessions of the app have) either says it waits for its turn or has started its own write.
    """
    db = tmp_path / "channel.duckdb"
    problems, told, outcomes = [], [], []
    second_started = threading.Event()

    def first():
        def progress(fraction, message):
            if message.startswith("Writing"):
                second_writer.start()
                second_started.wait(10)
                time.sleep(0.3)  # the second is now waiting for its turn (or, without turns, writing too)
        try:
            with Store(db) as store:
                outcomes.append(load_extract(store, quarter_file(tmp_path / "a.csv", MONTHS[1], lines=3000),
                                             progress=progress).status)
        except Exception as exc:  # noqa: BLE001 - any error of either writer is the failure
            problems.append(repr(exc))

    def second():
        def tell(message):
            told.append(message)
            second_started.set()
        try:
            with Store(db, on_wait=tell) as store:
                outcomes.append(second_write(store, tell))
        except Exception as exc:  # noqa: BLE001
            problems.append(repr(exc))
        finally:
            second_started.set()

    second_writer = threading.Thread(target=second)
    first_writer = threading.Thread(target=first)
    first_writer.start()
    first_writer.join(60)
    second_writer.join(60)
    return problems, told, outcomes


def test_two_sessions_loading_at_once_take_turns_and_both_files_are_stored(tmp_path):
    def load_b(store, tell):
        # Told either that it waits for its turn or, without turns, that it is writing already.
        return load_extract(store, quarter_file(tmp_path / "b.csv", MONTHS[2], lines=2000),
                            progress=lambda fraction, message: tell(message) if "yours follows" in message
                            or message.startswith("Writing") else None).status

    problems, told, outcomes = run_while_held(tmp_path, load_b)
    assert problems == []
    assert outcomes == ["loaded", "loaded"]
    assert told and "is being written; yours follows" in told[0]
    with Store(tmp_path / "channel.duckdb") as store:
        assert count_lines(store) == (5000, 2)


def test_a_rollback_during_a_load_waits_for_it_and_nothing_is_lost(tmp_path):
    with Store(tmp_path / "channel.duckdb") as store:
        earlier = load_extract(store, quarter_file(tmp_path / "earlier.csv", MONTHS[0], lines=1000)).load_id

    problems, told, outcomes = run_while_held(tmp_path, lambda store, tell: rollback_load(store, earlier, force=True))
    assert problems == []
    assert sorted(map(str, outcomes)) == ["['2024Q4']", "loaded"]
    assert told and "yours follows" in told[0]
    with Store(tmp_path / "channel.duckdb") as store:
        assert count_lines(store) == (3000, 1)


def test_a_write_that_collides_anyway_is_refused_plainly_and_writes_nothing(tmp_path):
    # A write outside the turns (another connection's open transaction) makes DuckDB refuse the same update.
    with Store(tmp_path / "channel.duckdb") as store:
        load_extract(store, quarter_file(tmp_path / "a.csv", MONTHS[0], lines=100))
        other = store.cursor()
        other.execute("BEGIN TRANSACTION")
        other.execute("UPDATE order_lines SET replaced_by = 7")
        with pytest.raises(StoreError, match=r"^Another change was written .* nothing of it was written\. Try again"):
            with store.transaction() as cur:
                cur.execute("INSERT INTO meta VALUES ('note', 'x')")
                cur.execute("UPDATE order_lines SET replaced_by = 8")
        other.execute("ROLLBACK")
        assert count_lines(store) == (100, 1)
        assert store.query_df("SELECT * FROM meta WHERE key = 'note'").empty
        assert rollback_load(store, 1, force=True) == ["2024Q4"]  # the next write goes through


def test_the_upload_page_loads_after_another_write_without_an_exception(tmp_path):
    db = tmp_path / "channel.duckdb"
    with Store(db) as store:
        load_extract(store, quarter_file(tmp_path / "a.csv", MONTHS[0], lines=100))
    at = open_page(db, "views/pages/upload.py")
    at.file_uploader(key="uploads").upload("b.csv", quarter_file(tmp_path / "b.csv", MONTHS[1], lines=200).read_bytes(),
                                            "text/csv").run()
    held = threading.Event()

    def roll_back_slowly():
        # Another session's rollback, still writing when this session presses Load.
        with Store(db) as store, store.transaction() as cur:
            cur.execute("UPDATE loads SET status = 'rolled_back' WHERE load_id = 1")
            cur.execute("DELETE FROM order_lines WHERE load_id = 1")
            bump_data_version(cur)
            held.set()
            time.sleep(1.0)

    other = threading.Thread(target=roll_back_slowly)
    other.start()
    held.wait(10)
    started = time.monotonic()
    at.button(key="load_0").click().run()
    other.join()
    assert not at.exception, at.exception
    assert time.monotonic() - started >= 0.5  # it waited for the other write
    assert not at.error, [e.value for e in at.error]
    assert "Loaded as load #2" in " ".join(s.value for s in at.success)
    with Store(db) as store:
        assert count_lines(store) == (200, 1)


def test_the_command_line_lets_go_of_the_file_while_it_fits_the_model_after_a_load(tmp_path):
    db = tmp_path / "channel.duckdb"
    with Store(db) as store:
        load_extract(store, quarter_file(tmp_path / "first.csv", MONTHS[0], partners=40, lines=400))
    later = quarter_file(tmp_path / "later.csv", MONTHS[1], partners=40, lines=400)
    # Stopped where the models are fitted (CHANNEL_PAUSE_AT): no timing to race.
    cli = subprocess.Popen(
        [sys.executable, "-m", "analytics", "--db", str(db), "ingest", str(later)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CHANNEL_PAUSE_AT": "fit apart"},
    )
    try:
        for line in cli.stderr:
            if "paused at fit apart" in line:
                break
        assert cli.poll() is None, cli.stdout.read()
        # What a page run does: open at once, no waiting. The load is there; its scores are still to come.
        with Store(db, wait=0) as store:
            assert store.query_df("SELECT max(quarter) AS q FROM partner_quarter")["q"][0] == "2025Q1"
            assert store.query_df("SELECT count(*) AS n FROM model_runs WHERE as_of = '2025Q1'")["n"][0] == 0
    finally:
        cli.kill()
        cli.communicate()


def test_scores_fitted_apart_are_not_written_over_newer_data(tmp_path):
    db = tmp_path / "channel.duckdb"
    with Store(db) as store:
        load_extract(store, quarter_file(tmp_path / "first.csv", MONTHS[0], partners=40, lines=400))
    opened = []

    def open_store() -> Store:
        store = Store(db)
        if opened:  # between the read and the write, another load lands
            load_extract(store, quarter_file(tmp_path / "later.csv", MONTHS[1], partners=40, lines=400))
        opened.append(store)
        return store

    said = []
    assert refresh_scores_apart(open_store, progress=lambda f, m: said.append(m)) == []
    assert "The data changed while the scores were computed" in said[-1]
    with Store(db) as store:
        assert store.query_df("SELECT count(*) AS n FROM model_runs")["n"][0] == 0
        assert refresh_scores_apart(lambda: Store(db))  # now they are computed, from the newer data
        assert store.query_df("SELECT max(as_of) AS q FROM model_runs")["q"][0] == "2025Q1"
