"""Engagement and fit over the trailing year: deals, customers, product breadth, segment focus, enterprise into SMB.

Read from the derived tables (partner_quarter, and partner_year for distinct customers and products,
which cannot be added up over quarters); with a segment selection, from the order lines, counting only
lines to customers in those segments. A partner is selected by its latest recorded tier, region and
distributor in the 4 quarters.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from analytics.analyses.queries import ACTIVE_WINDOW, UNKNOWN_TIER
from analytics.filters import ChannelFilter, as_of_quarter
from analytics.frames import empty_frame, require_columns
from analytics.program.catalogue import enterprise_products as catalogue_enterprise_products
from analytics.store.quarters import quarter_index, quarter_label
from analytics.store.schema import TIERS
from analytics.store.store import Store

__all__ = [
    "ENGAGEMENT_COLUMNS",
    "AGGREGATE_COLUMNS",
    "engagement_table",
    "compute_engagement",
    "low_deal_partners",
    "oversellers",
    "segment_focus",
]

# What the query gives per partner; compute_engagement turns it into ENGAGEMENT_COLUMNS.
AGGREGATE_COLUMNS = [
    "partner_id", "partner_name", "tier", "region",
    "revenue_t4", "deals_t4", "customers_t4", "products_t4",
    "revenue_smb", "revenue_enterprise", "enterprise_into_smb_revenue",
]
ENGAGEMENT_COLUMNS = [
    "partner_id", "partner_name", "tier", "region",
    "revenue_t4", "deals_t4", "customers_t4", "products_t4",
    "smb_share", "enterprise_share",
    "enterprise_into_smb_revenue", "enterprise_into_smb_share",
]
_COUNTS = ["deals_t4", "customers_t4", "products_t4"]


def engagement_table(
    store: Store,
    flt: ChannelFilter,
    quarter: str | None = None,
    enterprise_products: Collection[str] | None = None,
) -> pd.DataFrame:
    """Give one row per partner with any order in the 4 quarters to `quarter`: revenue, deals, breadth, shares.

    `quarter` defaults to the filter's quarter, then to the latest; `enterprise_products` to
    analytics.program.catalogue.enterprise_products(store). A deal is one customer on one day (distinct
    customer_id, order_date); each undated line is a deal of its own, as in partner_quarter.
    """
    quarter = as_of_quarter(store, flt, quarter)
    if quarter is None:
        numeric = {c: "int64" for c in _COUNTS} | {c: "float64" for c in AGGREGATE_COLUMNS if "revenue" in c}
        return compute_engagement(empty_frame(AGGREGATE_COLUMNS, numeric))
    if enterprise_products is None:
        enterprise_products = catalogue_enterprise_products(store)
    if isinstance(enterprise_products, str):
        raise ValueError("enterprise_products must be a collection of product names, not one string")
    last = quarter_index(quarter)
    reader = _aggregates_from_lines if flt.segments else _aggregates_from_derived
    return compute_engagement(reader(store, flt, last, sorted(enterprise_products)))


# A partner's latest recorded name, tier, region and distributor in the window, from partner_quarter.
_PARTNERS_IN_WINDOW = """
    SELECT pq.partner_id,
           arg_max(pq.partner_name, pq.q_index) FILTER (WHERE pq.partner_name IS NOT NULL) AS partner_name,
           arg_max(pq.tier, pq.q_index) FILTER (WHERE pq.tier IS NOT NULL) AS tier,
           arg_max(pq.region, pq.q_index) FILTER (WHERE pq.region IS NOT NULL) AS region,
           arg_max(pq.country, pq.q_index) FILTER (WHERE pq.country IS NOT NULL) AS country,
           arg_max(pq.distributor, pq.q_index) FILTER (WHERE pq.distributor IS NOT NULL) AS distributor
    FROM partner_quarter pq
    WHERE pq.q_index BETWEEN ? AND ?
    GROUP BY pq.partner_id
"""


def _aggregates_from_derived(store: Store, flt: ChannelFilter, last: int, enterprise: list[str]) -> pd.DataFrame:
    """Give AGGREGATE_COLUMNS for the whole channel's lines from the derived tables.

    Revenue, deals and segment revenue add up over quarters (a deal is one customer on one day, so it
    lies in one quarter); distinct customers and products come from partner_year. Only enterprise
    products into SMB read order lines, filtered to those few (the catalogue can change without a load).
    At ten times the demo the lines' query took 2.3 s and 420 MB of memory over three million lines;
    this takes 0.4 s and 150 MB.
    """
    first = last - ACTIVE_WINDOW + 1
    where, params = flt.partner_quarter_where("p")
    return store.query_df(
        f"""
        WITH p AS ({_PARTNERS_IN_WINDOW}),
        sums AS (
            SELECT partner_id, sum(revenue) AS revenue_t4, sum(deals) AS deals_t4,
                   sum(revenue_smb) AS revenue_smb, sum(revenue_enterprise) AS revenue_enterprise
            FROM partner_quarter WHERE q_index BETWEEN ? AND ?
            GROUP BY partner_id
        ),
        ent AS (
            SELECT partner_id, CAST(sum(revenue) AS DOUBLE) AS enterprise_into_smb_revenue
            FROM order_lines
            WHERE replaced_by IS NULL AND customer_segment = 'SMB' AND list_contains(?, product)
              AND quarter BETWEEN ? AND ?
            GROUP BY partner_id
        )
        SELECT p.partner_id, p.partner_name, p.tier, p.region, s.revenue_t4, s.deals_t4,
               coalesce(y.customers, 0) AS customers_t4, coalesce(y.products, 0) AS products_t4,
               s.revenue_smb, s.revenue_enterprise,
               coalesce(e.enterprise_into_smb_revenue, 0) AS enterprise_into_smb_revenue
        FROM p JOIN sums s ON s.partner_id = p.partner_id
        LEFT JOIN partner_year y ON y.partner_id = p.partner_id AND y.q_index = ?
        LEFT JOIN ent e ON e.partner_id = p.partner_id
        WHERE {where}
        """,
        [first, last, first, last, enterprise, quarter_label(first), quarter_label(last), last, *params],
    )


def _aggregates_from_lines(store: Store, flt: ChannelFilter, last: int, enterprise: list[str]) -> pd.DataFrame:
    """Give AGGREGATE_COLUMNS from the order lines: with a segment selection only its lines count."""
    window = [quarter_label(i) for i in range(last - ACTIVE_WINDOW + 1, last + 1)]
    where, params = flt.partner_quarter_where("p")
    # Lines are selected by segment only; tier, region and distributor select whole partners (above).
    # Not queries.partner_window: p takes a partner's latest attributes from all its quarters, not
    # only those with revenue in the selected segments, so with a segment selection they can differ.
    lines_where, lines_params = ChannelFilter(segments=flt.segments, scope=flt.scope).order_lines_where("ol")
    return store.query_df(
        f"""
        WITH p AS ({_PARTNERS_IN_WINDOW})
        SELECT p.partner_id, any_value(p.partner_name) AS partner_name, any_value(p.tier) AS tier,
               any_value(p.region) AS region,
               CAST(sum(ol.revenue) AS DOUBLE) AS revenue_t4,
               count(DISTINCT (ol.customer_id, ol.order_date)) FILTER (WHERE ol.order_date IS NOT NULL)
                   + count(*) FILTER (WHERE ol.order_date IS NULL) AS deals_t4,
               count(DISTINCT ol.customer_id) AS customers_t4,
               count(DISTINCT ol.product) AS products_t4,
               coalesce(CAST(sum(ol.revenue) FILTER (WHERE ol.customer_segment = 'SMB') AS DOUBLE), 0) AS revenue_smb,
               coalesce(CAST(sum(ol.revenue) FILTER (WHERE ol.customer_segment = 'Enterprise') AS DOUBLE), 0)
                   AS revenue_enterprise,
               coalesce(CAST(sum(ol.revenue) FILTER (
                   WHERE ol.customer_segment = 'SMB' AND list_contains(?, ol.product)) AS DOUBLE), 0)
                   AS enterprise_into_smb_revenue
        FROM p JOIN order_lines ol ON ol.partner_id = p.partner_id
        WHERE {where} AND list_contains(?, ol.quarter) AND {lines_where}
        GROUP BY p.partner_id
        """,
        [last - ACTIVE_WINDOW + 1, last, enterprise, *params, window, *lines_params],
    )


def compute_engagement(aggregates: pd.DataFrame) -> pd.DataFrame:
    """Give the engagement table from per-partner trailing-year sums (AGGREGATE_COLUMNS).

    smb_share, enterprise_share and enterprise_into_smb_share are shares of the partner's revenue
    (revenue_t4), NaN when that is zero or negative. Ordered by revenue_t4, largest first.
    """
    require_columns(aggregates, AGGREGATE_COLUMNS, "the partner aggregates")
    out = aggregates[AGGREGATE_COLUMNS].copy()
    for column in _COUNTS:
        out[column] = out[column].astype("int64")
    revenue = out["revenue_t4"].astype("float64")
    base = revenue.where(revenue > 0)
    out["smb_share"] = out["revenue_smb"] / base
    out["enterprise_share"] = out["revenue_enterprise"] / base
    out["enterprise_into_smb_share"] = out["enterprise_into_smb_revenue"] / base
    out = out.sort_values(["revenue_t4", "partner_id"], ascending=[False, True]).reset_index(drop=True)
    return out[ENGAGEMENT_COLUMNS]


def low_deal_partners(table: pd.DataFrame, max_deals: int = 2) -> pd.DataFrame:
    """Give the partners with at most `max_deals` deals in the trailing year, fewest deals first, then by revenue."""
    require_columns(table, ["partner_id", "deals_t4", "revenue_t4"], "the engagement table")
    if isinstance(max_deals, bool) or not isinstance(max_deals, (int, np.integer)) or max_deals < 1:
        raise ValueError(f"max_deals must be a whole number of deals, 1 or more, not {max_deals!r}")
    out = table[table["deals_t4"] <= max_deals]
    return out.sort_values(["deals_t4", "revenue_t4", "partner_id"], ascending=[True, False, True]).reset_index(
        drop=True
    )


def oversellers(table: pd.DataFrame, min_share: float = 0.2) -> pd.DataFrame:
    """Give the partners whose enterprise-grade sales into SMB are at least `min_share` of their revenue, largest first.

    Ranked by enterprise_into_smb_revenue (the money at stake), not by share.
    """
    require_columns(
        table, ["partner_id", "enterprise_into_smb_revenue", "enterprise_into_smb_share"], "the engagement table"
    )
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must be a share between 0 and 1 (0.2 = 20 %), not {min_share}")
    out = table[table["enterprise_into_smb_share"] >= min_share]
    return out.sort_values(["enterprise_into_smb_revenue", "partner_id"], ascending=[False, True]).reset_index(
        drop=True
    )


def segment_focus(table: pd.DataFrame) -> pd.DataFrame:
    """Give [tier, partner_id, segment, share]: each partner's SMB and Enterprise shares of revenue, for box plots.

    segment is "SMB" or "Enterprise"; partners without a defined share (no positive revenue) are left
    out; a missing tier is "Unknown". Ordered by tier (highest first), segment, partner_id.
    """
    require_columns(table, ["partner_id", "tier", "smb_share", "enterprise_share"], "the engagement table")
    tier = table["tier"].where(table["tier"].notna(), UNKNOWN_TIER).astype("str")
    rank = np.select([(tier == t).to_numpy() for t in TIERS], range(len(TIERS)), len(TIERS))
    wide = pd.DataFrame({
        "_rank": rank, "tier": tier, "partner_id": table["partner_id"],
        "SMB": table["smb_share"], "Enterprise": table["enterprise_share"],
    }).sort_values(["_rank", "tier", "partner_id"])
    # Partners are sorted once, then the two segments are stacked per tier by whole-number keys:
    # melting first and sorting twice as many rows by text took a third of a second at 60,000 partners.
    group = (wide["tier"] != wide["tier"].shift()).cumsum().to_numpy()
    long = pd.concat(
        [
            pd.DataFrame({"_group": group, "_segment": i, "tier": wide["tier"], "partner_id": wide["partner_id"],
                          "segment": segment, "share": wide[segment]})
            for i, segment in enumerate(("SMB", "Enterprise"))
        ],
        ignore_index=True,
    )
    long = long[long["share"].notna()].sort_values(["_group", "_segment"], kind="stable")
    return long[["tier", "partner_id", "segment", "share"]].reset_index(drop=True)
