"""The Partners at risk list: every partner's scores narrowed to the sidebar's selection, and its totals."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.analyses.queries import latest_quarter
from analytics.filters import ChannelFilter
from analytics.model.features import DEFAULT_HORIZON
from analytics.model.scoring import stored_scores
from analytics.store.quarters import quarter_index
from analytics.store.store import Store

__all__ = ["risk_table", "RiskSummary", "risk_summary"]


def risk_table(store: Store, flt: ChannelFilter, horizon: int = DEFAULT_HORIZON) -> pd.DataFrame:
    """Give the stored scores of the partners (analytics.model.scoring) selected by tier, region and distributor.

    A partner is selected by its latest recorded tier, region and distributor in the `horizon`
    quarters to the filter's quarter. Segments do not narrow the list: a probability is for a whole
    partner, not for its revenue in one segment.
    """
    quarter = flt.quarter or latest_quarter(store)
    if quarter is None:
        return pd.DataFrame()
    scores = stored_scores(store, quarter, horizon)
    if not (flt.tiers or flt.regions or flt.distributors):
        return scores
    where, params = ChannelFilter(tiers=flt.tiers, regions=flt.regions, distributors=flt.distributors) \
        .partner_quarter_where("latest")
    last = quarter_index(quarter)
    selected = store.query_df(
        f"""
        WITH latest AS (
            SELECT partner_id, arg_max(tier, q_index) AS tier, arg_max(region, q_index) AS region,
                   arg_max(distributor, q_index) AS distributor
            FROM partner_quarter WHERE q_index BETWEEN ? AND ? GROUP BY partner_id
        )
        SELECT partner_id FROM latest WHERE {where}
        """,
        [last - horizon + 1, last, *params],
    )["partner_id"]
    return scores[scores["partner_id"].isin(set(selected))].reset_index(drop=True)


@dataclass(frozen=True)
class RiskSummary:
    """Headline figures of a risk list."""

    partners: int
    expected_churners: float      # sum of churn probabilities
    likely_churners: int          # partners at or above the threshold
    revenue_likely_churners: float
    expected_revenue_lost: float  # sum of probability x revenue at stake
    underperformers: int
    likely_turnarounds: int       # underperformers at or above the threshold of turnaround probability


def risk_summary(scores: pd.DataFrame, threshold: float = 0.5) -> RiskSummary:
    """Give the totals of a risk list; `threshold` is the probability that counts as likely."""
    likely = scores["churn_probability"] >= threshold
    return RiskSummary(
        partners=len(scores),
        expected_churners=float(scores["churn_probability"].sum()),
        likely_churners=int(likely.sum()),
        revenue_likely_churners=float(scores.loc[likely, "revenue_at_stake"].sum()),
        expected_revenue_lost=float((scores["churn_probability"] * scores["revenue_at_stake"].clip(lower=0)).sum()),
        underperformers=int(scores["underperforming"].sum()),
        likely_turnarounds=int((scores["turnaround_probability"] >= threshold).sum()),
    )
