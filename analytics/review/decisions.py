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

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.filters import ChannelFilter
from analytics.model.features import UNKNOWN, YEAR
from analytics.program.rules import ProgramRules, TierRule
from analytics.review.actions import ACTIONS, GOAL_QUARTERS, MET, MISSED, PROVISIONAL
from analytics.review.incentives import SEGMENT_COLUMNS, recommended_incentives, segment_shares
from analytics.review.inputs import LATEST_RUN, review_inputs
from analytics.review.wording import reasons_in_words, second_looks
from analytics.store.store import Store

__all__ = [
    "meets_tier_minimums",
    "qualifying_tier",
    "Verdicts",
    "decide",
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
    "review_export",
]


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


def _column(frame: pd.DataFrame, name: str, default: object) -> np.ndarray:
    """Give a column of `frame` as an array, or `default` for every row when the frame has none (hand-made inputs)."""
    return frame[name].to_numpy() if name in frame.columns else np.full(len(frame), default)


@dataclass(frozen=True)
class Verdicts:
    """Which action each partner gets and every fact that decided it, as data: one array per fact, a row per partner.

    Tier ranks index rules.tiers (0 the highest; len(rules.tiers) means no tier): `current` is the
    tier a partner is judged in, `every` the highest whose every minimum it meets, `by_revenue` the
    highest its revenue alone meets, `down_to` a tier lower than its own, `kept` the tier it holds
    after the review. The flags say why: `holds` (revenue meets its tier), `nursery`, `missed` / `met`
    (last review's revised goals), `terminated_before`, `dormant`, the three severities behind
    `at_risk`. The figures are the inputs' as arrays; analytics.review.wording puts them in sentences.
    """

    use_customers: bool
    current: np.ndarray
    every: np.ndarray
    by_revenue: np.ndarray
    down_to: np.ndarray
    kept: np.ndarray
    action: np.ndarray
    holds: np.ndarray
    nursery: np.ndarray
    missed: np.ndarray
    met: np.ndarray
    terminated_before: np.ndarray
    dormant: np.ndarray
    at_risk: np.ndarray
    churn_severe: np.ndarray
    fall_severe: np.ndarray
    latest_severe: np.ndarray
    has_turnaround: np.ndarray
    revenue: np.ndarray
    latest: np.ndarray
    latest_share: np.ndarray
    deals: np.ndarray
    customers: np.ndarray
    tenure: np.ndarray
    yoy: np.ndarray
    churn: np.ndarray
    recovery: np.ndarray


def decide(frame: pd.DataFrame, rules: ProgramRules, threshold: float) -> Verdicts:
    """Give each partner of `frame` (review_inputs, rows 0..n-1) its action under `rules` and why, as data.

    `threshold` is the recovery chance from which an underperformer gets provisional continuation.
    """
    use_customers = bool((frame["customers_trailing"] > 0).any())
    names = list(rules.tier_names)
    none, lowest = len(names), len(names) - 1
    every, by_revenue = _ranks(frame, rules, use_customers)
    current = np.array([names.index(t) if t in names else -1 for t in frame["tier"]])
    # A partner with no known tier is judged against the tier its revenue meets (or the lowest when none).
    current = np.where(current < 0, np.minimum(by_revenue, lowest), current)

    revenue = frame["revenue_trailing"].to_numpy(dtype=float)
    latest = frame["revenue_latest"].to_numpy(dtype=float)
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
    return Verdicts(
        use_customers=use_customers, current=current, every=every, by_revenue=by_revenue, down_to=down_to,
        kept=np.where(action == "demote", np.minimum(down_to, lowest), current),  # the tier held after the review
        action=action, holds=holds, nursery=nursery, missed=missed, met=met,
        terminated_before=(_column(frame, "previous_decision", None) == "terminate") & (revenue > 0),
        dormant=_column(frame, "dormant", False).astype(bool), at_risk=severe & (action != "terminate"),
        churn_severe=churn_severe, fall_severe=fall_severe, latest_severe=latest_severe,
        has_turnaround=has_turnaround, revenue=revenue, latest=latest, latest_share=latest_share,
        deals=frame["deals_trailing"].to_numpy(dtype=float),
        customers=frame["customers_trailing"].to_numpy(dtype=float),
        tenure=tenure, yoy=yoy, churn=churn, recovery=recovery,
    )


def recommend(inputs: pd.DataFrame, rules: ProgramRules, threshold: float | None = None) -> pd.DataFrame:
    """Give `inputs` (review_inputs) with qualifies_for, revenue_meets, recommendation, at_risk, reasons and goals.

    qualifies_for is the highest tier whose every minimum the partner meets, revenue_meets the highest
    its revenue alone meets ("none" for neither). `threshold` (default: the rules') is the recovery
    chance from which an underperformer gets provisional continuation; `otherwise` is what a
    provisional candidate gets if not picked. development_goals names the counts a kept partner lacks
    for its tier. revenue_goal / deals_goal are the revised goals of a recommended provisional
    continuation; default_revenue_goal / default_deals_goal are those a chief's own provisional
    continuation starts from (half the current tier's yearly minimums). Customer minimums are ignored
    when the data hold no customers at all (an extract without them). The action is decided by
    `decide`, its reasons are worded by analytics.review.wording.
    """
    threshold = rules.provisional_threshold if threshold is None else threshold
    frame = inputs.reset_index(drop=True).copy()
    verdicts = decide(frame, rules, threshold)
    names = list(rules.tier_names)
    none, lowest = len(names), len(names) - 1
    action, current, every, by_revenue = verdicts.action, verdicts.current, verdicts.every, verdicts.by_revenue
    frame["terminated_before"] = verdicts.terminated_before
    frame["second_look"] = second_looks(frame, action, verdicts.churn, verdicts.recovery, threshold, rules)
    if set(SEGMENT_COLUMNS.values()) <= set(frame.columns):
        frame = pd.concat([frame, segment_shares(frame)], axis=1)
        frame["incentive_plan"] = recommended_incentives(frame, rules)
    else:  # hand-made inputs without segment figures
        frame["incentive_plan"] = ""
    # The tier a partner holds after each decision a chief may take: judged in (kept), one up, one down.
    frame["tier_judged"] = [names[k] for k in current]
    frame["tier_up"] = [names[min(every[i], max(current[i] - 1, 0))] for i in range(len(frame))]
    frame["tier_down"] = [names[min(verdicts.down_to[i], lowest)] for i in range(len(frame))]
    frame["qualifies_for"] = [names[q] if q < none else "none" for q in every]
    frame["revenue_meets"] = [names[q] if q < none else "none" for q in by_revenue]
    frame["recommendation"] = action
    frame["at_risk"] = verdicts.at_risk
    frame["otherwise"] = np.where(action == PROVISIONAL, np.where(by_revenue == none, "terminate", "demote"), "")
    frame["reasons"], frame["development_goals"] = reasons_in_words(frame, verdicts, rules, threshold)
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
