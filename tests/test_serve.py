"""Several app processes on one database file: read-only stores, writes in turn, and `python -m analytics serve`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from analytics.ingest.load import load_extract
from analytics.store.store import Store, writer_waiting
from tests.apptest_helpers import open_page
from tests.browser import browser_page, require_chromium, wait_for_app
from tests.test_faults import quarter_file
from tests.test_upload import upload

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import ws_load  # noqa: E402

# An app process in miniature: holds the file read-only, lets go while a writer's note is there (as
# views/db.py's keep-alive does), opens it again afterwards and prints the data version it then reads.
READER = textwrap.dedent("""
    import sys, time
    from analytics.store.store import Store, writer_waiting
    path = sys.argv[1]
    store = Store(path)
    print("open", store.read_only, store.data_version(), flush=True)
    deadline = time.monotonic() + 60
    while (why := writer_waiting(store.path)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    store.close()
    print("let go for", why, flush=True)
    with Store(path, wait=60) as again:
        print("reads", again.data_version(), flush=True)
""")


@pytest.fixture
def several_processes(monkeypatch):
    """Make this process one of two sharing the database file, as `serve --processes 2` does."""
    monkeypatch.setenv("CHANNEL_PROCESSES", "2")
    return {**os.environ, "CHANNEL_PROCESSES": "2"}


def test_two_processes_read_the_file_at_once(small_channel_db: Path, several_processes):
    with Store(small_channel_db) as store:
        assert store.read_only
        other = subprocess.run(
            [sys.executable, "-c", "import sys; from analytics.store.store import Store; "
                                   "print(Store(sys.argv[1]).data_version())", str(small_channel_db)],
            cwd=ROOT, env=several_processes, capture_output=True, text=True, timeout=60)
        assert other.returncode == 0, other.stderr
        assert int(other.stdout) == store.data_version()


def test_a_write_takes_the_file_in_turn_from_readers_in_this_and_another_process(
        small_channel_db: Path, several_processes, tmp_path: Path):
    reader = subprocess.Popen([sys.executable, "-c", READER, str(small_channel_db)], cwd=ROOT,
                              env=several_processes, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().split()[:2] == ["open", "True"]
        # Another session of this process is in the middle of a page run for a moment.
        page_run = Store(small_channel_db)
        threading.Timer(0.5, page_run.close).start()
        told: list[str] = []
        with Store(small_channel_db, wait=60, on_wait=told.append) as store:
            before = store.data_version()
            result = load_extract(store, quarter_file(tmp_path / "q1.csv", "2026-01", lines=200))
            assert result.status == "loaded"
            assert store.read_only and store.data_version() == before + 1  # read-only again, sees its write
        assert reader.stdout.readline().startswith("let go for a change saved in another process of the app")
        assert reader.stdout.readline().split() == ["reads", str(before + 1)]
        assert reader.wait(timeout=30) == 0, reader.stderr.read()
    finally:
        reader.kill()
    assert any("pages being shown" in text for text in told), told  # the page run was waited for, and said so
    assert writer_waiting(small_channel_db) is None and not small_channel_db.with_name(
        small_channel_db.name + ".writer").exists()


def test_an_upload_on_the_page_of_one_process_is_written_while_another_process_reads(
        small_channel_db: Path, several_processes):
    reader = subprocess.Popen([sys.executable, "-c", READER, str(small_channel_db)], cwd=ROOT,
                              env=several_processes, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        version = int(reader.stdout.readline().split()[2])
        next_quarter = b"partner_id,order_date,revenue\nP1,2026-01-05,100\nP2,2026-02-01,50\n"
        at = upload(open_page(small_channel_db, "views/upload.py"), "q1.csv", next_quarter)
        at.button(key="load_0").click().run()
        assert not at.exception, at.exception
        assert "Loaded as load #5" in at.success[0].value
        assert reader.stdout.readline().startswith("let go for a change saved in another process of the app")
        assert reader.stdout.readline().split() == ["reads", str(version + 1)]
    finally:
        reader.kill()


@contextlib.contextmanager
def serving(db: Path, folder: Path, processes: int = 2):
    """Give the URL of `python -m analytics serve --processes N` on a free port (its output in folder/serve.log)."""
    port = ws_load.free_port()
    log = folder / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "analytics", "--db", str(db), "serve", "--processes", str(processes),
             "--port", str(port), "--address", "127.0.0.1"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        ws_load.wait_healthy(url, server, log)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_serve_runs_pages_through_the_proxy_and_a_command_line_load_is_seen(small_channel_db: Path, tmp_path: Path):
    with serving(small_channel_db, tmp_path) as url:
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            assert b"<html" in response.read().lower()
            assert "channel_backend=" in response.headers["set-cookie"]

        async def browse() -> tuple[ws_load.Visit, ws_load.Visit, subprocess.CompletedProcess]:
            session = ws_load.Session(url, 0, timeout=60)
            first = await session.open()
            assert first.error is None and len(session.pages) >= 5, first
            tiers = next(p for p in session.pages if p.name == "Tiers")
            before = await session.visit(tiers)
            started = time.monotonic()
            load = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "analytics", "--db", str(small_channel_db), "--wait", "60", "ingest",
                 str(quarter_file(tmp_path / "q1.csv", "2026-01", lines=200)), "--no-scores"],
                cwd=ROOT, capture_output=True, text=True, timeout=120)
            assert time.monotonic() - started < 60
            after = await session.visit(tiers)
            await session.close()
            return before, after, load

        before, after, load = asyncio.run(browse())
        assert before.error is None and before.quarter == "2025Q4", before
        assert load.returncode == 0, load.stdout + load.stderr
        assert after.error is None and after.quarter == "2026Q1", after
    assert "2 app processes" in (tmp_path / "serve.log").read_text()


@pytest.mark.browser
def test_an_upload_in_the_browser_through_serve_is_loaded_and_shown(small_channel_db: Path, tmp_path: Path):
    require_chromium()
    extract = quarter_file(tmp_path / "q1.csv", "2026-01", lines=200)
    with serving(small_channel_db, tmp_path) as url, browser_page() as page:
        page.goto(f"{url}/upload")
        wait_for_app(page)
        page.locator('input[type="file"]').set_input_files(str(extract))  # an HTTP PUT through the proxy
        page.get_by_text("Preview: the first rows as they were understood").wait_for(timeout=60000)
        page.get_by_role("button", name="Load q1.csv").click()
        page.get_by_text("Loaded as load #5").wait_for(timeout=120000)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.goto(f"{url}/")
        wait_for_app(page)
        page.get_by_text("Revenue in 2026Q1").first.wait_for(timeout=60000)
        assert page.locator('[data-testid="stException"]').count() == 0
