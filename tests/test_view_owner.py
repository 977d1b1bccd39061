"""Saved views belong to a stable id from the sign-in provider, never to the free-text name claim."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from analytics.saved_views import list_views, owner_from_claims
from analytics.store.store import Store
from tests.apptest_helpers import APP, AUTH

ISSUER = "https://idp.example.com"


@pytest.mark.parametrize(("claims", "owner"), [
    ({"email": "ann@example.com", "name": "Ann", "sub": "1"}, "ann@example.com"),
    ({"email": "ann@example.com", "email_verified": "true", "sub": "1"}, "ann@example.com"),
    ({"email": "ann@example.com", "email_verified": False, "sub": "1", "iss": ISSUER}, f"sub:{ISSUER}|1"),
    ({"name": "Ann Lee", "sub": "1", "iss": ISSUER}, f"sub:{ISSUER}|1"),
    ({"name": "Ann Lee"}, None),
    ({"email": "  ", "name": "Ann Lee", "sub": " "}, None),
], ids=["email", "verified-as-text", "unverified-email-uses-subject", "no-email-uses-subject", "name-only",
        "blank-claims"])
def test_the_owner_is_the_email_or_the_issuer_and_subject_never_the_name(claims, owner):
    assert owner_from_claims(claims) == owner


@pytest.fixture
def channel_db(periods_db):
    return periods_db


def signed_in(db, page: str, **claims) -> AppTest:
    """Give the app run with sign-in configured and a person signed in with these claims (no e-mail unless given)."""
    os.environ["CHANNEL_DB"] = str(db)
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, **claims}
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_two_people_with_the_same_name_and_no_email_keep_their_views_apart(channel_db):  # noqa: F811
    ann = signed_in(channel_db, "views/pages/tiers.py", name="Ann Lee", sub="ann-1", iss=ISSUER)
    ann.text_input(key="view_name").input("Ann's view")
    ann.button(key="view_save").click().run()
    assert not ann.error, [e.value for e in ann.error]
    other = signed_in(channel_db, "views/pages/tiers.py", name="Ann Lee", sub="mallory-2", iss=ISSUER)
    assert "Ann's view" not in (other.selectbox(key="view_pick").options if _has(other, "view_pick") else [])
    with Store(channel_db) as store:
        assert list_views(store, f"sub:{ISSUER}|ann-1")["name"].tolist() == ["Ann's view"]
        assert list_views(store, "Ann Lee").empty
        assert list_views(store, f"sub:{ISSUER}|mallory-2").empty


def test_a_person_the_token_does_not_identify_is_told_and_saves_nothing(channel_db):  # noqa: F811
    at = signed_in(channel_db, "views/pages/tiers.py", name="Ann Lee")
    assert any("need an e-mail address or a subject id" in c.value for c in at.sidebar.caption)
    assert not [t for t in at.text_input if t.key == "view_name"]


def _has(at: AppTest, key: str) -> bool:
    return any(s.key == key for s in at.selectbox)
