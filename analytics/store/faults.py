"""What can go wrong with the database file, told plainly: the store's errors (read-only, damaged, disk full,
gone), store_fault to recognise them in DuckDB's, and the guard that notices a file deleted or replaced under
a running app."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

import duckdb

__all__ = [
    "StoreError",
    "StoreFault",
    "StoreReadOnly",
    "StoreDamaged",
    "store_fault",
    "StoreFileGone",
    "StoreDiskFull",
    "guard_file_identity",
    "file_identity",
    "mark_restored",
    "moved_file",
    "file_fault",
]


class StoreError(RuntimeError):
    """A database operation that cannot be done, with a message meant for the person who asked."""


class StoreFault(StoreError):
    """A fault of the database file or its folder that no retry fixes: someone has to act on the machine."""


class StoreReadOnly(StoreFault):
    """The database file or its folder cannot be written."""

    def __init__(self, path: Path):
        folder = path.parent
        folder_read_only = not path.exists() or not os.access(folder, os.W_OK)
        what = "the folder is read-only" if folder_read_only else "the file is read-only"
        super().__init__(
            f"{path} cannot be written: {what}. Give the app's user write access to {folder} "
            "or set CHANNEL_DB to a writable path."
        )


class StoreDamaged(StoreFault):
    """The database file is damaged: cut short, garbled, empty or not a DuckDB database at all."""

    def __init__(self, path: Path, damage: str):
        self.damage = damage
        super().__init__(
            f"{path} is damaged ({damage}): restore it from a backup (python -m analytics restore DIR), "
            "or move it aside and the app starts with an empty database."
        )


class StoreDiskFull(StoreFault):
    """The disk ran full while the database (or DuckDB's temporary files) was being written."""

    def __init__(self, path: Path):
        super().__init__(
            f"The disk is full (no space left on the device) while writing {path} or DuckDB's temporary files: "
            "nothing of this change was kept, the database is as it was before it. Free some space on the "
            f"database's disk (and in {tempfile.gettempdir()}) and try again."
        )


class StoreFileGone(StoreFault):
    """The database file this process was using was deleted (or moved away) while it ran."""

    def __init__(self, path: Path):
        super().__init__(
            f"The database file {path} was deleted or moved away while the app was running. Nothing more is "
            "written, so that no change goes into a file that no longer exists (it would be lost). Put the file "
            "back, or restore a backup (python -m analytics restore DIR), and reload the page; or restart the "
            "app to start from a new, empty database."
        )


def _replaced_message(path: Path) -> str:
    return (f"The database file {path} was replaced by another file while the app was running, not by "
            "python -m analytics restore. The pages show the file now there, but changes are refused until the "
            "app is restarted, so that nothing is written on the strength of what the other file showed.")


# DuckDB reports every file fault as an IOException (or a bare Error) with no code to tell them apart, so
# its message is the only thing that says which one it is. Each sign maps to plain words for the person.
_DAMAGE_SIGNS = (
    ("not a valid duckdb database file", "it is not a DuckDB database file"),
    ("could not read enough bytes", "it is cut short"),
    ("corrupt database file", "some of its blocks are garbled"),
    ("checksum", "some of its blocks are garbled"),
)
_READ_ONLY_SIGNS = ("permission denied", "operation not permitted", "read-only file system")
_READ_ONLY_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


def store_fault(path: Path, exc: BaseException) -> StoreFault | None:
    """Give the plain error for a failure of the database file itself (unwritable, damaged), or None for any other.

    Only DuckDB's errors are read, and a full disk (ENOSPC): another OSError (an output file) says nothing
    about the database.
    """
    if isinstance(exc, StoreFault):
        return exc
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return StoreDiskFull(path)
    if not isinstance(exc, duckdb.Error):
        return None
    text = str(exc).lower()
    # Before the damage signs: a write cut short by a full disk can also say it could not write enough bytes.
    if "no space left on device" in text:
        return StoreDiskFull(path)
    for sign, damage in _DAMAGE_SIGNS:
        if sign in text:
            if path.exists() and path.stat().st_size == 0:
                damage = "it is empty: 0 bytes"
            return StoreDamaged(path, damage)
    if any(sign in text for sign in _READ_ONLY_SIGNS):
        return StoreReadOnly(path)
    return None


# Which file each database path was when the app first opened it: (device, inode), for the paths the app
# guards (guard_file_identity; views/db.py does it for its database). A file deleted under a running app
# was still served, and an upload written into it was lost when the next command made a new, empty file.
_KNOWN_FILES: dict[str, tuple[int, int]] = {}


def guard_file_identity(path: Path) -> None:
    """Make every store of this process on `path` notice when its file, as it is now, is deleted or replaced.

    A deleted file then refuses to open (no new empty file is made in its place); a replaced one opens
    with writes refused (Store.refuse_writes), unless a restore put it there (mark_restored).
    """
    identity = file_identity(path)
    if identity is not None:
        _KNOWN_FILES.setdefault(os.path.abspath(path), identity)


def file_identity(path: Path) -> tuple[int, int] | None:
    """Give the file at `path` as (device, inode), or None when there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _restored_note(path: Path) -> Path:
    return path.with_name(path.name + ".restored")


def mark_restored(path: Path) -> None:
    """Note that the file now at `path` was put there by a restore, so a running app takes it instead of refusing it."""
    identity = file_identity(path)
    if identity is not None:
        _restored_note(path).write_text(f"{identity[0]} {identity[1]}\n")


def moved_file(path: Path) -> str | None:
    """Raise StoreFileGone when the file this process opened at `path` is gone; give why writes are refused, or None.

    A file replaced by a restore (its note names the file now there) is taken as the file from now on.
    """
    key = os.path.abspath(path)
    known = _KNOWN_FILES.get(key)
    if known is None:
        return None
    now = file_identity(path)
    if now is None:
        raise StoreFileGone(path)
    if now == known:
        return None
    with contextlib.suppress(OSError, ValueError):
        if tuple(int(x) for x in _restored_note(path).read_text().split()) == now:
            _KNOWN_FILES[key] = now
            return None
    return _replaced_message(path)


def file_fault(path: Path, exc: BaseException) -> StoreFault | None:
    """Give the plain error for a failure making the database's folder or the note beside it, else as store_fault."""
    if isinstance(exc, OSError):
        return StoreReadOnly(path) if exc.errno in _READ_ONLY_ERRNOS else None
    return store_fault(path, exc)
