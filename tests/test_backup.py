"""Backups: taken while the database is in use, restored to the same summary and review history; damage refused.

Real DuckDB files throughout; the command line runs as a separate process, as cron would run it.
"""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import pandas as pd
import pytest

from analytics.analyses.queries import channel_summary
from analytics.ingest.load import load_extract
from analytics.review.saved_reviews import list_reviews, load_review
from analytics.store.backup import BackupError, list_backups, restore_backup, take_backup, verify_backup
from analytics.store.store import Store
from tests.apptest_helpers import metric, open_page
from tests.builders import cli_without_wait as cli
from tests.builders import quarter_file, reviewed_channel


def summary_json(db: Path) -> str:
    """Give what `summary --json` prints for the database, read in this process (quicker than starting one)."""
    with Store(db) as store:
        return json.dumps(channel_summary(store)) + "\n"


def history(db: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Give what a restore must bring back: the summary, the saved reviews and one review's decisions."""
    with Store(db) as store:
        return channel_summary(store), list_reviews(store), load_review(store, "FY2026")


@pytest.fixture
def channel(databases, tmp_path: Path) -> Path:
    """Give a database with two loads and a saved review of 40 partners."""
    return databases.copy("reviewed_channel", reviewed_channel, tmp_path / "live" / "channel.duckdb")


def test_a_backup_taken_mid_use_restores_the_same_summary_and_review_history(channel, tmp_path):
    expected = history(channel)
    expected_json = summary_json(channel)
    stop, read, failures = threading.Event(), [], []

    def app_session() -> None:
        # Another connection to the same open database, reading the whole time, as an app session does.
        try:
            with Store(channel) as session:
                while not stop.is_set():
                    read.append(channel_summary(session)["lines"])
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            failures.append(exc)

    reader = threading.Thread(target=app_session)
    with Store(channel) as store:
        reader.start()
        while not read and not failures:
            stop.wait(0.01)
        backup = take_backup(store, tmp_path / "backups")
        # A load right after the backup: it must not be in the backup, and must not spoil it.
        load_extract(store, quarter_file(tmp_path / "q1.csv", "2026-01", lines=500))
        stop.set()
        reader.join()
    assert not failures and read, failures
    assert backup.counts["order_lines"] == 8000 and backup.counts["review_decisions"] == 40

    restored = tmp_path / "restored" / "channel.duckdb"
    done = cli(restored, "restore", str(tmp_path / "backups"))
    assert done.returncode == 0, done.stderr
    assert cli(restored, "summary", "--json").stdout == expected_json
    summary, reviews, decisions = history(restored)
    assert summary == expected[0]
    pd.testing.assert_frame_equal(reviews, expected[1])
    pd.testing.assert_frame_equal(decisions, expected[2])


def test_restore_refuses_a_database_with_data_unless_forced_and_keeps_the_replaced_file(channel, tmp_path):
    backups = tmp_path / "backups"
    taken = cli(channel, "backup", str(backups))
    assert taken.returncode == 0 and "Backup written" in taken.stdout, taken.stderr
    expected_json = summary_json(channel)
    with Store(channel) as store:
        load_extract(store, quarter_file(tmp_path / "q1.csv", "2026-01", lines=500))
    later_json = summary_json(channel)

    refused = cli(channel, "restore", str(backups))
    assert refused.returncode == 1 and "holds data" in refused.stderr and "--force" in refused.stderr
    assert summary_json(channel) == later_json

    forced = cli(channel, "restore", str(backups), "--force")
    assert forced.returncode == 0, forced.stderr
    assert summary_json(channel) == expected_json
    kept = list(channel.parent.glob("channel.duckdb.replaced-*"))
    assert len(kept) == 1 and f"kept as {kept[0]}" in forced.stdout
    assert summary_json(kept[0]) == later_json


def test_a_damaged_database_is_restored_without_force(channel, tmp_path):
    backup = take_backup_of(channel, tmp_path / "backups")
    channel.write_bytes(channel.read_bytes()[:5000])
    done = cli(channel, "restore", str(backup.folder))
    assert done.returncode == 0, done.stderr
    assert json.loads(summary_json(channel))["lines"] == 8000


def take_backup_of(db: Path, root: Path):
    with Store(db) as store:
        return take_backup(store, root)


def garble(backup_folder: Path) -> None:
    copy = backup_folder / "channel.duckdb"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = random.Random(3).randbytes(4096)
    copy.write_bytes(bytes(data))


def cut_short(backup_folder: Path) -> None:
    copy = backup_folder / "channel.duckdb"
    copy.write_bytes(copy.read_bytes()[:10000])


def no_manifest(backup_folder: Path) -> None:
    (backup_folder / "manifest.json").unlink()


def garbled_manifest(backup_folder: Path) -> None:
    (backup_folder / "manifest.json").write_text('{"created_at": "2026-')


@pytest.mark.parametrize(
    ("spoil", "message"),
    [(garble, "is damaged and was not restored"), (cut_short, "is damaged and was not restored"),
     (no_manifest, "is not a backup"), (garbled_manifest, "manifest.json cannot be read")],
    ids=["garbled-blocks", "cut-short", "no-manifest", "garbled-manifest"],
)
def test_a_damaged_backup_is_refused_with_a_plain_message_and_the_database_left_alone(channel, tmp_path, spoil,
                                                                                      message):
    backup = take_backup_of(channel, tmp_path / "backups")
    spoil(backup.folder)
    target = tmp_path / "other" / "channel.duckdb"
    with pytest.raises(BackupError, match=message):
        restore_backup(backup.folder, target)
    assert not target.exists() and not list(target.parent.glob("*.restoring"))

    before = channel.read_bytes()
    done = cli(channel, "restore", str(backup.folder), "--force")
    assert done.returncode == 1 and message in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert channel.read_bytes() == before


def test_backups_are_named_by_time_with_a_manifest_and_pruned_to_the_newest(channel, tmp_path):
    backups = tmp_path / "backups"
    for _ in range(2):
        take_backup_of(channel, backups)
    done = cli(channel, "backup", str(backups), "--keep", "2")
    assert done.returncode == 0 and "Older backup removed" in done.stdout, done.stderr
    kept = list_backups(backups)
    assert len(kept) == 2 and all(f.name.startswith("channel-20") for f in kept)
    manifest = json.loads((kept[-1] / "manifest.json").read_text())
    assert manifest["counts"]["order_lines"] == 8000 and manifest["schema_version"] > 0
    assert verify_backup(kept[-1]).data_version == manifest["data_version"]
    assert not [p for p in backups.iterdir() if p.name.startswith(".partial")]


def test_backup_and_restore_from_the_command_line_while_the_app_holds_the_file(channel, tmp_path):
    # Another channel with as many loads (so the same data version) but three times the revenue.
    other = tmp_path / "other" / "channel.duckdb"
    with Store(other) as store:
        load_extract(store, quarter_file(tmp_path / "o3.csv", "2025-07", scale=3))
        load_extract(store, quarter_file(tmp_path / "o4.csv", "2025-10", scale=3))
    assert cli(other, "backup", str(tmp_path / "backups")).returncode == 0

    at = open_page(channel)  # the app has the file open, and keeps it a while after the run
    before = metric(at, "Revenue in 2025Q4").value
    taken = cli(channel, "--wait", "60", "backup", str(tmp_path / "own"))
    assert taken.returncode == 0, taken.stderr
    done = cli(channel, "--wait", "60", "restore", "--force", str(tmp_path / "backups"))
    assert done.returncode == 0, done.stderr

    at.run()
    assert not at.exception and not at.error
    # The page shows the restored channel, not what it cached of the file that was replaced.
    assert metric(at, "Revenue in 2025Q4").value != before
    with Store(other) as store:
        assert summary_json(channel) == json.dumps(channel_summary(store)) + "\n"
