"""Tier distribution: partners and revenue by tier and quarter, tier moves between periods, concentration.

Two tiers, two names (analytics/labels.py): the tier *recorded* in the data ("Tier (recorded)", the
tier the extracts carry, which every figure here counts by) and the tier a partner's figures *meet*
("Tier its figures meet": the highest tier whose revenue, deal and customer minimums in
data/program.toml its trailing year meets, the review's rule; qualifying_tiers). A Bronze partner
with Platinum revenue is recorded Bronze and meets Platinum; pages that list partners show both.
The counts' definitions (active, new, lapsed, moves) are in analytics.analyses.queries.

How the sidebar's selection applies:

* per-quarter figures (tier_distribution) select partner x quarter rows by the tier, region and
  distributor recorded in that quarter;
* partner-level figures over a window (tier_moves, revenue_concentration) select a partner by its
  latest recorded tier, region and distributor in the window, so a partner promoted from Gold to
  Platinum is one whole partner, not two halves; tier_moves keeps a partner selected at either end;
* a segment selection counts only revenue from customers in those segments, and a partner (or a
  partner x quarter) only when that revenue is not zero.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analytics.analyses.queries import ACTIVE_WINDOW, UNKNOWN_TIER, in_selected_segments, partner_window
from analytics.filters import ChannelFilter, as_of_quarter
from analytics.formatting import money
from analytics.frames import empty_frame, require_columns
from analytics.periods import trailing_span
from analytics.program.regional_programs import Programs
from analytics.program.rules import ProgramRules
from analytics.review.decisions import qualifying_tier
from analytics.store.quarters import quarter_index
from analytics.store.schema import TIERS
from analytics.store.store import Store

__all__ = [
    "MOVES",
    "ALL_TIERS",
    "CONCENTRATION_LEVELS",
    "tier_rank",
    "tier_distribution",
    "tier_shares",
    "tier_moves",
    "qualifying_tiers",
    "tier_gap_words",
    "recorded_against_met",
    "NO_TIER_MET",
    "classify_tier_moves",
    "move_definitions",
    "tier_flow",
    "revenue_concentration",
    "concentration",
]

MOVES = ("promoted", "kept", "demoted", "lapsed", "new", "returned")
# What qualifying_tiers gives a partner whose figures meet no tier's minimums (as the review says it).
NO_TIER_MET = "none"
ALL_TIERS = "All tiers"
# Shares of revenue held by the largest 1 %, 10 % and 20 % of partners (integers, so ceil is exact).
CONCENTRATION_LEVELS = (1, 10, 20)

DISTRIBUTION_COLUMNS = ["quarter", "tier", "partners", "revenue", "partner_share", "revenue_share"]
MOVE_COLUMNS = ["partner_id", "partner_name", "from_tier", "to_tier", "move", "revenue_from", "revenue_to"]
QUALIFYING_COLUMNS = ["partner_id", "revenue_trailing", "deals_trailing", "customers_trailing", "qualifies_for"]
FLOW_COLUMNS = ["source", "target", "partners"]
CONCENTRATION_COLUMNS = ["tier", "partners"] + [f"top_{k}pct_share" for k in CONCENTRATION_LEVELS]
# The types of the columns of an empty result; every other column is text.
_DTYPES = {
    "partners": "int64",
    "deals_trailing": "int64",
    "customers_trailing": "int64",
    **{c: "float64" for c in ["revenue", "revenue_from", "revenue_to", "partner_share", "revenue_share",
                              "revenue_trailing"]},
}


def tier_rank(tier: str) -> int:
    """Give a tier's rank, 0 for the highest; every tier the program does not know ranks below Authorized."""
    return TIERS.index(tier) if tier in TIERS else len(TIERS)


def _tier_sort_key(values: pd.Series) -> pd.Series:
    # Known tiers in program order, then unknown ones alphabetically, then the flow's New / Returned / Lapsed.
    def key(tier: str) -> tuple[int, str]:
        return (len(TIERS) + 1, tier) if tier in ("New", "Returned", "Lapsed") else (tier_rank(tier), tier)

    position = {tier: i for i, tier in enumerate(sorted(set(values), key=key))}
    return values.map(position)


# -- distribution -------------------------------------------------------------------------------


def tier_distribution(store: Store, flt: ChannelFilter, programs: Programs | None = None) -> pd.DataFrame:
    """Give per quarter and tier the partners with any order in that quarter, their revenue, and shares.

    Quarters run from the first stored to the filter's quarter (all when it is None). A partner
    counts in the tier recorded for it in that quarter; "Unknown" when none was recorded. With
    `programs` a regional program's tier counts at its global level (Programs.global_levels).
    """
    where, params = flt.partner_quarter_where("pq")
    last = quarter_index(flt.quarter) if flt.quarter else None
    frame = store.query_df(
        f"""
        SELECT pq.quarter, coalesce(pq.tier, ?) AS tier, pq.region, pq.country, count(*) AS partners,
               CAST(sum({flt.revenue_expr("pq")}) AS DOUBLE) AS revenue
        FROM partner_quarter pq
        WHERE {where} AND {in_selected_segments(flt, "pq")} AND (CAST(? AS INTEGER) IS NULL OR pq.q_index <= ?)
        GROUP BY ALL
        """,
        [UNKNOWN_TIER, *params, last, last],
    )
    if programs is not None:
        frame["tier"] = programs.global_levels(frame)
    frame = frame.groupby(["quarter", "tier"], as_index=False)[["partners", "revenue"]].sum()
    return tier_shares(frame)


def tier_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """Give the frame [quarter, tier, partners, revenue] with each tier's share of the quarter's partners and revenue.

    A share is NaN when the quarter's total is zero or negative (credits only), where it means nothing.
    """
    require_columns(frame, ["quarter", "tier", "partners", "revenue"], "the tier distribution")
    if frame.empty:
        return empty_frame(DISTRIBUTION_COLUMNS, _DTYPES)
    out = frame[["quarter", "tier", "partners", "revenue"]].copy()
    out["partners"] = out["partners"].astype("int64")
    out["revenue"] = out["revenue"].astype("float64")
    totals = out.groupby("quarter")[["partners", "revenue"]].transform("sum")
    out["partner_share"] = out["partners"] / totals["partners"]
    out["revenue_share"] = (out["revenue"] / totals["revenue"]).where(totals["revenue"] > 0)
    out = out.sort_values(["quarter", "tier"], key=lambda s: _tier_sort_key(s) if s.name == "tier" else s)
    return out.reset_index(drop=True)[DISTRIBUTION_COLUMNS]


# -- moves --------------------------------------------------------------------------------------


def tier_moves(
    store: Store, flt: ChannelFilter, from_quarter: str, to_quarter: str, rules: ProgramRules | None = None
) -> pd.DataFrame:
    """Give each partner's recorded tier at two quarters and its move: promoted, kept, demoted, lapsed, new or returned.

    The recorded tier moves (see analytics.analyses.queries). A partner's tier at a quarter is its
    latest recorded tier in the 4 quarters ending there (None when it had no order in that window;
    "Unknown" when it ordered but no tier was recorded there). Lapsed: an order in the four quarters to
    `from_quarter`, none in the four to `to_quarter`; new: its first order ever is after `from_quarter`;
    returned: an order in the four to `to_quarter`, none in the four to `from_quarter`, and one before
    those. revenue_from and revenue_to
    are its revenue over the two 4-quarter windows. With `rules`, qualifies_for is the tier its figures
    meet over the four quarters to `to_quarter` (qualifying_tiers; NO_TIER_MET for none, None for a
    partner without orders there). A partner is in the result when the selection matches it at either
    end. Ordered by move (as in MOVES), then revenue.
    """
    first, last = quarter_index(from_quarter), quarter_index(to_quarter)
    if first >= last:
        raise ValueError(f"from_quarter ({from_quarter}) must be before to_quarter ({to_quarter})")
    where_from, params_from = flt.partner_quarter_where("f")
    where_to, params_to = flt.partner_quarter_where("t")
    window_from, params_window_from = partner_window(flt, first - ACTIVE_WINDOW + 1, first)
    window_to, params_window_to = partner_window(flt, last - ACTIVE_WINDOW + 1, last)
    frame = store.query_df(
        f"""
        WITH f AS ({window_from}), t AS ({window_to}),
        -- partners with an order before the earlier window: one coming back is "returned", not "new"
        earlier AS (SELECT DISTINCT pq.partner_id FROM partner_quarter pq
                    WHERE pq.q_index < ? AND {in_selected_segments(flt, "pq")})
        SELECT coalesce(f.partner_id, t.partner_id) AS partner_id,
               coalesce(t.partner_name, f.partner_name) AS partner_name,
               CASE WHEN f.partner_id IS NOT NULL THEN coalesce(f.tier, ?) END AS from_tier,
               CASE WHEN t.partner_id IS NOT NULL THEN coalesce(t.tier, ?) END AS to_tier,
               coalesce(f.revenue, 0) AS revenue_from,
               coalesce(t.revenue, 0) AS revenue_to,
               e.partner_id IS NOT NULL AS ordered_earlier
        FROM f FULL JOIN t ON f.partner_id = t.partner_id
        LEFT JOIN earlier e ON e.partner_id = coalesce(f.partner_id, t.partner_id)
        -- a side without the partner has NULL attributes, so its condition is NULL, never TRUE
        WHERE (f.partner_id IS NOT NULL AND {where_from}) OR (t.partner_id IS NOT NULL AND {where_to})
        """,
        [*params_window_from, *params_window_to, first - ACTIVE_WINDOW + 1, UNKNOWN_TIER, UNKNOWN_TIER,
         *params_from, *params_to],
    )
    columns = MOVE_COLUMNS + (["qualifies_for"] if rules is not None else [])
    if frame.empty:
        return empty_frame(columns, _DTYPES)
    moves = classify_tier_moves(
        frame[["partner_id", "from_tier"]].rename(columns={"from_tier": "tier"}),
        frame[["partner_id", "to_tier"]].rename(columns={"to_tier": "tier"}),
    )
    out = moves.merge(frame[["partner_id", "partner_name", "revenue_from", "revenue_to", "ordered_earlier"]],
                      on="partner_id")
    out.loc[(out["move"] == "new") & out["ordered_earlier"].astype(bool), "move"] = "returned"
    if rules is not None:
        met = qualifying_tiers(store, to_quarter, rules).set_index("partner_id")["qualifies_for"]
        out["qualifies_for"] = out["partner_id"].map(met).astype("object")
        out["qualifies_for"] = out["qualifies_for"].where(out["qualifies_for"].notna(), None)
    out["_order"] = out["move"].map(MOVES.index)
    out["_revenue"] = out[["revenue_from", "revenue_to"]].max(axis=1)
    out = out.sort_values(["_order", "_revenue", "partner_id"], ascending=[True, False, True])
    return out.reset_index(drop=True)[columns]


def move_definitions(from_quarter: str, to_quarter: str) -> str:
    """Give the recorded tier moves from `from_quarter` to `to_quarter` defined in words, with their periods.

    The Tiers page and the board pack say this under the counts, so both define them the same way.
    """
    year_from = trailing_span(from_quarter, ACTIVE_WINDOW)
    year_to = trailing_span(to_quarter, ACTIVE_WINDOW)
    return (
        f"Recorded tier moves: a partner's tier at a quarter is the latest tier the data record for it in the four "
        f"quarters to it ({year_from} and {year_to}), not the tier its figures meet. Promoted, kept, demoted: that "
        f"tier rose, stayed, fell. Lapsed: an order in {year_from}, none in {year_to}. New: first order ever after "
        f"{from_quarter}. Returned: an order in {year_to}, none in {year_from}, and one before."
    )


def qualifying_tiers(store: Store, quarter: str, rules: ProgramRules) -> pd.DataFrame:
    """Give each partner with an order in the four quarters to `quarter` the tier its figures meet there.

    Columns: partner_id, revenue_trailing, deals_trailing, customers_trailing (distinct customers of
    the four quarters), qualifies_for: the highest tier of `rules` whose every minimum those figures
    meet (the review's own rule, analytics.review.decisions.qualifying_tier), NO_TIER_MET when none.
    The whole channel, no selection: whether the customer minimums apply depends on the channel's
    data, as in the review. Ordered by partner_id.
    """
    last = quarter_index(quarter)
    frame = store.query_df(
        """
        SELECT pq.partner_id, CAST(sum(pq.revenue) AS DOUBLE) AS revenue_trailing,
               CAST(sum(pq.deals) AS BIGINT) AS deals_trailing,
               CAST(coalesce(any_value(py.customers), 0) AS BIGINT) AS customers_trailing
        FROM partner_quarter pq LEFT JOIN partner_year py ON py.partner_id = pq.partner_id AND py.q_index = ?
        WHERE pq.q_index BETWEEN ? AND ?
        GROUP BY pq.partner_id ORDER BY pq.partner_id
        """,
        [last, last - ACTIVE_WINDOW + 1, last],
    )
    if frame.empty:
        return empty_frame(QUALIFYING_COLUMNS, _DTYPES)
    frame["qualifies_for"] = qualifying_tier(frame, rules)
    return frame[QUALIFYING_COLUMNS]


def classify_tier_moves(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Give [partner_id, from_tier, to_tier, move] from each partner's tier before and after.

    `before` and `after` hold [partner_id, tier], one row per partner; a partner missing from a frame,
    or with a null tier there, had no tier then. move is "promoted" / "demoted" when the tier's rank
    rose / fell (tier_rank), "kept" when it is equal, "lapsed" when it had a tier only before, "new"
    when only after. Partners with no tier on either side are left out. Ordered by partner_id.
    """
    for frame, what in ((before, "before"), (after, "after")):
        require_columns(frame, ["partner_id", "tier"], f"the tiers {what}")
        if frame["partner_id"].duplicated().any():
            raise ValueError(f"The tiers {what} hold a partner more than once; give one tier per partner")
    merged = pd.merge(
        before.loc[before["tier"].notna(), ["partner_id", "tier"]].rename(columns={"tier": "from_tier"}),
        after.loc[after["tier"].notna(), ["partner_id", "tier"]].rename(columns={"tier": "to_tier"}),
        on="partner_id",
        how="outer",
    )
    has_from, has_to = merged["from_tier"].notna(), merged["to_tier"].notna()
    rank_from = merged["from_tier"].map(tier_rank, na_action="ignore")
    rank_to = merged["to_tier"].map(tier_rank, na_action="ignore")
    merged["move"] = np.select(
        [has_from & ~has_to, ~has_from & has_to, rank_to < rank_from, rank_to > rank_from],
        ["lapsed", "new", "promoted", "demoted"],
        default="kept",
    )
    return merged.sort_values("partner_id").reset_index(drop=True)[["partner_id", "from_tier", "to_tier", "move"]]


def tier_flow(moves: pd.DataFrame) -> pd.DataFrame:
    """Give [source, target, partners] for a Sankey of tier moves: new partners come from "New", lapsed go to "Lapsed".

    Returned partners (move "returned", when `moves` has a move column) come from "Returned".
    Ordered by source tier (highest first, "New" and "Returned" last), then target tier ("Lapsed" last).
    """
    require_columns(moves, ["from_tier", "to_tier"], "the tier moves")
    if moves.empty:
        return empty_frame(FLOW_COLUMNS, _DTYPES)
    returned = moves["move"].eq("returned") if "move" in moves else pd.Series(False, index=moves.index)
    entered = moves["from_tier"].isna()
    flow = pd.DataFrame({
        "source": moves["from_tier"].mask(entered & returned, "Returned").mask(entered & ~returned, "New")
        .astype("str"),
        "target": moves["to_tier"].where(moves["to_tier"].notna(), "Lapsed").astype("str"),
    })
    out = flow.groupby(["source", "target"]).size().rename("partners").reset_index()
    # "New" and "Lapsed" share the sort key; they never meet on the same side.
    out = out.sort_values(["source", "target"], key=_tier_sort_key).reset_index(drop=True)
    out["partners"] = out["partners"].astype("int64")
    return out[FLOW_COLUMNS]


def recorded_against_met(moves: pd.DataFrame, rules: ProgramRules) -> dict[str, int]:
    """Give how many partners' figures meet a higher tier than recorded, their recorded tier, or a lower one (or none).

    `moves` is tier_moves with rules: partners with a recorded tier at the later quarter (to_tier, not
    "Unknown" or a tier the program does not know) and a qualifies_for. Keys: "higher", "same", "lower".
    """
    require_columns(moves, ["to_tier", "qualifies_for"], "the tier moves")
    names = list(rules.tier_names)
    rank = {name: i for i, name in enumerate(names)} | {NO_TIER_MET: len(names)}
    known = moves[moves["to_tier"].isin(names) & moves["qualifies_for"].isin(list(rank))]
    # As whole numbers: an empty selection (a filter on a tier the program does not know) maps to text otherwise.
    recorded = known["to_tier"].map(rank).to_numpy(dtype="int64")
    met = known["qualifies_for"].map(rank).to_numpy(dtype="int64")
    return {"higher": int((met < recorded).sum()), "same": int((met == recorded).sum()),
            "lower": int((met > recorded).sum())}


def tier_gap_words(figures: pd.Series, recorded: str | None, rules: ProgramRules) -> str:
    """Give in plain words the tier a partner's figures meet, the figures, and how it stands to its recorded tier.

    `figures` is a row of qualifying_tiers; `recorded` its recorded tier (None: none recorded). E.g.
    "none: $2.74M of revenue, 1 deal, 1 customer; lower than its recorded tier (Bronze), whose
    minimums are $60,000, 3 deals, 2 customers".
    """
    met = figures["qualifies_for"]
    deals, customers = int(figures["deals_trailing"]), int(figures["customers_trailing"])
    said = (f"{'none' if met == NO_TIER_MET else met}: {money(figures['revenue_trailing'])} of revenue, "
            f"{deals:,} deal{'' if deals == 1 else 's'}, {customers:,} customer{'' if customers == 1 else 's'}")
    names = list(rules.tier_names)
    if recorded is None or recorded == met or recorded not in names:
        return said + "."
    rule = rules.tiers[names.index(recorded)]
    minimums = f"{money(rule.min_revenue)}, {rule.min_deals:,} deals, {rule.min_customers:,} customers"
    if met != NO_TIER_MET and names.index(met) < names.index(recorded):
        return f"{said}; higher than its recorded tier ({recorded}): the annual review weighs a promotion."
    return f"{said}; short of its recorded tier ({recorded}), whose minimums are {minimums}."


# -- concentration ------------------------------------------------------------------------------


def revenue_concentration(store: Store, flt: ChannelFilter, quarter: str | None = None) -> pd.DataFrame:
    """Give per tier (first "All tiers") the share of trailing-year revenue held by its top 1 %, 10 %, 20 % of partners.

    `quarter` defaults to the filter's quarter, then to the latest. Each partner is in its latest
    recorded tier in the 4 quarters to `quarter`. See concentration for the shares.
    """
    quarter = as_of_quarter(store, flt, quarter)
    if quarter is None:
        return concentration(empty_frame(["partner_id", "tier", "revenue"], _DTYPES))
    last = quarter_index(quarter)
    window, window_params = partner_window(flt, last - ACTIVE_WINDOW + 1, last)
    where, params = flt.partner_quarter_where("w")
    frame = store.query_df(
        f"""
        WITH w AS ({window})
        SELECT w.partner_id, coalesce(w.tier, ?) AS tier, w.revenue FROM w WHERE {where}
        """,
        [*window_params, UNKNOWN_TIER, *params],
    )
    return concentration(frame)


def concentration(frame: pd.DataFrame) -> pd.DataFrame:
    """Give [tier, partners, top_1pct_share, top_10pct_share, top_20pct_share] from [partner_id, tier, revenue].

    top k % is the revenue of the ceil(k % of the tier's partners) largest partners divided by the
    tier's revenue, so a tier of 5 partners has its top 1 % = its largest partner. Shares are NaN when
    the tier's revenue is zero or negative. The first row is "All tiers", then tiers highest first.
    """
    require_columns(frame, ["partner_id", "tier", "revenue"], "the partner revenue")
    rows = []
    groups = [(ALL_TIERS, frame)] + [
        (tier, frame[frame["tier"] == tier]) for tier in sorted(frame["tier"].unique(), key=lambda t: (tier_rank(t), t))
    ]
    for tier, part in groups:
        revenue = np.sort(part["revenue"].to_numpy(dtype="float64"))[::-1]
        total = math.fsum(revenue)
        row = {"tier": tier, "partners": len(revenue)}
        for k in CONCENTRATION_LEVELS:
            top = -(-k * len(revenue) // 100)  # ceil(k / 100 * n) in integers: 0.1 * 30 is not 3.0 in floats
            row[f"top_{k}pct_share"] = math.fsum(revenue[:top]) / total if total > 0 else np.nan
        rows.append(row)
    out = pd.DataFrame(rows, columns=CONCENTRATION_COLUMNS)
    out["partners"] = out["partners"].astype("int64")
    return out
