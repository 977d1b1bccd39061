"""Questions asked of the store: channel totals, the overview figures and what was last loaded."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.filters import ChannelFilter
from analytics.store.quarters import quarter_index, quarter_label
from analytics.store.schema import ordered_tiers
from analytics.store.store import ACTIVE_LINES, Store

__all__ = [
    "ACTIVE_WINDOW",
    "channel_summary",
    "latest_quarter",
    "last_load",
    "in_selected_segments",
    "partner_window",
    "Overview",
    "overview",
    "partners_by_tier",
    "revenue_by_tier",
    "new_and_lapsed",
    "filter_options",
    "FilterOptions",
]

# A partner counts as active in a quarter when it has any order in the four quarters ending there:
# partners who deal once or twice a year are not counted as lost between their deals.
ACTIVE_WINDOW = 4
UNKNOWN_TIER = "Unknown"


def channel_summary(store: Store) -> dict:
    """Give totals over everything stored: lines, partners, revenue, active loads and per quarter."""
    total = store.query_df(
        f"""
        SELECT count(*) AS lines, count(DISTINCT partner_id) AS partners, coalesce(sum(revenue), 0) AS revenue
        FROM order_lines WHERE {ACTIVE_LINES}
        """
    ).iloc[0]
    loads = store.query_df("SELECT count(*) AS n FROM loads WHERE status = 'active'").iloc[0]["n"]
    per_quarter = store.query_df(
        f"""
        SELECT quarter, count(*) AS lines, count(DISTINCT partner_id) AS partners, sum(revenue) AS revenue
        FROM order_lines WHERE {ACTIVE_LINES} GROUP BY quarter ORDER BY quarter
        """
    )
    return {
        "lines": int(total["lines"]),
        "partners": int(total["partners"]),
        "revenue": round(float(total["revenue"]), 2),
        "loads": int(loads),
        "quarters": [
            {
                "quarter": r.quarter,
                "lines": int(r.lines),
                "partners": int(r.partners),
                "revenue": round(float(r.revenue), 2),
            }
            for r in per_quarter.itertuples()
        ],
    }


def latest_quarter(store: Store) -> str | None:
    """Give the latest quarter holding data, or None when the store is empty."""
    return store.query_df("SELECT max(quarter) AS q FROM partner_quarter").iloc[0]["q"] or None


def last_load(store: Store) -> dict | None:
    """Give the newest load still in effect (file, time, rows added), or None."""
    frame = store.query_df(
        "SELECT load_id, file_name, loaded_at, rows_added FROM loads"
        " WHERE status = 'active' ORDER BY load_id DESC LIMIT 1"
    )
    return None if frame.empty else frame.iloc[0].to_dict()


def in_selected_segments(flt: ChannelFilter, alias: str) -> str:
    """Give a condition on partner_quarter rows: TRUE, or with a segment selection, revenue in those segments.

    partner_quarter has no per-segment line counts, so a row counts when its revenue there is not
    zero. Built from constant column names only: no values, no parameters.
    """
    return f"({flt.revenue_expr(alias)}) <> 0" if flt.segments else "TRUE"


def partner_window(flt: ChannelFilter, first: int, last: int) -> tuple[str, list]:
    """Give a SELECT of the partners with rows in quarters `first` to `last` (q_index), and its parameters.

    One row per partner: partner_id; its latest recorded partner_name, tier, region and distributor
    in the window; its revenue there (DOUBLE). With a segment selection only partner x quarter rows
    with revenue in those segments count, for the attributes as for being in the window, and revenue
    is the revenue in those segments. Select partners from it with flt.partner_quarter_where(alias):
    a partner promoted within the window is then one partner, in its latest tier.
    """
    sql = f"""
        SELECT pq.partner_id,
               arg_max(pq.partner_name, pq.q_index) FILTER (WHERE pq.partner_name IS NOT NULL) AS partner_name,
               arg_max(pq.tier, pq.q_index) FILTER (WHERE pq.tier IS NOT NULL) AS tier,
               arg_max(pq.region, pq.q_index) FILTER (WHERE pq.region IS NOT NULL) AS region,
               arg_max(pq.distributor, pq.q_index) FILTER (WHERE pq.distributor IS NOT NULL) AS distributor,
               CAST(sum({flt.revenue_expr("pq")}) AS DOUBLE) AS revenue
        FROM partner_quarter pq
        WHERE pq.q_index BETWEEN ? AND ? AND {in_selected_segments(flt, "pq")}
        GROUP BY pq.partner_id
    """
    return sql, [first, last]


@dataclass(frozen=True)
class Overview:
    """The headline figures of the channel as of a quarter."""

    quarter: str
    active_partners: int
    active_partners_before: int
    revenue_quarter: float
    revenue_quarter_before: float  # the same quarter a year earlier
    revenue_trailing: float  # the four quarters to `quarter`
    revenue_trailing_before: float  # the four quarters before those


def _window_sum(frame: pd.DataFrame, last: int, quarters: int) -> float:
    return float(frame.loc[frame["q_index"].between(last - quarters + 1, last), "revenue"].sum())


def overview(store: Store, flt: ChannelFilter = ChannelFilter()) -> Overview | None:
    """Give the headline figures as of the filter's quarter (default: the latest), or None without data."""
    quarter = flt.quarter or latest_quarter(store)
    if quarter is None:
        return None
    last = quarter_index(quarter)
    where, params = flt.partner_quarter_where()
    per_quarter = store.query_df(
        f"SELECT q_index, sum({flt.revenue_expr()}) AS revenue FROM partner_quarter "
        f"WHERE q_index <= ? AND {where} GROUP BY q_index",
        [last, *params],
    )
    # Counted as partners_by_tier counts them (each partner in its latest tier of the year), so the
    # headline and the partners per tier agree under a tier filter too.
    active = {}
    for name, end in (("now", last), ("before", last - ACTIVE_WINDOW)):
        window, window_params = partner_window(flt, end - ACTIVE_WINDOW + 1, end)
        window_where, window_where_params = flt.partner_quarter_where("w")
        active[name] = int(store.query_df(
            f"WITH w AS ({window}) SELECT count(*) AS n FROM w WHERE {window_where}",
            [*window_params, *window_where_params],
        ).iloc[0]["n"])
    return Overview(
        quarter=quarter,
        active_partners=int(active["now"]),
        active_partners_before=int(active["before"]),
        revenue_quarter=_window_sum(per_quarter, last, 1),
        revenue_quarter_before=_window_sum(per_quarter, last - 4, 1),
        revenue_trailing=_window_sum(per_quarter, last, 4),
        revenue_trailing_before=_window_sum(per_quarter, last - 4, 4),
    )


def partners_by_tier(store: Store, flt: ChannelFilter, quarter: str) -> pd.DataFrame:
    """Give the active partners per tier as of `quarter`, highest tier first (each in its latest recorded tier).

    Active: an order in the four quarters to `quarter`. Partners are taken as partner_window has
    them and then selected by the filter, as the tier moves and revenue concentration do, so a partner
    promoted within the year counts once, in its new tier, on every page.
    """
    last = quarter_index(quarter)
    window, window_params = partner_window(flt, last - ACTIVE_WINDOW + 1, last)
    where, params = flt.partner_quarter_where("w")
    frame = store.query_df(
        f"""
        WITH w AS ({window})
        SELECT coalesce(w.tier, ?) AS tier, count(*) AS partners, sum(w.revenue) AS revenue_trailing
        FROM w WHERE {where} GROUP BY 1
        """,
        [*window_params, UNKNOWN_TIER, *params],
    )
    # Highest tier first, as every page lists them.
    return frame.set_index("tier").loc[ordered_tiers(frame["tier"])].reset_index()


def revenue_by_tier(store: Store, flt: ChannelFilter = ChannelFilter()) -> pd.DataFrame:
    """Give revenue and partners with orders per quarter and tier (the tier recorded in that quarter).

    Quarters run to the filter's quarter (all when it is None), as on the Tiers page.
    """
    where, params = flt.partner_quarter_where()
    last = quarter_index(flt.quarter) if flt.quarter else None
    return store.query_df(
        f"""
        SELECT quarter, coalesce(tier, ?) AS tier, sum({flt.revenue_expr()}) AS revenue, count(*) AS partners
        FROM partner_quarter WHERE {where} AND (CAST(? AS INTEGER) IS NULL OR q_index <= ?)
        GROUP BY ALL ORDER BY quarter, tier
        """,
        [UNKNOWN_TIER, *params, last, last],
    )


def new_and_lapsed(store: Store, flt: ChannelFilter = ChannelFilter()) -> pd.DataFrame:
    """Give per quarter the partners new (first order ever) and lapsed (no order for four quarters).

    A partner lapses in the quarter its last order leaves the four-quarter window. Both are only
    known from the fifth quarter of data on (NaN before): until then a partner's first order in the
    data may be its first of the year rather than its first ever. Quarters run to the filter's
    quarter (all when it is None).
    """
    where, params = flt.partner_quarter_where()
    last = quarter_index(flt.quarter) if flt.quarter else None
    frame = store.query_df(
        f"""
        WITH bounds AS (SELECT min(q_index) AS first_q, max(q_index) AS last_q FROM partner_quarter),
        activity AS (SELECT partner_id, q_index FROM partner_quarter WHERE {where}),
        firsts AS (SELECT partner_id, min(q_index) AS q FROM activity GROUP BY partner_id),
        -- quarters after which a partner went four quarters without an order (it may come back later)
        gaps AS (
            SELECT partner_id, q_index + ? AS q
            FROM (SELECT partner_id, q_index, lead(q_index) OVER (PARTITION BY partner_id ORDER BY q_index) AS next_q
                  FROM activity)
            WHERE coalesce(next_q, 1 << 30) > q_index + ?
        ),
        quarters AS (SELECT unnest(range(first_q, least(last_q, coalesce(CAST(? AS INTEGER), last_q)) + 1)) AS q
                     FROM bounds)
        SELECT q.q AS q_index,
               (SELECT count(*) FROM firsts f WHERE f.q = q.q) AS new_partners,
               (SELECT count(*) FROM gaps g WHERE g.q = q.q) AS lapsed_partners
        FROM quarters q, bounds b
        WHERE q.q > b.first_q
        ORDER BY q.q
        """,
        [*params, ACTIVE_WINDOW, ACTIVE_WINDOW, last],
    )
    if frame.empty:
        return pd.DataFrame(columns=["quarter", "new_partners", "lapsed_partners"])
    bounds = store.query_df("SELECT min(q_index) AS first_q FROM partner_quarter").iloc[0]
    known = frame["q_index"] >= bounds["first_q"] + ACTIVE_WINDOW
    frame["lapsed_partners"] = frame["lapsed_partners"].where(known)
    frame["new_partners"] = frame["new_partners"].where(known)
    frame.insert(0, "quarter", frame["q_index"].map(quarter_label))
    return frame.drop(columns="q_index")


@dataclass(frozen=True)
class FilterOptions:
    """The values the sidebar offers: quarters (oldest first), tiers, regions, distributors."""

    quarters: tuple[str, ...]
    tiers: tuple[str, ...]
    regions: tuple[str, ...]
    distributors: tuple[str, ...]


def filter_options(store: Store) -> FilterOptions:
    """Give the quarters, tiers, regions and distributors present in the partner x quarter table."""

    def values(column: str) -> tuple[str, ...]:
        # column is one of the constant names below, never user input.
        frame = store.query_df(
            f"SELECT DISTINCT {column} AS v FROM partner_quarter WHERE {column} IS NOT NULL ORDER BY 1"
        )
        return tuple(frame["v"])

    return FilterOptions(
        values("quarter"), tuple(ordered_tiers(values("tier"))), values("region"), values("distributor")
    )
