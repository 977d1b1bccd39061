"""Sign-in through the real app server: /auth/login sends the browser on to the OpenID provider.

Why this exists: with `[auth]` configured, "Sign in" answered Internal Server Error because Authlib's
Starlette client imports httpx, which requirements.txt did not install (issue 14, item 1). The AppTest
tests in test_access.py fake the signed-in user and never reach Streamlit's OpenID route, so they
could not see it. This test starts `streamlit run app.py` with a secrets file pointing at a stand-in
provider on localhost and asks the route itself; without httpx (or Authlib) the route answers 500
and the test fails.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from tests.browser import app_server

CLIENT_ID = "channel-health-test-client"
# At least 32 bytes, so Streamlit does not warn that the cookie secret is weak.
COOKIE_SECRET = "a-cookie-secret-for-the-sign-in-route-test-only"


class _Provider(BaseHTTPRequestHandler):
    """A stand-in OpenID provider: only the discovery document and an empty key set."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        base = f"http://127.0.0.1:{self.server.server_port}"
        documents = {
            "/.well-known/openid-configuration": {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            },
            "/jwks": {"keys": []},
        }
        document = documents.get(self.path)
        body = json.dumps(document).encode()
        self.send_response(200 if document else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


@contextlib.contextmanager
def stand_in_provider() -> Iterator[str]:
    """Give the base URL of a stand-in OpenID provider served from a thread on a free localhost port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def provider_token(provider: str = "default") -> str:
    """Give the signed provider token that st.login puts into the /auth/login link, signed with COOKIE_SECRET."""
    from streamlit import auth_util

    # Streamlit's own encoder, so the token has exactly the form the sign-in button sends; only the
    # secret lookup is pointed at this test's secret (the server checks it against its secrets file).
    with mock.patch.object(auth_util, "get_signing_secret", return_value=COOKIE_SECRET):
        return auth_util.encode_provider_token(provider)


def get(url: str) -> http.client.HTTPResponse:
    """Give the response to a GET without following redirects."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_sign_in_redirects_to_the_providers_authorization_endpoint(tmp_path, monkeypatch):
    with stand_in_provider() as provider:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:8501/oauth2callback"\n'
            f'cookie_secret = "{COOKIE_SECRET}"\n'
            f'client_id = "{CLIENT_ID}"\n'
            'client_secret = "the-client-secret"\n'
            f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
        )
        # Streamlit reads secrets.files from the environment: the app under test uses only this file.
        monkeypatch.setenv("STREAMLIT_SECRETS_FILES", str(secrets))
        with app_server(tmp_path / "channel.duckdb") as app:
            response = get(f"{app}/auth/login?provider={urllib.parse.quote(provider_token())}")

    assert response.status in (302, 303, 307), f"/auth/login answered {response.status} {response.reason}"
    location = urllib.parse.urlsplit(response.getheader("Location"))
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider}/authorize"
    query = urllib.parse.parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8501/oauth2callback"]
    assert "openid" in query["scope"][0].split() and "email" in query["scope"][0].split()
    assert query["state"][0], "a state to tie the callback to this sign-in"
