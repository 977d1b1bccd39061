"""Without sign-in the app answers on this machine only, and its responses through serve forbid framing."""

from __future__ import annotations

import http.server
import shutil
import socket
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from analytics import cli, serve
from analytics.paths import PROJECT_ROOT
from analytics.serve import FRAME_HEADERS, listen_address, sign_in_configured
from analytics.store.store import Store
from tests.apptest_helpers import open_page
from tests.browser import require_nginx


@pytest.mark.parametrize(("requested", "signed_in", "expected"), [
    (None, False, "127.0.0.1"),
    (None, True, "0.0.0.0"),
    ("127.0.0.1", False, "127.0.0.1"),
    ("0.0.0.0", True, "0.0.0.0"),
], ids=["default-local", "default-open-with-sign-in", "loopback-asked", "open-asked-with-sign-in"])
def test_the_listen_address_is_local_until_sign_in_is_set(requested, signed_in, expected):
    assert listen_address(requested, signed_in) == expected


def test_an_open_address_without_sign_in_is_refused_saying_how_to_open_it():
    with pytest.raises(ValueError, match=r"--address 0\.0\.0\.0 would let anyone on the network in as admin: "
                                         r"no sign-in is configured"):
        listen_address("0.0.0.0", signed_in=False)


def test_sign_in_counts_as_configured_only_with_an_auth_table(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the user's own secrets file must not decide this test
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    assert not sign_in_configured(tmp_path)
    secrets.parent.mkdir()
    secrets.write_text('[connections]\nx = "y"\n')
    assert not sign_in_configured(tmp_path)
    secrets.write_text("[auth\nbroken")
    assert not sign_in_configured(tmp_path)
    secrets.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n')
    assert sign_in_configured(tmp_path)


def test_the_projects_config_listens_on_127_0_0_1():
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


def test_serve_on_all_interfaces_without_sign_in_is_refused_before_anything_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(serve, "sign_in_configured", lambda: False)
    db = tmp_path / "never.duckdb"
    assert cli.main(["--db", str(db), "serve", "--address", "0.0.0.0", "--processes", "1"]) == 1
    assert "no sign-in is configured" in capsys.readouterr().err
    assert not db.exists()


class _FramingApp(http.server.BaseHTTPRequestHandler):
    """An app process that would let any site frame it."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("X-Frame-Options", "ALLOWALL")
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"page")

    def log_message(self, *args):
        pass


def test_nginx_in_front_forbids_framing_by_other_sites_whatever_the_app_sends():
    program = require_nginx()
    backend = http.server.HTTPServer(("127.0.0.1", 0), _FramingApp)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nginx = serve.nginx_process(program, [backend.server_address[1]], "127.0.0.1", port)
    nginx.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    body, headers = response.read(), response.headers
                break
            except OSError:
                assert time.monotonic() < deadline and nginx.process.poll() is None, "nginx did not answer"
                time.sleep(0.2)
    finally:
        nginx.stop()
        nginx.wait_stopped()
        backend.shutdown()
        shutil.rmtree(nginx.run_dir)
    assert body == b"page"
    assert headers.get_all("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers.get_all("Content-Security-Policy") == ["frame-ancestors 'self'"]
    assert dict(FRAME_HEADERS)["X-Frame-Options"] == "SAMEORIGIN"


def test_the_sidebar_says_the_app_is_local_and_how_to_open_it_once_sign_in_is_set(tmp_path: Path):
    db = tmp_path / "empty.duckdb"
    Store(db).close()
    at = open_page(db)
    assert not at.exception
    [note] = [c.value for c in at.sidebar.caption if "Local single-user mode" in c.value]
    assert "answers on this machine only (127.0.0.1)" in note
    assert "--server.address 0.0.0.0" in note
