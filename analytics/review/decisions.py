"""The annual review: a recommended action per active partner from the program rules and the model, saved decisions.

Actions: promote (meets every minimum of a higher tier), retain, demote (revenue meets only a lower
tier), provisional continuation (revenue short of its tier, or of the lowest tier, but likely to
recover: kept with revised goals for the next two quarters), terminate (revenue short of the lowest
tier and unlikely to recover). Partners in the nursery (recruited within `nursery_quarters`) are
never demoted or terminated.

Revenue decides a move down. A partner whose revenue meets its tier keeps it whatever its deal and
customer counts, and one that falls to a lower tier by revenue goes no lower for its counts: counts
short of the tier it keeps become development goals, named in its reasons. A partner kept in (or
promoted from) its tier whose churn probability or recent fall is severe (the program's at_risk_*
settings) is flagged at risk and is not promoted.

"Likely to recover" is the model's turnaround probability at or above the threshold; a partner
without one (the model did not call it an underperformer) is left to the rules. Every reason names
the figures it rests on: revenue against the minimum, deals, customers, churn probability, change
year over year.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.access import Actor, check, check_scope
from analytics.filters import ChannelFilter
from analytics.formatting import money, money_exact, pct, plural, probability_text
from analytics.model.features import UNKNOWN, YEAR, features_at, load_panel
from analytics.model.scoring import score_status, stored_scores
from analytics.periods import span_after
from analytics.program.rules import ProgramRules, TierRule
from analytics.review.incentives import SEGMENT_COLUMNS, recommended_incentives, segment_shares
from analytics.store.quarters import quarter_index, quarter_label, shift_quarter
from analytics.store.store import Store, checkpoint

__all__ = [
    "ACTIONS",
    "PROVISIONAL",
    "REVIEW_HORIZON",
    "NOT_YET_KNOWN",
    "review_inputs",
    "meets_tier_minimums",
    "qualifying_tier",
    "recommend",
    "recommendations",
    "select_partners",
    "record_edits",
    "review_decisions",
    "action_counts",
    "decision_counts",
    "ReviewOut",
    "review_out",
    "compare_action_counts",
    "DECISION_EXPORT_COLUMNS",
    "save_review",
    "list_reviews",
    "load_review",
    "review_saves",
    "partner_decisions",
    "provisional_follow_up",
    "partner_goal_follow_up",
    "previous_review_outcomes",
    "ON_TRACK",
    "BEHIND",
    "MET",
    "MISSED",
    "default_review_name",
    "review_export",
]

ACTIONS = ("promote", "retain", "demote", "provisional continuation", "terminate")
PROVISIONAL = "provisional continuation"
REVIEW_HORIZON = 4  # the review looks at the trailing year and the model's next four quarters
GOAL_QUARTERS = 2   # revised goals cover the two quarters after the review
NOT_YET_KNOWN = "not yet known"
# A latest quarter near zero is a severe fall only after orders in each of this many quarters before it:
# for a partner that buys once or twice a year, a quarter without orders is its usual rhythm.
LATEST_RUN = 3

INPUT_COLUMNS = [
    "partner_id", "partner_name", "tier", "region", "distributor", "revenue_trailing", "revenue_latest",
    "active_before_latest", "deals_trailing", "customers_trailing", "tenure_full", "yoy_change", "churn_probability",
    "turnaround_probability", "churn_reasons", "model_version", "dormant", "last_order_quarter",
    "revenue_year_before", "active_quarters_year_before", "revenue_smb", "revenue_mid_market", "revenue_enterprise",
    "previous_review", "previous_decision", "previous_goal_status", "previous_goal_words",
]


def review_inputs(store: Store, as_of: str, lookback: int = 8) -> pd.DataFrame:
    """Give every partner of the review to `as_of`: review-year figures, tenure, the year before, the model's scores.

    The review holds every partner with an order in the `lookback` quarters to `as_of` (the program's
    review_lookback_quarters): those with orders in the review year (the 4 quarters to `as_of`) and the
    dormant ones, whose last order is older (dormant is true, their review-year figures are zero and
    the model scores none of them: it scores partners still ordering). tier, region and name are the
    latest recorded up to `as_of`. tenure_full counts quarters since the partner's first order (from
    the first stored quarter when it was there from the start); revenue_latest is the as-of quarter's
    revenue, active_before_latest the quarters with orders among the LATEST_RUN before it;
    last_order_quarter the latest quarter with an order; revenue_year_before and
    active_quarters_year_before cover the 4 quarters before the review year; distributor is the latest
    one recorded in the lookback. The scores are the stored ones (analytics.model.scoring), with the
    version of the model that made them; without them the probabilities are missing.
    """
    panel = load_panel(store)
    features = features_at(panel, as_of, REVIEW_HORIZON)
    c = panel.column(as_of)
    lookback = max(int(lookback), YEAR)
    ordered_before = panel.present[:, max(c - lookback + 1, 0):max(c - YEAR + 1, 0)].any(axis=1)
    recent = panel.present[:, max(c - YEAR + 1, 0):c + 1].any(axis=1)
    dormant = panel.partners[ordered_before & ~recent]
    features = pd.concat([features.assign(dormant=False), _dormant_rows(panel, c, dormant)], ignore_index=True)
    rows = panel.rows_of(features["partner_id"])
    present = panel.present[rows, :c + 1]
    features["tenure_full"] = c - np.argmax(present, axis=1) + 1
    features["last_order_quarter"] = [quarter_label(panel.first + c - back) for back in
                                      np.argmax(present[:, ::-1], axis=1)]
    features["revenue_latest"] = panel.revenue[rows, c]
    features["active_before_latest"] = panel.present[rows, max(c - LATEST_RUN, 0):c].sum(axis=1)
    year_before = slice(max(c - 2 * YEAR + 1, 0), max(c - YEAR + 1, 0))
    features["revenue_year_before"] = panel.revenue[rows, year_before].sum(axis=1)
    features["active_quarters_year_before"] = panel.present[rows, year_before].sum(axis=1)
    end = panel.first + c
    distributors = store.query_df(
        """
        SELECT partner_id, arg_max(distributor, q_index) AS distributor
        FROM partner_quarter WHERE q_index BETWEEN ? AND ? AND distributor IS NOT NULL GROUP BY partner_id
        """,
        [end - lookback + 1, end],
    )
    segments = store.query_df(
        """
        SELECT partner_id, sum(revenue_smb) AS revenue_smb, sum(revenue_mid_market) AS revenue_mid_market,
               sum(revenue_enterprise) AS revenue_enterprise
        FROM partner_quarter WHERE q_index BETWEEN ? AND ? GROUP BY partner_id
        """,
        [end - YEAR + 1, end],
    )
    scores = stored_scores(store, as_of, REVIEW_HORIZON)
    status = score_status(store, as_of, REVIEW_HORIZON)
    version = status.run.model_version if status.scored else ""
    scores = scores[["partner_id", "churn_probability", "turnaround_probability", "churn_reasons"]]
    merged = (features.merge(scores, on="partner_id", how="left").merge(distributors, on="partner_id", how="left")
              .merge(segments, on="partner_id", how="left"))
    merged[list(SEGMENT_COLUMNS.values())] = merged[list(SEGMENT_COLUMNS.values())].fillna(0.0)
    merged["model_version"] = version
    merged = merged.merge(previous_review_outcomes(store, as_of), on="partner_id", how="left")
    return merged[INPUT_COLUMNS]


def _dormant_rows(panel, c: int, partner_ids: np.ndarray) -> pd.DataFrame:
    """Give the review's figures of partners with no order in the review year: zero this year, their latest tier."""
    rows = panel.rows_of(partner_ids)
    return pd.DataFrame({
        "partner_id": partner_ids,
        "partner_name": panel.name[rows, c],
        "tier": [t if t is not None else UNKNOWN for t in panel.tier[rows, c]],
        "region": [r if r is not None else UNKNOWN for r in panel.region[rows, c]],
        "revenue_trailing": panel.revenue[rows, max(c - YEAR + 1, 0):c + 1].sum(axis=1),
        "deals_trailing": np.zeros(len(rows)),
        "customers_trailing": np.zeros(len(rows)),
        # As features_at has it: the last two quarters (nothing) against the same two a year earlier.
        "yoy_change": np.where(panel.revenue[rows, max(c - 5, 0):max(c - 3, 0)].sum(axis=1) > 0, -1.0, np.nan),
        "dormant": True,
    })


def meets_tier_minimums(frame: pd.DataFrame, rule: TierRule, use_customers: bool) -> np.ndarray:
    """Give per row whether its trailing-year revenue, deals (and customers) meet every minimum of a tier.

    `frame` holds revenue_trailing, deals_trailing and customers_trailing; customers count only with
    `use_customers` (extracts without customer ids cannot be held to a customer minimum).
    """
    ok = (frame["revenue_trailing"].to_numpy(dtype=float) >= rule.min_revenue) & (
        frame["deals_trailing"].to_numpy(dtype=float) >= rule.min_deals)
    if use_customers:
        ok &= frame["customers_trailing"].to_numpy(dtype=float) >= rule.min_customers
    return ok


def _ranks(frame: pd.DataFrame, rules: ProgramRules, use_customers: bool) -> tuple[np.ndarray, np.ndarray]:
    """Give per partner the highest tier whose every minimum it meets and the highest its revenue alone meets.

    Ranks index rules.tiers (0 the highest); len(rules.tiers) means no tier.
    """
    revenue = frame["revenue_trailing"].to_numpy(dtype=float)
    every = np.full(len(frame), len(rules.tiers))
    by_revenue = every.copy()
    for rank in range(len(rules.tiers) - 1, -1, -1):  # highest tier met wins
        rule = rules.tiers[rank]
        every = np.where(meets_tier_minimums(frame, rule, use_customers), rank, every)
        by_revenue = np.where(revenue >= rule.min_revenue, rank, by_revenue)
    return every, by_revenue


def qualifying_tier(frame: pd.DataFrame, rules: ProgramRules) -> np.ndarray:
    """Give per row the highest tier whose every minimum its trailing-year figures meet, or "none".

    `frame` holds revenue_trailing, deals_trailing and customers_trailing; customer minimums are
    ignored when no row has customers (an extract without them), as in the review.
    """
    names = list(rules.tier_names)
    every, _ = _ranks(frame, rules, bool((frame["customers_trailing"] > 0).any()))
    return np.array([names[q] if q < len(names) else "none" for q in every], dtype=object)


def _signed_pct(change: float) -> str:
    return "n/a (no revenue a year earlier)" if pd.isna(change) else f"{change * 100:+.0f} %"


def _development_goals(deals: float, customers: float, rule, use_customers: bool) -> str:
    """Give the counts a partner lacks for `rule`'s tier ("6 deals (has 1), 4 customers (has 2)"), "" if none."""
    goals = []
    if deals < rule.min_deals:
        goals.append(f"{plural(rule.min_deals, 'deal')} (has {int(deals)})")
    if use_customers and customers < rule.min_customers:
        goals.append(f"{plural(rule.min_customers, 'customer')} (has {int(customers)})")
    return ", ".join(goals)


def _column(frame: pd.DataFrame, name: str, default: object) -> np.ndarray:
    """Give a column of `frame` as an array, or `default` for every row when the frame has none (hand-made inputs)."""
    return frame[name].to_numpy() if name in frame.columns else np.full(len(frame), default)


def _dormant_words(row: pd.Series) -> str:
    """Give why a partner without orders in the review year is reviewed: since when nothing, what it sold before."""
    words = f"no order in the review year (last order in {row['last_order_quarter']})"
    before = row.get("revenue_year_before")
    if before is not None and not pd.isna(before) and before != 0:
        active = int(row.get("active_quarters_year_before") or 0)
        words += (f", after {money(before)} in the year before, with orders in {active} of its 4 quarters"
                  if active else f", after {money(before)} in the year before")
    return words


def _second_looks(frame: pd.DataFrame, action: np.ndarray, churn: np.ndarray, recovery: np.ndarray,
                  threshold: float, rules: ProgramRules) -> np.ndarray:
    """Give, per recommended termination a chief would question, what to look at and why it stays; else "".

    Questioned: a churn probability under rules.second_look_churn (the model expects it to keep
    ordering), or revenue short of the lowest tier's minimum by less than rules.second_look_shortfall
    of it. It stays recommended because the rules terminate any partner whose revenue meets no tier's
    minimum and that is not likely enough to turn around; the text says which of those holds.
    """
    lowest = rules.tiers[-1]
    revenue = frame["revenue_trailing"].to_numpy(dtype=float)
    shortfall = lowest.min_revenue - revenue
    out = np.full(len(frame), "", dtype=object)
    for i in np.flatnonzero(action == "terminate"):
        doubts = []
        if churn[i] == churn[i] and churn[i] < rules.second_look_churn:
            doubts.append(f"churn probability only {probability_text(churn[i])} "
                          f"(under {pct(rules.second_look_churn)})")
        if lowest.min_revenue > 0 and 0 < shortfall[i] < rules.second_look_shortfall * lowest.min_revenue:
            doubts.append(f"revenue only {money(shortfall[i])} ({pct(shortfall[i] / lowest.min_revenue)}) short "
                          f"of {lowest.name}'s {money(lowest.min_revenue)}")
        if not doubts:
            continue
        why = (f"turnaround probability {probability_text(recovery[i])} is under the {pct(threshold)} threshold"
               if recovery[i] == recovery[i]
               else "the model gives no turnaround probability (its revenue did not fall)")
        out[i] = (", ".join(doubts) + f"; still recommended because its revenue meets no tier's minimum and {why} "
                  "(a provisional continuation would keep it with revised goals)")
    return out


def recommend(inputs: pd.DataFrame, rules: ProgramRules, threshold: float | None = None) -> pd.DataFrame:
    """Give `inputs` (review_inputs) with qualifies_for, revenue_meets, recommendation, at_risk, reasons and goals.

    qualifies_for is the highest tier whose every minimum the partner meets, revenue_meets the highest
    its revenue alone meets ("none" for neither). `threshold` (default: the rules') is the recovery
    chance from which an underperformer gets provisional continuation; `otherwise` is what a
    provisional candidate gets if not picked. development_goals names the counts a kept partner lacks
    for its tier. revenue_goal / deals_goal are the revised goals of a recommended provisional
    continuation; default_revenue_goal / default_deals_goal are those a chief's own provisional
    continuation starts from (half the current tier's yearly minimums). Customer minimums are ignored
    when the data hold no customers at all (an extract without them).
    """
    threshold = rules.provisional_threshold if threshold is None else threshold
    frame = inputs.reset_index(drop=True).copy()
    use_customers = bool((frame["customers_trailing"] > 0).any())
    names = list(rules.tier_names)
    none, lowest = len(names), len(names) - 1
    every, by_revenue = _ranks(frame, rules, use_customers)
    current = np.array([names.index(t) if t in names else -1 for t in frame["tier"]])
    # A partner with no known tier is judged against the tier its revenue meets (or the lowest when none).
    current = np.where(current < 0, np.minimum(by_revenue, lowest), current)

    revenue = frame["revenue_trailing"].to_numpy(dtype=float)
    latest = frame["revenue_latest"].to_numpy(dtype=float)
    deals = frame["deals_trailing"].to_numpy(dtype=float)
    customers = frame["customers_trailing"].to_numpy(dtype=float)
    tenure = frame["tenure_full"].to_numpy(dtype=float)
    yoy = frame["yoy_change"].to_numpy(dtype=float, na_value=np.nan)
    churn = frame["churn_probability"].to_numpy(dtype=float, na_value=np.nan)
    recovery = frame["turnaround_probability"].to_numpy(dtype=float, na_value=np.nan)
    has_turnaround = ~np.isnan(recovery)
    with np.errstate(invalid="ignore", divide="ignore"):
        latest_share = np.where(revenue > 0, latest / (revenue / YEAR), np.nan)
    churn_severe = churn >= rules.at_risk_churn
    fall_severe = yoy <= -rules.at_risk_fall
    regular = frame["active_before_latest"].to_numpy() >= LATEST_RUN
    latest_severe = regular & (latest_share < rules.at_risk_latest_share)
    severe = churn_severe | fall_severe | latest_severe

    holds = by_revenue <= current
    nursery = tenure < rules.nursery_quarters
    action = np.select(
        [(every < current) & ~severe, holds, nursery, has_turnaround & (recovery >= threshold),
         by_revenue == none],
        ["promote", "retain", "retain", PROVISIONAL, "terminate"],
        default="demote",
    )
    # Last review's provisional continuations are judged on their revised goals first.
    goal_status = _column(frame, "previous_goal_status", None)
    missed, met = goal_status == MISSED, goal_status == MET
    # A tier lower than its own (its revenue's, or the next one down): missed goals are not simply kept again.
    down_to = np.minimum(np.maximum(by_revenue, current + 1), none)
    action = np.where(missed, np.where(down_to >= none, "terminate", "demote"), action)
    action = np.where(met & np.isin(action, ["demote", "terminate", PROVISIONAL]), "retain", action)
    terminated_before = (_column(frame, "previous_decision", None) == "terminate") & (revenue > 0)
    frame["terminated_before"] = terminated_before
    at_risk = severe & (action != "terminate")
    kept = np.where(action == "demote", np.minimum(down_to, lowest), current)  # the tier held after the review
    dormant = _column(frame, "dormant", False).astype(bool)
    frame["second_look"] = _second_looks(frame, action, churn, recovery, threshold, rules)
    if set(SEGMENT_COLUMNS.values()) <= set(frame.columns):
        frame = pd.concat([frame, segment_shares(frame)], axis=1)
        frame["incentive_plan"] = recommended_incentives(frame, rules)
    else:  # hand-made inputs without segment figures
        frame["incentive_plan"] = ""
    # The tier a partner holds after each decision a chief may take: judged in (kept), one up, one down.
    frame["tier_judged"] = [names[k] for k in current]
    frame["tier_up"] = [names[min(every[i], max(current[i] - 1, 0))] for i in range(len(frame))]
    frame["tier_down"] = [names[min(down_to[i], lowest)] for i in range(len(frame))]
    frame["qualifies_for"] = [names[q] if q < none else "none" for q in every]
    frame["revenue_meets"] = [names[q] if q < none else "none" for q in by_revenue]
    frame["recommendation"] = action
    frame["at_risk"] = at_risk
    frame["otherwise"] = np.where(action == PROVISIONAL, np.where(by_revenue == none, "terminate", "demote"), "")

    reasons, development = [], []
    for i in range(len(frame)):
        tier = rules.tiers[current[i]]
        words = []
        if dormant[i]:
            # Nothing this year: what it sold before and since when is the whole story; no model scores it.
            words.append(_dormant_words(frame.iloc[i]))
        if missed[i] or met[i]:
            outcome = "missed" if missed[i] else "met"
            words.append(f"{outcome} the revised goals of review {frame.at[i, 'previous_review']}: "
                         f"{frame.at[i, 'previous_goal_words']}"
                         + (" (kept in its tier)" if met[i] and action[i] == "retain" else ""))
        if terminated_before[i]:
            words.append(f"terminated in review {frame.at[i, 'previous_review']} and still ordering: "
                         f"{money(revenue[i])} in the review year")
        if action[i] == "promote":
            up = rules.tiers[every[i]]
            words.append(f"meets every {up.name} minimum: revenue {money(revenue[i])} ≥ {money(up.min_revenue)}, "
                         f"{plural(deals[i], 'deal')} ≥ {up.min_deals}"
                         + (f", {plural(customers[i], 'customer')} ≥ {up.min_customers}" if use_customers else ""))
        elif holds[i]:
            words.append(f"revenue {money(revenue[i])} meets {tier.name}'s minimum {money(tier.min_revenue)}")
            if every[i] < current[i]:
                words.append(f"meets every {names[every[i]]} minimum but not promoted while at risk")
        else:
            meets = (f"meets {names[by_revenue[i]]}'s {money(rules.tiers[by_revenue[i]].min_revenue)}"
                     if by_revenue[i] < none else "meets no tier's minimum")
            words.append(f"short of {tier.name}: revenue {money(revenue[i])} < {money(tier.min_revenue)} ({meets})")
        goals = ""
        if action[i] in ("retain", "demote") and (holds[i] or action[i] == "demote"):
            goals = _development_goals(deals[i], customers[i], rules.tiers[kept[i]], use_customers)
        development.append(goals)
        if action[i] != "promote" and not dormant[i]:
            words.append(f"{plural(deals[i], 'deal')}" + (f", {plural(customers[i], 'customer')}"
                                                          if use_customers else ""))
        if goals:
            words.append(f"development goals for {names[kept[i]]}: {goals}")
        if not holds[i] and not (missed[i] or met[i]):  # last review's goals decided it, not the model
            if nursery[i]:
                words.append(f"in the nursery ({int(tenure[i])} of {rules.nursery_quarters} quarters)")
            elif has_turnaround[i]:
                words.append(f"turnaround probability {probability_text(recovery[i])} (threshold {pct(threshold)})")
            elif dormant[i]:
                pass
            else:
                words.append("no turnaround probability (revenue has not fallen): the rules decide")
        if at_risk[i]:
            risks = []
            if churn_severe[i]:
                risks.append(f"churn probability {probability_text(churn[i])} (≥ {pct(rules.at_risk_churn)})")
            if latest_severe[i]:
                risks.append(f"latest quarter {money(latest[i])}, {pct(max(latest_share[i], 0.0))} of its "
                             f"quarterly average after orders in each of the {LATEST_RUN} quarters before")
            if fall_severe[i]:
                risks.append(f"year over year {_signed_pct(yoy[i])} (a fall of {pct(rules.at_risk_fall)} or more)")
            words.append("at risk: " + ", ".join(risks))
        if not dormant[i] and (not churn_severe[i] or not at_risk[i]):
            words.append("churn probability " + ("n/a" if churn[i] != churn[i] else probability_text(churn[i])))
        if not dormant[i] and (not fall_severe[i] or not at_risk[i]):
            words.append(f"year over year {_signed_pct(yoy[i])}")
        if frame.at[i, "second_look"]:
            words.append("worth a second look: " + frame.at[i, "second_look"])
        reasons.append("; ".join(words))
    frame["reasons"] = reasons
    frame["development_goals"] = development
    default_revenue = np.array([round(rules.tiers[k].min_revenue * GOAL_QUARTERS / YEAR, 2) for k in current])
    default_deals = np.array([int(math.ceil(rules.tiers[k].min_deals * GOAL_QUARTERS / YEAR)) for k in current])
    provisional = action == PROVISIONAL
    frame["revenue_goal"] = np.where(provisional, default_revenue, np.nan)
    frame["deals_goal"] = pd.array(np.where(provisional, default_deals, 0), dtype="Int64")
    frame.loc[~provisional, "deals_goal"] = pd.NA
    frame["default_revenue_goal"] = default_revenue
    frame["default_deals_goal"] = default_deals
    return frame


def recommendations(store: Store, as_of: str, rules: ProgramRules, threshold: float | None = None) -> pd.DataFrame:
    """Give the recommendation for every partner active in the review year to `as_of` (recommend on review_inputs).

    One call that the pages cache whole, keyed by the rules and threshold, so a rerun or a what-if
    already tried costs nothing.
    """
    return recommend(review_inputs(store, as_of, rules.review_lookback_quarters), rules, threshold)


def select_partners(recommendations: pd.DataFrame, selection: ChannelFilter) -> pd.DataFrame:
    """Give the recommendations of the partners in the selection's tiers, regions and distributors.

    A partner is judged by its tier, region and country at the review quarter and the latest distributor
    of its review year; the scope (a person's regions) narrows like regions; segments select revenue, not
    partners, so they do not narrow the review.
    """
    keep = np.ones(len(recommendations), dtype=bool)
    for column, values in (("tier", selection.tiers), ("region", selection.regions),
                           ("distributor", selection.distributors), ("region", selection.scope),
                           ("country", selection.countries)):
        if values and column in recommendations.columns:
            keep &= recommendations[column].isin(values).to_numpy()
        elif values:  # a country selection over recommendations without countries selects nobody
            keep &= False
    return recommendations[keep]


def record_edits(edits: dict[str, dict], shown: pd.DataFrame, edited_rows: Mapping) -> bool:
    """Fold a table editor's changes (by row position of `shown`) into `edits` by partner; tell whether any.

    `edits` maps partner_id to the chief's changes: decision, note, revenue_goal, deals_goal. A
    "grant" change (the provisional continuation tick) becomes the decision: ticked, provisional
    continuation; unticked, what the rules say otherwise (or the recommendation, for a partner the
    rules did not propose).
    """
    for position, change in edited_rows.items():
        row = shown.iloc[int(position)]
        mine = edits.setdefault(row["partner_id"], {})
        for column, value in change.items():
            if column == "grant":
                fallback = row["otherwise"] or row["recommendation"]
                mine["decision"] = PROVISIONAL if value else fallback
            else:
                mine[column] = value
    return bool(edited_rows)


def review_decisions(recommendations: pd.DataFrame, selection: ChannelFilter,
                     edits: Mapping[str, Mapping]) -> pd.DataFrame:
    """Give the decisions to show and save: the selection's recommendations with the chief's edits folded in.

    decision and note default to the recommendation and ""; a provisional continuation (recommended
    or the chief's) carries revised goals (the chief's, else the defaults), and any other decision
    none. `grant` tells whether a partner is on provisional continuation.
    """
    table = select_partners(recommendations, selection).copy()
    table["decision"] = table["recommendation"]
    table["note"] = ""
    if "incentive_plan" not in table:
        table["incentive_plan"] = ""
    for column in ("decision", "note", "revenue_goal", "deals_goal", "incentive_plan"):
        # A dict to map by, not a function called per partner: thousands of partners, a handful of edits.
        picked = {pid: edit[column] for pid, edit in edits.items() if edit.get(column) is not None}
        chosen = (table["partner_id"].map(picked) if picked
                  else pd.Series(None, index=table.index, dtype=object))
        if column == "deals_goal":
            chosen = pd.to_numeric(chosen, errors="coerce").astype("Int64")
        elif column == "revenue_goal":
            chosen = pd.to_numeric(chosen, errors="coerce")
        table[column] = chosen.where(chosen.notna(), table[column])
    granted = (table["decision"] == PROVISIONAL).to_numpy()
    table["grant"] = granted
    table["revenue_goal"] = np.where(granted, table["revenue_goal"].fillna(table["default_revenue_goal"]), np.nan)
    table["deals_goal"] = table["deals_goal"].fillna(pd.Series(table["default_deals_goal"], index=table.index)
                                                     .astype("Int64"))
    table.loc[~granted, "deals_goal"] = pd.NA
    decision = table["decision"]
    table["tier_after"] = np.select(
        [decision == "promote", decision == "demote", decision == "terminate"],
        [table["tier_up"], table["tier_down"], ""], default=table["tier_judged"]) if "tier_up" in table else ""
    return table


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


def decision_counts(decisions: pd.DataFrame) -> pd.DataFrame:
    """Give per action (in the order of ACTIONS) the partners recommended, decided, the difference, decided revenue.

    `decisions` is review_decisions' frame: recommendation is what the rules and model say, decision
    what stands after the chief's changes; share_decided is of every partner in `decisions`.
    """
    recommended = decisions["recommendation"].value_counts().reindex(ACTIONS, fill_value=0)
    decided = decisions["decision"].value_counts().reindex(ACTIONS, fill_value=0)
    revenue = decisions.groupby("decision")["revenue_trailing"].sum().reindex(ACTIONS, fill_value=0.0)
    out = pd.DataFrame({
        "action": ACTIONS,
        "recommended": recommended.astype(int).to_numpy(),
        "decided": decided.astype(int).to_numpy(),
        "revenue_trailing": revenue.astype(float).to_numpy(),
    })
    out["decided_minus_recommended"] = out["decided"] - out["recommended"]
    out["share_of_partners"] = out["decided"] / max(len(decisions), 1)
    return out


@dataclass(frozen=True)
class ReviewOut:
    """The terminations a review decides against the share of partners the program means to review out."""

    terminations: int
    partners: int
    target: float

    @property
    def share(self) -> float:
        return self.terminations / self.partners if self.partners else 0.0

    @property
    def over_target(self) -> bool:
        return self.share > self.target

    def describe(self) -> str:
        """Give the comparison in words: "878 of 6,383 partners (13.8 %) against the program's 10 %"."""
        return (f"{self.terminations:,} of {self.partners:,} partners ({self.share:.1%}) against the program's "
                f"{self.target:.0%}")


def review_out(decisions: pd.DataFrame, rules: ProgramRules) -> ReviewOut:
    """Give the review's decided terminations against the program's review_out_share (of partners reviewed)."""
    return ReviewOut(int((decisions["decision"] == "terminate").sum()), len(decisions), rules.review_out_share)


def compare_action_counts(program: pd.DataFrame, what_if: pd.DataFrame) -> pd.DataFrame:
    """Give per action the partners and revenue of the program beside a what-if's (both from action_counts)."""
    columns = ["action", "partners", "revenue_trailing"]
    return program[columns].merge(what_if[columns], on="action", suffixes=("", "_what_if"))


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
    frame["goal_quarters"] = span_after(as_of, GOAL_QUARTERS)
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


ON_TRACK, BEHIND, MET, MISSED = "on track", "behind", "met", "missed"


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
        else span_after(as_of, loaded) if loaded > 1
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


REVIEW_EXPORT_COLUMNS = [
    "partner_id", "tier", "revenue", "qualifies_for", "recommendation", "at_risk", "dormant", "last_order_quarter",
    "churn_probability", "turnaround_probability", "reasons", "second_look", "incentive_plan",
]


def review_export(recommendations: pd.DataFrame) -> pd.DataFrame:
    """Give the recommendations as the review command writes them: REVIEW_EXPORT_COLUMNS, flags as true/false.

    revenue is the review year's; a partner's missing tier is left empty.
    """
    out = recommendations.rename(columns={"revenue_trailing": "revenue"})[REVIEW_EXPORT_COLUMNS].copy()
    out["tier"] = out["tier"].where(out["tier"] != UNKNOWN)
    for flag in ("at_risk", "dormant"):
        out[flag] = np.where(out[flag].astype(bool), "true", "false")
    return out.sort_values("partner_id", kind="stable").reset_index(drop=True)
