"""The review's reasons in words: the sentences that say why each partner gets its recommended action."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analytics.formatting import money, pct, plural, probability_text
from analytics.program.rules import ProgramRules
from analytics.review.inputs import LATEST_RUN

if TYPE_CHECKING:  # decisions words its verdicts with this module: at run time the import would go in a circle
    from analytics.review.decisions import Verdicts

__all__ = ["second_looks", "reasons_in_words"]


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


def _dormant_words(row: pd.Series) -> str:
    """Give why a partner without orders in the review year is reviewed: since when nothing, what it sold before."""
    words = f"no order in the review year (last order in {row['last_order_quarter']})"
    before = row.get("revenue_year_before")
    if before is not None and not pd.isna(before) and before != 0:
        active = int(row.get("active_quarters_year_before") or 0)
        words += (f", after {money(before)} in the year before, with orders in {active} of its 4 quarters"
                  if active else f", after {money(before)} in the year before")
    return words


def second_looks(frame: pd.DataFrame, action: np.ndarray, churn: np.ndarray, recovery: np.ndarray,
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


def reasons_in_words(frame: pd.DataFrame, verdicts: Verdicts, rules: ProgramRules,
                     threshold: float) -> tuple[list[str], list[str]]:
    """Give per partner its reasons and its development goals in words, from what `decide` found.

    `frame` is the review's inputs (rows 0..n-1) with second_look; every reason names the figures it
    rests on: revenue against the minimum, deals, customers, churn probability, change year over year.
    """
    v = verdicts
    names = list(rules.tier_names)
    none = len(names)
    reasons, development = [], []
    for i in range(len(frame)):
        tier = rules.tiers[v.current[i]]
        words = []
        if v.dormant[i]:
            # Nothing this year: what it sold before and since when is the whole story; no model scores it.
            words.append(_dormant_words(frame.iloc[i]))
        if v.missed[i] or v.met[i]:
            outcome = "missed" if v.missed[i] else "met"
            words.append(f"{outcome} the revised goals of review {frame.at[i, 'previous_review']}: "
                         f"{frame.at[i, 'previous_goal_words']}"
                         + (" (kept in its tier)" if v.met[i] and v.action[i] == "retain" else ""))
        if v.terminated_before[i]:
            words.append(f"terminated in review {frame.at[i, 'previous_review']} and still ordering: "
                         f"{money(v.revenue[i])} in the review year")
        if v.action[i] == "promote":
            up = rules.tiers[v.every[i]]
            words.append(f"meets every {up.name} minimum: revenue {money(v.revenue[i])} ≥ {money(up.min_revenue)}, "
                         f"{plural(v.deals[i], 'deal')} ≥ {up.min_deals}"
                         + (f", {plural(v.customers[i], 'customer')} ≥ {up.min_customers}"
                            if v.use_customers else ""))
        elif v.holds[i]:
            words.append(f"revenue {money(v.revenue[i])} meets {tier.name}'s minimum {money(tier.min_revenue)}")
            if v.every[i] < v.current[i]:
                words.append(f"meets every {names[v.every[i]]} minimum but not promoted while at risk")
        else:
            meets = (f"meets {names[v.by_revenue[i]]}'s {money(rules.tiers[v.by_revenue[i]].min_revenue)}"
                     if v.by_revenue[i] < none else "meets no tier's minimum")
            words.append(f"short of {tier.name}: revenue {money(v.revenue[i])} < {money(tier.min_revenue)} ({meets})")
        goals = ""
        if v.action[i] in ("retain", "demote") and (v.holds[i] or v.action[i] == "demote"):
            goals = _development_goals(v.deals[i], v.customers[i], rules.tiers[v.kept[i]], v.use_customers)
        development.append(goals)
        if v.action[i] != "promote" and not v.dormant[i]:
            words.append(f"{plural(v.deals[i], 'deal')}" + (f", {plural(v.customers[i], 'customer')}"
                                                            if v.use_customers else ""))
        if goals:
            words.append(f"development goals for {names[v.kept[i]]}: {goals}")
        if not v.holds[i] and not (v.missed[i] or v.met[i]):  # last review's goals decided it, not the model
            if v.nursery[i]:
                words.append(f"in the nursery ({int(v.tenure[i])} of {rules.nursery_quarters} quarters)")
            elif v.has_turnaround[i]:
                words.append(f"turnaround probability {probability_text(v.recovery[i])} "
                             f"(threshold {pct(threshold)})")
            elif v.dormant[i]:
                pass
            else:
                words.append("no turnaround probability (revenue has not fallen): the rules decide")
        if v.at_risk[i]:
            risks = []
            if v.churn_severe[i]:
                risks.append(f"churn probability {probability_text(v.churn[i])} (≥ {pct(rules.at_risk_churn)})")
            if v.latest_severe[i]:
                risks.append(f"latest quarter {money(v.latest[i])}, {pct(max(v.latest_share[i], 0.0))} of its "
                             f"quarterly average after orders in each of the {LATEST_RUN} quarters before")
            if v.fall_severe[i]:
                risks.append(f"year over year {_signed_pct(v.yoy[i])} (a fall of {pct(rules.at_risk_fall)} or more)")
            words.append("at risk: " + ", ".join(risks))
        if not v.dormant[i] and (not v.churn_severe[i] or not v.at_risk[i]):
            words.append("churn probability " + ("n/a" if v.churn[i] != v.churn[i] else probability_text(v.churn[i])))
        if not v.dormant[i] and (not v.fall_severe[i] or not v.at_risk[i]):
            words.append(f"year over year {_signed_pct(v.yoy[i])}")
        if frame.at[i, "second_look"]:
            words.append("worth a second look: " + frame.at[i, "second_look"])
        reasons.append("; ".join(words))
    return reasons, development
