"""Start the command line in a second process that pauses at a named point ($CHANNEL_PAUSE_AT), and kill it there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["start", "kill_when_paused"]


def start(args: list[str], pause_at: str | None, db: Path) -> subprocess.Popen:
    """Start `python args` on `db`, told to pause at `pause_at` (None: run through); its stderr says where it is."""
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
