"""Questions asked of the store: channel totals, the overview figures and what was last loaded.

The channel's headline counts have one definition each, used by every page, the board pack and the
exports (tests/test_figures_agree.py computes each one two ways and compares them):

* **Active partners** as of a quarter Q: partners with an order in the four quarters to Q (Q's
  trailing year). ``overview``.
* **Partners per tier** as of Q: the active partners, each in its latest *recorded* tier in Q's
  trailing year ("Tier (recorded)": the tier the extracts carry). ``partners_by_tier``. The tier
  whose minimums a partner's figures meet is another thing with another name ("Tier its figures
  meet", analytics.analyses.tiers.qualifying_tiers).
* **New** in Q (a recruit): the partner's first order ever is in Q. **Lapsed** in Q: an order in
  Q-1's trailing year, none in Q's (its last order was in Q-4). Both per quarter in
  ``new_and_lapsed`` (``lapsed_partners`` gives who, from a frame of orders); between any
  two quarters A and B (an order in A's trailing year and none in B's) in
  analytics.analyses.tiers.tier_moves, which gives the same partners for A = B-1.
* **Gone** in Q: an order in Q-1, none in Q (a quarter without an order, which a partner that deals
  once or twice a year often has; it lapses only after four). ``gone_partners``.
* **Recorded tier moves** between A and B: each partner's latest recorded tier in A's and in B's
  trailing year (promoted, kept, demoted, lapsed, new). analytics.analyses.tiers.tier_moves.
* **Qualifying tier moves**: the tier its figures meet changed (What changed with the last load:
  "qualifies higher" / "qualifies lower"). analytics.analyses.changes.

A selection (tier, region, distributor) takes a partner by its latest recorded attributes in the
trailing year where it is counted, so a partner is counted whole, once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.filters import ChannelFilter, as_of_quarter
from analytics.program.regional_programs import Programs
from analytics.store.quarters import quarter_index, quarter_label
from analytics.store.rates import reporting_currency
from analytics.store.schema import ordered_tiers
from analytics.store.store import ACTIVE_LINES, Store

__all__ = [
    "ACTIVE_WINDOW",
    "channel_summary",
    "last_load",
    "in_selected_segments",
    "partner_window",
    "Overview",
    "overview",
    "partners_by_tier",
    "revenue_by_tier",
    "new_and_lapsed",
    "latest_recorded_tier",
    "lapsed_partners",
    "gone_partners",
    "LATEST_TIER_COLUMNS",
    "filter_options",
    "FilterOptions",
]

# A partner counts as active in a quarter when it has any order in the four quarters ending there:
# partners who deal once or twice a year are not counted as lost between their deals.
ACTIVE_WINDOW = 4
UNKNOWN_TIER = "Unknown"


def channel_summary(store: Store) -> dict:
    """Give totals over everything stored: lines, partners, revenue (in the reporting currency), active loads and
    per quarter."""
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
        # Every revenue figure above is in this currency (lines in others are converted; analytics.store.rates).
        "reporting_currency": reporting_currency(),
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
               arg_max(pq.country, pq.q_index) FILTER (WHERE pq.country IS NOT NULL) AS country,
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
    quarter = as_of_quarter(store, flt)
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


def partners_by_tier(store: Store, flt: ChannelFilter, quarter: str, programs: Programs | None = None) -> pd.DataFrame:
    """Give the active partners per tier as of `quarter`, highest tier first (each in its latest recorded tier).

    Active: an order in the four quarters to `quarter`. Partners are taken as partner_window has
    them and then selected by the filter, as the tier moves and revenue concentration do, so a partner
    promoted within the year counts once, in its new tier, on every page. With `programs` a regional
    program's tier counts at its global level (Programs.global_levels), so the regions add up on one ladder.
    """
    last = quarter_index(quarter)
    window, window_params = partner_window(flt, last - ACTIVE_WINDOW + 1, last)
    where, params = flt.partner_quarter_where("w")
    frame = store.query_df(
        f"""
        WITH w AS ({window})
        SELECT coalesce(w.tier, ?) AS tier, w.region, w.country, count(*) AS partners,
               sum(w.revenue) AS revenue_trailing
        FROM w WHERE {where} GROUP BY ALL
        """,
        [*window_params, UNKNOWN_TIER, *params],
    )
    if programs is not None:
        frame["tier"] = programs.global_levels(frame)
    frame = frame.groupby("tier", as_index=False)[["partners", "revenue_trailing"]].sum()
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
    """Give per quarter Q the partners new in Q (first order ever in Q) and lapsed in Q (last order in Q-4).

    Lapsed in Q: an order in the four quarters to Q-1, none in the four to Q (it may come back later).
    These are tier_moves' "new" and "lapsed" from Q-1 to Q, selection included: a partner is selected
    by its row of the quarter it is counted from (its first quarter; its last before it lapsed), which
    is its latest in that trailing year. Both are only known from the fifth quarter of data on (NaN
    before): until then a partner's first order in the data may be its first of the year rather than
    its first ever. Quarters run to the filter's quarter (all when it is None).
    """
    where, params = flt.partner_quarter_where("a")
    last = quarter_index(flt.quarter) if flt.quarter else None
    frame = store.query_df(
        f"""
        WITH bounds AS (SELECT min(q_index) AS first_q, max(q_index) AS last_q FROM partner_quarter),
        activity AS (SELECT * FROM partner_quarter pq WHERE {in_selected_segments(flt, "pq")}),
        firsts AS (
            SELECT f.q FROM (SELECT partner_id, min(q_index) AS q FROM activity GROUP BY partner_id) f
            JOIN activity a ON a.partner_id = f.partner_id AND a.q_index = f.q
            WHERE {where}
        ),
        -- quarters after which a partner went four quarters without an order (it may come back later)
        gaps AS (
            SELECT g.q_index + ? AS q
            FROM (SELECT partner_id, q_index, lead(q_index) OVER (PARTITION BY partner_id ORDER BY q_index) AS next_q
                  FROM activity) g
            JOIN activity a ON a.partner_id = g.partner_id AND a.q_index = g.q_index
            WHERE coalesce(g.next_q, 1 << 30) > g.q_index + ? AND {where}
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
        [*params, ACTIVE_WINDOW, ACTIVE_WINDOW, *params, last],
    )
    if frame.empty:
        return pd.DataFrame(columns=["quarter", "new_partners", "lapsed_partners"])
    bounds = store.query_df("SELECT min(q_index) AS first_q FROM partner_quarter").iloc[0]
    known = frame["q_index"] >= bounds["first_q"] + ACTIVE_WINDOW
    frame["lapsed_partners"] = frame["lapsed_partners"].where(known)
    frame["new_partners"] = frame["new_partners"].where(known)
    frame.insert(0, "quarter", frame["q_index"].map(quarter_label))
    return frame.drop(columns="q_index")


def _partners_in(rows: pd.DataFrame, first: int, last: int) -> set:
    return set(rows.loc[rows["q_index"].between(first, last), "partner_id"])


def lapsed_partners(rows: pd.DataFrame, quarter: str) -> set:
    """Give the partners lapsed in `quarter`: an order in the four quarters to the one before, none in the four to it.

    `rows` holds [partner_id, q_index], one row per partner and quarter with an order (partner_quarter's
    rows). The same partners new_and_lapsed counts (without a selection).
    """
    last = quarter_index(quarter)
    return _partners_in(rows, last - ACTIVE_WINDOW, last - 1) - _partners_in(rows, last - ACTIVE_WINDOW + 1, last)


def gone_partners(rows: pd.DataFrame, quarter: str) -> set:
    """Give the partners gone in `quarter`: an order in the quarter before, none in `quarter` (not yet lapsed).

    `rows` holds [partner_id, q_index], one row per partner and quarter with an order.
    """
    last = quarter_index(quarter)
    return _partners_in(rows, last - 1, last - 1) - _partners_in(rows, last, last)


LATEST_TIER_COLUMNS = ["partner_id", "tier", "tier_quarter"]


def latest_recorded_tier(
    store: Store, quarter: str | None = None, partner_ids: list[str] | None = None
) -> pd.DataFrame:
    """Give each partner's latest recorded tier up to `quarter` (default: all data) and the quarter it was recorded in.

    Columns: partner_id, tier, tier_quarter. A partner whose rows to `quarter` carry no tier is left out.
    `partner_ids` narrows to those partners (None: every partner). This is the tier the extracts
    carried, not the tier its figures meet (analytics.analyses.tiers.qualifying_tiers).
    """
    last = quarter_index(quarter) if quarter else None
    return store.query_df(
        """
        SELECT partner_id, arg_max(tier, q_index) AS tier, arg_max(quarter, q_index) AS tier_quarter
        FROM partner_quarter
        WHERE tier IS NOT NULL AND (CAST(? AS INTEGER) IS NULL OR q_index <= ?)
          AND (CAST(? AS VARCHAR[]) IS NULL OR list_contains(?, partner_id))
        GROUP BY partner_id ORDER BY partner_id
        """,
        [last, last, partner_ids, partner_ids],
    )[LATEST_TIER_COLUMNS]


@dataclass(frozen=True)
class FilterOptions:
    """The values the sidebar offers: quarters (oldest first), tiers, regions, distributors, countries."""

    quarters: tuple[str, ...]
    tiers: tuple[str, ...]
    regions: tuple[str, ...]
    distributors: tuple[str, ...]
    countries: tuple[str, ...] = ()


def filter_options(store: Store, scope: tuple[str, ...] = ()) -> FilterOptions:
    """Give the quarters, tiers, regions, distributors and countries present in the partner x quarter table.

    With a `scope` (a person's regions) only the values of rows in those regions are offered.
    """
    where, params = ChannelFilter(scope=tuple(scope)).partner_quarter_where()

    def values(column: str) -> tuple[str, ...]:
        # column is one of the constant names below, never user input.
        frame = store.query_df(
            f"SELECT DISTINCT {column} AS v FROM partner_quarter WHERE {column} IS NOT NULL AND {where} ORDER BY 1",
            params,
        )
        return tuple(frame["v"])

    return FilterOptions(
        values("quarter"), tuple(ordered_tiers(values("tier"))), values("region"), values("distributor"),
        values("country"),
    )
