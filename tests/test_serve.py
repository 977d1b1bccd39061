"""Several app processes on one database file: read-only stores, writes in turn, and `python -m analytics serve`
(the app processes behind nginx)."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from analytics import cli
from analytics import serve as serve_module
from analytics.ingest.load import load_extract
from analytics.serve import BACKEND_COOKIE, nginx_config, upload_limit_mb
from analytics.store.store import Store
from analytics.store.turns import writer_waiting
from tests.apptest_helpers import open_page, upload
from tests.browser import browser_page, require_chromium, require_nginx, wait_for_app
from tests.builders import quarter_file

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
        at = upload(open_page(small_channel_db, "views/pages/upload.py"), "q1.csv", next_quarter)
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
        # serve keeps nginx's run folder (its logs) after it stops; a test's is of no use afterwards.
        run_dir = re.search(r"configuration and logs: (/\S+)\.$", log.read_text(errors="replace"), re.M)
        if run_dir:
            shutil.rmtree(run_dir[1], ignore_errors=True)


def test_serve_runs_pages_through_the_proxy_and_a_command_line_load_is_seen(small_channel_db: Path, tmp_path: Path):
    require_nginx()
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
    require_nginx()
    extract = quarter_file(tmp_path / "q1.csv", "2026-01", lines=200)
    with serving(small_channel_db, tmp_path) as url, browser_page() as page:
        page.goto(f"{url}/upload")
        wait_for_app(page)
        extract_input = page.get_by_role("region", name="Sales extracts").locator('input[type="file"]')
        extract_input.set_input_files(str(extract))  # an HTTP PUT through the proxy
        page.get_by_text("Preview: the first rows as they were understood").wait_for(timeout=60000)
        page.get_by_role("button", name="Load q1.csv").click()
        page.get_by_text("Loaded as load #5").wait_for(timeout=120000)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.goto(f"{url}/")
        wait_for_app(page)
        page.get_by_text("Revenue in 2026Q1").first.wait_for(timeout=60000)
        assert page.locator('[data-testid="stException"]').count() == 0


def test_the_nginx_configuration_is_valid_and_keeps_the_apps_upload_limit_and_websockets(tmp_path: Path):
    program = require_nginx()
    assert upload_limit_mb() == 400  # .streamlit/config.toml's server.maxUploadSize
    # Its own temporary run folder: as root nginx runs as nobody, who cannot enter pytest's folders.
    nginx = serve_module.nginx_process(program, [8701, 8702], "127.0.0.1", ws_load.free_port())
    text = (nginx.run_dir / "nginx.conf").read_text()
    assert "client_max_body_size 401m;" in text  # the app's 400 MB and the multipart framing
    assert "hash $channel_backend consistent;" in text and f"$cookie_{BACKEND_COOKIE}" in text
    assert "server 127.0.0.1:8701 max_fails=1" in text and "server 127.0.0.1:8702 max_fails=1" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text and "daemon off;" in text
    checked = subprocess.run([*nginx.command, "-t"], capture_output=True, text=True, timeout=30, user=nginx.user)
    shutil.rmtree(nginx.run_dir)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


@pytest.mark.parametrize(("address", "listen"), [
    ("127.0.0.1", "listen 127.0.0.1:8501;"), ("0.0.0.0", "listen 8501;"), ("::1", "listen [::1]:8501;"),
    ("localhost", "listen 127.0.0.1:8501;"),
], ids=["loopback", "all", "ipv6-loopback", "localhost"])
def test_nginx_listens_where_serve_was_told(address: str, listen: str, tmp_path: Path):
    assert f"        {listen}\n" in nginx_config([8701], address, 8501, tmp_path, 400)


def test_serve_without_nginx_says_how_to_install_it_before_anything_starts(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(serve_module, "find_nginx", lambda: None)
    db = tmp_path / "never.duckdb"
    assert cli.main(["--db", str(db), "serve", "--processes", "1", "--address", "127.0.0.1",
                     "--port", str(ws_load.free_port())]) == 1
    assert "serve needs nginx, which is not installed: on Debian or Ubuntu `apt-get install nginx`" in \
        capsys.readouterr().err
    assert not db.exists()


def test_serve_on_a_port_in_use_names_it_before_anything_starts(tmp_path: Path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = tmp_path / "never.duckdb"
        assert cli.main(["--db", str(db), "serve", "--processes", "1", "--port", str(port),
                         "--address", "127.0.0.1"]) == 1
    assert f"Port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
    assert not db.exists()


def _raw_get(url: str, target: str, cookie: str | None = None) -> bytes:
    """Send one GET with exactly this request target (no client library would send some of them); give the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        extra = f"Cookie: {cookie}\r\n" if cookie else ""
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}Connection: close\r\n\r\n".encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


class _OtherService(http.server.BaseHTTPRequestHandler):
    """Another service on this machine that the app's address must never reach."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"the other service")

    def log_message(self, *args):
        pass


def _stream_upstreams(access_log: Path) -> list[str]:
    """Give the app process port of every websocket nginx's access log records, in order."""
    return re.findall(r'"GET /_stcore/stream HTTP/1\.1" 101 .* upstream=127\.0\.0\.1:(\d+) ', access_log.read_text())


def _open_sessions(url: str, count: int) -> list[str | None]:
    """Open `count` sessions one after another (each runs the first page), close them; give each one's error."""

    async def run() -> list[str | None]:
        errors = []
        for number in range(count):
            session = ws_load.Session(url, number, timeout=90)
            visit = await session.open()
            errors.append(visit.error)
            await session.close()
        return errors

    return asyncio.run(run())


def test_serve_behind_nginx_keeps_browsers_on_one_process_and_replaces_a_killed_one(
        small_channel_db: Path, tmp_path: Path):
    require_nginx()
    other = http.server.HTTPServer(("127.0.0.1", 0), _OtherService)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        with serving(small_channel_db, tmp_path) as url:
            log = tmp_path / "serve.log"
            deadline = time.monotonic() + 30  # nginx may answer a moment before serve has said where
            while "configuration and logs:" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            started = re.search(r"2 app processes \(pid (\d+) on 127\.0\.0\.1:(\d+), pid (\d+) on 127\.0\.0\.1:(\d+)\)",
                                log.read_text())
            assert started, log.read_text()
            pids, ports = [int(started[1]), int(started[3])], [started[2], started[4]]
            access_log = Path(re.search(r"configuration and logs: (\S+)\.$", log.read_text(), re.M)[1]) / "logs" / \
                "access.log"

            # A browser's first answer names its process in a cookie; with it, every request goes to that process.
            first = _raw_get(url, "/")
            assert b"x-frame-options: sameorigin" in first.lower()
            cookie = re.search(rf"Set-Cookie: ({BACKEND_COOKIE}=[0-9a-f]+);".encode(), first)[1].decode()
            health = r'"GET /_stcore/health HTTP/1\.1" 200 .* upstream=127\.0\.0\.1:(\d+) '
            before = len(re.findall(health, access_log.read_text()))  # serve's own start-up checks among them
            for _ in range(6):
                assert _raw_get(url, "/_stcore/health", cookie).startswith(b"HTTP/1.1 200")
            kept = re.findall(health, access_log.read_text())[before:]
            assert len(kept) == 6 and len(set(kept)) == 1, kept

            # Request targets that once made the proxy fetch from any host, or fail with a traceback.
            other_port = other.server_address[1]
            assert _raw_get(url, f"@127.0.0.1:{other_port}/").startswith(b"HTTP/1.1 400")
            absolute = _raw_get(url, f"http://127.0.0.1:{other_port}/_stcore/health")
            assert absolute.startswith(b"HTTP/1.1 200") and b"the other service" not in absolute

            # Browsers without a cookie are spread: open sessions until both processes have some.
            for _ in range(20):
                assert _open_sessions(url, 1) == [None]
                if set(_stream_upstreams(access_log)) == set(ports):
                    break
            assert set(_stream_upstreams(access_log)) == set(ports)

            os.kill(pids[0], signal.SIGKILL)
            seen = len(_stream_upstreams(access_log))
            assert _open_sessions(url, 6) == [None] * 6  # at once, while the killed process is not back
            assert set(_stream_upstreams(access_log)[seen:]) == {ports[1]}

            deadline = time.monotonic() + 120
            while "answers again" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.5)
            text = log.read_text()
            # (after a pause of a few seconds, since it died soon after its start)
            assert re.search(rf"The app process 1 \(pid {pids[0]}\) on port {ports[0]} ended with exit code -9; "
                             r"starting it again( in \d+ s)?\.", text), text
            restarted = re.search(rf"The app process 1 \(pid (\d+)\) on port {ports[0]} answers again\.", text)
            assert restarted and int(restarted[1]) != pids[0], text
            with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/_stcore/health", timeout=10) as response:
                assert response.status == 200
            assert _open_sessions(url, 2) == [None, None]
    finally:
        other.shutdown()
