"""Helpers for AppTests of the real app: open it on a database file at a page, find a metric.

The autouse fixtures in conftest.py clear Streamlit's caches around every test and put
$CHANNEL_DB back afterwards, so a test file needs nothing more than these imports.
"""

from __future__ import annotations

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Metric

__all__ = ["APP", "AUTH", "open_page", "run_as", "run_verified", "metric", "url_values", "first_option_id",
           "trace_values", "upload"]

# Since Streamlit 1.61 a relative AppTest.from_file path resolves against the test file.
APP = Path(__file__).parents[1] / "app.py"


def open_page(db_path: Path, page: str | None = None, **query_params: str | list[str]) -> AppTest:
    """Give the app run on the database `db_path`, switched to `page` (e.g. "views/tiers.py"; None: the first).

    `query_params` are the URL's (partner_id="P2", tier="Gold"). Asserts that no page raised.
    """
    os.environ["CHANNEL_DB"] = str(db_path)  # conftest.py's channel_db_restored puts it back
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


# Sign-in configured for an AppTest: Streamlit needs [auth] in the secrets before st.user says who is signed in.
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-secret",
        "client_id": "id", "client_secret": "secret",
        "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration"}


def run_as(db, email: str | None, page: str | None = None, **claims) -> AppTest:
    """Give the app run with sign-in configured and `email` signed in with these ID-token claims (None: nobody)."""
    os.environ["CHANNEL_DB"] = str(db)  # conftest.py's channel_db_restored puts it back
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": email, **claims} if email else {"is_logged_in": False}
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def run_verified(db: Path, email: str, page: str, **query: str) -> AppTest:
    """Give the app run at `page` with `email` signed in and verified, and these URL parameters."""
    os.environ["CHANNEL_DB"] = str(db)
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def url_values(at: AppTest, key: str) -> list[str]:
    """Give a URL parameter's values as a list (AppTest gives a lone value as a string)."""
    value = at.query_params[key]
    return value if isinstance(value, list) else [value]


def metric(at: AppTest, label_start: str) -> Metric:
    """Give the first metric whose label starts with `label_start`; fail listing the labels when none does."""
    found = [m for m in at.metric if m.label.startswith(label_start)]
    assert found, [m.label for m in at.metric]
    return found[0]


def first_option_id(partner_picker) -> str:
    """Give the partner id of a partner picker's first option ("Name (P000123)": options are shown as labels)."""
    return partner_picker.options[0].rsplit("(", 1)[1].rstrip(")")


def trace_values(y) -> list:
    """Give a plotly trace's values, decoding plotly's base64 typed arrays."""
    if isinstance(y, dict) and "bdata" in y:
        import base64

        import numpy as np
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).tolist()
    return list(y)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    """Give the app after uploading `data` as the CSV file `name` on the Upload page; asserts that nothing raised."""
    at.file_uploader(key="uploads").upload(name, data, "text/csv").run()
    assert not at.exception, at.exception
    return at
