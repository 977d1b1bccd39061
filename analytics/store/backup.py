"""Backups of the channel database: a copy as of one moment in a folder named by time, and restoring one.

A backup is a folder `channel-YYYYMMDDTHHMMSSZ` (UTC) holding `channel.duckdb`, a complete DuckDB
database written by DuckDB's COPY FROM DATABASE in one transaction (so a load committed meanwhile is
wholly in it or wholly out), and `manifest.json`: schema and data version, rows per table, the file's
size and SHA-256. A backup is written under a hidden name and renamed when complete, so a folder with
the final name is never half written; the hidden folder of a backup that was killed is removed by the
next backup. Restoring checks the copy against its manifest and reads every block of it (a full scan of
every table: DuckDB checks each block's checksum as it reads it) before it touches the database, and
keeps the file it replaces beside it. Pruning (`--keep N`) never silently deletes the last backup that
holds more data than the new one: an emptied database backed up with `--keep 1` once deleted the only
good backup.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from analytics.store.faults import StoreDamaged, StoreError, StoreReadOnly, mark_restored, store_fault
from analytics.store.store import Store
from analytics.store.turns import writer_note

__all__ = ["Backup", "BackupError", "PruneRefused", "Restored", "list_backups", "prune_backups", "restore_backup",
           "take_backup", "verify_backup"]

MANIFEST = "manifest.json"
DATABASE = "channel.duckdb"
PREFIX = "channel-"
FORMAT = 1


class BackupError(StoreError):
    """A backup that cannot be taken, read or restored, with what to do about it."""


class PruneRefused(BackupError):
    """Pruning would delete the last backup holding more data than the newest; nothing was deleted."""


_PARTIAL = ".partial-"


def _disk_full(root: Path, exc: BaseException) -> BackupError | None:
    """Give the plain error for a backup that ran out of disk space, or None for any other failure."""
    full = (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or (
        isinstance(exc, duckdb.Error) and "no space left on device" in str(exc).lower())
    if not full:
        return None
    return BackupError(f"The disk holding {root} is full: the backup was not written (its partial copy was "
                       "removed) and the database is unchanged. Free some space, or back up to another disk.")


@dataclass(frozen=True)
class Backup:
    """One backup folder as its manifest describes it."""

    folder: Path
    created_at: str
    schema_version: int
    data_version: int
    counts: dict[str, int]
    bytes: int
    sha256: str

    def describe(self) -> str:
        """Give one line saying what the backup holds."""
        return (f"{self.folder} (taken {self.created_at}): {self.counts.get('order_lines', 0):,} order lines, "
                f"{self.counts.get('loads', 0)} loads, {self.counts.get('reviews', 0)} reviews, "
                f"data version {self.data_version}")


@dataclass(frozen=True)
class Restored:
    """What a restore did: the backup it used and where the replaced file was put (None if there was none)."""

    backup: Backup
    kept_aside: Path | None


def take_backup(store: Store, root: Path, now: datetime | None = None) -> Backup:
    """Give the backup just written to a new subfolder of `root` named by the time: the database as of one moment."""
    now = now or datetime.now(UTC)
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_killed_partials(root)
        folder = _free_name(root, PREFIX + now.strftime("%Y%m%dT%H%M%SZ"))
        # The process id in the name tells the next backup whether this one is still being written.
        partial = root / f"{_PARTIAL}{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        partial.mkdir()
    except OSError as exc:
        full = _disk_full(root, exc)
        if full is not None:
            raise full from exc
        raise BackupError(f"Cannot write the backup into {root}: {exc.strerror}. "
                          "Pick a folder this user may write.") from exc
    try:
        copy = partial / DATABASE
        alias = f"backup_{uuid.uuid4().hex}"  # unique: two backups in one process must not share an attachment
        with contextlib.closing(store.cursor()) as cur:
            catalog = cur.execute("SELECT current_database()").fetchone()[0]
            cur.execute("ATTACH ? AS " + alias, [str(copy)])
            try:
                cur.execute("BEGIN TRANSACTION")
                cur.execute(f"COPY FROM DATABASE {_identifier(catalog)} TO {alias}")
                cur.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):  # nothing to roll back when the COMMIT itself failed
                    cur.execute("ROLLBACK")
                raise
            finally:
                cur.execute(f"DETACH {alias}")
        manifest = {"format": FORMAT, "created_at": now.isoformat(timespec="seconds"), "source": str(store.path),
                    **_read_copy(copy, folder), "bytes": copy.stat().st_size, "sha256": _sha256(copy)}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        partial.rename(folder)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        full = _disk_full(root, exc)
        if full is not None:
            raise full from exc
        if isinstance(exc, OSError):
            raise BackupError(f"Cannot write the backup into {root}: {exc}") from exc
        raise
    return _from_manifest(folder, manifest)


def _remove_killed_partials(root: Path) -> list[Path]:
    """Give the hidden folders of backups killed while being written, removed; those of live processes stay."""
    removed = []
    for partial in root.glob(_PARTIAL + "*"):
        pid_text = partial.name.rsplit("-", 2)[-2] if partial.name.count("-") >= 2 else ""
        if pid_text.isdigit() and _alive(int(pid_text)):
            continue
        shutil.rmtree(partial, ignore_errors=True)
        removed.append(partial)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, run by another user
    return True


def list_backups(root: Path) -> list[Path]:
    """Give the backup folders under `root`, oldest first (their names sort by time)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and (p / MANIFEST).exists())


def prune_backups(root: Path, keep: int, force: bool = False) -> list[Path]:
    """Give the backup folders removed so that only the newest `keep` stay.

    Raises PruneRefused, deleting nothing, when a backup to delete holds more order lines than every
    backup kept, the newest included (a database emptied by mistake, then backed up), unless `force`.
    """
    folders = list_backups(root)
    old, kept = (folders[:-keep], folders[-keep:]) if keep > 0 else ([], folders)
    if old and not force:
        lines = {folder: _order_lines(folder) for folder in folders}
        most_kept = max(lines[f] for f in kept)
        largest = max(old, key=lambda f: lines[f])
        if lines[largest] > most_kept:
            raise PruneRefused(
                f"No backup was deleted: {largest.name} holds {lines[largest]:,} order lines, more than any "
                f"backup that --keep {keep} keeps (the newest, {kept[-1].name}, holds {lines[kept[-1]]:,}). "
                "Is the database emptied by mistake? Restore from it, or add --force to delete it all the same.")
    for folder in old:
        shutil.rmtree(folder)
    return old


def _order_lines(folder: Path) -> int:
    """Give the order lines a backup's manifest lists (0 when it cannot be read: such a backup saves nothing)."""
    try:
        return int(json.loads((folder / MANIFEST).read_text())["counts"].get("order_lines", 0))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0


def verify_backup(folder: Path) -> Backup:
    """Give the backup in `folder` once its file is checked against its manifest: size, checksum, rows per table."""
    try:
        backup = _from_manifest(folder, json.loads((folder / MANIFEST).read_text()))
    except FileNotFoundError as exc:
        raise BackupError(f"{folder} is not a backup: it has no {MANIFEST}. "
                          "Name a folder written by python -m analytics backup.") from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"{folder} is damaged: its {MANIFEST} cannot be read ({exc}). "
                          "Restore an older backup.") from exc
    copy = folder / DATABASE
    damaged = f"The backup {folder} is damaged and was not restored"
    if not copy.exists():
        raise BackupError(f"{damaged}: {DATABASE} is missing. Restore an older backup.")
    if copy.stat().st_size != backup.bytes or _sha256(copy) != backup.sha256:
        raise BackupError(f"{damaged}: {DATABASE} is not the file its manifest describes "
                          f"({copy.stat().st_size:,} bytes, the manifest says {backup.bytes:,}, or the checksum "
                          "differs). Restore an older backup.")
    found = _read_copy(copy, folder)
    if (found["counts"], found["data_version"], found["schema_version"]) != (
            backup.counts, backup.data_version, backup.schema_version):
        raise BackupError(f"{damaged}: its tables do not hold the rows its manifest lists. Restore an older backup.")
    return backup


def restore_backup(source: Path, target: Path, force: bool = False, wait: float = 0.0,
                   on_wait: Callable[[str], None] | None = None) -> Restored:
    """Give what was restored: the database file `target` replaced by the backup in `source` (or the newest under it).

    A database that holds data is only replaced with `force`; a damaged one always may be. The file
    replaced is renamed `<name>.replaced-<time>` beside it. The app is kept off the file meanwhile
    (the command line's note) and `wait` is how long to wait for it to let go.
    """
    named = (source / MANIFEST).exists() or (source / DATABASE).exists()
    folder = source if named else next(reversed(list_backups(source)), None)
    if folder is None:
        raise BackupError(f"{source} holds no backup: name a folder written by python -m analytics backup.")
    backup = verify_backup(folder)
    staged = target.with_name(target.name + ".restoring")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Copied beside the target first, so the swap below is a rename within one file system.
        shutil.copyfile(folder / DATABASE, staged)
    except PermissionError as exc:
        staged.unlink(missing_ok=True)
        raise StoreReadOnly(target) from exc
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise BackupError(f"Cannot copy the backup to {staged}: {exc}") from exc
    try:
        if _sha256(staged) != backup.sha256:
            raise BackupError(f"The copy of {folder / DATABASE} at {staged} differs from the backup; "
                              f"{target} was left as it was. Check the disk and try again.")
        with writer_note(target):
            holds_data, version_before = _target_state(target, wait, on_wait)
            if holds_data and not force:
                raise BackupError(f"{target} holds data; it was left as it was. Add --force to replace it "
                                  "(the file it holds is kept beside it).")
            kept_aside = None
            if target.exists():
                kept_aside = _free_name(target.parent, f"{target.name}.replaced-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
                target.rename(kept_aside)
                wal = target.with_name(target.name + ".wal")
                if wal.exists():  # the log belongs to the replaced file; left here it would be replayed into the backup
                    wal.rename(kept_aside.with_name(kept_aside.name + ".wal"))
            staged.rename(target)
            mark_restored(target)  # a running app takes this file as its own instead of refusing it as replaced
            # A data version above both files' tells the running app that every cached page is stale, even
            # when the backup's own version equals one the app has seen of the file it replaced.
            with Store(target) as restored, restored.transaction() as cur:
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('data_version', ?)",
                            [str(max(version_before, backup.data_version) + 1)])
    finally:
        staged.unlink(missing_ok=True)
    return Restored(backup=backup, kept_aside=kept_aside)


def _target_state(target: Path, wait: float, on_wait: Callable[[str], None] | None) -> tuple[bool, int]:
    """Give whether the database at `target` holds loads, order lines or reviews, and its data version.

    A missing or damaged file holds nothing that can be saved (a damaged one is kept aside all the same).
    """
    if not target.exists():
        return False, 0
    try:
        with Store(target, wait=wait, on_wait=on_wait) as store:
            rows = store.query_df(
                "SELECT (SELECT count(*) FROM loads) + (SELECT count(*) FROM order_lines) "
                "+ (SELECT count(*) FROM reviews) AS n"
            )
            return int(rows["n"].iloc[0]) > 0, store.data_version()
    except StoreDamaged:
        return False, 0


def _from_manifest(folder: Path, manifest: dict) -> Backup:
    """Give the backup a manifest describes (KeyError, ValueError or TypeError when it lacks a field)."""
    return Backup(folder=folder, created_at=str(manifest["created_at"]),
                  schema_version=int(manifest["schema_version"]), data_version=int(manifest["data_version"]),
                  counts={str(k): int(v) for k, v in manifest["counts"].items()},
                  bytes=int(manifest["bytes"]), sha256=str(manifest["sha256"]))


def _read_copy(copy: Path, folder: Path) -> dict:
    """Give the schema and data version and the rows per table of a backup's database file, opened read-only."""
    try:
        with contextlib.closing(duckdb.connect(str(copy), read_only=True)) as con:
            tables = [r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
            ).fetchall()]
            # Table names come from the file's own catalogue, not from a person; quoted as identifiers.
            # Hashing every row reads every block of every column: count(*) alone is answered from the
            # table's metadata, and a garbled block of data would then be found only after the restore.
            counts = {t: con.execute(f"SELECT count(*), sum(hash(_row)) FROM {_identifier(t)} AS _row").fetchone()[0]
                      for t in tables}
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
    except duckdb.Error as exc:
        fault = store_fault(copy, exc)
        why = fault.damage if isinstance(fault, StoreDamaged) else str(exc).splitlines()[0]
        raise BackupError(f"The backup {folder} is damaged and was not restored: its {DATABASE} cannot be read "
                          f"({why}). Restore an older backup.") from exc
    return {"schema_version": int(meta.get("schema_version", 0)), "data_version": int(meta.get("data_version", 0)),
            "counts": counts}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _free_name(root: Path, name: str) -> Path:
    """Give root/name, or root/name-2, -3, ... when one was already made in the same second."""
    folder, n = root / name, 1
    while folder.exists():
        n += 1
        folder = root / f"{name}-{n}"
    return folder

