"""Saved reviews: the chief's decisions in the database, their history, and the follow-up of revised goals."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.access import Actor, check, check_scope
from analytics.formatting import money_exact
from analytics.program.rules import ProgramRules
from analytics.review.actions import ACTIONS, BEHIND, GOAL_QUARTERS, MET, MISSED, NOT_YET_KNOWN, ON_TRACK, PROVISIONAL
from analytics.store.quarters import quarter_index, shift_quarter
from analytics.store.store import Store, checkpoint

__all__ = [
    "DECISION_EXPORT_COLUMNS",
    "save_review",
    "list_reviews",
    "load_review",
    "review_saves",
    "partner_decisions",
    "provisional_follow_up",
    "partner_goal_follow_up",
    "previous_review_outcomes",
    "default_review_name",
]


# -- decisions in the database ------------------------------------------------------------------
DECISION_COLUMNS = [
    "partner_id", "partner_name", "tier", "region", "revenue_trailing", "churn_probability",
    "turnaround_probability", "recommendation", "reasons", "decision", "note", "revenue_goal", "deals_goal",
]
# What a download of the decisions holds: who, what the rules and model said, what the chief decided.
DECISION_EXPORT_COLUMNS = [
    "partner_id", "partner_name", "tier", "region", "revenue_trailing", "deals_trailing", "customers_trailing",
    "yoy_change", "churn_probability", "turnaround_probability", "model_version", "qualifies_for", "recommendation",
    "at_risk", "reasons", "development_goals", "decision", "note", "revenue_goal", "deals_goal", "tier_after",
    "incentive_plan",
]
# Kept with each decision when present (older callers may leave them out): the model's version, the flag, and
# what the partner's letter says (its deals and customers, its tier after the review, its incentive plan).
_OPTIONAL_DECISION_COLUMNS = {"model_version": "", "at_risk": False, "deals_trailing": np.nan,
                              "customers_trailing": np.nan, "tier_after": "", "incentive_plan": ""}
# What a decision was made on: rewritten with it when the decision, note or goals change, else left as saved.
_DECIDED_ON = ("partner_name", "tier", "region", "revenue_trailing", "churn_probability", "turnaround_probability",
               "recommendation", "reasons", "model_version", "at_risk", "deals_trailing", "customers_trailing",
               "tier_after", "decided_by", "decided_at")
_CHANGED = """(review_decisions.decision IS DISTINCT FROM excluded.decision
    OR coalesce(review_decisions.note, '') IS DISTINCT FROM excluded.note
    OR review_decisions.revenue_goal IS DISTINCT FROM excluded.revenue_goal
    OR review_decisions.deals_goal IS DISTINCT FROM excluded.deals_goal
    OR coalesce(review_decisions.incentive_plan, '') IS DISTINCT FROM excluded.incentive_plan)"""
_UPSERT = f"""
INSERT INTO review_decisions (review_id, partner_id, partner_name, tier, region, revenue_trailing, churn_probability,
    turnaround_probability, recommendation, reasons, decision, note, revenue_goal, deals_goal, goal_quarters,
    decided_by, decided_at, model_version, at_risk, deals_trailing, customers_trailing, tier_after, incentive_plan)
SELECT ?, partner_id, partner_name, tier, region, revenue_trailing, churn_probability, turnaround_probability,
       recommendation, reasons, decision, note, revenue_goal, deals_goal, goal_quarters, ?, ?, model_version, at_risk,
       deals_trailing, customers_trailing, tier_after, incentive_plan
FROM incoming
ON CONFLICT (review_id, partner_id) DO UPDATE SET
    decision = excluded.decision, note = excluded.note, revenue_goal = excluded.revenue_goal,
    deals_goal = excluded.deals_goal, incentive_plan = excluded.incentive_plan,
    {", ".join(f"{c} = CASE WHEN {_CHANGED} THEN excluded.{c} ELSE review_decisions.{c} END" for c in _DECIDED_ON)}
"""


def save_review(store: Store, name: str, as_of: str, rules: ProgramRules, decisions: pd.DataFrame,
                user: str | None = None, actor: Actor | None = None) -> dict:
    """Save a named review's decisions (one per partner) and give counts of rows added, changed and unchanged.

    Raises AccessDenied when `actor` may not save review decisions; records `user`, else the actor's name.

    Saving the same decisions again changes nothing; a changed decision, note or goal is updated in
    place with who changed it and when, and with the figures, probabilities and model_version it was
    made on. Partners not in `decisions` keep what was saved before. Each save is kept in review_saves
    with the rules it was made under and their file (the name in `rules.source`). `decisions` needs
    DECISION_COLUMNS (model_version and at_risk are kept when present); `decision` must be one of ACTIONS.
    """
    check(actor, "save review")
    # A regional reviewer decides for the partners of their regions only, whatever the page sent.
    check_scope(actor, decisions["region"] if "region" in decisions.columns else [None])
    user = user if user is not None else actor.who if actor is not None else None
    name = name.strip()
    _check_decisions(name, decisions)
    frame = _decision_rows(decisions, as_of)
    now = datetime.now()
    with store.transaction() as cur:
        review_id = _review_id(cur, name, as_of, json.dumps(asdict(rules)), now, user,
                               Path(rules.source).name if rules.source else None)
        cur.register("incoming", frame)
        added, changed = _count_changes(cur, review_id)
        cur.execute(_UPSERT, [review_id, user, now])
        checkpoint("review:written")
        cur.unregister("incoming")
    return {"review": name, "added": added, "changed": changed, "unchanged": len(frame) - added - changed}


def _check_decisions(name: str, decisions: pd.DataFrame) -> None:
    """Raise ValueError naming what is wrong: no review name, a column missing, an unknown action, a partner twice."""
    if not name:
        raise ValueError("A review needs a name, like FY2026")
    missing = [c for c in DECISION_COLUMNS if c not in decisions.columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(missing)} missing from the decisions")
    bad = decisions.loc[~decisions["decision"].isin(ACTIONS), ["partner_id", "decision"]]
    if not bad.empty:
        first = bad.iloc[0]
        raise ValueError(f"Decision {first['decision']!r} for partner {first['partner_id']} is not one of "
                         f"{', '.join(ACTIONS)}")
    if decisions["partner_id"].duplicated().any():
        raise ValueError("A partner appears twice in the decisions")


def _decision_rows(decisions: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """Give the decisions as stored: every column present, notes as text, the goal quarters after `as_of`."""
    frame = decisions[DECISION_COLUMNS].copy()
    for column, default in _OPTIONAL_DECISION_COLUMNS.items():
        frame[column] = decisions[column] if column in decisions.columns else default
    frame["model_version"] = frame["model_version"].fillna("").astype(str)
    frame["at_risk"] = frame["at_risk"].fillna(False).astype(bool)
    for column in ("tier_after", "incentive_plan"):
        frame[column] = frame[column].fillna("").astype(str)
    for column in ("deals_trailing", "customers_trailing"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["note"] = frame["note"].fillna("").astype(str)
    frame["goal_quarters"] = f"{shift_quarter(as_of, 1)}–{shift_quarter(as_of, GOAL_QUARTERS)}"
    frame["deals_goal"] = pd.to_numeric(frame["deals_goal"], errors="coerce").astype("Int64")
    return frame


def _review_id(
    cur: duckdb.DuckDBPyConnection, name: str, as_of: str, rules_json: str, now: datetime, user: str | None,
    rules_file: str | None = None,
) -> int:
    """Give the id of review `name` as of `as_of`, recording this save and its rules; a new review gets the next id."""
    found = cur.execute("SELECT review_id, as_of FROM reviews WHERE name = ?", [name]).fetchall()
    if found:
        review_id, saved_as_of = found[0]
        if saved_as_of != as_of:
            raise ValueError(f"Review {name!r} is as of {saved_as_of}, not {as_of}; choose another name")
        cur.execute("UPDATE reviews SET saved_at = ?, saved_by = ?, rules = ? WHERE review_id = ?",
                    [now, user, rules_json, review_id])
    else:
        review_id = cur.execute("SELECT coalesce(max(review_id), 0) + 1 FROM reviews").fetchall()[0][0]
        cur.execute("INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [review_id, name, as_of, rules_json, now, user, now, user])
    # reviews.rules holds the last save's rules only; the history keeps what each save was made under.
    cur.execute("INSERT INTO review_saves VALUES (?, ?, ?, ?, ?)", [review_id, now, user, rules_json, rules_file])
    return review_id


def _count_changes(cur: duckdb.DuckDBPyConnection, review_id: int) -> tuple[int, int]:
    """Give how many of the registered `incoming` decisions are new to the review, and how many changed."""
    counts = cur.execute(
        """
        SELECT count(*) FILTER (WHERE d.partner_id IS NULL),
               count(*) FILTER (WHERE d.partner_id IS NOT NULL AND (d.decision IS DISTINCT FROM i.decision
                    OR coalesce(d.note, '') IS DISTINCT FROM i.note
                    OR d.revenue_goal IS DISTINCT FROM i.revenue_goal
                    OR d.deals_goal IS DISTINCT FROM i.deals_goal
                    OR coalesce(d.incentive_plan, '') IS DISTINCT FROM i.incentive_plan))
        FROM incoming i LEFT JOIN review_decisions d ON d.review_id = ? AND d.partner_id = i.partner_id
        """,
        [review_id],
    ).fetchall()[0]
    return int(counts[0]), int(counts[1])


def list_reviews(store: Store, scope: tuple[str, ...] = ()) -> pd.DataFrame:
    """Give the saved reviews, newest first, with their decision counts and the rules file of the last save.

    With a `scope` (a person's regions) the counts are of their regions' decisions only.
    """
    return store.query_df(
        """
        SELECT r.name, r.as_of, r.created_at, r.created_by, r.saved_at, r.saved_by, count(d.partner_id) AS partners,
               count(d.partner_id) FILTER (WHERE d.decision <> d.recommendation) AS overridden,
               (SELECT s.rules_file FROM review_saves s WHERE s.review_id = r.review_id
                ORDER BY s.saved_at DESC LIMIT 1) AS rules_file
        FROM reviews r LEFT JOIN review_decisions d ON d.review_id = r.review_id
            AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], d.region))
        GROUP BY ALL ORDER BY r.as_of DESC, r.name
        """,
        [list(scope), list(scope)],
    )


def load_review(store: Store, name: str, scope: tuple[str, ...] = ()) -> pd.DataFrame:
    """Give a saved review's decisions, one row per partner (empty when no review has that name).

    With a `scope` (a person's regions) only the decisions on their regions' partners.
    """
    return store.query_df(
        """
        SELECT d.partner_id, d.partner_name, d.tier, d.region, d.revenue_trailing, d.churn_probability,
               d.turnaround_probability, d.model_version, d.at_risk, d.recommendation, d.reasons, d.decision,
               d.note, d.revenue_goal, d.deals_goal, d.goal_quarters, d.decided_by, d.decided_at,
               d.deals_trailing, d.customers_trailing, d.tier_after, d.incentive_plan
        FROM review_decisions d JOIN reviews r USING (review_id)
        WHERE r.name = ? AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], d.region)) ORDER BY d.partner_id
        """,
        [name, list(scope), list(scope)],
    )


def review_saves(store: Store, name: str) -> pd.DataFrame:
    """Give each save of review `name`, newest first: saved_at, saved_by, rules_file and the rules (JSON) it was under.

    rules_file is empty for a save made before the saves were kept (its rules are the review's last).
    analytics.program.rules.rules_from_json reads `rules` back.
    """
    return store.query_df(
        """
        SELECT s.saved_at, s.saved_by, s.rules_file, s.rules
        FROM review_saves s JOIN reviews r USING (review_id)
        WHERE r.name = ? ORDER BY s.saved_at DESC
        """,
        [name],
    )


def partner_decisions(store: Store, partner_id: str) -> pd.DataFrame:
    """Give one partner's saved decisions, newest review first: review, as of, decision, who, when, note, goals."""
    return store.query_df(
        """
        SELECT r.name AS review, r.as_of, d.decision, d.recommendation, d.decided_by, d.decided_at, d.note,
               d.revenue_goal, d.deals_goal, d.goal_quarters, d.churn_probability, d.turnaround_probability,
               d.model_version
        FROM review_decisions d JOIN reviews r USING (review_id)
        WHERE d.partner_id = ? ORDER BY r.as_of DESC, r.name
        """,
        [partner_id],
    )


def provisional_follow_up(store: Store, name: str, scope: tuple[str, ...] = ()) -> pd.DataFrame:
    """Give how each partner put on provisional continuation in review `name` did against its goals so far.

    Revenue and deals are counted over the goal quarters loaded so far (the two after the review).
    Once both are loaded the status is MET or MISSED; after one, ON_TRACK or BEHIND against the goals
    pro rata (half of each after the first of two quarters; revenue_goal_so_far and deals_goal_so_far
    say how much); before any, NOT_YET_KNOWN; "no goals" for a decision saved without any.
    quarters_loaded says which goal quarters are in. With a `scope` (a person's regions) only their partners.
    """
    found = store.query_df("SELECT review_id, as_of FROM reviews WHERE name = ?", [name])
    if found.empty:
        return pd.DataFrame(columns=["partner_id", "partner_name", "revenue_goal", "revenue", "deals_goal",
                                     "deals", "quarters_loaded", "status"])
    as_of = found["as_of"].iloc[0]
    first, last = quarter_index(as_of) + 1, quarter_index(as_of) + GOAL_QUARTERS
    latest = store.query_df("SELECT max(q_index) AS q FROM partner_quarter")["q"].iloc[0]
    loaded_to = -1 if latest is None or pd.isna(latest) else min(int(latest), last)
    frame = store.query_df(
        """
        SELECT d.partner_id, d.partner_name, d.tier, d.goal_quarters, d.revenue_goal,
               coalesce(sum(pq.revenue), 0) AS revenue, d.deals_goal, coalesce(sum(pq.deals), 0) AS deals
        FROM review_decisions d
        LEFT JOIN partner_quarter pq ON pq.partner_id = d.partner_id AND pq.q_index BETWEEN ? AND ?
        WHERE d.review_id = ? AND d.decision = ? AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], d.region))
        GROUP BY ALL ORDER BY d.partner_id
        """,
        [first, last, int(found["review_id"].iloc[0]), PROVISIONAL, list(scope), list(scope)],
    )
    loaded = max(loaded_to - first + 1, 0)
    frame["quarters_loaded"] = (
        "none yet" if loaded == 0
        else f"{shift_quarter(as_of, 1)}–{shift_quarter(as_of, loaded)}" if loaded > 1
        else shift_quarter(as_of, 1)
    )
    share = loaded / GOAL_QUARTERS
    frame["revenue_goal_so_far"] = frame["revenue_goal"] * share
    frame["deals_goal_so_far"] = frame["deals_goal"].astype(float) * share
    reached = ((frame["revenue"] >= frame["revenue_goal_so_far"].fillna(0))
               & (frame["deals"] >= frame["deals_goal_so_far"].fillna(0)))
    no_goals = frame["revenue_goal"].isna() & frame["deals_goal"].isna()
    frame["status"] = np.select(
        [no_goals, loaded == 0, (loaded >= GOAL_QUARTERS) & reached, loaded >= GOAL_QUARTERS, reached],
        ["no goals", NOT_YET_KNOWN, MET, MISSED, ON_TRACK], default=BEHIND)
    return frame


def previous_review_outcomes(store: Store, as_of: str) -> pd.DataFrame:
    """Give what the latest saved review before `as_of` decided for each partner, and how its goals went.

    One row per partner of that review: previous_review (its name and quarter), previous_decision, and
    for a provisional continuation previous_goal_status (provisional_follow_up's) with the figures in
    words ("revenue $180,000 of $250,000 and 3 of 4 deals in 2025Q4–2026Q1"). Empty when no review was
    saved before `as_of`.
    """
    columns = ["partner_id", "previous_review", "previous_decision", "previous_goal_status", "previous_goal_words"]
    found = store.query_df(
        "SELECT name, as_of FROM reviews WHERE as_of < ? ORDER BY as_of DESC, saved_at DESC LIMIT 1", [as_of])
    if found.empty:
        return pd.DataFrame(columns=columns)
    name, then = found["name"].iloc[0], found["as_of"].iloc[0]
    decided = load_review(store, name)[["partner_id", "decision"]].rename(columns={"decision": "previous_decision"})
    follow = provisional_follow_up(store, name)
    words = [f"revenue {money_exact(r)} of {money_exact(g)} and {int(d):,} of {int(dg):,} deals in {q}"
             if g == g and dg is not pd.NA and dg == dg else f"revenue {money_exact(r)} in {q}"
             for r, g, d, dg, q in zip(follow["revenue"], follow["revenue_goal"], follow["deals"],
                                       follow["deals_goal"].astype(float), follow["goal_quarters"], strict=True)]
    goals = pd.DataFrame({"partner_id": follow["partner_id"], "previous_goal_status": follow["status"],
                          "previous_goal_words": words})
    out = decided.merge(goals, on="partner_id", how="left")
    out["previous_review"] = f"{name} (as of {then})"
    return out[columns]


def partner_goal_follow_up(store: Store, partner_id: str) -> dict | None:
    """Give how a partner does against the revised goals of the latest review that set it any, or None.

    Keys: review, goal_quarters, quarters_loaded, status (provisional_follow_up's), revenue, revenue_goal,
    deals, deals_goal.
    """
    found = store.query_df(
        """
        SELECT r.name FROM review_decisions d JOIN reviews r USING (review_id)
        WHERE d.partner_id = ? AND d.decision = ? ORDER BY r.as_of DESC, r.saved_at DESC LIMIT 1
        """,
        [partner_id, PROVISIONAL],
    )
    if found.empty:
        return None
    name = found["name"].iloc[0]
    follow = provisional_follow_up(store, name)
    row = follow[follow["partner_id"] == partner_id]
    if row.empty or row["status"].iloc[0] == "no goals":
        return None
    one = row.iloc[0]
    return {"review": name, "goal_quarters": one["goal_quarters"], "quarters_loaded": one["quarters_loaded"],
            "status": one["status"], "revenue": float(one["revenue"]), "revenue_goal": float(one["revenue_goal"]),
            "deals": float(one["deals"]), "deals_goal": float(one["deals_goal"])}


def default_review_name(as_of: str) -> str:
    """Give the usual name of the review of the year ending at `as_of` ("FY2026")."""
    return f"FY{as_of[:4]}"
