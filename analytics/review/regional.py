"""The review under each partner's program: regional programs, their currencies, a region's review, the roll-up.

A partner is judged under the program of its latest recorded region (or country) up to the review's
quarter (analytics.program.regional_programs.Programs.program_for). Stored revenue is in the reporting currency;
a program in another currency judges its partners on revenue converted quarter by quarter with the
exchange rates (`exchange_rates`: units of reporting currency per unit of the currency, per quarter),
and a quarter without a rate is an error that names it, never dollars taken for another currency.

Every frame here keeps `revenue_trailing` in the reporting currency, so the channel-wide totals, the
saved decisions and the exports add up across regions; `revenue_program` is the same revenue in the
partner's program currency, named with `currency`.
"""

from __future__ import annotations

import pandas as pd

from analytics.formatting import money
from analytics.model.features import UNKNOWN, YEAR
from analytics.program.regional_programs import Programs, RegionalProgram
from analytics.review.actions import ACTIONS
from analytics.review.decisions import recommend, review_export
from analytics.review.inputs import review_inputs
from analytics.store.quarters import quarter_index, quarter_label
from analytics.store.rates import reporting_per_unit
from analytics.store.store import Store

__all__ = ["MissingRates", "currency_rates", "partner_locations", "regional_recommendations", "regional_progress",
           "rollup_by_region_tier", "decisions_by_region", "region_review_export", "money_in", "money_exact_in",
           "currency_symbol", "revenue_in_currency"]

# Symbols for the reasons' amounts in a program's own currency; any other currency is written by its code.
_SYMBOLS = {"USD": "$", "AUD": "A$", "NZD": "NZ$", "CAD": "C$", "EUR": "€", "GBP": "£", "JPY": "¥", "SGD": "S$"}


class MissingRates(ValueError):
    """A program's currency has no exchange rate for some quarters of the review: the message names them."""


def money_in(value: float | None, currency: str) -> str:
    """Give an amount in `currency` shortened as money() does ("A$1.23M"; "1.23M INR" for a currency without a sign)."""
    text = money(value)
    if currency == "USD" or text == "n/a":
        return text
    symbol = _SYMBOLS.get(currency)
    return text.replace("$", symbol, 1) if symbol else text.replace("$", "", 1) + f" {currency}"


def currency_symbol(currency: str) -> str | None:
    """Give the sign amounts in `currency` are written with ("A$"), or None for a currency written by its code."""
    return _SYMBOLS.get(currency)


def money_exact_in(value: float | None, currency: str, cents: bool = False) -> str:
    """Give an amount in `currency` as a letter writes it: "A$1,700,000" ("1,700,000 INR" without a sign); "n/a".

    `cents` writes two decimals ("A$850,000.25"), for a figure converted from another currency.
    """
    if value is None or value != value:
        return "n/a"
    digits = f"{abs(value):,.2f}" if cents else f"{abs(value):,.0f}"
    sign = "-" if round(value, 2 if cents else 0) < 0 else ""
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def currency_rates(store: Store, currency: str, quarters: list[str], reporting: str = "USD") -> dict[str, float]:
    """Give the rate of `currency` in each of `quarters` (units of reporting currency per unit of it).

    The reporting currency is 1 in every quarter. Raises MissingRates naming the currency and every
    quarter without a positive rate in force (analytics.store.rates).
    """
    quarters = sorted(set(quarters))
    if not quarters:
        return {}
    if currency == reporting:
        return dict.fromkeys(quarters, 1.0)
    known = reporting_per_unit(store, currency, reporting)
    rates = {q: float(known[q]) for q in quarters if q in known.index and known[q] > 0}
    missing = [q for q in quarters if q not in rates]
    if missing:
        raise MissingRates(f"No {currency} exchange rate for {', '.join(missing)} in exchange_rates, so revenue "
                           f"cannot be given in {currency} there; load those rates first.")
    return rates


def partner_locations(store: Store, as_of: str, lookback: int) -> pd.DataFrame:
    """Give each partner's latest recorded region and country up to `as_of`, and where it was before a move.

    Columns: partner_id, region, country, moved_from (the region recorded before its latest one within the
    `lookback` quarters to `as_of`, None when it did not move), moved_in (the first quarter in its new region).
    """
    last = quarter_index(as_of)
    frame = store.query_df(
        """
        WITH rows AS (
            SELECT partner_id, q_index, region, country FROM partner_quarter
            WHERE q_index BETWEEN ? AND ? AND region IS NOT NULL
        ), latest AS (
            SELECT partner_id, arg_max(region, q_index) AS region,
                   arg_max(country, q_index) FILTER (WHERE country IS NOT NULL) AS country
            FROM rows GROUP BY partner_id
        ), before AS (
            SELECT r.partner_id, arg_max(r.region, r.q_index) AS moved_from, max(r.q_index) AS left_at
            FROM rows r JOIN latest l USING (partner_id) WHERE r.region <> l.region GROUP BY r.partner_id
        )
        SELECT l.partner_id, l.region, l.country, b.moved_from,
               (SELECT min(r.q_index) FROM rows r WHERE r.partner_id = l.partner_id AND r.region = l.region
                AND r.q_index > b.left_at) AS moved_in
        FROM latest l LEFT JOIN before b USING (partner_id)
        """,
        [last - max(int(lookback), YEAR) + 1, last],
    )
    frame["moved_in"] = [None if pd.isna(q) else quarter_label(int(q)) for q in frame["moved_in"]]
    frame["moved_from"] = frame["moved_from"].astype(object).where(frame["moved_from"].notna(), None)
    return frame


def _quarters_with_orders(store: Store, partners: pd.Series, as_of: str) -> list[str]:
    """Give the quarters of the review year and the year before in which any of `partners` has a row."""
    last = quarter_index(as_of)
    found = store.query_df(
        "SELECT DISTINCT quarter FROM partner_quarter WHERE q_index BETWEEN ? AND ? AND list_contains(?, partner_id)",
        [last - 2 * YEAR + 1, last, partners.astype(str).tolist()],
    )
    return sorted(found["quarter"])


def _in_program_currency(store: Store, partners: pd.Series, as_of: str, rates: dict[str, float]) -> pd.DataFrame:
    """Give revenue_trailing, revenue_latest and revenue_year_before of `partners` converted quarter by quarter."""
    last = quarter_index(as_of)
    rate_frame = pd.DataFrame({"quarter": list(rates), "rate": list(rates.values())})
    with store.cursor() as cur:
        cur.register("wanted", pd.DataFrame({"partner_id": partners.astype(str).to_numpy()}))
        cur.register("rates", rate_frame)
        converted = cur.execute(
            """
            SELECT w.partner_id,
                   coalesce(sum(pq.revenue / r.rate) FILTER (WHERE pq.q_index BETWEEN ? AND ?), 0) AS revenue_trailing,
                   coalesce(sum(pq.revenue / r.rate) FILTER (WHERE pq.q_index = ?), 0) AS revenue_latest,
                   coalesce(sum(pq.revenue / r.rate) FILTER (WHERE pq.q_index BETWEEN ? AND ?), 0)
                       AS revenue_year_before
            FROM wanted w LEFT JOIN partner_quarter pq ON pq.partner_id = w.partner_id AND pq.q_index BETWEEN ? AND ?
            LEFT JOIN rates r ON r.quarter = pq.quarter
            GROUP BY w.partner_id
            """,
            [last - YEAR + 1, last, last, last - 2 * YEAR + 1, last - YEAR, last - 2 * YEAR + 1, last],
        ).df()
    return converted


def revenue_in_currency(store: Store, partner_ids: list[str], as_of: str, currency: str,
                        reporting: str = "USD") -> dict[str, float]:
    """Give each partner's revenue in the review year to `as_of` in `currency`, converted quarter by quarter.

    The same figure regional_recommendations gives as revenue_program (partners without orders: 0). Raises
    MissingRates naming the quarters without a rate.
    """
    wanted = pd.Series(partner_ids, dtype=object)
    if wanted.empty:
        return {}
    # currency_rates gives 1 in every quarter for the reporting currency itself.
    rates = currency_rates(store, currency, _quarters_with_orders(store, wanted, as_of) + [as_of], reporting)
    converted = _in_program_currency(store, wanted, as_of, rates)
    return dict(zip(converted["partner_id"], converted["revenue_trailing"].astype(float), strict=True))


def _judged(store: Store, inputs: pd.DataFrame, program: RegionalProgram, programs: Programs, as_of: str,
            threshold: float | None) -> pd.DataFrame:
    """Give the recommendations of one program's partners, in its currency, with revenue_trailing back in reporting."""
    reporting = programs.reporting_currency
    frame = inputs.reset_index(drop=True)
    in_reporting = frame[["revenue_trailing"]].copy()
    if program.currency != reporting:
        rates = currency_rates(store, program.currency, _quarters_with_orders(store, frame["partner_id"], as_of)
                               + [as_of], reporting)
        converted = _in_program_currency(store, frame["partner_id"], as_of, rates).set_index("partner_id")
        for column in ("revenue_trailing", "revenue_latest", "revenue_year_before"):
            frame[column] = frame["partner_id"].map(converted[column]).fillna(0.0).to_numpy()
    judged = recommend(frame, program.rules, threshold)
    judged["revenue_program"] = judged["revenue_trailing"]
    judged["revenue_trailing"] = in_reporting["revenue_trailing"].to_numpy()
    if program.currency != reporting:
        # Amounts in the reasons are the program's; goals are stored in the reporting currency at the as-of rate,
        # as every follow-up measures revenue in it.
        judged["reasons"] = [r.replace("$", _SYMBOLS.get(program.currency, "$")) if program.currency in _SYMBOLS
                             else r for r in judged["reasons"]]
        rate = rates[as_of]
        for column in ("revenue_goal", "default_revenue_goal"):
            judged[column] = (judged[column] * rate).round(2)
    judged["program"] = program.name
    judged["currency"] = program.currency
    judged["tier_level"] = [program.global_tier(t) for t in judged["tier"]]
    return judged


def regional_recommendations(store: Store, as_of: str, programs: Programs, threshold: float | None = None,
                             scope: tuple[str, ...] = ()) -> pd.DataFrame:
    """Give the recommendation of every partner of the review to `as_of`, each under its own program.

    recommend()'s columns plus: country, program, currency (the program's), revenue_program (the review
    year's revenue in that currency; revenue_trailing stays in the reporting currency), tier_level (the
    recorded tier's global level), moved_from / moved_in (a move of region within the review's lookback,
    said in the reasons too). `scope` (a person's regions) keeps only partners whose latest region is one of
    them before any is judged (the review's inputs are read for the whole channel, as the model's scores
    are). `threshold` overrides every program's own. Raises MissingRates when a program's currency lacks a
    rate for a quarter its partners need.
    """
    lookback = max(p.rules.review_lookback_quarters for p in programs.all)
    inputs = review_inputs(store, as_of, lookback)
    places = partner_locations(store, as_of, lookback)
    inputs = inputs.merge(places[["partner_id", "country", "moved_from", "moved_in"]], on="partner_id", how="left")
    if scope:
        inputs = inputs[inputs["region"].isin(scope)]
    chosen = [programs.program_for(None if r == UNKNOWN else r, c if isinstance(c, str) else None)
              for r, c in zip(inputs["region"], inputs["country"], strict=True)]
    inputs = inputs.assign(_program=[p.name for p in chosen])
    parts = []
    for program in programs.all:
        mine = inputs[inputs["_program"] == program.name].drop(columns="_program")
        if mine.empty:
            continue
        # A partner reviewed under a shorter lookback than the longest is not in this program's review.
        lookback_first = quarter_index(as_of) - max(program.rules.review_lookback_quarters, YEAR) + 1
        last_order = mine["last_order_quarter"].map(quarter_index)
        parts.append(_judged(store, mine[last_order >= lookback_first], program, programs, as_of, threshold))
    if not parts:
        empty = recommend(inputs.drop(columns="_program").iloc[:0], programs.global_rules, threshold)
        return empty.assign(revenue_program=pd.Series(dtype=float), program="", currency="", tier_level="")
    frame = pd.concat(parts, ignore_index=True)
    moved = frame["moved_from"].notna()
    frame.loc[moved, "reasons"] = [
        f"moved from region {src} to {dst} in {when}: judged under the {prog} program; " + reasons
        for src, dst, when, prog, reasons in frame.loc[moved, ["moved_from", "region", "moved_in", "program",
                                                               "reasons"]].itertuples(index=False)]
    return frame.sort_values("partner_id", kind="stable").reset_index(drop=True)


def regional_progress(store: Store, review: str, table: pd.DataFrame) -> pd.DataFrame:
    """Give each region's progress in review `review`: partners, decided (saved), left, last saved when and by whom.

    `table` is the review's partners (regional_recommendations, unscoped); a decision counts as saved
    when the named review holds one for a partner of that region. Columns: region, program, currency,
    partners, decided, left, share_decided, last_saved_at, last_saved_by. Regions without a save have
    0 decided and no time.
    """
    saved = store.query_df(
        """
        SELECT d.partner_id, d.decided_at, d.decided_by FROM review_decisions d JOIN reviews r USING (review_id)
        WHERE r.name = ?
        """,
        [review],
    )
    frame = table[["partner_id", "region", "program", "currency"]].merge(saved, on="partner_id", how="left")
    frame["decided"] = frame["decided_at"].notna()
    rows = []
    for region, group in frame.groupby("region", sort=True):
        done = group[group["decided"]]
        latest = done.sort_values("decided_at").iloc[-1] if not done.empty else None
        rows.append({
            "region": region, "program": group["program"].iloc[0], "currency": group["currency"].iloc[0],
            "partners": len(group), "decided": int(group["decided"].sum()),
            "left": int((~group["decided"]).sum()), "share_decided": group["decided"].mean(),
            "last_saved_at": None if latest is None else latest["decided_at"],
            "last_saved_by": None if latest is None else latest["decided_by"],
        })
    return pd.DataFrame(rows, columns=["region", "program", "currency", "partners", "decided", "left",
                                       "share_decided", "last_saved_at", "last_saved_by"])


def rollup_by_region_tier(table: pd.DataFrame) -> pd.DataFrame:
    """Give partners and review-year revenue (reporting currency) per region and global tier level.

    Each partner counts at the global level of its recorded tier (tier_level), so regions with tiers of
    their own add up on one ladder. Columns: region, tier_level, partners, revenue_trailing.
    """
    return (table.groupby(["region", "tier_level"], as_index=False)
            .agg(partners=("partner_id", "size"), revenue_trailing=("revenue_trailing", "sum")))


def decisions_by_region(table: pd.DataFrame, column: str = "decision") -> pd.DataFrame:
    """Give the count of each action per region (one row per region, a column per action, and the total)."""
    counts = pd.crosstab(table["region"], table[column]).reindex(columns=list(ACTIONS), fill_value=0)
    counts["partners"] = counts.sum(axis=1)
    return counts.reset_index().rename_axis(columns=None)


def region_review_export(recommendations: pd.DataFrame, program: RegionalProgram, reporting: str) -> pd.DataFrame:
    """Give a region's review as the review command writes it, with revenue in the program's and the reporting currency.

    review_export's columns, with `revenue` replaced by one column per currency named with it
    ("revenue_AUD", "revenue_USD"; one when the program's currency is the reporting one), and the program.
    """
    out = review_export(recommendations)
    at = out.columns.get_loc("revenue")
    ordered = recommendations.sort_values("partner_id", kind="stable").reset_index(drop=True)
    out = out.drop(columns="revenue")
    out.insert(at, f"revenue_{program.currency}", ordered["revenue_program"].round(2))
    if program.currency != reporting:
        out.insert(at + 1, f"revenue_{reporting}", ordered["revenue_trailing"].round(2))
    out.insert(1, "program", program.name)
    return out
