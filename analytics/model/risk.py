"""The Partners at risk list: every partner's scores narrowed to the sidebar's selection, and its totals."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.filters import ChannelFilter, as_of_quarter
from analytics.formatting import probability_text
from analytics.model.features import DEFAULT_HORIZON
from analytics.model.scoring import stored_scores
from analytics.periods import span_after, trailing_span
from analytics.store.quarters import quarter_index
from analytics.store.store import Store

__all__ = ["risk_table", "RiskSummary", "risk_summary", "RiskPeriods", "risk_periods", "risk_list"]


def risk_table(store: Store, flt: ChannelFilter, horizon: int = DEFAULT_HORIZON) -> pd.DataFrame:
    """Give the stored scores of the partners (analytics.model.scoring) selected by tier, region and distributor.

    A partner is selected by its latest recorded tier, region and distributor in the `horizon`
    quarters to the filter's quarter. Segments do not narrow the list: a probability is for a whole
    partner, not for its revenue in one segment.
    """
    quarter = as_of_quarter(store, flt)
    if quarter is None:
        return pd.DataFrame()
    scores = stored_scores(store, quarter, horizon)
    if flt.partners_only().is_everything:
        return scores
    where, params = flt.partners_only().partner_quarter_where("latest")
    last = quarter_index(quarter)
    selected = store.query_df(
        f"""
        WITH latest AS (
            SELECT partner_id, arg_max(tier, q_index) AS tier, arg_max(region, q_index) AS region,
                   arg_max(country, q_index) AS country, arg_max(distributor, q_index) AS distributor
            FROM partner_quarter WHERE q_index BETWEEN ? AND ? GROUP BY partner_id
        )
        SELECT partner_id FROM latest WHERE {where}
        """,
        [last - horizon + 1, last, *params],
    )["partner_id"]
    return scores[scores["partner_id"].isin(set(selected))].reset_index(drop=True)


@dataclass(frozen=True)
class RiskPeriods:
    """The two periods a risk figure speaks of: the revenue at stake (past) and the churn ahead (future).

    at_stake: the `horizon` quarters to the as-of quarter ("2025Q4–2026Q3"), whose revenue is at stake;
    ahead: the `horizon` quarters after it ("2026Q4–2027Q3"), in which a partner churns or not.
    """

    quarter: str
    horizon: int
    at_stake: str
    ahead: str


def risk_periods(quarter: str, horizon: int) -> RiskPeriods:
    """Give the periods of a risk list as of `quarter` with `horizon` quarters ahead (labels for every figure)."""
    return RiskPeriods(quarter, horizon, trailing_span(quarter, horizon),
                       span_after(quarter, horizon))


@dataclass(frozen=True)
class RiskSummary:
    """Headline figures of a risk list; each revenue figure is of the period its name says (see RiskPeriods)."""

    partners: int
    expected_churners: float      # sum of churn probabilities
    likely_churners: int          # partners at or above the threshold
    revenue_at_stake: float       # every listed partner's positive revenue in the at-stake period
    revenue_likely_churners: float  # the likely churners' revenue in the at-stake period
    expected_revenue_lost: float  # the period ahead: sum of probability x revenue at stake
    underperformers: int
    likely_turnarounds: int       # underperformers at or above the threshold of turnaround probability


def risk_summary(scores: pd.DataFrame, threshold: float = 0.5) -> RiskSummary:
    """Give the totals of a risk list; `threshold` is the probability that counts as likely.

    The expected revenue lost is of the period ahead: each partner's positive revenue at stake times its
    churn probability, as if its next quarters would have repeated its last ones. It is a sum over every
    partner, the unlikely churners too, so it can exceed the likely churners' revenue at stake; it never
    exceeds every partner's revenue at stake, the figure of the same period to set it against.
    """
    likely = scores["churn_probability"] >= threshold
    stake = scores["revenue_at_stake"].clip(lower=0)
    return RiskSummary(
        partners=len(scores),
        expected_churners=float(scores["churn_probability"].sum()),
        likely_churners=int(likely.sum()),
        revenue_at_stake=float(stake.sum()),
        revenue_likely_churners=float(scores.loc[likely, "revenue_at_stake"].sum()),
        expected_revenue_lost=float((scores["churn_probability"] * stake).sum()),
        underperformers=int(scores["underperforming"].sum()),
        likely_turnarounds=int((scores["turnaround_probability"] >= threshold).sum()),
    )


def risk_list(scores: pd.DataFrame) -> pd.DataFrame:
    """Give a risk list as people read it: probabilities in words (probability_text) and a rank to sort by.

    Adds churn_chance and turnaround_chance ("under 5 %", "23 %", "over 95 %": never 0 % or 100 %) and
    risk_rank (1 = the highest churn probability, ties in the list's order), so that a table shows the
    words and still sorts by risk. The numeric probabilities stay for a download, where a spreadsheet
    sorts them.
    """
    out = scores.copy()
    out["churn_chance"] = [probability_text(p) for p in out["churn_probability"]]
    out["turnaround_chance"] = [probability_text(p) for p in out["turnaround_probability"]]
    out["risk_rank"] = out["churn_probability"].rank(ascending=False, method="first").astype("Int64")
    return out
