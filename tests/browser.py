"""Helpers for browser tests: a real app server on localhost and Debian's headless Chromium."""

from __future__ import annotations

import contextlib
import os
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


@contextlib.contextmanager
def app_server(db: Path, timeout: float = 60) -> Iterator[str]:
    """Give the URL of the real app served on a free localhost port (its log in a folder of its own)."""
    with tempfile.TemporaryDirectory() as logs, serve_app(db, Path(logs) / "server.log", timeout) as (url, _server):
        yield url


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000, color_scheme: str = "light"):
    """Give a Playwright page in headless Debian Chromium, its system set to a light (or dark) colour scheme."""
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
