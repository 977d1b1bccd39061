"""Sign-in through the real app server: /auth/login sends the browser on to the OpenID provider.

Why this exists: with `[auth]` configured, "Sign in" answered Internal Server Error because Authlib's
Starlette client imports httpx, which requirements.txt did not install (issue 14, item 1). The AppTest
tests in test_access.py fake the signed-in user and never reach Streamlit's OpenID route, so they
could not see it. These tests start `streamlit run app.py` with a secrets file pointing at a stand-in
provider on localhost: one asks the route itself over plain HTTP, one clicks "Sign in" in Chromium.
Without httpx (or Authlib) the route answers 500 and both fail.
"""

from __future__ import annotations

import http.client
import urllib.parse
from unittest import mock

import pytest

from tests.browser import app_server, browser_page, require_chromium, wait_for_app
from tests.openid_provider import stand_in_provider

CLIENT_ID = "channel-health-test-client"
# Long enough that Streamlit does not warn about a weak cookie secret.
COOKIE_SECRET = "a-cookie-secret-for-the-sign-in-route-test-only"


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


def use_secrets(folder, provider: str, monkeypatch) -> None:
    """Point the app server about to start at a secrets file whose [auth] names the stand-in provider."""
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:8501/oauth2callback"\n'
        f'cookie_secret = "{COOKIE_SECRET}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        'client_secret = "the-client-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    # Streamlit reads secrets.files from the environment: the app under test uses only this file.
    monkeypatch.setenv("STREAMLIT_SECRETS_FILES", str(secrets))


def test_sign_in_redirects_to_the_providers_authorization_endpoint(tmp_path, monkeypatch):
    with stand_in_provider() as server:
        provider = server.base
        use_secrets(tmp_path, provider, monkeypatch)
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


@pytest.mark.browser
def test_the_sign_in_button_takes_the_browser_to_the_provider(tmp_path, monkeypatch):
    """The whole way a person goes: the button's own link (the token the app issues), through /auth/login."""
    require_chromium()
    with stand_in_provider() as server:
        use_secrets(tmp_path, server.base, monkeypatch)
        with app_server(tmp_path / "channel.duckdb") as app, browser_page() as page:
            page.goto(app)
            wait_for_app(page)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{server.base}/authorize?*", timeout=15000)
            assert page.get_by_role("heading", name="Stand-in provider").is_visible()
    [query] = server.authorize_requests
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://127.0.0.1:8501/oauth2callback"]
