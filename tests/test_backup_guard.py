"""Backups that protect: every block checked before a restore, the last good backup never pruned unasked,
a killed backup's leftovers cleaned, and a full disk said in plain words (backup and ingest)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from analytics import cli as cli_module
from analytics.store import backup as backup_module
from analytics.store.backup import BackupError, list_backups, prune_backups, take_backup, verify_backup
from analytics.store.faults import StoreDiskFull, store_fault
from analytics.store.store import Store
from tests.builders import cli_without_wait as cli
from tests.builders import reviewed_channel

BLOCK = 262_144  # DuckDB's block size


@pytest.fixture
def channel(databases, tmp_path: Path) -> Path:
    """Give a database with two loads and a saved review of 40 partners."""
    return databases.copy("reviewed_channel", reviewed_channel, tmp_path / "live" / "channel.duckdb")


def take(db: Path, root: Path):
    with Store(db) as store:
        return take_backup(store, root)


def garble_keeping_manifest(folder: Path, offset: int) -> None:
    """Garble 100 bytes of the backup at `offset`, the manifest written anew to match (size and checksum pass)."""
    copy = folder / "channel.duckdb"
    data = bytearray(copy.read_bytes())
    data[offset:offset + 100] = random.Random(offset).randbytes(100)
    copy.write_bytes(bytes(data))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest |= {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def counts_only_pass(copy: Path) -> bool:
    """Tell whether the file opens and every table counts its rows: the check a restore made before."""
    try:
        with duckdb.connect(str(copy), read_only=True) as con:
            for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
                con.execute(f'SELECT count(*) FROM "{table}"').fetchall()
    except duckdb.Error:
        return False
    return True


def test_a_backup_with_a_garbled_data_block_that_counts_miss_is_refused(channel, tmp_path):  # noqa: F811
    backup = take(channel, tmp_path / "backups")
    pristine = (backup.folder / "channel.duckdb").read_bytes()
    missed_by_counts = 0
    for offset in range(BLOCK + 4096 + 100, len(pristine) - 8192, BLOCK):
        (backup.folder / "channel.duckdb").write_bytes(pristine)
        garble_keeping_manifest(backup.folder, offset)
        if counts_only_pass(backup.folder / "channel.duckdb"):
            try:
                verify_backup(backup.folder)
            except BackupError as exc:
                assert "is damaged and was not restored" in str(exc)
                missed_by_counts += 1
    assert missed_by_counts >= 1, "no garbled block was found by the full scan that counting rows missed"


def test_keep_never_deletes_the_last_backup_with_more_data_unless_forced(channel, tmp_path):  # noqa: F811
    backups = tmp_path / "backups"
    good = take(channel, backups)
    emptied = tmp_path / "emptied" / "channel.duckdb"
    Store(emptied).close()
    done = cli(emptied, "backup", str(backups), "--keep", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Backup written" in done.stdout
    assert f"No backup was deleted: {good.folder.name} holds 8,000 order lines" in done.stderr
    assert "add --force" in done.stderr and "Traceback" not in done.stderr
    assert len(list_backups(backups)) == 2
    forced = cli(emptied, "backup", str(backups), "--keep", "1", "--force")
    assert forced.returncode == 0 and "Older backup removed" in forced.stdout, forced.stderr
    assert good.folder not in list_backups(backups)


def test_prune_deletes_old_backups_when_a_kept_one_holds_as_much(channel, tmp_path):  # noqa: F811
    backups = tmp_path / "backups"
    first = take(channel, backups)
    take(channel, backups)
    assert prune_backups(backups, 1) == [first.folder]
    assert len(list_backups(backups)) == 1


def test_a_killed_backups_partial_folder_is_removed_by_the_next_one(channel, tmp_path):  # noqa: F811
    backups = tmp_path / "backups"
    backups.mkdir()
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead = backups / f".partial-channel-20261205T010000Z-{finished.stdout.strip()}-0a1b2c3d"
    older_kind = backups / ".partial-channel-20261204T010000Z-0a1b2c3d"   # written before names held a pid
    live = backups / f".partial-channel-20261205T020000Z-{os.getpid()}-0a1b2c3d"
    for folder in (dead, older_kind, live):
        folder.mkdir()
        (folder / "channel.duckdb").write_bytes(b"\0" * 1000)
    take(channel, backups)
    assert not dead.exists() and not older_kind.exists()
    assert live.exists(), "a backup still being written by a live process was removed"


@pytest.mark.parametrize("failure", [
    OSError(errno.ENOSPC, "No space left on device"),
    duckdb.IOException('IO Error: Could not write file "x/channel.duckdb": No space left on device'),
], ids=["os-error", "duckdb-error"])
def test_a_full_disk_during_a_backup_is_said_plainly_and_leaves_nothing(channel, tmp_path, monkeypatch, failure):  # noqa: F811
    def full(*args, **kwargs):
        raise failure

    monkeypatch.setattr(backup_module, "_sha256", full)
    backups = tmp_path / "backups"
    with pytest.raises(BackupError, match=r"The disk holding .*backups is full: the backup was not written"):
        take(channel, backups)
    assert list(backups.iterdir()) == []


def test_a_full_disk_is_a_fault_with_a_plain_message():
    fault = store_fault(Path("db.duckdb"), duckdb.IOException(
        'IO Error: Could not write all bytes to file "db.duckdb.wal": No space left on device'))
    assert isinstance(fault, StoreDiskFull)
    assert "The disk is full" in str(fault) and "the database is as it was" in str(fault)
    assert isinstance(store_fault(Path("db.duckdb"), OSError(errno.ENOSPC, "No space left on device")), StoreDiskFull)
    assert store_fault(Path("db.duckdb"), OSError(errno.ENOENT, "missing")) is None


def test_ingest_on_a_full_disk_says_so_without_a_traceback(tmp_path, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise duckdb.IOException('IO Error: Could not write file "/tmp/x": No space left on device')

    monkeypatch.setattr(cli_module, "load_extract", full)
    path = tmp_path / "q.csv"
    path.write_text("partner_id,order_date,revenue\nP1,2025-07-01,100\n")
    code = cli_module.main(["--db", str(tmp_path / "c.duckdb"), "ingest", str(path), "--no-scores"])
    said = capsys.readouterr()
    assert code == 2, said
    assert "error: The disk is full" in said.err and "Traceback" not in said.err
    with Store(tmp_path / "c.duckdb") as store:
        assert store.is_empty()
