"""A database file deleted or replaced under the running app is noticed: said so, and nothing is written into it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analytics.ingest.history import list_loads
from analytics.ingest.load import load_extract
from analytics.store import faults as faults_module
from analytics.store.backup import restore_backup, take_backup
from analytics.store.faults import StoreFault, StoreFileGone, guard_file_identity
from analytics.store.store import Store
from tests.apptest_helpers import open_page

HEADER = b"partner_id,partner_name,order_date,revenue\n"


def quarter(partner: str, revenue: int, day: str = "2025-07-01") -> bytes:
    return HEADER + f"{partner},Name {partner},{day},{revenue}\n".encode()


def _one_load(db: Path, _folder: Path) -> None:
    with Store(db) as store:
        load_extract(store, quarter("P1", 100), "q1.csv")


@pytest.fixture
def db(databases, tmp_path: Path) -> Path:
    return databases.copy("moved_one_load", _one_load, tmp_path / "channel.duckdb")


@pytest.fixture
def guarded(db, monkeypatch):
    """Guard the database as the app does (views/db.py), with no file remembered from other tests."""
    monkeypatch.setattr(faults_module, "_KNOWN_FILES", {})
    guard_file_identity(db)


def revenue_in(path: Path) -> float:
    with Store(path) as store:
        return float(store.query_df("SELECT coalesce(sum(revenue), 0) AS r FROM order_lines")["r"].iloc[0])


def test_a_deleted_file_is_not_made_again_empty_and_the_open_one_takes_no_write(guarded, db):
    held = Store(db)  # the app's keep-alive holds the file open between page runs
    try:
        os.remove(db)
        with pytest.raises(StoreFileGone, match=r"channel\.duckdb was deleted or moved away while the app was running"):
            Store(db)
        assert not db.exists(), "a new empty database was made where the deleted one was"
        with pytest.raises(StoreFault, match="was deleted"):
            load_extract(held, quarter("P2", 50), "q2.csv")
    finally:
        held.close()
    assert not db.exists()


def test_a_file_replaced_by_someone_else_is_read_but_refuses_writes(guarded, db, tmp_path):
    other = tmp_path / "other.duckdb"
    with Store(other) as store:
        load_extract(store, quarter("P9", 900), "other.csv")
    os.replace(other, db)
    with Store(db) as store:
        assert "replaced by another file while the app was running" in store.refuse_writes
        assert list(list_loads(store)["file_name"]) == ["other.csv"]  # the pages show the file now there
        with pytest.raises(StoreFault, match="changes are refused until the app is restarted"):
            load_extract(store, quarter("P2", 50), "q2.csv")
    assert revenue_in(db) == 900


def test_a_file_put_back_by_restore_is_taken_and_its_data_version_is_above_both(guarded, db, tmp_path):
    with Store(db) as store:
        backup = take_backup(store, tmp_path / "backups")
        load_extract(store, quarter("P2", 50, "2025-10-01"), "q2.csv")
        seen = store.data_version()
    restore_backup(backup.folder, db, force=True)
    with Store(db) as store:
        assert store.refuse_writes is None
        assert store.data_version() > seen
        load_extract(store, quarter("P3", 7, "2026-01-15"), "q3.csv")
    assert revenue_in(db) == 107


def test_a_page_says_the_file_was_deleted_and_makes_no_new_one(db):
    at = open_page(db)  # views/db.py guards the file it opens
    os.remove(db)
    shutil.rmtree(db.with_name(db.name + ".wal"), ignore_errors=True)
    at.run()
    assert not at.exception
    assert any("was deleted or moved away while the app was running" in e.value for e in at.error)
    assert not db.exists()


def test_a_page_warns_that_the_file_was_replaced_and_shows_the_new_one(db, tmp_path):
    at = open_page(db)
    other = tmp_path / "other.duckdb"
    with Store(other) as store:
        load_extract(store, quarter("P9", 900), "other.csv")
    os.replace(other, db)
    at.run()
    assert not at.exception
    assert any("replaced by another file" in w.value for w in at.warning)
