"""Taking turns with the database file: connections opened under one lock, sessions of this process reading
while one writes, writes to a file one at a time, and the writer's note beside the file for other processes."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from analytics.store.faults import file_fault

__all__ = [
    "writer_note",
    "writer_waiting",
    "MEMORY_LIMIT",
    "OPENING",
    "GATE",
    "READERS",
    "TURNS",
    "IN_PROCESS_WRITER",
    "WRITE_WAIT_MESSAGE",
    "WRITE_CONFLICT_MESSAGE",
    "write_lock",
    "connect_in_process",
    "leave_note",
]


# DuckDB's memory cap for one open database; $CHANNEL_DB_MEMORY overrides it (e.g. "4GB").
MEMORY_LIMIT = os.environ.get("CHANNEL_DB_MEMORY", "1GB")

# Threads of one process (the app's sessions) open and close the same file all the time. When the last
# connection of a database goes in one thread while another thread connects, DuckDB can briefly find
# the file still attached by the instance being torn down ("Unique file handle conflict"). Opening
# under one lock and retrying that one error for a moment makes this invisible to the caller.
OPENING = threading.Lock()

# Read-only stores (several processes sharing the file): which sessions of this process have the file
# open, per file, and which thread of this process is taking it to write. DuckDB refuses to open a file
# read-write in a process that has it open read-only, so a write waits until the readers let go, and
# readers wait while it writes.
GATE = threading.Condition()
READERS: dict[str, int] = {}
TURNS: dict[str, int] = {}
IN_PROCESS_WRITER = "another session of this app, writing a change"

# DuckDB lets two transactions of one process write at once and then fails the later one ("Conflict on
# update"); two sessions pressing Load or Roll back together did exactly that. Writes to one file
# therefore take turns under a lock per database path (other processes cannot open the file at all).
_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()
WRITE_WAIT_MESSAGE = (
    "Another change (a load, a rollback or a review save) is being written; yours follows when it is done."
)
WRITE_CONFLICT_MESSAGE = (
    "Another change was written to the database at the same moment, so this one was not saved and nothing "
    "of it was written. Try again."
)


def write_lock(path: Path) -> threading.RLock:
    """Give the lock that writes to the database at `path` take turns under (one per file, for the process)."""
    key = os.path.realpath(path)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.RLock())


_TEARDOWN_RETRY_SECONDS = 5.0


def connect_in_process(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Give a new connection to `path`, retrying while another thread's connection to it is being torn down."""
    deadline = time.monotonic() + _TEARDOWN_RETRY_SECONDS
    while True:
        try:
            with OPENING:
                # DuckDB would take up to 80 % of the machine's memory for its buffers; the app shares the
                # machine with its sessions, so it is capped (and spills to disk beyond the cap).
                return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": MEMORY_LIMIT})
        except duckdb.ResourceInUseException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _note_path(path: Path) -> Path:
    return path.with_name(path.name + ".writer")


def leave_note(path: Path, what: str = "") -> Path:
    """Give the note beside the file, written now: the app lets go of the file while it is there."""
    note = _note_path(path)
    # Written aside and renamed into place, so a reader never finds the note half written (and ignores it).
    partial = note.with_name(f"{note.name}.{os.getpid()}.partial")
    partial.write_text(f"{os.getpid()}\n{' '.join(sys.argv) or 'python'}\n{what}\n")
    partial.replace(note)
    return note


@contextlib.contextmanager
def writer_note(path: Path) -> Iterator[None]:
    """Keep the app off the file while the block runs (even while nobody has it open): for swapping the file."""
    try:
        note = leave_note(path)
    except OSError as exc:
        fault = file_fault(path, exc)
        if fault is None:
            raise
        raise fault from exc
    try:
        yield
    finally:
        note.unlink(missing_ok=True)


def writer_waiting(path: Path) -> str | None:
    """Give who is waiting for or holding the file to write from another process (the command line), or None.

    The note beside the file names a process id; a note whose process is gone (killed) is stale and
    taken away. A note of this process counts only while another thread of it writes (Store.writing()).
    """
    note = _note_path(path)
    try:
        pid_text, _, rest = note.read_text().partition("\n")
        command, _, what = rest.partition("\n")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    if pid == os.getpid():
        with GATE:
            writer = TURNS.get(os.path.realpath(path))
        return IN_PROCESS_WRITER if writer is not None and writer != threading.get_ident() else None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        note.unlink(missing_ok=True)
        return None
    except PermissionError:
        pass  # alive, run by another user
    # The third line says who writes when it is not the command line (an app process's write, Store.writing()).
    who = what.strip() or "a load from the command line"
    return f"{who} (process {pid}: {command.strip() or 'python -m analytics'})"
