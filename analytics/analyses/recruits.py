"""Recruits and their ramp: cohorts by quarter of first order, how they stay and grow, and the nursery pipeline.

A partner is a recruit of the quarter of its first stored order, except partners whose first order
lies in the first stored quarter: they were there before the data began, so nobody knows when they
joined, and they belong to no cohort. Time is counted in quarters since joining, the quarter of the
first order being quarter 0.

Qualifying for a tier is the review's rule (analytics.review.decisions): revenue, deals and distinct customers
over the trailing four quarters at or above the tier's minimums in the program rules.

How the sidebar's selection applies: only quarters up to the as-of quarter are read; a partner is
selected by its latest recorded tier, region and distributor up to it. A segment selection does not
narrow anything here: joining, staying and tiers are about whole partners.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.filters import ChannelFilter, as_of_quarter
from analytics.frames import empty_frame, require_columns
from analytics.program.regional_programs import Programs
from analytics.program.rules import ProgramRules

# The review's own test of a tier's minimums: reused so that "reaches a tier" here and "qualifies for
# a tier" in the review can never disagree. Imported by its private name to leave the review module as it is.
from analytics.review.decisions import meets_tier_minimums
from analytics.review.regional import currency_rates
from analytics.store.quarters import YEAR, quarter_index, quarter_label, shift_quarter
from analytics.store.store import Store

__all__ = [
    "HISTORY_COLUMNS",
    "RETENTION_AFTER",
    "FIRST_YEAR_DEALS",
    "PIPELINE_COLUMNS",
    "RecruitReport",
    "recruit_history",
    "joining_quarters",
    "cohort_table",
    "cohort_revenue",
    "nursery_tiers",
    "nursery_pipeline",
    "pipeline_by_program",
    "nursery_sums",
    "recruits_report",
    "RecruitHeadline",
    "recruit_headline",
]

# One row per partner and quarter in which it ordered or has customers in its trailing year.
HISTORY_COLUMNS = [
    "partner_id", "partner_name", "tier", "region", "q_index", "revenue", "deals", "customers_year", "ordered",
]
RETENTION_AFTER = (1, 2, 4, 8)  # quarters after joining at which a cohort's activity is measured
FIRST_YEAR_DEALS = 3            # fewer deals than this in the first year is the "one or two deals" recruit
COHORT_REVENUE_COLUMNS = ["cohort", "quarters_since_joining", "recruited", "revenue"]
PIPELINE_COLUMNS = [
    "partner_id", "partner_name", "tier", "next_tier", "region",
    "revenue_trailing", "revenue_pace", "revenue_gap",
    "deals_trailing", "deals_pace", "deals_gap",
    "customers_trailing", "customers_gap", "meets_next_tier",
]
PACE_QUARTERS = 2  # the pace is the last two quarters annualised


def _selected_partners_sql(where: str) -> str:
    # Each partner's latest recorded attributes up to the as-of quarter, narrowed by the sidebar.
    return f"""
        SELECT * FROM (
        SELECT partner_id,
               arg_max(partner_name, q_index) FILTER (WHERE partner_name IS NOT NULL) AS partner_name,
               arg_max(tier, q_index) FILTER (WHERE tier IS NOT NULL) AS tier,
               arg_max(region, q_index) FILTER (WHERE region IS NOT NULL) AS region,
               arg_max(country, q_index) FILTER (WHERE country IS NOT NULL) AS country,
               arg_max(distributor, q_index) FILTER (WHERE distributor IS NOT NULL) AS distributor
        FROM partner_quarter WHERE q_index <= ?
        GROUP BY partner_id
        ) WHERE {where}
    """


def recruit_history(store: Store, flt: ChannelFilter, as_of: str) -> pd.DataFrame:
    """Give HISTORY_COLUMNS for the selected partners up to `as_of`: each quarter with orders or trailing customers.

    `ordered` tells the quarters with order lines from those where only the trailing year's distinct
    customers (partner_year) are known; revenue and deals are 0 there.
    """
    last = quarter_index(as_of)
    where, params = flt.partners_only().partner_quarter_where()
    frame = store.query_arrow_df(
        f"""
        WITH chosen AS ({_selected_partners_sql(where)}),
        cells AS (
            SELECT partner_id, q_index FROM partner_quarter WHERE q_index <= ?
            UNION SELECT partner_id, q_index FROM partner_year WHERE q_index <= ?
        )
        SELECT c.partner_id, c.partner_name, c.tier, c.region, k.q_index,
               coalesce(q.revenue, 0)::DOUBLE AS revenue, coalesce(q.deals, 0)::BIGINT AS deals,
               coalesce(y.customers, 0)::BIGINT AS customers_year, q.partner_id IS NOT NULL AS ordered
        FROM chosen c
        JOIN cells k ON k.partner_id = c.partner_id
        LEFT JOIN partner_quarter q ON q.partner_id = k.partner_id AND q.q_index = k.q_index
        LEFT JOIN partner_year y ON y.partner_id = k.partner_id AND y.q_index = k.q_index
        ORDER BY c.partner_id, k.q_index
        """,
        [last, *params, last, last],
    )
    return frame.astype({"q_index": "int64"})[HISTORY_COLUMNS]


@dataclass(frozen=True)
class _Grid:
    """The history as partner x quarter arrays; column j is quarter index `first + j`."""

    partners: pd.Index
    first: int
    revenue: np.ndarray
    deals: np.ndarray
    customers_year: np.ndarray
    ordered: np.ndarray

    @property
    def joined(self) -> np.ndarray:
        """Give each partner's column of its first order (-1 for a partner that never ordered)."""
        return np.where(self.ordered.any(axis=1), np.argmax(self.ordered, axis=1), -1)


def _grid(history: pd.DataFrame, first: int, last: int) -> _Grid:
    require_columns(history, HISTORY_COLUMNS, "the recruits' history")
    history = history[history["q_index"].between(first, last)]
    rows, partners = pd.factorize(history["partner_id"], sort=True)
    cols = history["q_index"].to_numpy(dtype=int) - first
    shape = (len(partners), last - first + 1)

    def dense(column: str, dtype: type = float) -> np.ndarray:
        out = np.zeros(shape, dtype=dtype)
        out[rows, cols] = history[column].to_numpy(dtype=dtype)
        return out

    return _Grid(pd.Index(partners), first, dense("revenue"), dense("deals"), dense("customers_year"),
                 dense("ordered", bool))


def _trailing(values: np.ndarray, length: int) -> np.ndarray:
    """Give each cell the sum of its row's `length` cells ending at it (fewer at the start of the row)."""
    sums = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
    ends = np.arange(values.shape[1]) + 1
    return sums[:, ends] - sums[:, np.maximum(ends - length, 0)]


def _uses_customers(history: pd.DataFrame) -> bool:
    # As in the review: customer minimums are ignored when the data hold no customers at all.
    return bool((history["customers_year"] > 0).any())


def joining_quarters(history: pd.DataFrame, first_quarter: int) -> pd.Series:
    """Give each recruit's quarter index of its first order (partners there in `first_quarter` are no recruits)."""
    joined = history[history["ordered"]].groupby("partner_id")["q_index"].min()
    return joined[joined > first_quarter]


def _highest_tier_met(grid: _Grid, rules: ProgramRules, use_customers: bool) -> np.ndarray:
    """Give per partner x quarter the rank of the highest tier whose minimums the trailing year meets (len: none)."""
    figures = pd.DataFrame({
        "revenue_trailing": _trailing(grid.revenue, YEAR).ravel(),
        "deals_trailing": _trailing(grid.deals, YEAR).ravel(),
        "customers_trailing": grid.customers_year.ravel(),
    })
    met = np.full(len(figures), len(rules.tiers))
    for rank in range(len(rules.tiers) - 1, -1, -1):  # the highest tier met wins
        met = np.where(meets_tier_minimums(figures, rules.tiers[rank], use_customers), rank, met)
    return met.reshape(grid.revenue.shape)


def _half_reached(times: np.ndarray) -> float:
    """Give the time by which half of the partners had reached something (inf: not reached), NaN if fewer did."""
    middle = np.sort(times)[math.ceil(len(times) / 2) - 1]
    return float(middle) if np.isfinite(middle) else np.nan


def _quarters_columns(rules: ProgramRules) -> list[str]:
    return [f"quarters_to_{name}" for name in reversed(rules.tier_names)]


def cohort_table(history: pd.DataFrame, first_quarter: int, as_of: int, rules: ProgramRules) -> pd.DataFrame:
    """Give one row per cohort (quarter of first order after `first_quarter`, up to `as_of`): how its recruits fared.

    Columns: cohort (quarter label), recruited; active_after_K: the share of recruits with an order
    in the K-th quarter after joining; three_deals_first_year: the share with at least three deals in
    their first four quarters; quarters_to_TIER for each tier, lowest first: the quarters after
    joining by which half of the cohort had met that tier's minimums (or a higher tier's). A cell is
    NaN (empty) when the data do not reach that far yet: the quarter lies after `as_of`, the first
    year is not over, or fewer than half have reached the tier so far.
    """
    columns = ["cohort", "recruited", *(f"active_after_{k}" for k in RETENTION_AFTER), "three_deals_first_year",
               *_quarters_columns(rules)]
    joined = joining_quarters(history[history["q_index"] <= as_of], first_quarter)
    if joined.empty:
        return empty_frame(columns, {"recruited": "int64"} | {c: "float64" for c in columns[2:]})
    grid = _grid(history[history["partner_id"].isin(joined.index)], first_quarter, as_of)
    start = grid.joined
    met = _highest_tier_met(grid, rules, _uses_customers(history))
    after = np.arange(grid.ordered.shape[1])[None, :] - start[:, None]  # quarters since joining per cell
    first_year_deals = np.where((after >= 0) & (after < YEAR), grid.deals, 0).sum(axis=1)
    reach = {}
    for rank in range(len(rules.tiers)):
        reached = (met <= rank) & (after >= 0)
        reach[rank] = np.where(reached.any(axis=1), np.argmax(reached, axis=1) - start, np.inf)
    rows = []
    for cohort in sorted(set(start)):
        members = start == cohort
        age = grid.ordered.shape[1] - 1 - cohort  # quarters from joining to as_of
        row = {"cohort": quarter_label(first_quarter + cohort), "recruited": int(members.sum())}
        for k in RETENTION_AFTER:
            row[f"active_after_{k}"] = float(grid.ordered[members, cohort + k].mean()) if k <= age else np.nan
        full_year = age >= YEAR - 1
        row["three_deals_first_year"] = (
            float((first_year_deals[members] >= FIRST_YEAR_DEALS).mean()) if full_year else np.nan
        )
        for rank in range(len(rules.tiers) - 1, -1, -1):
            row[f"quarters_to_{rules.tiers[rank].name}"] = _half_reached(reach[rank][members])
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def cohort_revenue(history: pd.DataFrame, first_quarter: int, as_of: int) -> pd.DataFrame:
    """Give each cohort's revenue per quarter since joining (0 = the quarter of the first order), up to `as_of`.

    Columns: cohort (quarter label), quarters_since_joining, recruited (the cohort's size), revenue
    (all its recruits' revenue in that quarter, USD). Every quarter from joining to `as_of` has a row.
    """
    joined = joining_quarters(history[history["q_index"] <= as_of], first_quarter)
    if joined.empty:
        return empty_frame(COHORT_REVENUE_COLUMNS, {"quarters_since_joining": "int64", "recruited": "int64",
                                                    "revenue": "float64"})
    grid = _grid(history[history["partner_id"].isin(joined.index)], first_quarter, as_of)
    start = grid.joined
    parts = []
    for cohort in sorted(set(start)):
        members = start == cohort
        revenue = grid.revenue[members, cohort:].sum(axis=0)
        parts.append(pd.DataFrame({
            "cohort": quarter_label(first_quarter + cohort),
            "quarters_since_joining": np.arange(len(revenue), dtype="int64"),
            "recruited": int(members.sum()),
            "revenue": revenue,
        }))
    return pd.concat(parts, ignore_index=True)[COHORT_REVENUE_COLUMNS]


def nursery_tiers(rules: ProgramRules) -> tuple[str, ...]:
    """Give the two lowest tiers, lowest last; never the highest, which has no next tier to grow into."""
    names = rules.tier_names
    return names[max(1, len(names) - 2):]


def nursery_pipeline(history: pd.DataFrame, as_of: int, rules: ProgramRules) -> pd.DataFrame:
    """Give the active partners of the two lowest tiers whose pace reaches the next tier's minimums, with their gaps.

    Pace: the last two quarters to `as_of` annualised (revenue and deals times two): held for two
    more quarters it is the trailing year, so a partner on that pace meets the next tier's revenue
    and deal minimums within four quarters. Distinct customers cannot be annualised (a customer who
    buys again is still one customer): customers_gap shows what is still missing. Gaps are what the
    trailing four quarters lack to the next tier's minimums (0 when met); meets_next_tier tells the
    partners that already meet all of them, as the review counts it (due for promotion). Active: an order in the
    four quarters to `as_of`; tier: the latest recorded. Those still short of the next tier come
    first; within each part by next tier (highest first), then by revenue gap, smallest first.
    """
    require_columns(history, HISTORY_COLUMNS, "the recruits' history")
    names = list(rules.tier_names)
    nursery = nursery_tiers(rules)
    window = history[history["q_index"].between(as_of - YEAR + 1, as_of)]
    active = window[window["ordered"]]["partner_id"].unique()
    attributes = history.drop_duplicates("partner_id", keep="last").set_index("partner_id")
    chosen = attributes.loc[active]
    chosen = chosen[chosen["tier"].isin(nursery)]
    if chosen.empty:
        return empty_frame(PIPELINE_COLUMNS, {c: "float64" for c in PIPELINE_COLUMNS[5:]})
    window = window[window["partner_id"].isin(chosen.index)]
    recent = window[window["q_index"] > as_of - PACE_QUARTERS]
    sums = window.groupby("partner_id")[["revenue", "deals"]].sum()
    pace = recent.groupby("partner_id")[["revenue", "deals"]].sum() * (YEAR / PACE_QUARTERS)
    customers = window[window["q_index"] == as_of].set_index("partner_id")["customers_year"]
    frame = pd.DataFrame({
        "partner_id": chosen.index,
        "partner_name": chosen["partner_name"].to_numpy(),
        "tier": chosen["tier"].to_numpy(),
        "next_tier": [names[names.index(t) - 1] for t in chosen["tier"]],
        "region": chosen["region"].to_numpy(),
        "revenue_trailing": sums["revenue"].reindex(chosen.index).to_numpy(dtype=float),
        "revenue_pace": pace["revenue"].reindex(chosen.index, fill_value=0.0).to_numpy(dtype=float),
        "deals_trailing": sums["deals"].reindex(chosen.index).to_numpy(dtype=float),
        "deals_pace": pace["deals"].reindex(chosen.index, fill_value=0.0).to_numpy(dtype=float),
        "customers_trailing": customers.reindex(chosen.index, fill_value=0).to_numpy(dtype=float),
    })
    targets = {rule.name: rule for rule in rules.tiers}
    minimum = {field: frame["next_tier"].map({n: getattr(r, f"min_{field}") for n, r in targets.items()})
               .to_numpy(dtype=float) for field in ("revenue", "deals", "customers")}
    for field in ("revenue", "deals", "customers"):
        frame[f"{field}_gap"] = np.maximum(minimum[field] - frame[f"{field}_trailing"].to_numpy(), 0.0)
    # Already there by the review's own test (customers too): due for promotion rather than on the way.
    use_customers = _uses_customers(history)
    meets = np.zeros(len(frame), dtype=bool)
    for name, rule in targets.items():
        at = (frame["next_tier"] == name).to_numpy()
        meets[at] = meets_tier_minimums(frame[at], rule, use_customers)
    frame["meets_next_tier"] = meets
    on_course = (frame["revenue_pace"].to_numpy() >= minimum["revenue"]) & (
        frame["deals_pace"].to_numpy() >= minimum["deals"])
    frame = frame[on_course].assign(_rank=lambda f: f["next_tier"].map(names.index))
    frame = frame.sort_values(["meets_next_tier", "_rank", "revenue_gap", "partner_id"], kind="stable")
    return frame[PIPELINE_COLUMNS].reset_index(drop=True)


def pipeline_by_program(store: Store, history: pd.DataFrame, as_of: int, programs: Programs) -> pd.DataFrame:
    """Give nursery_pipeline for each partner under its own program (its latest region's), with a program column.

    A program in another currency judges its partners on revenue converted quarter by quarter
    (analytics.review.regional.currency_rates; MissingRates when a quarter has no rate); the amounts shown
    stay in the reporting currency: trailing revenue and pace as stored, the revenue gap converted back at
    the as-of quarter's rate.
    """
    require_columns(history, HISTORY_COLUMNS, "the recruits' history")
    latest_region = history.drop_duplicates("partner_id", keep="last").set_index("partner_id")["region"]
    program_of = latest_region.map(lambda r: programs.program_for(r if isinstance(r, str) else None).name)
    parts = []
    for program in programs.all:
        mine = history[history["partner_id"].map(program_of) == program.name]
        if mine.empty:
            continue
        reporting = mine
        if program.currency != programs.reporting_currency:
            quarters = mine["q_index"].map(quarter_label)
            rates = currency_rates(store, program.currency, sorted(set(quarters) | {quarter_label(as_of)}),
                                   programs.reporting_currency)
            mine = mine.assign(revenue=mine["revenue"] / quarters.map(rates).to_numpy())
        pipeline = nursery_pipeline(mine, as_of, program.rules)
        if program.currency != programs.reporting_currency and not pipeline.empty:
            stored = nursery_sums(reporting, as_of).reindex(pipeline["partner_id"])
            pipeline["revenue_trailing"] = stored["revenue"].to_numpy()
            pipeline["revenue_pace"] = stored["pace"].to_numpy()
            pipeline["revenue_gap"] = pipeline["revenue_gap"] * rates[quarter_label(as_of)]
        parts.append(pipeline.assign(program=program.name))
    if not parts:
        return nursery_pipeline(history.iloc[:0], as_of, programs.global_rules).assign(program="")
    return pd.concat(parts, ignore_index=True)


def nursery_sums(history: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """Give each partner's revenue over the four quarters to `as_of` and its pace (the last two annualised)."""
    window = history[history["q_index"].between(as_of - YEAR + 1, as_of)]
    recent = window[window["q_index"] > as_of - PACE_QUARTERS]
    return pd.DataFrame({"revenue": window.groupby("partner_id")["revenue"].sum(),
                         "pace": recent.groupby("partner_id")["revenue"].sum() * (YEAR / PACE_QUARTERS)}).fillna(0.0)


@dataclass(frozen=True)
class RecruitReport:
    """Everything the Recruits page shows for one selection and as-of quarter."""

    as_of: str
    first_quarter: str          # the first stored quarter: partners ordering then are no recruits
    cohorts: pd.DataFrame       # cohort_table
    revenue: pd.DataFrame       # cohort_revenue
    pipeline: pd.DataFrame      # nursery_pipeline
    nursery_tiers: tuple[str, ...]
    nursery_active: int         # active partners in the nursery tiers, on course or not


def recruits_report(store: Store, flt: ChannelFilter, rules: ProgramRules,
                    programs: Programs | None = None) -> RecruitReport | None:
    """Give the cohorts, their revenue and the nursery pipeline as of the filter's quarter (None without data).

    With `programs` the pipeline judges each partner under its own program (pipeline_by_program) and the
    nursery tiers are every program's.
    """
    as_of = as_of_quarter(store, flt)
    if as_of is None:
        return None
    first = int(store.query_df("SELECT min(q_index) AS q FROM partner_quarter").iloc[0]["q"])
    history = recruit_history(store, flt, as_of)
    last = quarter_index(as_of)
    nursery = nursery_tiers(rules)
    pipeline = nursery_pipeline(history, last, rules)
    window = history[history["ordered"] & history["q_index"].between(last - YEAR + 1, last)]
    in_nursery = window["tier"].isin(nursery)
    if programs is not None and programs.regional:
        pipeline = pipeline_by_program(store, history, last, programs)
        nursery = tuple(dict.fromkeys(t for p in programs.all for t in nursery_tiers(p.rules)))
        # Each partner in its own program's nursery tiers (ANZ's Silver is a nursery tier, the global Silver not).
        own = window["region"].map(lambda r: nursery_tiers(programs.program_for(r if isinstance(r, str) else None)
                                                           .rules))
        in_nursery = pd.Series([t in tiers for t, tiers in zip(window["tier"], own, strict=True)], index=window.index)
    return RecruitReport(
        as_of=as_of,
        first_quarter=quarter_label(first),
        cohorts=cohort_table(history, first, last, rules),
        revenue=cohort_revenue(history, first, last),
        pipeline=pipeline,
        nursery_tiers=nursery,
        nursery_active=int(window.loc[in_nursery, "partner_id"].nunique()),
    )


@dataclass(frozen=True)
class RecruitHeadline:
    """The Recruits page's headline: recruits in all and in the last four quarters, and the first-year deals share."""

    recruited: int
    recruited_last_year: int                # in the four quarters to the as-of quarter
    first_year_cohorts: tuple[str, ...]     # cohorts whose first four quarters are over
    first_year_deals_share: float | None    # their recruits with FIRST_YEAR_DEALS+ deals in that year; None: no cohort


def recruit_headline(cohorts: pd.DataFrame, as_of: str) -> RecruitHeadline:
    """Give the headline figures of cohort_table's cohorts (quarters as "2025Q3") as of quarter `as_of`.

    The first-year share is over the recruits of the cohorts whose first year is over (their
    three_deals_first_year known), each cohort weighted by its recruits.
    """
    require_columns(cohorts, ["cohort", "recruited", "three_deals_first_year"], "the recruit cohorts")
    recent = cohorts[cohorts["cohort"] >= shift_quarter(as_of, -(YEAR - 1))]
    year = cohorts[cohorts["three_deals_first_year"].notna()]
    recruits = year["recruited"].sum()
    share = float((year["three_deals_first_year"] * year["recruited"]).sum() / recruits) if recruits else None
    return RecruitHeadline(
        recruited=int(cohorts["recruited"].sum()),
        recruited_last_year=int(recent["recruited"].sum()),
        first_year_cohorts=tuple(year["cohort"]),
        first_year_deals_share=share,
    )
