"""Revenue drop-offs: each partner's change quarter over quarter, year over year and trailing year over the one before.

The trailing year ("t4") is the 4 quarters to the chosen quarter, "prev_t4" the 4 before those. A
partner is selected by its latest recorded tier, region and distributor in those 8 quarters; a
segment selection counts only revenue from customers in those segments (and partner x quarter rows
with revenue there).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analytics.analyses.queries import ACTIVE_WINDOW, UNKNOWN_TIER, in_selected_segments, latest_quarter, partner_window
from analytics.filters import ChannelFilter
from analytics.frames import empty_frame, require_columns
from analytics.store import quarters
from analytics.store.schema import TIERS
from analytics.store.store import Store

__all__ = [
    "BRIDGE_COMPONENTS",
    "CHANGE_COLUMNS",
    "partner_changes",
    "compute_changes",
    "significant_dropoffs",
    "revenue_bridge",
    "change_distribution",
]

CHANGE_COLUMNS = [
    "partner_id", "partner_name", "tier", "region",
    "revenue_q", "revenue_prev_q", "change_qoq",
    "revenue_year_ago_q", "change_yoy",
    "revenue_t4", "revenue_prev_t4", "change_t4",
    "revenue_lost",
]
BRIDGE_COMPONENTS = (
    "Previous 4 quarters", "New partners", "Growing", "Declining", "Lapsed", "Last 4 quarters",
)
_PQ_COLUMNS = ["partner_id", "q_index", "revenue", "partner_name", "tier", "region"]
# The types of the columns of an empty result; every other column is text.
_DTYPES = {c: "float64" for c in CHANGE_COLUMNS if c.startswith(("revenue", "change"))}


def _relative_change(new: pd.Series, base: pd.Series) -> pd.Series:
    # A change from nothing (or from a net credit) has no meaningful percentage.
    return ((new - base) / base).where(base > 0)


def partner_changes(store: Store, flt: ChannelFilter, quarter: str | None = None) -> pd.DataFrame:
    """Give one row per partner with any order in the 8 quarters to `quarter`: its changes (see compute_changes).

    `quarter` defaults to the filter's quarter, then to the latest.
    """
    quarter = quarter or flt.quarter or latest_quarter(store)
    if quarter is None:
        return empty_frame(CHANGE_COLUMNS, _DTYPES)
    last = quarters.quarter_index(quarter)
    first = last - 2 * ACTIVE_WINDOW + 1
    window, window_params = partner_window(flt, first, last)
    where, params = flt.partner_quarter_where("l")
    frame = store.query_df(
        f"""
        WITH l AS ({window})
        SELECT pq.partner_id, pq.q_index, CAST({flt.revenue_expr("pq")} AS DOUBLE) AS revenue,
               pq.partner_name, pq.tier, pq.region
        FROM partner_quarter pq JOIN l ON l.partner_id = pq.partner_id
        WHERE pq.q_index BETWEEN ? AND ? AND {in_selected_segments(flt, "pq")} AND {where}
        """,
        [*window_params, first, last, *params],
    )
    return compute_changes(frame, last)


def compute_changes(pq: pd.DataFrame, quarter_index: int) -> pd.DataFrame:
    """Give per partner with a row in the 8 quarters to `quarter_index` its revenue changes.

    `pq` is partner_quarter-like: [partner_id, q_index, revenue, partner_name, tier, region].
    revenue_q / revenue_prev_q / revenue_year_ago_q are the revenue in the quarter, the one before and
    the same quarter a year before; revenue_t4 / revenue_prev_t4 over the 4 quarters to it and the 4
    before those. change_* = (new - base) / base, NaN when the base is zero or negative.
    revenue_lost = max(revenue_prev_t4 - revenue_t4, 0). partner_name, tier and region are the latest
    recorded in the 8 quarters. Ordered by partner_id.
    """
    require_columns(pq, _PQ_COLUMNS, "the partner x quarter rows")
    last = int(quarter_index)
    window = pq[pq["q_index"].between(last - 2 * ACTIVE_WINDOW + 1, last)]
    if window.empty:
        return empty_frame(CHANGE_COLUMNS, _DTYPES)
    q, revenue = window["q_index"], window["revenue"].astype("float64")
    sums = pd.DataFrame({
        "partner_id": window["partner_id"],
        "revenue_q": revenue.where(q == last, 0.0),
        "revenue_prev_q": revenue.where(q == last - 1, 0.0),
        "revenue_year_ago_q": revenue.where(q == last - ACTIVE_WINDOW, 0.0),
        "revenue_t4": revenue.where(q > last - ACTIVE_WINDOW, 0.0),
        "revenue_prev_t4": revenue.where(q <= last - ACTIVE_WINDOW, 0.0),
    }).groupby("partner_id").sum()
    # groupby().last() skips missing values: the latest attribute that was recorded.
    attributes = window.sort_values("q_index").groupby("partner_id")[["partner_name", "tier", "region"]].last()
    out = attributes.join(sums).reset_index()
    out["change_qoq"] = _relative_change(out["revenue_q"], out["revenue_prev_q"])
    out["change_yoy"] = _relative_change(out["revenue_q"], out["revenue_year_ago_q"])
    out["change_t4"] = _relative_change(out["revenue_t4"], out["revenue_prev_t4"])
    out["revenue_lost"] = (out["revenue_prev_t4"] - out["revenue_t4"]).clip(lower=0.0)
    return out.sort_values("partner_id").reset_index(drop=True)[CHANGE_COLUMNS]


def significant_dropoffs(changes: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Give the partners whose trailing-year revenue fell by `threshold` (0.5 = 50 %) or more, largest loss first.

    Adds share_of_channel_change = (revenue_t4 - revenue_prev_t4) / the channel's change over all
    partners in `changes`, and cumulative_share down the ranking. When the channel fell, a share of
    0.3 means the partner explains 30 % of the fall; when it grew, the share is negative (the part of
    the growth the partner's fall offset). Both are NaN when the channel did not change.
    share_of_revenue_lost = revenue_lost / all partners' revenue_lost, and its cumulative_share_of_revenue_lost,
    are positive either way ("these 40 partners are 55 % of all revenue lost").
    """
    require_columns(
        changes, ["partner_id", "revenue_t4", "revenue_prev_t4", "change_t4", "revenue_lost"], "the changes"
    )
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a fall between 0 and 1 (0.5 = 50 %), not {threshold}")
    channel_change = math.fsum(changes["revenue_t4"]) - math.fsum(changes["revenue_prev_t4"])
    out = changes[changes["change_t4"] <= -threshold].copy()
    out = out.sort_values(["revenue_lost", "partner_id"], ascending=[False, True]).reset_index(drop=True)
    partner_change = out["revenue_t4"] - out["revenue_prev_t4"]
    out["share_of_channel_change"] = partner_change / channel_change if channel_change != 0 else np.nan
    out["cumulative_share"] = out["share_of_channel_change"].cumsum()
    all_lost = math.fsum(changes["revenue_lost"])
    out["share_of_revenue_lost"] = out["revenue_lost"] / all_lost if all_lost > 0 else np.nan
    out["cumulative_share_of_revenue_lost"] = out["share_of_revenue_lost"].cumsum()
    return out


def revenue_bridge(changes: pd.DataFrame) -> pd.DataFrame:
    """Give [component, amount]: the previous 4 quarters' revenue, what changed it, and the last 4 quarters'.

    Every partner's change (revenue_t4 - revenue_prev_t4) falls in exactly one component:

    * New partners: revenue_prev_t4 == 0 and revenue_t4 > 0 (new to the trailing year: recruits and
      partners returning after a year or more without revenue);
    * Lapsed: revenue_t4 == 0 and revenue_prev_t4 > 0 (no net revenue in the last 4 quarters);
    * Growing: every other partner whose revenue rose;
    * Declining: every other partner whose revenue fell (including those whose net revenue turned
      into a credit, and a newcomer whose first business was a credit).

    So the four middle amounts add up to last minus previous, credits included (up to float
    rounding: each amount is an exactly rounded sum).
    """
    require_columns(changes, ["revenue_t4", "revenue_prev_t4"], "the changes")
    now = changes["revenue_t4"].astype("float64").to_numpy()
    before = changes["revenue_prev_t4"].astype("float64").to_numpy()
    new = (before == 0) & (now > 0)
    lapsed = (now == 0) & (before > 0)
    other = ~new & ~lapsed
    groups = {"New partners": new, "Growing": other & (now > before), "Declining": other & (now < before),
              "Lapsed": lapsed}

    def change(mask: np.ndarray) -> float:
        # fsum over both columns at once: the exactly rounded change, not a sum of rounded differences.
        return math.fsum(np.concatenate([now[mask], -before[mask]]))

    amounts = [math.fsum(before), *(change(mask) for mask in groups.values()), math.fsum(now)]
    return pd.DataFrame({"component": list(BRIDGE_COMPONENTS), "amount": amounts})


def change_distribution(changes: pd.DataFrame, by: str = "tier") -> pd.DataFrame:
    """Give [group, partner_id, change_t4] for box plots of the trailing-year change by tier or region.

    Only partners with a defined change (a positive base); a missing tier or region is "Unknown".
    Groups are ordered by tier (highest first) or alphabetically.
    """
    if by not in ("tier", "region"):
        raise ValueError(f"by must be 'tier' or 'region', not {by!r}")
    require_columns(changes, ["partner_id", by, "change_t4"], "the changes")
    out = changes.loc[changes["change_t4"].notna(), [by, "partner_id", "change_t4"]]
    out = out.rename(columns={by: "group"})
    out["group"] = out["group"].where(out["group"].notna(), UNKNOWN_TIER).astype("str")
    rank = {t: i for i, t in enumerate(TIERS)} if by == "tier" else {}
    # A dict, not a function, for map: a Python call per partner took 70 ms at 60,000 partners.
    out["_rank"] = out["group"].map(rank).fillna(len(rank)).astype("int64")
    out = out.sort_values(["_rank", "group", "partner_id"]).reset_index(drop=True)
    return out[["group", "partner_id", "change_t4"]]
