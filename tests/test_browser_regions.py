"""A regional reviewer in a real browser: signed in through a stand-in OpenID provider that completes the sign-in,
they see only their region in the sidebar, the Annual review and the Partner page.

The provider signs a real ID token (RS256, its key in its JWKS), so the app's own sign-in route (Authlib) checks it
as it would a real provider's: nothing in the app knows this is a test. The channel is the small demo with its
scores; the roles file scopes apac.manager@example.com to APAC.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.store.store import Store
from tests import browser
from tests.browser import browser_page, require_chromium, wait_for_app
from tests.openid_provider import stand_in_provider

CLIENT_ID = "channel-health-regions-test"
COOKIE_SECRET = "a-cookie-secret-for-the-regional-browser-test"
SCOPED = "apac.manager@example.com"
SHOTS = Path("/work/shots/regions")


def signing_provider(email: str):
    """Give the stand-in provider that signs `email` in to this test's app."""
    return stand_in_provider(signs_in=email, client_id=CLIENT_ID)


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
