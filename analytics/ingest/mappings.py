"""Column mappings a person confirmed for a file layout, remembered for the next file with the same headers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence

from analytics.access import Actor, check
from analytics.store.schema import CANONICAL_COLUMNS, normalise_header
from analytics.store.store import Store

__all__ = ["headers_key", "remembered_mapping", "remember_mapping"]


def headers_key(headers: Sequence[str]) -> str:
    """Give a key for a file layout: its headers in order, compared as the importer compares them."""
    return hashlib.sha256("\x1f".join(normalise_header(h) for h in headers).encode()).hexdigest()


def remembered_mapping(store: Store, headers: Sequence[str]) -> dict[str, str] | None:
    """Give the confirmed mapping (canonical column -> this file's header) for these headers, or None."""
    frame = store.query_df("SELECT mapping FROM column_mappings WHERE headers_key = ?", [headers_key(headers)])
    if frame.empty:
        return None
    mapping = json.loads(frame.iloc[0]["mapping"])
    # The key compares normalised headers: give the mapping in this file's own spelling.
    by_normalised = {normalise_header(h): h for h in headers}
    return {c: by_normalised[normalise_header(h)] for c, h in mapping.items() if normalise_header(h) in by_normalised}


def remember_mapping(
    store: Store, headers: Sequence[str], mapping: dict[str, str], by: str | None = None, actor: Actor | None = None
) -> None:
    """Store a confirmed mapping for this file layout (replacing an earlier one).

    A remembered mapping decides how every later file with these headers is loaded, so it takes the
    role that may load: raises AccessDenied otherwise. Records `by`, else the actor's name.
    """
    check(actor, "load")
    by = by if by is not None else actor.who if actor is not None else None
    unknown = [c for c in mapping if c not in CANONICAL_COLUMNS]
    if unknown:
        raise ValueError(f"Unknown column(s) {unknown}; expected some of {', '.join(CANONICAL_COLUMNS)}")
    missing = [h for h in mapping.values() if h not in headers]
    if missing:
        raise ValueError(f"Mapping names {missing}, which are not headers of this file")
    with store.transaction() as cur:
        cur.execute(
            "INSERT OR REPLACE INTO column_mappings VALUES (?, ?, ?, ?, ?)",
            [headers_key(headers), list(headers), json.dumps(mapping), dt.datetime.now(), by],
        )
