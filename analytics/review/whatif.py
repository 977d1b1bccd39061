"""The review's what-if: which partners other program rules would move, and amounts typed as money.

A what-if is the program's recommendations made again under other minimums or another threshold
(analytics.review.decisions.recommendations). Counts alone hide who moves; `partners_who_move` names
them, with what the program says and what the what-if says, so a chief can see the cost of a rule.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analytics.program.rules import ProgramRules
from analytics.review.actions import ACTIONS
from analytics.review.regional import currency_symbol, money_exact_in

__all__ = ["MOVE_COLUMNS", "outcome", "partners_who_move", "parse_money", "rule_changes"]

# What a row of the movers' list holds: who, the figures the rules judge, the two outcomes, why.
MOVE_COLUMNS = [
    "partner_id", "partner_name", "tier", "revenue_trailing", "deals_trailing", "customers_trailing",
    "churn_probability", "turnaround_probability", "program_says", "what_if_says", "recommendation",
    "recommendation_what_if", "reasons", "program_reasons",
]
_NEEDED = ["partner_id", "partner_name", "tier", "revenue_trailing", "deals_trailing", "customers_trailing",
           "churn_probability", "turnaround_probability", "recommendation", "qualifies_for", "revenue_meets",
           "reasons"]


def outcome(recommendations: pd.DataFrame) -> pd.Series:
    """Give each partner's recommendation in words with the tier it leads to ("promote to Gold", "demote to Bronze").

    A promotion goes to the highest tier whose every minimum is met, a demotion to the highest tier
    the revenue meets (analytics.review.decisions.recommend); other actions keep the tier or end it.
    """
    action = recommendations["recommendation"].astype(str)
    to = np.select([action == "promote", action == "demote"],
                   [recommendations["qualifies_for"].astype(str), recommendations["revenue_meets"].astype(str)],
                   default="")
    return pd.Series(np.where(to != "", action + " to " + to, action), index=recommendations.index)


def partners_who_move(program: pd.DataFrame, what_if: pd.DataFrame) -> pd.DataFrame:
    """Give the partners whose recommendation (or the tier it leads to) differs between the program and a what-if.

    Both frames come from analytics.review.decisions.recommendations (or recommend) over the same
    partners. Columns are MOVE_COLUMNS: the partner's recorded tier and review-year figures, the
    program's outcome (`program_says`) and the what-if's (`what_if_says`), the bare actions, the
    what-if's reasons (`reasons`: why the partner moves) and the program's (`program_reasons`).
    Rows run in the order of the program's action (ACTIONS), then by revenue, largest first.
    Raises ValueError naming the frame and the column that is missing.
    """
    for name, frame in (("program", program), ("what-if", what_if)):
        missing = [c for c in _NEEDED if c not in frame.columns]
        if missing:
            raise ValueError(f"Required column(s) {', '.join(missing)} missing from the {name}'s recommendations")
    left = program[_NEEDED].rename(columns={"reasons": "program_reasons"}).assign(program_says=outcome(program))
    right = what_if[["partner_id", "recommendation", "reasons"]].assign(what_if_says=outcome(what_if))
    both = left.merge(right, on="partner_id", how="inner", suffixes=("", "_what_if"), validate="one_to_one")
    moved = both[both["program_says"] != both["what_if_says"]].copy()
    moved["_order"] = moved["recommendation"].map({a: i for i, a in enumerate(ACTIONS)})
    moved = moved.sort_values(["_order", "revenue_trailing", "partner_id"], ascending=[True, False, True],
                              kind="stable")
    return moved[MOVE_COLUMNS].reset_index(drop=True)


_AMOUNT = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>[kmb]?)")
_UNITS = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}


def parse_money(text: str, what: str, currency: str = "USD") -> float:
    """Give the amount a person typed ("$650,000", "650000", "650k", "$1.5M"; "A$975k" or "AUD 975,000" in AUD).

    `currency` is the program's: its sign ("A$") or its code may lead or trail the amount. Raises ValueError
    naming `what` and the text when it is not an amount of at least 0.
    """
    cleaned = re.sub(r"[\s,_]", "", str(text)).lower()
    for mark in (currency.lower(), (currency_symbol(currency) or "").lower()):
        if mark and mark != "$":
            cleaned = cleaned.removeprefix(mark).removesuffix(mark)
    cleaned = cleaned.replace("$", "")
    found = _AMOUNT.fullmatch(cleaned)
    if not found:
        example = f"{money_exact_in(650_000, currency)} or 650k"
        raise ValueError(f"{what}: {str(text)!r} is not an amount of money of at least 0 (like {example})")
    return round(float(found["number"]) * _UNITS[found["unit"]], 2)


def rule_changes(program: ProgramRules, what_if: ProgramRules, currency: str = "USD") -> list[str]:
    """Give what a what-if changes in the program's terms, in words ("Gold minimum revenue $650,000 → $700,000").

    Amounts are in `currency`, the program's ("Gold minimum revenue A$975,000 → A$1,000,000").
    """
    changes = []
    for before, after in zip(program.tiers, what_if.tiers, strict=True):
        if before.min_revenue != after.min_revenue:
            changes.append(f"{before.name} minimum revenue {money_exact_in(before.min_revenue, currency)} → "
                           f"{money_exact_in(after.min_revenue, currency)}")
        for what in ("deals", "customers"):
            old, new = getattr(before, f"min_{what}"), getattr(after, f"min_{what}")
            if old != new:
                changes.append(f"{before.name} minimum {what} {old} → {new}")
    if program.provisional_threshold != what_if.provisional_threshold:
        changes.append(f"provisional continuation from a turnaround probability of "
                       f"{program.provisional_threshold:.0%} → {what_if.provisional_threshold:.0%}")
    return changes
