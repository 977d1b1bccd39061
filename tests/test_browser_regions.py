"""A regional reviewer in a real browser: signed in through a stand-in OpenID provider that completes the sign-in,
they see only their region in the sidebar, the Annual review and the Partner page.

The provider signs a real ID token (RS256, its key in its JWKS), so the app's own sign-in route (Authlib) checks it
as it would a real provider's: nothing in the app knows this is a test. The channel is the small demo with its
scores; the roles file scopes apac.manager@example.com to APAC.
"""

from __future__ import annotations

import contextlib
import json
import secrets as secret_tokens
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from analytics.store.store import Store
from tests import browser
from tests.browser import browser_page, require_chromium, wait_for_app

CLIENT_ID = "channel-health-regions-test"
COOKIE_SECRET = "a-cookie-secret-for-the-regional-browser-test"
SCOPED = "apac.manager@example.com"
SHOTS = Path("/work/shots/regions")


class _SigningProvider(BaseHTTPRequestHandler):
    """A stand-in OpenID provider that signs in whoever the test names, at once (no login form)."""

    def _send(self, status: int, body: bytes = b"", kind: str = "application/json", location: str | None = None):
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        server = self.server
        path, _, query = self.path.partition("?")
        if path == "/.well-known/openid-configuration":
            base = server.base
            self._send(200, json.dumps({
                "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks", "response_types_supported": ["code"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }).encode())
        elif path == "/jwks":
            self._send(200, json.dumps({"keys": [server.key.as_dict(is_private=False, kid="test", alg="RS256",
                                                                    use="sig")]}).encode())
        elif path == "/authorize":
            asked = urllib.parse.parse_qs(query)
            code = secret_tokens.token_urlsafe(16)
            server.codes[code] = asked.get("nonce", [None])[0]
            back = f"{asked['redirect_uri'][0]}?{urllib.parse.urlencode({'code': code, 'state': asked['state'][0]})}"
            self._send(302, location=back)
        else:
            self._send(404)

    def do_POST(self) -> None:  # noqa: N802
        from authlib.jose import jwt

        server = self.server
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        code = form.get("code", [""])[0]
        if self.path != "/token" or code not in server.codes:
            self._send(400, b'{"error": "invalid_grant"}')
            return
        now = int(time.time())
        claims = {"iss": server.base, "aud": CLIENT_ID, "sub": "regional-1", "email": server.email,
                  "email_verified": True, "iat": now, "exp": now + 3600}
        nonce = server.codes.pop(code)  # the app's nonce from its authorize request, echoed in the ID token
        if nonce:
            claims["nonce"] = nonce
        id_token = jwt.encode({"alg": "RS256", "kid": "test"}, claims, server.key).decode()
        self._send(200, json.dumps({"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
                                    "id_token": id_token, "scope": "openid email profile"}).encode())

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def signing_provider(email: str) -> Iterator[ThreadingHTTPServer]:
    from authlib.jose import JsonWebKey

    server = ThreadingHTTPServer(("127.0.0.1", 0), _SigningProvider)
    server.base = f"http://127.0.0.1:{server.server_port}"
    server.key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    server.codes, server.email = {}, email
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_a_regional_reviewer_signs_in_and_sees_only_their_region(review_db, tmp_path, monkeypatch):
    require_chromium()
    port = browser._free_port()
    monkeypatch.setattr(browser, "_free_port", lambda: port)  # the redirect URI must name the app's port
    roles = tmp_path / "roles.toml"
    roles.write_text(f'[people]\n"{SCOPED}" = {{ role = "reviewer", regions = ["APAC"] }}\n')
    monkeypatch.setenv("CHANNEL_ROLES", str(roles))
    with Store(review_db) as store:
        others = store.query_df("SELECT DISTINCT partner_id FROM partner_quarter WHERE region <> 'APAC' "
                                "EXCEPT SELECT partner_id FROM partner_quarter WHERE region = 'APAC' ORDER BY 1")
    outsider = others["partner_id"].iloc[0]
    with signing_provider(SCOPED) as provider:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(
            f'[auth]\nredirect_uri = "http://127.0.0.1:{port}/oauth2callback"\ncookie_secret = "{COOKIE_SECRET}"\n'
            f'client_id = "{CLIENT_ID}"\nclient_secret = "s"\n'
            f'server_metadata_url = "{provider.base}/.well-known/openid-configuration"\n')
        monkeypatch.setenv("STREAMLIT_SECRETS_FILES", str(secrets))
        with browser.app_server(review_db, timeout=90) as app, browser_page(width=1400, height=1000) as page:
            page.goto(app)
            wait_for_app(page)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{app}/**", timeout=30000)
            wait_for_app(page, 90000)
            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_text("regions: APAC only").wait_for(timeout=30000)
            assert "Signed in as apac.manager" in sidebar.inner_text()  # the address is shown literally

            page.goto(f"{app}/review")
            wait_for_app(page, 120000)
            page.get_by_text("Your review: APAC only").wait_for(timeout=60000)
            assert page.get_by_role("tab", name="Regions").count() == 0
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "review_apac_1400.png"), full_page=False)

            page.set_viewport_size({"width": 390, "height": 900})  # a phone: the same review, narrowed to APAC
            page.reload()
            wait_for_app(page, 120000)
            page.get_by_text("Your review: APAC only").wait_for(timeout=60000)
            page.get_by_text("Your review: APAC only").scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "review_apac_390.png"), full_page=False)
            page.set_viewport_size({"width": 1400, "height": 1000})

            page.goto(f"{app}/partner?partner_id={outsider}")
            wait_for_app(page, 60000)
            page.get_by_text(f"Partner {outsider} is not one of yours").wait_for(timeout=30000)
            page.screenshot(path=str(SHOTS / "partner_outside_1400.png"), full_page=False)
