"""Saved views: a person's named views (a page with its quarter, filters and choices), kept in the database.

A view is the page's URL path and its query string ("quarter=2025Q4&tier=Gold"), the same that a
shared link carries, stored under its owner (the signed-in person, or "local" without sign-in) and a
name unique for that owner: saving a name again updates it. Saving a view changes no channel data,
so every role may keep its own (analytics.access checks only changes to the data).

The owner of a signed-in person's views is their e-mail address, or, when the provider sends none
(or one it says is not verified), the token's issuer and subject: stable ids the person cannot choose.
Never the name claim: it is free text, and anyone could take another's name to read their views.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from analytics.store.store import Store

__all__ = ["MAX_NAME", "VIEW_COLUMNS", "save_view", "list_views", "delete_view", "owner_from_claims"]

MAX_NAME = 100
VIEW_COLUMNS = ["name", "page", "query", "created_at", "saved_at"]


def owner_from_claims(claims: Mapping[str, object]) -> str | None:
    """Give the owner of a signed-in person's saved views from their ID-token claims; None if nothing identifies them.

    A verified (or not unverified) e-mail address; else "sub:<issuer>|<subject>"; never the free-text name.
    """
    email = str(claims.get("email") or "").strip()
    verified = claims.get("email_verified")
    unverified = verified is not None and not (
        verified is True or (isinstance(verified, str) and verified.strip().lower() == "true"))
    if email and not unverified:
        return email
    subject = str(claims.get("sub") or "").strip()
    if not subject:
        return None
    return f"sub:{str(claims.get('iss') or '').strip()}|{subject}"


def _checked_name(name: str) -> str:
    """Give the name without surrounding spaces, or a ValueError saying what is wrong with it."""
    name = (name or "").strip()
    if not name:
        raise ValueError("A saved view needs a name, like “Gold partners in EMEA”")
    if len(name) > MAX_NAME:
        raise ValueError(f"A saved view's name may have at most {MAX_NAME} characters, not {len(name)}")
    return name


def save_view(store: Store, owner: str, name: str, page: str, query: str) -> bool:
    """Save `owner`'s view `name` (page URL path and query string); give True when new, False when it updated one."""
    name = _checked_name(name)
    if not owner:
        raise ValueError("A saved view needs an owner")
    now = datetime.now()
    with store.transaction() as cur:
        found = cur.execute("SELECT 1 FROM saved_views WHERE owner = ? AND name = ?", [owner, name]).fetchone()
        if found:
            cur.execute("UPDATE saved_views SET page = ?, query = ?, saved_at = ? WHERE owner = ? AND name = ?",
                        [page, query, now, owner, name])
        else:
            cur.execute("INSERT INTO saved_views VALUES (?, ?, ?, ?, ?, ?)", [owner, name, page, query, now, now])
    return found is None


def list_views(store: Store, owner: str) -> pd.DataFrame:
    """Give `owner`'s saved views [name, page, query, created_at, saved_at], by name."""
    return store.query_df(
        "SELECT name, page, query, created_at, saved_at FROM saved_views WHERE owner = ? ORDER BY name", [owner])


def delete_view(store: Store, owner: str, name: str) -> bool:
    """Delete `owner`'s view `name`; give whether there was one (another owner's view is never touched)."""
    with store.transaction() as cur:
        gone = cur.execute("DELETE FROM saved_views WHERE owner = ? AND name = ? RETURNING name",
                           [owner, (name or "").strip()]).fetchall()
    return bool(gone)
