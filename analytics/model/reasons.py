"""The reasons beside a score: which of a partner's figures move its probability most, in plain words.

Reasons compare each partner with the typical partner scored at the same quarter: per group of
features, the effect is how far the probability moves when the group is set to the typical value.
A reason is only given where the partner's own figure bears it out (on the risky side of the typical
partner for a reason that raises risk), and it is worded from the partner's own history with the
quarters it covers (describe), never naming a model.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import pandas as pd

from analytics.formatting import money, pct_magnitude, plural, probability_text
from analytics.model.features import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES, YEAR
from analytics.periods import quarter_span
from analytics.store.quarters import quarter_index, shift_quarter

__all__ = ["REASON_GROUPS", "MIN_CLASS_EXAMPLES", "describe", "effects", "agrees", "reasons", "reference",
           "region_evidence", "churn_fallback"]

# Fewer examples of a class than this and a comparison (or a classifier) tells nothing worth showing.
MIN_CLASS_EXAMPLES = 10


class Predicts(Protocol):
    """What the reasons need of a served scorer: the features it reads and its probabilities."""

    inputs: list[str]

    def predict(self, frame: pd.DataFrame) -> np.ndarray: ...


# Groups of features explained together, each with the sentence that says where a partner stands.
REASON_GROUPS: dict[str, list[str]] = {
    "revenue level": ["revenue_trailing_log"],
    "latest quarter": ["latest_quarter_ratio"],
    "half-year trend": ["half_year_trend"],
    "year over year": ["yoy_change"],
    "recency of orders": ["quarters_since_deal", "active_quarters"],
    "days since last order": ["days_since_order"],
    "order days": ["order_days_trailing"],
    "ordering pattern": ["btyd_churn", "btyd_expected_orders"],
    "deals": ["deals_trailing"],
    "customers": ["customers_trailing"],
    "product breadth": ["products_trailing"],
    "segment mix": ["smb_share", "enterprise_share"],
    "enterprise into SMB": ["enterprise_into_smb_share"],
    "tenure": ["tenure_quarters"],
    "tier": ["tier_rank", "tier_minimum_ratio"],
    "region": ["region"],
}
# Per group, the figure whose side of the typical partner's a reason must agree with, and +1 where a
# higher figure means more churn risk (-1: less). A reason that raises churn risk must show the
# partner on the risky side of a typical partner, one that lowers it on the safe side; for turnaround
# the sides swap. Segment mix has no risky side; region needs evidence instead (see region_evidence).
_RISK_SIDE: dict[str, tuple[str, int]] = {
    "revenue level": ("revenue_trailing_log", -1),
    "latest quarter": ("latest_quarter_ratio", -1),
    "half-year trend": ("half_year_trend", -1),
    "year over year": ("yoy_change", -1),
    "recency of orders": ("quarters_since_deal", +1),
    "days since last order": ("days_since_order", +1),
    "order days": ("order_days_trailing", -1),
    "ordering pattern": ("btyd_churn", +1),
    "deals": ("deals_trailing", -1),
    "customers": ("customers_trailing", -1),
    "product breadth": ("products_trailing", -1),
    "enterprise into SMB": ("enterprise_into_smb_share", +1),
    "tenure": ("tenure_quarters", -1),
    "tier": ("tier_minimum_ratio", -1),
}
# A region's churn (or turnaround) rate in the training data must differ from the other regions' by
# this many standard errors before the region is given as a reason.
_REGION_EVIDENCE_Z = 3.0


def _part(share: float) -> str:
    """Give a part of a whole in words: "none", "all", else as _pct ("23 %")."""
    return "none" if share <= 0 else "all" if share >= 1 else pct_magnitude(share)


def _change(value: float, now: str, before: str) -> str:
    """Give a change in revenue between two named periods ("revenue down 62 % in 2026Q2–2026Q3 against ...")."""
    if pd.isna(value):  # NaN: nothing (or only credits) to compare with
        return f"no revenue in {before} to compare {now} with"
    if value <= -1:
        return f"no revenue in {now}, against some in {before}"
    if value >= 5:
        return f"revenue 6 times or more as high in {now} as in {before}"
    if value >= 0.995:
        return f"revenue {1 + value:.1f} times as high in {now} as in {before}"
    if abs(value) < 0.005:
        return f"revenue about the same in {now} as in {before}"
    direction = "down" if value < 0 else "up"
    return f"revenue {direction} {pct_magnitude(value)} in {now} against {before}"


def _year(quarter: str) -> str:
    """Give the 4 quarters to `quarter` as a period ("2025Q4–2026Q3")."""
    return quarter_span(shift_quarter(quarter, -YEAR + 1), quarter)


def _silence(row: dict) -> str:
    """Give a partner's quarters without an order against what it ordered before, from its own history.

    "no order in 2026Q3 after 11 quarters with orders (2023Q4–2026Q2), averaging $725.18k a quarter".
    """
    quarter, quiet = row["quarter"], int(row["quarters_since_deal"])
    gap = quarter_span(shift_quarter(quarter, -quiet + 1), quarter)
    first, before = row["first_order_quarter"], shift_quarter(quarter, -quiet)
    ordered = int(row["quarters_with_orders"])
    spanned = quarter_index(before) - quarter_index(first) + 1
    average = money(row["revenue_to_date"] / ordered) if ordered else money(0.0)
    if ordered == spanned:
        return (f"no order in {gap} after {plural(ordered, 'quarter', thousands=False)} with orders "
                f"({quarter_span(first, before)}), "
                f"averaging {average} a quarter")
    return (f"no order in {gap}; before, orders in {ordered} of the {spanned} quarters {quarter_span(first, before)}, "
            f"averaging {average} in a quarter with orders")


def describe(group: str, row: dict) -> str:
    """Give where a partner stands on one reason group, in plain words from its own history and periods.

    `row` is the partner's row of analytics.model.features.features_at (its figures and context). The
    words name the quarters they speak of and never a model: "revenue down 62 % in 2026Q2–2026Q3
    against 2025Q2–2025Q3", "no order in 2026Q3 after 11 quarters with orders (2023Q4–2026Q2), averaging
    $410.00k a quarter".
    """
    quarter = row["quarter"]
    year = _year(quarter)
    if group == "revenue level":
        return f"revenue {money(row['revenue_trailing'])} in {year}"
    if group == "latest quarter":
        ratio = row["latest_quarter_ratio"]
        if pd.isna(ratio):
            return f"no positive revenue in {year}"
        if ratio <= 0:
            if row["quarters_since_deal"] >= 1:
                return _silence(row)
            return f"net revenue {money(row['revenue_latest'])} in {quarter}: credits outweigh its orders"
        average = money(row["revenue_trailing"] / YEAR)
        if abs(ratio - 1) < 0.005:
            return f"revenue in {quarter} about its quarterly average of {average} in {year}"
        if ratio >= 1.995:
            return f"revenue in {quarter} {ratio:.1f} times its quarterly average of {average} in {year}"
        if ratio < 1:
            return f"revenue in {quarter} {pct_magnitude(1 - ratio)} below its quarterly average of {average} in {year}"
        return f"revenue in {quarter} {pct_magnitude(ratio - 1)} above its quarterly average of {average} in {year}"
    if group == "half-year trend":
        return _change(row["half_year_trend"], quarter_span(shift_quarter(quarter, -1), quarter),
                       quarter_span(shift_quarter(quarter, -3), shift_quarter(quarter, -2)))
    if group == "year over year":
        return _change(row["yoy_change"], quarter_span(shift_quarter(quarter, -1), quarter),
                       quarter_span(shift_quarter(quarter, -5), shift_quarter(quarter, -4)))
    if group == "recency of orders":
        if int(row["quarters_since_deal"]) == 0:
            return f"orders in {quarter}, and in {int(row['active_quarters'])} of the 4 quarters {year}"
        return _silence(row)
    if group in ("days since last order", "ordering pattern"):
        # The ordering pattern (the BG/NBD chance of no order ahead) is read from how often the partner
        # ordered and how long ago it last did: those figures are the reason, not the model's name.
        days = row["days_since_order"]
        if pd.isna(days):
            return "no order day on record"
        if group == "days since last order":
            return f"last order {plural(days, 'day', thousands=False)} before the end of {quarter}"
        since = f"none in the {plural(days, 'day', thousands=False)} to the end of {quarter}" if days >= 1 else \
            f"the latest on the last day of {quarter}"
        if pd.isna(row["order_days_trailing"]):  # less than a year of data: no year's count to give
            return since
        return f"orders on {plural(row['order_days_trailing'], 'day', thousands=False)} in {year}, {since}"
    if group in ("order days", "deals", "customers") and pd.isna(row[_RISK_SIDE[group][0]]):
        return f"{group} over less than a year of data"
    if group == "order days":
        return f"orders on {plural(row['order_days_trailing'], 'day', thousands=False)} in {year}"
    if group == "deals":
        return f"{plural(row['deals_trailing'], 'deal', thousands=False)} in {year}"
    if group == "customers":
        return f"{plural(row['customers_trailing'], 'customer', thousands=False)} in {year}"
    if group == "product breadth":
        return f"sells {plural(row['products_trailing'], 'product', thousands=False)} ({year})"
    if group == "segment mix":
        smb, enterprise = row["smb_share"], row["enterprise_share"]
        if smb <= 0 and enterprise <= 0:
            return f"no revenue from SMB or enterprise customers in {year}"
        return f"{_part(smb)} of its revenue from SMB, {_part(enterprise)} from enterprise customers ({year})"
    if group == "enterprise into SMB":
        return (f"{_part(row['enterprise_into_smb_share'])} of its revenue is enterprise products sold to SMB "
                f"customers ({year})")
    if group == "tenure":
        tenure = int(row["tenure_quarters"])
        if tenure >= YEAR:
            return f"first order in {row['first_order_quarter']}, a year or more before {quarter}"
        return (f"a partner for only {plural(tenure, 'quarter', thousands=False)} "
                f"(first order in {row['first_order_quarter']})")
    if group == "tier":
        ratio = row["tier_minimum_ratio"]
        if pd.isna(ratio):
            return f"tier {row['tier']}"
        if ratio < 0:
            return f"tier {row['tier']}, revenue in {year} {pct_magnitude(2 ** ratio)} of the tier's minimum"
        return f"tier {row['tier']}, revenue in {year} {2 ** ratio:.1f}x the tier's minimum"
    if group == "region":
        return f"region {row['region']}"
    raise ValueError(f"Unknown reason group {group!r}")


# What describe() reads of a partner's row.
_DESCRIBED = list(dict.fromkeys([*FEATURES, "revenue_trailing", "tier", "region", "quarter", "revenue_latest",
                                  "quarters_with_orders", "revenue_to_date", "first_order_quarter"]))


def effects(scorer: Predicts, frame: pd.DataFrame, reference: dict, predicted: np.ndarray) -> pd.DataFrame:
    """Give, per partner and reason group, how much the group moves the probability from the typical value.

    effect = p(partner) - p(partner with that group set to the typical partner's value at the scoring
    cutoff): positive means the partner's own value raises the probability. `predicted` is p(partner),
    which the caller has already computed for the score itself.
    """
    groups = [g for g, columns in REASON_GROUPS.items() if set(columns) & set(scorer.inputs)]
    # One prediction per group over the features alone: a copy of the whole frame per group, predicted
    # at once, took half a gigabyte at ten times the demo; scoring the demo stays about 1.3 s either way.
    inputs = frame[FEATURES]
    effects = {g: np.zeros(len(frame)) for g in REASON_GROUPS}
    for group in groups:
        effects[group] = predicted - scorer.predict(inputs.assign(**{c: reference[c] for c in REASON_GROUPS[group]}))
    return pd.DataFrame(effects, index=frame.index)


def agrees(effects: pd.DataFrame, frame: pd.DataFrame, reference: dict, direction: int,
            region_evidence: dict[str, int]) -> np.ndarray:
    """Tell, per partner and group, whether a reason in `direction` (+1: raises churn risk) fits the partner's figures.

    The partner must be on that side of the typical partner, and a few figures never count for less
    risk at all: one deal or none, no revenue in the latest quarter, no order in the latest quarter.
    """
    ok = np.ones(effects.shape, dtype=bool)
    for j, group in enumerate(effects.columns):
        if group in _RISK_SIDE:
            column, risk = _RISK_SIDE[group]
            value = frame[column].to_numpy(dtype=float)
            ok[:, j] = np.sign(value - reference[column]) * risk == direction  # NaN compares as neither side
        elif group == "region":
            ok[:, j] = frame["region"].map(region_evidence).fillna(0).to_numpy() == direction
    if direction < 0:
        columns = list(effects.columns)
        ok[:, columns.index("deals")] &= frame["deals_trailing"].to_numpy(dtype=float) >= 2
        ok[:, columns.index("latest quarter")] &= frame["latest_quarter_ratio"].to_numpy(dtype=float) > 0
        ordered_lately = frame["quarters_since_deal"].to_numpy(dtype=float) == 0
        ok[:, columns.index("recency of orders")] &= ordered_lately
        ok[:, columns.index("days since last order")] &= ordered_lately
    return ok


def reasons(effects: pd.DataFrame, frame: pd.DataFrame, sign: int, agrees: np.ndarray,
             fallback: np.ndarray | None = None, fallback_text: str = "", top: int = 3,
             floor: float = 0.01) -> list[str]:
    """Give each partner's reasons in direction `sign`: the groups moving its probability most, borne out.

    Where `fallback` is set and no group passes the floor, the group with the largest effect among those
    the figures bear out is named; failing that, `fallback_text`.
    """
    signed = effects.to_numpy() * sign
    groups = np.array(effects.columns)
    usable = np.where(agrees, signed, -np.inf)
    order = np.argsort(-usable, axis=1, kind="stable")[:, :top]
    out = []
    for i, row in enumerate(frame[_DESCRIBED].to_dict("records")):
        chosen: list[str] = []
        for j in order[i]:
            said = describe(groups[j], row) if usable[i, j] >= floor else ""
            # Two groups can tell the same fact (an empty latest quarter is also the latest order's recency).
            if said and not any(said in other or other in said for other in chosen):
                chosen.append(said)
        if not chosen and fallback is not None and fallback[i]:
            best = order[i, 0]
            chosen = [describe(groups[best], row)] if np.isfinite(usable[i, best]) else [fallback_text]
        out.append("; ".join(chosen))
    return out


def reference(frame: pd.DataFrame) -> dict:
    """Give the typical partner of a frame: each numeric feature's median, each category's most common value."""
    ref = {c: float(frame[c].median()) for c in NUMERIC_FEATURES}
    for c in CATEGORICAL_FEATURES:
        ref[c] = frame[c].mode().iloc[0] if len(frame) else "Unknown"
    return ref


def region_evidence(examples: pd.DataFrame, target: str) -> dict[str, int]:
    """Give +1 / -1 for each region whose rate of `target` in the training data is clearly above / below the rest's.

    A two-proportion z test against the other regions' partners; regions within _REGION_EVIDENCE_Z
    standard errors get 0 and are never a reason, however the model uses them.
    """
    evidence = {}
    y = examples[target].to_numpy(dtype=float)
    for region, inside in examples.groupby("region").indices.items():
        mask = np.zeros(len(y), dtype=bool)
        mask[inside] = True
        n1, n2 = mask.sum(), (~mask).sum()
        if n1 < MIN_CLASS_EXAMPLES or n2 < MIN_CLASS_EXAMPLES:
            evidence[region] = 0
            continue
        p1, p2, pooled = y[mask].mean(), y[~mask].mean(), y.mean()
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) or float("inf")
        z = (p1 - p2) / se
        evidence[region] = int(np.sign(z)) if abs(z) >= _REGION_EVIDENCE_Z else 0
    return evidence


def churn_fallback(rate: float | None, span: str, churn_share: float, horizon: int, typical_no_order: float) -> str:
    """Give the reason for a likely churner whose own figures bear out no single reason: how common churn is."""
    if rate is not None:
        return (f"churn is common: {pct_magnitude(rate)} of the partners at {span} stopped or fell below "
                f"{churn_share:.0%} of their revenue within {plural(horizon, 'quarter', thousands=False)}")
    return (f"most partners here order seldom: from how often they ordered, the typical one has a "
            f"{probability_text(typical_no_order)} chance of no order in the next "
            f"{plural(horizon, 'quarter', thousands=False)}")
