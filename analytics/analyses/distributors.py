"""Distributors: partners and revenue by tier, the lower-tier share against the target, partners' health.

The program wants distributors to move business toward Silver, Bronze and Authorized partners rather
than Gold and Platinum (data/program.toml, [distributors] target_lower_tier_share). Partners without
a recorded distributor are grouped as NO_DISTRIBUTOR (direct business, or extracts without the column).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.analyses.dropoffs import partner_changes, significant_dropoffs
from analytics.analyses.queries import UNKNOWN_TIER, in_selected_segments, partner_window
from analytics.filters import ChannelFilter, as_of_quarter
from analytics.frames import empty_frame, require_columns
from analytics.model.features import DEFAULT_HORIZON
from analytics.model.scoring import stored_scores
from analytics.store.quarters import YEAR, quarter_index
from analytics.store.schema import TIERS
from analytics.store.store import Store

__all__ = [
    "NO_DISTRIBUTOR",
    "UPPER_TIERS",
    "LOWER_TIERS",
    "MIX_COLUMNS",
    "SHARE_COLUMNS",
    "HEALTH_COLUMNS",
    "distributor_tier_mix",
    "lower_tier_shares",
    "distributors_below_target",
    "distributor_partners",
    "distributor_health",
    "compute_distributor_health",
]

NO_DISTRIBUTOR = "No distributor"
UPPER_TIERS = ("Platinum", "Gold")
LOWER_TIERS = ("Silver", "Bronze", "Authorized")
MIX_COLUMNS = ["distributor", "quarter", "tier", "partners", "revenue"]
SHARE_COLUMNS = ["distributor", "quarter", "revenue_upper", "revenue_lower", "lower_tier_share"]
HEALTH_COLUMNS = [
    "distributor", "partners", "revenue_t4",
    "scored_partners", "partners_at_risk", "share_at_risk",
    "dropoff_partners", "share_dropoffs", "revenue_lost_dropoffs",
    "recruits", "share_recruits",
]
_PARTNER_COLUMNS = ["partner_id", "distributor", "q_first", "q_last"]


def distributor_tier_mix(store: Store, flt: ChannelFilter) -> pd.DataFrame:
    """Give [distributor, quarter, tier, partners, revenue]: partners and revenue per distributor, quarter, tier.

    Every quarter up to the filter's quarter (all when it is None). A partner counts in a quarter with
    the distributor and tier recorded for it there, as partner_quarter holds them; the filter selects
    partner x quarter rows the same way, and with a segment selection only revenue in those segments
    counts. Missing tiers are "Unknown". Ordered by distributor, quarter, tier (highest first).
    """
    where, params = flt.partner_quarter_where("pq")
    last = quarter_index(flt.quarter) if flt.quarter else None
    frame = store.query_df(
        f"""
        SELECT coalesce(pq.distributor, ?) AS distributor, pq.quarter, coalesce(pq.tier, ?) AS tier,
               count(*) AS partners, CAST(sum({flt.revenue_expr("pq")}) AS DOUBLE) AS revenue
        FROM partner_quarter pq
        WHERE {where} AND {in_selected_segments(flt, "pq")} AND (CAST(? AS INTEGER) IS NULL OR pq.q_index <= ?)
        GROUP BY ALL
        """,
        [NO_DISTRIBUTOR, UNKNOWN_TIER, *params, last, last],
    )
    if frame.empty:
        return empty_frame(MIX_COLUMNS, {"partners": "int64", "revenue": "float64"})
    frame["partners"] = frame["partners"].astype("int64")
    rank = {t: i for i, t in enumerate(TIERS)}
    frame["_rank"] = frame["tier"].map(rank).fillna(len(rank)).astype("int64")
    frame = frame.sort_values(["distributor", "quarter", "_rank", "tier"]).reset_index(drop=True)
    return frame[MIX_COLUMNS]


def lower_tier_shares(mix: pd.DataFrame) -> pd.DataFrame:
    """Give [distributor, quarter, revenue_upper, revenue_lower, lower_tier_share] from distributor_tier_mix.

    revenue_upper is the revenue through Gold and Platinum partners, revenue_lower through Silver,
    Bronze and Authorized; lower_tier_share = lower / (lower + upper), NaN when that sum is not
    positive. Partners of other or unknown tiers count in neither.
    """
    require_columns(mix, ["distributor", "quarter", "tier", "revenue"], "the distributor tier mix")
    revenue = mix["revenue"].astype("float64")
    out = pd.DataFrame({
        "distributor": mix["distributor"], "quarter": mix["quarter"],
        "revenue_upper": revenue.where(mix["tier"].isin(UPPER_TIERS), 0.0),
        "revenue_lower": revenue.where(mix["tier"].isin(LOWER_TIERS), 0.0),
    }).groupby(["distributor", "quarter"], as_index=False).sum()
    both = out["revenue_upper"] + out["revenue_lower"]
    out["lower_tier_share"] = out["revenue_lower"] / both.where(both > 0)
    return out.sort_values(["distributor", "quarter"]).reset_index(drop=True)[SHARE_COLUMNS]


def distributors_below_target(shares: pd.DataFrame, quarter: str, target: float) -> tuple[int, int]:
    """Give (distributors whose lower-tier share is below `target` in `quarter`, distributors in `quarter`).

    `shares` is lower_tier_shares'. A distributor with no revenue through either group of tiers (its share
    NaN) counts among the distributors of the quarter, not among those below the target.
    """
    require_columns(shares, ["quarter", "lower_tier_share"], "the lower-tier shares")
    now = shares[shares["quarter"] == quarter]
    return int((now["lower_tier_share"] < target).sum()), len(now)


def distributor_partners(store: Store, flt: ChannelFilter, quarter: str | None = None) -> pd.DataFrame:
    """Give [partner_id, distributor, q_first, q_last] for every partner with rows in the 8 quarters to `quarter`.

    distributor is the partner's latest recorded one in those 8 quarters (NO_DISTRIBUTOR if none);
    q_first is the index of its first quarter with any order ever stored, q_last of its latest in the
    8 quarters. Partners are selected by their latest tier, region and distributor, as the drop-offs
    are (analytics.analyses.queries.partner_window).
    """
    quarter = as_of_quarter(store, flt, quarter)
    if quarter is None:
        return empty_frame(_PARTNER_COLUMNS, {"q_first": "int64", "q_last": "int64"})
    last = quarter_index(quarter)
    window, window_params = partner_window(flt, last - 2 * YEAR + 1, last)
    where, params = flt.partner_quarter_where("w")
    frame = store.query_df(
        f"""
        WITH w AS ({window}),
        seen AS (
            SELECT partner_id, min(q_index) AS q_first,
                   max(q_index) FILTER (WHERE q_index BETWEEN ? AND ?) AS q_last
            FROM partner_quarter WHERE q_index <= ? GROUP BY partner_id
        )
        SELECT w.partner_id, coalesce(w.distributor, ?) AS distributor, s.q_first, s.q_last
        FROM w JOIN seen s ON s.partner_id = w.partner_id
        WHERE {where}
        ORDER BY w.partner_id
        """,
        [*window_params, last - 2 * YEAR + 1, last, last, NO_DISTRIBUTOR, *params],
    )
    return frame.astype({"q_first": "int64", "q_last": "int64"})


def distributor_health(
    store: Store, flt: ChannelFilter, quarter: str | None = None, threshold: float = 0.5
) -> pd.DataFrame:
    """Give HEALTH_COLUMNS per distributor as of `quarter`: its partners, their risk, drop-offs and recruits.

    Risk comes from the stored churn scores at the default horizon (analytics.model.scoring; no model is
    trained here); without stored scores the risk columns are missing values. Drop-offs are the
    partners whose trailing-year revenue fell by half or more (analytics.analyses.dropoffs). See
    compute_distributor_health for each column.
    """
    quarter = as_of_quarter(store, flt, quarter)
    if quarter is None:
        return empty_frame(HEALTH_COLUMNS, {c: "float64" for c in HEALTH_COLUMNS if c != "distributor"})
    first_stored = int(store.query_df("SELECT min(q_index) AS q FROM partner_quarter").iloc[0]["q"])
    return compute_distributor_health(
        distributor_partners(store, flt, quarter), partner_changes(store, flt, quarter),
        stored_scores(store, quarter, DEFAULT_HORIZON), quarter_index(quarter), first_stored, threshold,
    )


def compute_distributor_health(
    partners: pd.DataFrame,
    changes: pd.DataFrame,
    scores: pd.DataFrame,
    quarter_index: int,
    first_stored: int,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Give HEALTH_COLUMNS per distributor from its partners (distributor_partners), their changes and scores.

    * partners: its partners with any order in the 4 quarters to `quarter_index`; revenue_t4 their
      revenue there (from `changes`, analytics.analyses.dropoffs.compute_changes).
    * scored_partners / partners_at_risk / share_at_risk: of those partners, the ones with a stored
      churn score (`scores`: partner_id, churn_probability), those scored at `threshold` or above, and
      their share of the scored; all three missing when `scores` is empty (none stored).
    * dropoff_partners / share_dropoffs / revenue_lost_dropoffs: its partners whose trailing-year
      revenue fell by half or more (significant_dropoffs), their share of its partners with revenue
      in the 4 quarters before, and the revenue they lost.
    * recruits / share_recruits: its partners whose first order was in the 4 quarters to
      `quarter_index`, except those present since `first_stored` (the first quarter stored: they may
      be older), and their share of its partners.
    Shares are NaN when their base is zero. Distributors with no partner active in either year are
    left out. Ordered by revenue_t4, largest first.
    """
    require_columns(partners, _PARTNER_COLUMNS, "the distributor's partners")
    require_columns(changes, ["partner_id", "revenue_t4", "revenue_prev_t4", "change_t4", "revenue_lost"],
                    "the changes")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a probability between 0 and 1 (0.5 = 50 %), not {threshold}")
    p = partners.set_index("partner_id")
    change = changes.set_index("partner_id").reindex(p.index)
    dropoffs = significant_dropoffs(changes, 0.5).set_index("partner_id")
    active = p["q_last"] > quarter_index - YEAR
    frame = pd.DataFrame({
        "distributor": p["distributor"],
        "active": active,
        "revenue_t4": change["revenue_t4"].fillna(0.0).where(active, 0.0),
        "had_revenue_before": change["revenue_prev_t4"].fillna(0.0) > 0,
        "dropoff": p.index.isin(dropoffs.index),
        "revenue_lost": dropoffs["revenue_lost"].reindex(p.index).fillna(0.0),
        "recruit": active & (p["q_first"] > quarter_index - YEAR) & (p["q_first"] > first_stored),
    })
    have_scores = not scores.empty
    if have_scores:
        probability = scores.set_index("partner_id")["churn_probability"].astype("float64").reindex(p.index)
        frame["scored"] = probability.notna() & active
        frame["at_risk"] = (probability >= threshold) & active
    else:
        frame["scored"] = frame["at_risk"] = False
    sums = frame.groupby("distributor").agg(
        partners=("active", "sum"), revenue_t4=("revenue_t4", "sum"),
        scored_partners=("scored", "sum"), partners_at_risk=("at_risk", "sum"),
        dropoff_partners=("dropoff", "sum"), revenue_lost_dropoffs=("revenue_lost", "sum"),
        recruits=("recruit", "sum"), before=("had_revenue_before", "sum"),
    ).reset_index()
    counts = ["partners", "scored_partners", "partners_at_risk", "dropoff_partners", "recruits", "before"]
    out = sums.astype({c: "int64" for c in counts} | {"revenue_t4": "float64", "revenue_lost_dropoffs": "float64"})
    out["scored_partners"] = out["scored_partners"].astype("float64") if have_scores else np.nan
    out["partners_at_risk"] = out["partners_at_risk"].astype("float64") if have_scores else np.nan
    out["share_at_risk"] = out["partners_at_risk"] / out["scored_partners"].where(out["scored_partners"] > 0)
    out["share_dropoffs"] = out["dropoff_partners"] / out["before"].where(out["before"] > 0)
    out["share_recruits"] = out["recruits"] / out["partners"].where(out["partners"] > 0)
    out = out[(out["partners"] > 0) | (out["before"] > 0)]
    out = out.sort_values(["revenue_t4", "distributor"], ascending=[False, True]).reset_index(drop=True)
    return out[HEALTH_COLUMNS]
