"""Review drafts: a person's decisions in progress, kept in the database until the review is saved or discarded.

The Annual review page keeps the chief's changes (decision, note, revised goals per partner) in the
browser session, which a reload or a dropped connection ends. So each change is also written here,
as one draft per person and review: the person's actor id (`Actor.who`) and the review's year (the
as-of quarter). The year, not the review's name: the page knows the year when it opens, while a name
typed below the tables is back to its default after a reload, so a draft kept under it would not be found.

Who may keep a draft: whoever may record review decisions ("save review": reviewer, admin). A draft
is no change to the channel's data (no figure, score or saved review changes, and nobody else sees
it), but it is a write to the shared database, and a viewer has no decisions to keep: letting every
signed-in person write would let anyone fill the file. So save_draft checks that role as save_review
does; reading and discarding one's own draft need no role.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from analytics.access import Actor, check, local_actor
from analytics.review.actions import ACTIONS
from analytics.store.store import Store

__all__ = ["DRAFT_FIELDS", "ReviewDraft", "draft_owner", "draft_payload", "save_draft", "load_draft",
           "latest_draft_key", "clear_draft", "describe_changes"]

# What a draft keeps per partner: the fields the chief can change (analytics.review.decisions.record_edits).
DRAFT_FIELDS = ("decision", "note", "revenue_goal", "deals_goal", "incentive_plan")


@dataclass(frozen=True)
class ReviewDraft:
    """A person's decisions in progress for one review: the changes by partner, and when they were written."""

    owner: str
    review_key: str
    edits: dict[str, dict] = field(default_factory=dict)
    updated_at: datetime | None = None

    @property
    def changes(self) -> int:
        """Give how many partners the draft changes."""
        return len(self.edits)


def draft_owner(actor: Actor | None) -> str:
    """Give whose drafts these are: the actor's id, or the local operator's when there is no sign-in."""
    return (actor or local_actor()).who


def _plain(value):
    """Give a value a table editor or a form handed over (numpy numbers among them) as plain JSON data."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def draft_payload(edits: Mapping[str, Mapping]) -> str:
    """Give the JSON text a draft stores for `edits`: the changed fields per partner (equal edits, equal text)."""
    kept = {str(pid): {k: _plain(v) for k, v in change.items() if k in DRAFT_FIELDS}
            for pid, change in edits.items()}
    return json.dumps({"edits": kept}, ensure_ascii=False, sort_keys=True)


def save_draft(store: Store, review_key: str, edits: Mapping[str, Mapping], actor: Actor | None = None) -> datetime:
    """Keep `actor`'s decisions in progress for the review `review_key` (replacing the draft before); give when.

    Raises AccessDenied when `actor` may not record review decisions (see the module's note).
    """
    check(actor, "save review")
    now = datetime.now()
    with store.transaction() as cur:
        cur.execute("INSERT OR REPLACE INTO review_drafts (owner, review_key, payload, updated_at) VALUES (?, ?, ?, ?)",
                    [draft_owner(actor), review_key, draft_payload(edits), now])
    return now


def _edits_from(payload: object, where: str) -> dict[str, dict]:
    """Give the edits of a stored payload, or a ValueError naming the draft and what is wrong."""
    if not isinstance(payload, dict) or not isinstance(payload.get("edits"), dict):
        raise ValueError(f"{where} is not a draft of review decisions")
    edits = {}
    for pid, change in payload["edits"].items():
        if not isinstance(change, dict):
            raise ValueError(f"{where}: the changes of partner {pid} are not a set of fields")
        decision = change.get("decision")
        if decision is not None and decision not in ACTIONS:
            raise ValueError(f"{where}: decision {decision!r} of partner {pid} is not one of {', '.join(ACTIONS)}")
        edits[pid] = {k: v for k, v in change.items() if k in DRAFT_FIELDS}
    return edits


def load_draft(store: Store, review_key: str, actor: Actor | None = None) -> ReviewDraft | None:
    """Give `actor`'s draft of the review `review_key`, or None when they keep none.

    Raises ValueError naming the draft when its stored text is not a draft (it can then be discarded).
    """
    owner = draft_owner(actor)
    with contextlib.closing(store.cursor()) as cur:
        row = cur.execute("SELECT payload, updated_at FROM review_drafts WHERE owner = ? AND review_key = ?",
                          [owner, review_key]).fetchone()
    if row is None:
        return None
    where = f"The review draft of {owner} for {review_key}"
    try:
        payload = json.loads(row[0])
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} cannot be read ({exc})") from exc
    return ReviewDraft(owner, review_key, _edits_from(payload, where), row[1])


def latest_draft_key(store: Store, actor: Actor | None = None) -> str | None:
    """Give the review (as-of quarter) of `actor`'s most recently changed draft, or None when they keep none."""
    with contextlib.closing(store.cursor()) as cur:
        row = cur.execute("SELECT review_key FROM review_drafts WHERE owner = ? ORDER BY updated_at DESC LIMIT 1",
                          [draft_owner(actor)]).fetchone()
    return None if row is None else row[0]


def clear_draft(store: Store, review_key: str, actor: Actor | None = None) -> bool:
    """Discard `actor`'s draft of the review `review_key`; tell whether there was one."""
    with store.transaction() as cur:
        found = cur.execute("DELETE FROM review_drafts WHERE owner = ? AND review_key = ? RETURNING owner",
                            [draft_owner(actor), review_key]).fetchall()
    return bool(found)


def _differs(a, b) -> bool:
    """Tell whether two cells differ, a missing goal (None, NaN, pd.NA) being equal to another missing one."""
    if isinstance(a, str) or isinstance(b, str):
        return a != b
    if pd.isna(a) or pd.isna(b):
        return not (pd.isna(a) and pd.isna(b))
    return bool(a != b)


def describe_changes(before: pd.DataFrame, after: pd.DataFrame) -> str:
    """Give what changed from one decisions table to another (analytics.review.decisions.review_decisions), in words.

    "2 decisions changed: P000011 terminate → provisional continuation, P000020 retain → demote (note)";
    a change of note or goals alone is named too; "Nothing changed" when the tables agree.
    """
    old = before.set_index("partner_id")
    parts, decisions = [], 0
    for row in after.itertuples(index=False):
        if row.partner_id not in old.index:
            continue
        was = old.loc[row.partner_id]
        what = []
        if was["decision"] != row.decision:
            decisions += 1
            what.append(f"{was['decision']} → {row.decision}")
        also = [name for name, column in (("note", "note"), ("revenue goal", "revenue_goal"),
                                          ("deals goal", "deals_goal"), ("incentive plan", "incentive_plan"))
                if column in old.columns and _differs(was[column], getattr(row, column, None))]
        if also:
            what.append(f"({', '.join(also)})" if what else f"{', '.join(also)} changed")
        if what:
            parts.append(f"{row.partner_id} {' '.join(what)}")
    if not parts:
        return "Nothing changed: the decision and note were already so."
    head = f"{decisions} decision{'' if decisions == 1 else 's'} changed" if decisions else "No decision changed"
    return f"{head}: {', '.join(parts)}"
