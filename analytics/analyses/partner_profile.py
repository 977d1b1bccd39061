"""One partner's profile: finding it, its history, products, segments, top customers and rank among its peers.

A profile is always the whole partner: the sidebar's selection does not apply, because a partner
picked by name should never be shown in part.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analytics.analyses.queries import ACTIVE_WINDOW, latest_recorded_tier
from analytics.frames import require_columns
from analytics.store.quarters import YEAR, latest_quarter, quarter_index, quarter_label, quarter_range, shift_quarter
from analytics.store.schema import SEGMENTS
from analytics.store.store import ACTIVE_LINES, Store

__all__ = [
    "UNSPECIFIED",
    "find_partners",
    "partner_region",
    "partner_history",
    "fill_history",
    "deals_in_year",
    "partner_products",
    "partner_segments",
    "partner_top_customers",
    "partner_rank",
    "rank_partner",
]

# Lines without a product or a customer segment are shown under this label, not dropped.
UNSPECIFIED = "Unspecified"
HISTORY_COLUMNS = ["quarter", "revenue", "tier", "deals", "customers", "products"]
FIND_COLUMNS = ["partner_id", "partner_name", "tier", "tier_quarter", "region", "last_quarter"]


def _escape_like(text: str) -> str:
    # The search text is a parameter; escaping makes its % and _ match themselves, not wildcards.
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _trailing_quarters(store: Store, quarter: str | None) -> list[str]:
    quarter = quarter or latest_quarter(store)
    if quarter is None:
        return []
    last = quarter_index(quarter)
    return [quarter_label(i) for i in range(last - ACTIVE_WINDOW + 1, last + 1)]


def _share(revenue: pd.Series) -> pd.Series:
    total = math.fsum(revenue)
    return revenue / total if total > 0 else pd.Series(np.nan, index=revenue.index)


def find_partners(store: Store, text: str, limit: int = 20, scope: tuple[str, ...] = ()) -> pd.DataFrame:
    """Give up to `limit` partners whose id or latest name contains `text` (any case), an exact id first.

    Columns: partner_id, partner_name, tier, region (the latest recorded), tier_quarter (the quarter that
    tier was recorded in), last_quarter (of its last order). With a `scope` (a person's regions) only
    partners whose latest region is one of them are found.
    """
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")
    text = text.strip()
    pattern = f"%{_escape_like(text)}%"
    in_scope, scope_params = ("list_contains(?, region)", [list(scope)]) if scope else ("TRUE", [])
    return store.query_df(
        r"""
        SELECT * FROM (
            SELECT partner_id,
                   arg_max(partner_name, q_index) FILTER (WHERE partner_name IS NOT NULL) AS partner_name,
                   arg_max(tier, q_index) FILTER (WHERE tier IS NOT NULL) AS tier,
                   arg_max(quarter, q_index) FILTER (WHERE tier IS NOT NULL) AS tier_quarter,
                   arg_max(region, q_index) FILTER (WHERE region IS NOT NULL) AS region,
                   max(quarter) AS last_quarter
            FROM partner_quarter GROUP BY partner_id
        )
        WHERE (partner_id ILIKE ? ESCAPE '\' OR partner_name ILIKE ? ESCAPE '\') AND {in_scope}
        ORDER BY lower(partner_id) = lower(?) DESC, partner_name NULLS LAST, partner_id
        LIMIT ?
        """.replace("{in_scope}", in_scope),
        [pattern, pattern, *scope_params, text, limit],
    )[FIND_COLUMNS]


def partner_region(store: Store, partner_id: str) -> str | None:
    """Give the partner's latest recorded region (None for a partner never seen or without one)."""
    found = store.query_df(
        "SELECT arg_max(region, q_index) AS region FROM partner_quarter WHERE partner_id = ? AND region IS NOT NULL",
        [partner_id],
    )
    return None if found.empty or pd.isna(found.iloc[0]["region"]) else str(found.iloc[0]["region"])


def partner_history(store: Store, partner_id: str) -> pd.DataFrame:
    """Give the partner's [quarter, revenue, tier, deals, customers, products] in every quarter of the channel's data.

    Quarters without orders have zeros and tier None. Raises ValueError for a partner never seen.
    """
    rows = store.query_df(
        "SELECT quarter, revenue, tier, deals, customers, products FROM partner_quarter WHERE partner_id = ?",
        [partner_id],
    )
    if rows.empty:
        raise ValueError(f"No partner {partner_id!r} in the data")
    bounds = store.query_df("SELECT min(quarter) AS first, max(quarter) AS last FROM partner_quarter").iloc[0]
    return fill_history(rows, quarter_range(bounds["first"], bounds["last"]))


def fill_history(rows: pd.DataFrame, quarters: list[str]) -> pd.DataFrame:
    """Give one row per quarter in `quarters` from a partner's rows [quarter, revenue, tier, deals, customers, ...].

    Quarters missing from `rows` get zero revenue and counts and tier None.
    """
    missing = [c for c in HISTORY_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(missing)} missing from the partner's rows")
    out = pd.DataFrame({"quarter": quarters}).merge(rows[HISTORY_COLUMNS], on="quarter", how="left")
    out["revenue"] = out["revenue"].fillna(0.0).astype("float64")
    for column in ("deals", "customers", "products"):
        out[column] = out[column].fillna(0).astype("int64")
    out["tier"] = out["tier"].astype("object").where(out["tier"].notna(), None)
    return out[HISTORY_COLUMNS]


def deals_in_year(history: pd.DataFrame, quarter: str) -> int:
    """Give the deals of partner_history's `history` over the trailing year to `quarter` (its four quarters)."""
    require_columns(history, ["quarter", "deals"], "the partner's history")
    year = history["quarter"].between(shift_quarter(quarter, -(YEAR - 1)), quarter)
    return int(history.loc[year, "deals"].sum())


def partner_products(store: Store, partner_id: str, quarter: str | None = None) -> pd.DataFrame:
    """Give the partner's [product, revenue, customers, deals, share] over the 4 quarters to `quarter`, largest first.

    `quarter` defaults to the latest.
    """
    window = _trailing_quarters(store, quarter)
    frame = store.query_df(
        f"""
        SELECT coalesce(product, ?) AS product, CAST(sum(revenue) AS DOUBLE) AS revenue,
               count(DISTINCT customer_id) AS customers,
               count(DISTINCT (customer_id, order_date)) FILTER (WHERE order_date IS NOT NULL)
                   + count(*) FILTER (WHERE order_date IS NULL) AS deals
        FROM order_lines
        WHERE {ACTIVE_LINES} AND partner_id = ? AND list_contains(?, quarter)
        GROUP BY 1 ORDER BY revenue DESC, product
        """,
        [UNSPECIFIED, partner_id, window],
    )
    frame["share"] = _share(frame["revenue"])
    return frame


def partner_segments(store: Store, partner_id: str, quarter: str | None = None) -> pd.DataFrame:
    """Give the partner's [segment, revenue, customers, share] over the 4 quarters to `quarter` (default latest).

    Always SMB, Mid-market and Enterprise in that order (zero when none), then "Unspecified" when
    some lines have no segment.
    """
    window = _trailing_quarters(store, quarter)
    frame = store.query_df(
        f"""
        SELECT coalesce(customer_segment, ?) AS segment, CAST(sum(revenue) AS DOUBLE) AS revenue,
               count(DISTINCT customer_id) AS customers
        FROM order_lines
        WHERE {ACTIVE_LINES} AND partner_id = ? AND list_contains(?, quarter)
        GROUP BY 1
        """,
        [UNSPECIFIED, partner_id, window],
    )
    others = sorted(s for s in frame["segment"] if s not in SEGMENTS)
    out = pd.DataFrame({"segment": [*SEGMENTS, *others]}).merge(frame, on="segment", how="left")
    out["revenue"] = out["revenue"].fillna(0.0).astype("float64")
    out["customers"] = out["customers"].fillna(0).astype("int64")
    out["share"] = _share(out["revenue"])
    return out


def partner_top_customers(store: Store, partner_id: str, quarter: str | None = None, limit: int = 10) -> pd.DataFrame:
    """Give the partner's `limit` largest customers over the 4 quarters to `quarter` (default latest).

    Columns: customer_id, segment, revenue, deals, products, share.

    share is of the partner's whole revenue in the window; lines without a customer id are left out.
    """
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")
    window = _trailing_quarters(store, quarter)
    where, params = f"{ACTIVE_LINES} AND partner_id = ? AND list_contains(?, quarter)", [partner_id, window]
    total = store.query_df(f"SELECT CAST(sum(revenue) AS DOUBLE) AS total FROM order_lines WHERE {where}", params)
    total = total.iloc[0]["total"]
    frame = store.query_df(
        f"""
        SELECT customer_id,
               arg_max(customer_segment, order_date) FILTER (WHERE customer_segment IS NOT NULL) AS segment,
               CAST(sum(revenue) AS DOUBLE) AS revenue,
               count(DISTINCT order_date) FILTER (WHERE order_date IS NOT NULL)
                   + count(*) FILTER (WHERE order_date IS NULL) AS deals,
               count(DISTINCT product) AS products
        FROM order_lines
        WHERE {where} AND customer_id IS NOT NULL
        GROUP BY customer_id
        ORDER BY revenue DESC, customer_id
        LIMIT ?
        """,
        [*params, limit],
    )
    # A share of a zero or negative total means nothing.
    frame["share"] = frame["revenue"] / total if pd.notna(total) and total > 0 else np.nan
    return frame


def partner_rank(store: Store, partner_id: str, quarter: str | None = None) -> dict:
    """Give the partner's rank by revenue over the 4 quarters to `quarter` in its recorded tier and in its region.

    Keys: tier, tier_quarter, region, rank_in_tier, partners_in_tier, rank_in_region,
    partners_in_region, revenue_t4 (see rank_partner). tier is the partner's latest recorded tier up to
    `quarter` (latest_recorded_tier) and tier_quarter the quarter it was recorded in; its peers are
    the partners with an order in the 4 quarters, each in its latest recorded tier there (as the
    partners per tier count them). A partner without an order in the 4 quarters is ranked with
    revenue 0 among them, in its latest recorded tier and region up to `quarter`, so a partner the
    data give a tier always has a rank in it.
    """
    window = _trailing_quarters(store, quarter)
    first, last = (quarter_index(window[0]), quarter_index(window[-1])) if window else (0, -1)
    frame = store.query_df(
        """
        SELECT partner_id,
               arg_max(tier, q_index) FILTER (WHERE tier IS NOT NULL) AS tier,
               arg_max(region, q_index) FILTER (WHERE region IS NOT NULL) AS region,
               sum(revenue) AS revenue
        FROM partner_quarter WHERE q_index BETWEEN ? AND ?
        GROUP BY partner_id
        """,
        [first, last],
    )
    mine = latest_recorded_tier(store, window[-1] if window else None, [partner_id])
    tier, tier_quarter = (mine.iloc[0]["tier"], mine.iloc[0]["tier_quarter"]) if not mine.empty else (None, None)
    if tier is not None and not (frame["partner_id"] == partner_id).any():
        region = store.query_df(
            "SELECT arg_max(region, q_index) AS region FROM partner_quarter "
            "WHERE partner_id = ? AND region IS NOT NULL AND q_index <= ?",
            [partner_id, last],
        ).iloc[0]["region"]
        frame = pd.concat([frame, pd.DataFrame({"partner_id": [partner_id], "tier": [tier], "region": [region],
                                                "revenue": [0.0]})], ignore_index=True)
    # Active with no tier recorded in the 4 quarters: its latest recorded one, from before them.
    frame.loc[(frame["partner_id"] == partner_id) & frame["tier"].isna(), "tier"] = tier
    result = rank_partner(frame, partner_id)
    result["tier_quarter"] = tier_quarter if result["tier"] is not None else None
    return result


def rank_partner(frame: pd.DataFrame, partner_id: str) -> dict:
    """Give a partner's rank (1 = most revenue; ties share the best rank) within its tier and its region.

    `frame` holds [partner_id, tier, region, revenue], one row per active partner. For a partner not
    in `frame` (no order in the window) or without a tier / region, those ranks are None and its
    revenue_t4 is 0.
    """
    missing = [c for c in ("partner_id", "tier", "region", "revenue") if c not in frame.columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(missing)} missing from the partner revenue")
    result: dict = {"tier": None, "region": None, "rank_in_tier": None, "partners_in_tier": None,
                    "rank_in_region": None, "partners_in_region": None, "revenue_t4": 0.0}
    row = frame[frame["partner_id"] == partner_id]
    if row.empty:
        return result
    row = row.iloc[0]
    result["revenue_t4"] = float(row["revenue"])
    for key in ("tier", "region"):
        value = row[key]
        if pd.isna(value):
            continue
        peers = frame.loc[frame[key] == value, "revenue"]
        result[key] = value
        result[f"rank_in_{key}"] = int((peers > row["revenue"]).sum()) + 1
        result[f"partners_in_{key}"] = len(peers)
    return result
