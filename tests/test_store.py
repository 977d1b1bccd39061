"""The database file: created on first open, upgraded in place from an older schema, versioned."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest

from analytics.ingest.load import load_extract
from analytics.store.faults import StoreError
from analytics.store.schema import REDERIVE_AT, SCHEMA_VERSION
from analytics.store.store import Store
from tests.builders import make_v1_file


def test_new_file_gets_the_current_schema(tmp_path):
    with Store(tmp_path / "new.duckdb") as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.is_empty()


def test_older_file_is_upgraded_in_place_and_keeps_its_data(tmp_path):
    path = tmp_path / "v1.duckdb"
    make_v1_file(path)
    told = []
    with Store(path, on_wait=told.append) as store:
        # Whoever opens it hears why opening takes a while, once.
        assert len(told) == 1 and f"schema 1 to {SCHEMA_VERSION}" in told[0] and "once" in told[0]
        assert store.schema_version() == SCHEMA_VERSION
        assert store.data_version() == 4
        row = store.query_df("SELECT revenue, deals, order_lines FROM partner_quarter").iloc[0]
        # deals did not exist in version 1; the upgrade derives it from the raw lines (two orders).
        assert (row["revenue"], row["deals"], row["order_lines"]) == (120, 2, 2)
        loads = store.query_df("SELECT load_id, rows_replaced, loaded_by FROM loads")
        assert loads.iloc[0].tolist()[:2] == [1, 0]
        # The trailing-year table (version 5) is derived too: one customer, no product recorded.
        year = store.query_df("SELECT partner_id, quarter, customers, products FROM partner_year")
        assert year.to_dict("records") == [{"partner_id": "P1", "quarter": "2025Q3", "customers": 1, "products": 0}]
    with Store(path, on_wait=told.append) as again:  # a second open has nothing to upgrade
        assert again.data_version() == 4
    assert len(told) == 1


def test_a_migration_that_only_adds_tables_leaves_the_data_version_and_scores_alone(tmp_path):
    path = tmp_path / "current.duckdb"
    with Store(path) as store:
        before = store.data_version()
        last_rederive = max(REDERIVE_AT)
        with store.transaction() as cur:  # as the last release that changed derived figures left it
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(last_rederive)])
    assert last_rederive < SCHEMA_VERSION, "the newest migration derives again: nothing to check here"
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        # Stored scores key on the data version: an upgrade that adds a table must not make them stale.
        assert store.data_version() == before


def test_sessions_opening_an_old_file_at_once_upgrade_it_once(tmp_path):
    import threading

    path = tmp_path / "v1.duckdb"
    make_v1_file(path)
    start, opened, errors = threading.Barrier(4), [], []

    def open_it():
        start.wait()
        try:
            with Store(path) as store:
                opened.append((store.schema_version(), store.data_version()))
        except Exception as exc:  # noqa: BLE001 - the test reports whatever a session would have seen
            errors.append(repr(exc))

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert opened == [(SCHEMA_VERSION, 4)] * 4


def test_upgraded_file_takes_new_loads(tmp_path, write_file):
    path = tmp_path / "v1.duckdb"
    make_v1_file(path)
    with Store(path) as store:
        result = load_extract(store, write_file("q4.csv", "partner_id,order_date,revenue\nP1,2025-10-01,5\n"))
        assert result.load_id == 2


def test_file_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    with Store(path) as store:
        store.cursor().execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer version of Channel Health"):
        Store(path)


def test_data_version_moves_with_every_write(store, write_file):
    start = store.data_version()
    load_extract(store, write_file("a.csv", "partner_id,order_date,revenue\nP1,2025-07-01,1\n"))
    assert store.data_version() == start + 1


def test_database_in_use_by_another_process_says_so(tmp_path):
    path = tmp_path / "busy.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        time.sleep(0.2)
        with pytest.raises(StoreError, match="in use by another process"):
            Store(path)
    finally:
        holder.kill()
        holder.wait()


def test_a_file_kept_from_the_first_release_opens_upgraded_with_its_history(tmp_path):
    """tests/fixtures/channel_schema2.duckdb.gz was written by the first release (see the README there)."""
    import gzip
    import shutil
    from pathlib import Path

    from analytics.analyses.queries import channel_summary
    from analytics.ingest.history import list_loads
    from analytics.ingest.rollback import rollback_load

    path = tmp_path / "old.duckdb"
    with gzip.open(Path(__file__).parent / "fixtures" / "channel_schema2.duckdb.gz") as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    assert duckdb.connect(str(path)).execute(
        "SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("2",)]
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        summary = channel_summary(store)
        assert (summary["lines"], summary["partners"], summary["revenue"], summary["loads"]) == (5, 3, 2515.5, 2)
        loads = list_loads(store).set_index("load_id")
        assert loads["status"].to_dict() == {3: "active", 2: "rolled_back", 1: "active"}
        # Columns added since are derived from the kept raw lines: P1 had two orders in 2025Q3.
        pq = store.query_df("SELECT partner_id, quarter, revenue, deals FROM partner_quarter ORDER BY 1, 2")
        assert pq.to_dict("records")[0] == {"partner_id": "P1", "quarter": "2025Q3", "revenue": 1500.5, "deals": 2}
        assert store.query_df("SELECT count(*) AS n FROM reviews")["n"].iloc[0] == 0
        rollback_load(store, 3, force=True)
        assert channel_summary(store)["revenue"] == 1575.5
    with Store(path) as again:  # opens at once the next time, nothing left to upgrade
        assert again.schema_version() == SCHEMA_VERSION


def test_versions_give_the_data_and_scores_versions_together(store, write_file):
    from analytics.ingest.load import load_extract
    from analytics.store.store import bump_scores_version

    assert store.versions() == (store.data_version(), store.scores_version())
    load_extract(store, write_file("a.csv", "partner_id,order_date,revenue\nP1,2025-07-01,10\n"))
    with store.transaction() as cur:
        bump_scores_version(cur)
    assert store.versions() == (store.data_version(), store.scores_version()) and store.scores_version() == 1
