"""The annual review: a recommended action per active partner from the program rules and the model, saved decisions.

Actions: promote (meets a higher tier), retain, demote (meets only a lower tier), provisional
continuation (short of its tier, or of the lowest tier, but likely to recover: kept with revised
goals for the next two quarters), terminate (short of the lowest tier and unlikely to recover).
Partners in the nursery (recruited within `nursery_quarters`) are never demoted or terminated.

"Likely to recover" is the model's turnaround probability at or above the threshold. A partner
short of its tier only on deals or customers (revenue at its tier's minimum and not halved) is not
an underperformer in the model's sense and has no turnaround probability: the rules alone decide
(demote, or terminate below the lowest tier), and its reasons say so.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import datetime

import numpy as np
import pandas as pd

from analytics.access import Actor, check
from analytics.features import YEAR, features_at, load_panel
from analytics.formatting import money
from analytics.program import ProgramRules
from analytics.quarters import quarter_index, shift_quarter
from analytics.scoring import stored_scores
from analytics.store import Store, checkpoint

__all__ = [
    "ACTIONS",
    "REVIEW_HORIZON",
    "review_inputs",
    "recommend",
    "recommendations",
    "action_counts",
    "save_review",
    "list_reviews",
    "load_review",
    "provisional_follow_up",
    "default_review_name",
]

ACTIONS = ("promote", "retain", "demote", "provisional continuation", "terminate")
PROVISIONAL = "provisional continuation"
REVIEW_HORIZON = 4  # the review looks at the trailing year and the model's next four quarters
GOAL_QUARTERS = 2   # revised goals cover the two quarters after the review

INPUT_COLUMNS = [
    "partner_id", "partner_name", "tier", "region", "revenue_trailing", "deals_trailing", "customers_trailing",
    "tenure_full", "yoy_change", "churn_probability", "turnaround_probability", "churn_reasons",
]


def review_inputs(store: Store, as_of: str) -> pd.DataFrame:
    """Give every partner with orders in the 4 quarters to `as_of`: trailing-year figures, tenure, the model's scores.

    tenure_full counts quarters since the partner's first order (from the first stored quarter when
    it was there from the start). The scores are the stored ones (analytics.scoring); without them the
    probabilities are missing.
    """
    panel = load_panel(store)
    features = features_at(panel, as_of, REVIEW_HORIZON)
    c = panel.column(as_of)
    rows = panel.rows_of(features["partner_id"])
    present = panel.present[rows, :c + 1]
    features["tenure_full"] = c - np.argmax(present, axis=1) + 1
    scores = stored_scores(store, as_of, REVIEW_HORIZON)[
        ["partner_id", "churn_probability", "turnaround_probability", "churn_reasons"]
    ]
    return features.merge(scores, on="partner_id", how="left")[INPUT_COLUMNS]


def _meets(frame: pd.DataFrame, rule, use_customers: bool) -> np.ndarray:
    ok = (frame["revenue_trailing"].to_numpy() >= rule.min_revenue) & (
        frame["deals_trailing"].to_numpy() >= rule.min_deals)
    if use_customers:
        ok &= frame["customers_trailing"].to_numpy() >= rule.min_customers
    return ok


def _shortfall(row: dict, rule, use_customers: bool) -> str:
    gaps = []
    if row["revenue_trailing"] < rule.min_revenue:
        gaps.append(f"revenue {money(row['revenue_trailing'])} < {money(rule.min_revenue)}")
    if row["deals_trailing"] < rule.min_deals:
        gaps.append(f"{int(row['deals_trailing'])} deals < {rule.min_deals}")
    if use_customers and row["customers_trailing"] < rule.min_customers:
        gaps.append(f"{int(row['customers_trailing'])} customers < {rule.min_customers}")
    return ", ".join(gaps)


def recommend(inputs: pd.DataFrame, rules: ProgramRules, threshold: float | None = None) -> pd.DataFrame:
    """Give `inputs` (review_inputs) with qualifies_for, recommendation, otherwise, reasons and revised goals.

    `threshold` (default: the rules') is the recovery chance from which an underperformer gets
    provisional continuation. `otherwise` is what a provisional candidate gets if not picked.
    Customer minimums are ignored when the data hold no customers at all (an extract without them).
    """
    threshold = rules.provisional_threshold if threshold is None else threshold
    frame = inputs.reset_index(drop=True).copy()
    use_customers = bool((frame["customers_trailing"] > 0).any())
    names = list(rules.tier_names)
    lowest = len(names) - 1
    qualifies = np.full(len(frame), len(names))  # len(names): meets no tier
    for rank in range(len(names) - 1, -1, -1):   # highest tier met wins
        qualifies = np.where(_meets(frame, rules.tiers[rank], use_customers), rank, qualifies)
    current = np.array([names.index(t) if t in names else -1 for t in frame["tier"]])
    # A partner with no known tier is judged against the tier it meets (or the lowest when none).
    current = np.where(current < 0, np.minimum(qualifies, lowest), current)
    has_turnaround = frame["turnaround_probability"].notna().to_numpy()
    recovery = frame["turnaround_probability"].fillna(-1.0).to_numpy()  # -1: never above a threshold
    nursery = frame["tenure_full"].to_numpy() < rules.nursery_quarters
    short = qualifies > current
    action = np.select(
        [qualifies < current, ~short, nursery, recovery >= threshold, qualifies == len(names)],
        ["promote", "retain", "retain", PROVISIONAL, "terminate"],
        default="demote",
    )
    otherwise = np.where(action == PROVISIONAL, np.where(qualifies == len(names), "terminate", "demote"), "")
    frame["qualifies_for"] = [names[q] if q < len(names) else "none" for q in qualifies]
    frame["recommendation"] = action
    frame["otherwise"] = otherwise
    reasons = []
    goals_revenue, goals_deals = [], []
    # Plain arrays of the four figures the words need: a dict per row of the whole frame took seconds
    # at 60,000 partners, and the what-if recounts on every change.
    figures = {c: frame[c].to_numpy(dtype=float, na_value=np.nan)
               for c in ("revenue_trailing", "deals_trailing", "customers_trailing", "tenure_full")}
    for i in range(len(frame)):
        words = []
        target = rules.tiers[current[i]]
        if qualifies[i] < len(names):
            words.append(f"meets {names[qualifies[i]]}")
        if short[i]:
            row = {c: values[i] for c, values in figures.items()}
            words.append(f"short of {target.name}: {_shortfall(row, target, use_customers)}")
            if nursery[i]:
                words.append(f"in the nursery ({int(row['tenure_full'])} of {rules.nursery_quarters} quarters)")
            elif has_turnaround[i]:
                words.append(f"turnaround probability {recovery[i] * 100:.0f} % (threshold {threshold * 100:.0f} %)")
            else:
                words.append("revenue has not fallen: no turnaround probability, the rules decide")
        reasons.append("; ".join(words))
        if action[i] == PROVISIONAL:
            goals_revenue.append(round(target.min_revenue * GOAL_QUARTERS / YEAR, 2))
            goals_deals.append(int(math.ceil(target.min_deals * GOAL_QUARTERS / YEAR)))
        else:
            goals_revenue.append(np.nan)
            goals_deals.append(np.nan)
    frame["reasons"] = reasons
    frame["revenue_goal"] = goals_revenue
    frame["deals_goal"] = pd.array(goals_deals, dtype="Int64")
    return frame


def recommendations(store: Store, as_of: str, rules: ProgramRules, threshold: float | None = None) -> pd.DataFrame:
    """Give the recommendation for every partner active in the review year to `as_of` (recommend on review_inputs).

    One call that the pages cache whole, keyed by the rules and threshold, so a rerun or a what-if
    already tried costs nothing.
    """
    return recommend(review_inputs(store, as_of), rules, threshold)


def action_counts(recommendations: pd.DataFrame, column: str = "recommendation") -> pd.DataFrame:
    """Give partners and their trailing-year revenue per action, in the order of ACTIONS (zeros included)."""
    grouped = recommendations.groupby(column)["revenue_trailing"].agg(["size", "sum"])
    grouped = grouped.reindex(ACTIONS, fill_value=0)
    out = pd.DataFrame({
        "action": ACTIONS,
        "partners": grouped["size"].astype(int).to_numpy(),
        "revenue_trailing": grouped["sum"].astype(float).to_numpy(),
    })
    total = max(len(recommendations), 1)
    out["share_of_partners"] = out["partners"] / total
    return out


# -- decisions in the database ------------------------------------------------------------------
DECISION_COLUMNS = [
    "partner_id", "partner_name", "tier", "region", "revenue_trailing", "churn_probability",
    "turnaround_probability", "recommendation", "reasons", "decision", "note", "revenue_goal", "deals_goal",
]


def save_review(store: Store, name: str, as_of: str, rules: ProgramRules, decisions: pd.DataFrame,
                user: str | None = None, actor: Actor | None = None) -> dict:
    """Save a named review's decisions (one per partner) and give counts of rows added, changed and unchanged.

    Raises AccessDenied when `actor` may not save review decisions; records `user`, else the actor's name.

    Saving the same decisions again changes nothing; a changed decision or note is updated in
    place with who changed it and when. Partners not in `decisions` keep what was saved before.
    `decisions` needs DECISION_COLUMNS; `decision` must be one of ACTIONS.
    """
    check(actor, "save review")
    user = user if user is not None else actor.who if actor is not None else None
    name = name.strip()
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
    now = datetime.now()
    frame = decisions[DECISION_COLUMNS].copy()
    frame["note"] = frame["note"].fillna("").astype(str)
    frame["goal_quarters"] = f"{shift_quarter(as_of, 1)}–{shift_quarter(as_of, GOAL_QUARTERS)}"
    frame["deals_goal"] = pd.to_numeric(frame["deals_goal"], errors="coerce").astype("Int64")
    rules_json = json.dumps(asdict(rules))
    with store.transaction() as cur:
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
        cur.register("incoming", frame)
        counts = cur.execute(
            """
            SELECT count(*) FILTER (WHERE d.partner_id IS NULL),
                   count(*) FILTER (WHERE d.partner_id IS NOT NULL AND (d.decision IS DISTINCT FROM i.decision
                        OR coalesce(d.note, '') IS DISTINCT FROM i.note
                        OR d.revenue_goal IS DISTINCT FROM i.revenue_goal
                        OR d.deals_goal IS DISTINCT FROM i.deals_goal))
            FROM incoming i LEFT JOIN review_decisions d ON d.review_id = ? AND d.partner_id = i.partner_id
            """,
            [review_id],
        ).fetchall()[0]
        cur.execute(
            """
            INSERT INTO review_decisions
            SELECT ?, partner_id, partner_name, tier, region, revenue_trailing, churn_probability,
                   turnaround_probability, recommendation, reasons, decision, note, revenue_goal, deals_goal,
                   goal_quarters, ?, ?
            FROM incoming
            ON CONFLICT (review_id, partner_id) DO UPDATE SET
                decision = excluded.decision, note = excluded.note, revenue_goal = excluded.revenue_goal,
                deals_goal = excluded.deals_goal,
                decided_by = CASE WHEN review_decisions.decision IS DISTINCT FROM excluded.decision
                    OR coalesce(review_decisions.note, '') IS DISTINCT FROM excluded.note
                    OR review_decisions.revenue_goal IS DISTINCT FROM excluded.revenue_goal
                    OR review_decisions.deals_goal IS DISTINCT FROM excluded.deals_goal
                    THEN excluded.decided_by ELSE review_decisions.decided_by END,
                decided_at = CASE WHEN review_decisions.decision IS DISTINCT FROM excluded.decision
                    OR coalesce(review_decisions.note, '') IS DISTINCT FROM excluded.note
                    OR review_decisions.revenue_goal IS DISTINCT FROM excluded.revenue_goal
                    OR review_decisions.deals_goal IS DISTINCT FROM excluded.deals_goal
                    THEN excluded.decided_at ELSE review_decisions.decided_at END
            """,
            [review_id, user, now],
        )
        checkpoint("review:written")
        cur.unregister("incoming")
    added, changed = int(counts[0]), int(counts[1])
    return {"review": name, "added": added, "changed": changed, "unchanged": len(frame) - added - changed}


def list_reviews(store: Store) -> pd.DataFrame:
    """Give the saved reviews, newest first, with their decision counts."""
    return store.query_df(
        """
        SELECT r.name, r.as_of, r.created_at, r.created_by, r.saved_at, r.saved_by, count(d.partner_id) AS partners,
               count(*) FILTER (WHERE d.decision <> d.recommendation) AS overridden
        FROM reviews r LEFT JOIN review_decisions d USING (review_id)
        GROUP BY ALL ORDER BY r.as_of DESC, r.name
        """
    )


def load_review(store: Store, name: str) -> pd.DataFrame:
    """Give a saved review's decisions, one row per partner (empty when no review has that name)."""
    return store.query_df(
        """
        SELECT d.partner_id, d.partner_name, d.tier, d.region, d.revenue_trailing, d.churn_probability,
               d.turnaround_probability, d.recommendation, d.reasons, d.decision, d.note, d.revenue_goal,
               d.deals_goal, d.goal_quarters, d.decided_by, d.decided_at
        FROM review_decisions d JOIN reviews r USING (review_id)
        WHERE r.name = ? ORDER BY d.partner_id
        """,
        [name],
    )


def provisional_follow_up(store: Store, name: str) -> pd.DataFrame:
    """Give how each partner put on provisional continuation in review `name` did against its goals.

    Revenue and deals are counted over the goal quarters (the two after the review); status is
    "met", "missed", or "in progress" while those quarters are not all loaded yet.
    """
    found = store.query_df("SELECT review_id, as_of FROM reviews WHERE name = ?", [name])
    if found.empty:
        return pd.DataFrame(columns=["partner_id", "partner_name", "revenue_goal", "revenue", "deals_goal",
                                     "deals", "status"])
    as_of = found["as_of"].iloc[0]
    first, last = quarter_index(as_of) + 1, quarter_index(as_of) + GOAL_QUARTERS
    latest = store.query_df("SELECT max(q_index) AS q FROM partner_quarter")["q"].iloc[0]
    frame = store.query_df(
        """
        SELECT d.partner_id, d.partner_name, d.tier, d.goal_quarters, d.revenue_goal,
               coalesce(sum(pq.revenue), 0) AS revenue, d.deals_goal, coalesce(sum(pq.deals), 0) AS deals
        FROM review_decisions d
        LEFT JOIN partner_quarter pq ON pq.partner_id = d.partner_id AND pq.q_index BETWEEN ? AND ?
        WHERE d.review_id = ? AND d.decision = ?
        GROUP BY ALL ORDER BY d.partner_id
        """,
        [first, last, int(found["review_id"].iloc[0]), PROVISIONAL],
    )
    met = (frame["revenue"] >= frame["revenue_goal"].fillna(0)) & (frame["deals"] >= frame["deals_goal"].fillna(0))
    complete = latest is not None and not pd.isna(latest) and int(latest) >= last
    frame["status"] = np.where(met, "met", "missed" if complete else "in progress")
    return frame


def default_review_name(as_of: str) -> str:
    """Give the usual name of the review of the year ending at `as_of` ("FY2026")."""
    return f"FY{as_of[:4]}"
