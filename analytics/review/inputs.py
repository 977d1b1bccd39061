"""What the review judges each partner on: review-year figures, tenure, the year before, the model's stored scores."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.model.features import UNKNOWN, YEAR, features_at, load_panel
from analytics.model.scoring import score_status, stored_scores
from analytics.review.actions import REVIEW_HORIZON
from analytics.review.incentives import SEGMENT_COLUMNS
from analytics.review.saved_reviews import previous_review_outcomes
from analytics.store.quarters import quarter_label
from analytics.store.store import Store

__all__ = ["review_inputs"]


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
