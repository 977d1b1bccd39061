"""Each partner's segment focus over the review year and the incentive plan the program gives for it.

The vendor aligns compensation with each partner's strengths: a partner that sells mostly into small
and midsize businesses gets incentives to drive more sales there, while enterprise sales earn a flat
rebate. The plans, their segments and shares are the program's (data/program.toml, [incentives]).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.program.rules import SEGMENTS, ProgramRules

__all__ = ["SEGMENT_COLUMNS", "segment_shares", "recommended_incentives"]

# The review year's revenue per customer segment, as review_inputs gives it (analytics.review.inputs).
SEGMENT_COLUMNS = {"SMB": "revenue_smb", "Mid-market": "revenue_mid_market", "Enterprise": "revenue_enterprise"}


def segment_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """Give per partner each segment's share of its revenue with a known segment (NaN for a partner with none).

    Shares are of the revenue whose lines name a segment (positive totals only): a partner whose lines
    carry no segment, or only credits, has no focus.
    """
    revenue = frame[list(SEGMENT_COLUMNS.values())].to_numpy(dtype=float).clip(min=0)
    known = revenue.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(known[:, None] > 0, revenue / known[:, None], np.nan)
    return pd.DataFrame(shares, columns=[f"{name}_share" for name in SEGMENT_COLUMNS.values()], index=frame.index)


def recommended_incentives(frame: pd.DataFrame, rules: ProgramRules) -> pd.Series:
    """Give per partner the program's incentive plan for its segment focus ("" for a partner without segment data).

    The first plan (in the program file's order) whose segments together hold at least its min_share
    of the partner's revenue wins; a partner with segment data that no plan fits gets the default.
    """
    shares = segment_shares(frame)
    by_segment = dict(zip(SEGMENTS, shares.columns, strict=True))
    chosen = pd.Series(np.where(shares.isna().all(axis=1), "", rules.default_incentive), index=frame.index,
                       dtype=object)
    undecided = chosen != ""
    for plan in rules.incentive_plans:
        held = shares[[by_segment[seg] for seg in plan.segments]].sum(axis=1)
        fits = undecided & (held >= plan.min_share - 1e-12)
        chosen[fits] = plan.name
        undecided &= ~fits
    return chosen
