"""The review's table to work in: the decisions narrowed by action, tier, region and flag, in an order that stays.

The Annual review page shows thousands of partners; a chief works through them a slice at a time
("the terminations in EMEA", "what I changed", "the ones worth a second look"). The narrowing and the
order are decided here, so the page only renders them and the order survives every rerun.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["FLAGS", "ORDERS", "narrow_decisions", "order_decisions", "flag_words"]

# What a chief can narrow the table to, by what marks a partner (see analytics.review.decisions.recommend).
FLAGS: Mapping[str, str] = {
    "at risk": "kept in its tier, but its churn probability or recent fall is severe",
    "dormant": "no order in the review year",
    "worth a second look": "a recommended termination the chief would question",
    "differs from the recommendation": "the decision is not what the rules and model recommend",
    "changed by me": "changed in this draft of the review (a decision, note or goal)",
}
# Orders a person can keep while working: column, ascending, and the partner id to break ties the same way each run.
ORDERS: Mapping[str, tuple[str, bool]] = {
    "Review year revenue, largest first": ("revenue_trailing", False),
    "Churn probability, highest first": ("churn_probability", False),
    "Turnaround probability, highest first": ("turnaround_probability", False),
    "Change year over year, largest fall first": ("yoy_change", True),
    "Partner id": ("partner_id", True),
    "Partner name": ("partner_name", True),
}


def narrow_decisions(
    decisions: pd.DataFrame,
    actions: Sequence[str] = (),
    tiers: Sequence[str] = (),
    regions: Sequence[str] = (),
    flags: Sequence[str] = (),
    changed: Collection[str] = (),
) -> pd.DataFrame:
    """Give the decisions with the given decisions (actions), recorded tiers and regions, and every flag given.

    An empty choice keeps all; flags are names of FLAGS and must all hold; `changed` holds the partner
    ids the person changed (for "changed by me"). Raises ValueError for an unknown flag.
    """
    unknown = [f for f in flags if f not in FLAGS]
    if unknown:
        raise ValueError(f"Unknown flag(s) {', '.join(unknown)}; choose from {', '.join(FLAGS)}")
    keep = np.ones(len(decisions), dtype=bool)
    for column, values in (("decision", actions), ("tier", tiers), ("region", regions)):
        if values:
            keep &= decisions[column].isin(values).to_numpy()
    marks = {
        "at risk": lambda: decisions["at_risk"].fillna(False).astype(bool).to_numpy(),
        "dormant": lambda: decisions["dormant"].fillna(False).astype(bool).to_numpy(),
        "worth a second look": lambda: (decisions["second_look"].fillna("") != "").to_numpy(),
        "differs from the recommendation": lambda: (decisions["decision"] != decisions["recommendation"]).to_numpy(),
        "changed by me": lambda: decisions["partner_id"].isin(list(changed)).to_numpy(),
    }
    for flag in flags:
        keep &= marks[flag]()
    return decisions[keep]


def order_decisions(decisions: pd.DataFrame, order: str) -> pd.DataFrame:
    """Give the decisions in one of ORDERS (missing figures last, ties by partner id); ValueError for another."""
    if order not in ORDERS:
        raise ValueError(f"Unknown order {order!r}; choose from {', '.join(ORDERS)}")
    column, ascending = ORDERS[order]
    by = [column] if column == "partner_id" else [column, "partner_id"]
    return decisions.sort_values(by, ascending=[ascending] + [True] * (len(by) - 1), na_position="last",
                                 kind="stable")


def flag_words(decisions: pd.DataFrame) -> pd.Series:
    """Give per partner what marks it, in words ("dormant, worth a second look"), "" for none."""
    marks = {
        "at risk": decisions["at_risk"].fillna(False).astype(bool),
        "dormant": decisions["dormant"].fillna(False).astype(bool),
        "worth a second look": decisions["second_look"].fillna("") != "",
    }
    words = pd.Series("", index=decisions.index, dtype=object)
    for name, mask in marks.items():
        words = words.where(~mask, words.where(words == "", words + ", ") + name)
    return words
