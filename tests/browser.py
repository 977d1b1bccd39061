"""Helpers for browser tests: a real app server on localhost and Debian's headless Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
# Without the background-networking flags Chromium keeps dialling hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip (or, in CI, fail) when Debian's Chromium or Playwright is not there."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed"
    if missing:
        if os.environ.get("CHANNEL_REQUIRE_BROWSER"):
            pytest.fail(f"browser tests must run here: {missing}")
        pytest.skip(missing)


def require_nginx() -> str:
    """Give the nginx program; skip (or, in CI, fail) when it is not installed."""
    from analytics.serve import find_nginx

    program = find_nginx()
    if program is None:
        missing = "nginx is not installed (apt-get install -y nginx)"
        if os.environ.get("CHANNEL_REQUIRE_NGINX"):
            pytest.fail(f"the nginx tests must run here: {missing}")
        pytest.skip(missing)
    return program


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(db: Path, log_path: Path, timeout: float = 60) -> Iterator[tuple[str, subprocess.Popen]]:
    """Give the URL and process of the real app served by `streamlit run` on a free localhost port.

    The server's output goes to log_path, not to a pipe: nobody reads a pipe while the app runs, and
    a long run (the load test) would fill it and stall the server. The log's tail is the error when
    the app does not start.
    """
    port = _free_port()
    env = {**os.environ, "CHANNEL_DB": str(db)}
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.3)
        yield url, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


# Databases that tests only read (conftest.py's demo_db): app_server serves each from one server for the session.
_READ_ONLY: set[Path] = set()
# The session's shared servers, by database and by the environment a server reads (sign-in, roles, rules).
_SHARED: dict[tuple, tuple[str, contextlib.ExitStack]] = {}


def serve_once(db: Path) -> None:
    """Mark `db` as read by tests and never written: app_server(db) gives one server's URL for the whole session.

    A test that writes into its database (a draft, an upload, a decision) passes its own copy, which gets its own
    server as before. The shared server serves a copy of `db` of its own: a running app holds its file open for
    writing, which would lock `db` out of the AppTests that read it in this process.
    """
    _READ_ONLY.add(Path(db).resolve())


def _server_environment() -> tuple:
    # What the app reads from the environment at start: a test that changes it gets a server of its own.
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(("CHANNEL_", "STREAMLIT_"))))


def stop_shared_servers() -> None:
    """Stop the servers app_server shared between tests (conftest.py calls this at the session's end)."""
    while _SHARED:
        _key, (_url, stack) = _SHARED.popitem()
        stack.close()


@contextlib.contextmanager
def app_server(db: Path, timeout: float = 60) -> Iterator[str]:
    """Give the URL of the real app served on a free localhost port (its log in a folder of its own).

    For a database marked with serve_once the server is started on first use and kept for later tests.
    """
    if Path(db).resolve() not in _READ_ONLY:
        with tempfile.TemporaryDirectory() as logs, serve_app(db, Path(logs) / "server.log", timeout) as (url, _):
            yield url
        return
    key = (Path(db).resolve(), _server_environment())
    if key not in _SHARED:
        stack = contextlib.ExitStack()
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        served = shutil.copyfile(db, folder / Path(db).name)
        url, _server = stack.enter_context(serve_app(served, folder / "server.log", timeout))
        _SHARED[key] = (url, stack)
    yield _SHARED[key][0]


# A browser that the tests of one module share (shared_chromium); None: browser_page launches one of its own.
_shared_browser = None


@contextlib.contextmanager
def shared_chromium() -> Iterator[None]:
    """Keep one headless Chromium running while inside: browser_page gives each test a fresh context of it.

    Module-scoped, not session-scoped: while Playwright's synchronous API is open, asyncio.run() in the main
    thread fails ("cannot be called from a running event loop"), which other test modules need.
    """
    global _shared_browser
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        _shared_browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield
        finally:
            _shared_browser.close()
            _shared_browser = None


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000, color_scheme: str = "light"):
    """Give a Playwright page in headless Debian Chromium, its system set to a light (or dark) colour scheme.

    Each page has a context of its own (cookies, storage), in the module's shared browser when one is running.
    """
    if _shared_browser is not None:
        context = _shared_browser.new_context(viewport={"width": width, "height": height}, color_scheme=color_scheme)
        try:
            yield context.new_page()
        finally:
            context.close()
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=color_scheme)
            yield page
        finally:
            browser.close()


def wait_for_app(page, timeout_ms: int = 60000) -> None:
    """Wait until Streamlit has finished running the page script."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    # Streamlit 1.67 shows no "Running" status widget during a run; the app element's script state
    # says it (initial, running, notRunning).
    page.wait_for_function(
        """() => { const a = document.querySelector('[data-testid="stApp"]');
                   return !!a && a.getAttribute('data-test-script-state') === 'notRunning'; }""",
        timeout=timeout_ms,
    )


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under tests/artifacts/ and give its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def edit_in_review_table(page) -> None:
    """Turn on editing in the review's table (the page opens it for browsing)."""
    page.get_by_text("Edit in the table").click()
    wait_for_app(page)
    page.wait_for_timeout(1000)


def edit_review_cell(page, grid_box: dict, row: int, column: int, text: str) -> None:
    """Type `text` into a cell of the review table (0-based body row and column), as a person does with the keys."""
    # The second column (the name): a click on the first, the partner link, may open the link instead.
    # The header and the rows are 35 px high: one line a row, the reasons in full below the table.
    page.mouse.click(grid_box["x"] + 200, grid_box["y"] + 35 + 35 * row + 35 // 2)
    page.wait_for_timeout(500)  # keys pressed before the grid has taken the focus go nowhere
    for _ in range(column - 1):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_timeout(800)
    page.keyboard.type(text)
    page.wait_for_timeout(500)  # the choices narrow to the text typed; Enter before that picks another
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    page.keyboard.press("Escape")
    page.wait_for_timeout(1500)
    wait_for_app(page)
