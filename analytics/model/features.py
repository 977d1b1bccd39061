"""Per-partner features and churn / turnaround labels as of a cutoff quarter, from history up to it only.

Everything starts from a *panel*: one row per partner, one column per quarter from the first stored
quarter to the last, read once from the store. Features at cutoff c read only columns up to c, so
adding later quarters never changes them (no look-ahead); labels at c read the H quarters after it.

A partner is in the population at a cutoff when it has any order in the H quarters to the cutoff. A
cutoff needs H quarters of data up to it (its trailing window) and, to be labelled, H quarters after.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from analytics.model.btyd import DAYS_PER_WEEK, WEEKS_PER_QUARTER, BgNbd, fit_bgnbd
from analytics.periods import quarter_span
from analytics.program.catalogue import enterprise_products
from analytics.store.quarters import YEAR, quarter_end, quarter_index, quarter_label
from analytics.store.schema import TIERS
from analytics.store.store import ACTIVE_LINES, Store

__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_CHURN_SHARE",
    "YEAR",
    "NUMERIC_FEATURES",
    "CATEGORICAL_FEATURES",
    "FEATURES",
    "Panel",
    "load_panel",
    "panel_from_frame",
    "features_at",
    "labels_at",
    "build_examples",
    "cutoffs",
    "order_history_at",
    "btyd_churn_at",
    "btyd_at",
    "YEAR_WINDOW_FEATURES",
    "NotEnoughHistory",
]

DEFAULT_HORIZON = 4
DEFAULT_CHURN_SHARE = 0.20
UNKNOWN = "Unknown"

NUMERIC_FEATURES = [
    "revenue_trailing_log",   # signed log of revenue over the last 4 quarters
    "latest_quarter_ratio",   # latest quarter against the year's quarterly average
    "half_year_trend",        # last 2 quarters against the 2 before
    "yoy_change",             # last 2 quarters against the same 2 a year earlier (NaN without that history)
    "quarters_since_deal",
    "active_quarters",        # quarters with orders among the last 4
    "deals_trailing",
    "customers_trailing",
    "products_trailing",
    "smb_share",
    "enterprise_share",
    "enterprise_into_smb_share",
    "tenure_quarters",        # capped at 4: "recruited within the year" is what generalises across cutoffs
    "tier_rank",              # 0 = the highest tier; NaN when the extract has no tier
    "tier_minimum_ratio",     # trailing-year revenue over the tier's minimum (log2); NaN without one
    "days_since_order",       # days from the last order day to the end of the cutoff quarter
    "order_days_trailing",    # distinct order days in the last 4 quarters
    "btyd_churn",             # BG/NBD fitted at the cutoff: probability of no order in the next H quarters
    "btyd_expected_orders",   # the same fit's expected order days in the next H quarters (E[x*])
]
# Features over the trailing year: missing (NaN) at a cutoff less than a year after the data start,
# where the window is cut short and a sum would read as a partner's own low figure.
YEAR_WINDOW_FEATURES = [
    "revenue_trailing_log", "latest_quarter_ratio", "active_quarters", "deals_trailing", "customers_trailing",
    "products_trailing", "tier_minimum_ratio", "order_days_trailing",
]
CATEGORICAL_FEATURES = ["region"]
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES


class NotEnoughHistory(ValueError):
    """The stored history is too short for what was asked (the message says how much is needed)."""


@dataclass(frozen=True)
class Panel:
    """Partner × quarter arrays; column j is quarter index `first + j`."""

    partners: np.ndarray        # (P,) partner ids
    first: int                  # quarter index of column 0
    revenue: np.ndarray         # (P, Q) net revenue
    deals: np.ndarray           # (P, Q)
    present: np.ndarray         # (P, Q) bool: any order line in the quarter
    revenue_smb: np.ndarray
    revenue_enterprise: np.ndarray
    enterprise_into_smb: np.ndarray
    customers_year: np.ndarray  # (P, Q) distinct customers in the 4 quarters ending at the column
    products_year: np.ndarray   # (P, Q) distinct products in the 4 quarters ending at the column
    tier: np.ndarray            # (P, Q) object: latest recorded tier up to the column, None before any
    region: np.ndarray
    name: np.ndarray
    order_days: np.ndarray      # (P, Q) distinct days with a positive order line
    first_day: np.ndarray       # (P, Q) first such day (days since 1970-01-01), NaN without one
    last_day: np.ndarray        # (P, Q) last such day, NaN without one

    @cached_property
    def _row_index(self) -> pd.Index:
        return pd.Index(self.partners)

    def rows_of(self, partner_ids) -> np.ndarray:
        """Give the row of each partner id (-1 for one not in the panel)."""
        return self._row_index.get_indexer(partner_ids)

    @property
    def quarters(self) -> int:
        return self.revenue.shape[1]

    @property
    def last(self) -> int:
        return self.first + self.quarters - 1

    def column(self, quarter: str | int) -> int:
        index = quarter_index(quarter) if isinstance(quarter, str) else quarter
        if not self.first <= index <= self.last:
            raise NotEnoughHistory(
                f"No data for {quarter_label(index)}: the store holds "
                f"{quarter_span(quarter_label(self.first), quarter_label(self.last))}"
            )
        return index - self.first

    def window(self, array: np.ndarray, end: int, length: int) -> np.ndarray:
        """Sum `array` over the `length` columns ending at column `end`; NaN where the window starts before the data."""
        start = end - length + 1
        if start < 0:
            return np.full(array.shape[0], np.nan)
        return array[:, start:end + 1].sum(axis=1)


def _latest_known(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Give each cell the latest known value at or before it in its row (None before any).

    `codes` index `values` (-1: not recorded). Working on codes, not text, keeps this quick at ten times
    the demo, and the cells share one string object per distinct value instead of one each.
    """
    valid = codes >= 0
    last_valid = np.maximum.accumulate(np.where(valid, np.arange(codes.shape[1]), 0), axis=1)
    filled = np.take_along_axis(codes, last_valid, axis=1)
    filled[~np.take_along_axis(valid, last_valid, axis=1)] = -1
    # -1 picks the None appended after the distinct values.
    return np.append(np.asarray(values, dtype=object), None)[filled]


def _day_number(day) -> int:
    return (pd.Timestamp(day) - pd.Timestamp("1970-01-01")).days


def panel_from_frame(quarters: pd.DataFrame, windows: pd.DataFrame | None = None,
                     days: pd.DataFrame | None = None) -> Panel:
    """Give the panel of partner-quarter rows (columns as in partner_quarter plus enterprise_into_smb).

    `windows` holds distinct customers and products per partner over the 4 quarters ending at each
    q_index (columns partner_id, q_index, customers_year, products_year); without it they are zero.
    `days` holds order days per partner and q_index (order_days, first_day, last_day); without it each
    quarter with positive revenue counts as one order day in the middle of the quarter.
    """
    if quarters.empty:
        raise NotEnoughHistory("No partner revenue is stored yet")
    frame = quarters.copy()
    for column in ("deals", "revenue_smb", "revenue_enterprise", "enterprise_into_smb"):
        if column not in frame:
            frame[column] = 0.0
    for column in ("tier", "region", "partner_name"):
        if column not in frame:
            frame[column] = None
    # Hashing ids, not a binary search over strings: seconds quicker for 60,000 partners.
    rows, partners = pd.factorize(frame["partner_id"], sort=True)
    partners = np.asarray(partners, dtype=object)
    first, last = int(frame["q_index"].min()), int(frame["q_index"].max())
    shape = (len(partners), last - first + 1)
    cols = frame["q_index"].to_numpy().astype(int) - first

    def dense(column: str) -> np.ndarray:
        out = np.zeros(shape)
        out[rows, cols] = frame[column].to_numpy()
        return out

    def latest_text(column: str) -> np.ndarray:
        codes, values = pd.factorize(frame[column])
        dense_codes = np.full(shape, -1, dtype=np.int64)
        dense_codes[rows, cols] = codes
        return _latest_known(dense_codes, values)

    present = np.zeros(shape, dtype=bool)
    present[rows, cols] = True
    if days is None:
        middle = np.array([_day_number(quarter_end(quarter_label(first + j))) - 45 for j in range(shape[1])], float)
        ordered = frame["revenue"].to_numpy() > 0
        days = pd.DataFrame({"partner_id": frame["partner_id"][ordered], "q_index": frame["q_index"][ordered],
                             "order_days": 1.0, "first_day": middle[cols[ordered]], "last_day": middle[cols[ordered]]})
    order_days = np.zeros(shape)
    first_day = np.full(shape, np.nan)
    last_day = np.full(shape, np.nan)
    d = days[days["q_index"].between(first, last)]
    d_rows = pd.Index(partners).get_indexer(d["partner_id"])
    ok = d_rows >= 0
    d_cols = d["q_index"].to_numpy().astype(int)[ok] - first
    order_days[d_rows[ok], d_cols] = d["order_days"].to_numpy(dtype=float)[ok]
    first_day[d_rows[ok], d_cols] = d["first_day"].to_numpy(dtype=float)[ok]
    last_day[d_rows[ok], d_cols] = d["last_day"].to_numpy(dtype=float)[ok]
    customers = np.zeros(shape)
    products = np.zeros(shape)
    if windows is not None and not windows.empty:
        w = windows[windows["q_index"].between(first, last)]
        w_rows = pd.Index(partners).get_indexer(w["partner_id"])
        ok = w_rows >= 0
        w_cols = w["q_index"].to_numpy().astype(int) - first
        customers[w_rows[ok], w_cols[ok]] = w["customers_year"].to_numpy()[ok]
        products[w_rows[ok], w_cols[ok]] = w["products_year"].to_numpy()[ok]
    return Panel(
        partners=partners,
        first=first,
        revenue=dense("revenue"),
        deals=dense("deals"),
        present=present,
        revenue_smb=dense("revenue_smb"),
        revenue_enterprise=dense("revenue_enterprise"),
        enterprise_into_smb=dense("enterprise_into_smb"),
        customers_year=customers,
        products_year=products,
        tier=latest_text("tier"),
        region=latest_text("region"),
        name=latest_text("partner_name"),
        order_days=order_days,
        first_day=first_day,
        last_day=last_day,
    )


def load_panel(store: Store) -> Panel:
    """Give the panel of everything stored, from the derived tables and one filtered pass over the lines."""
    quarters = store.query_arrow_df(
        """
        SELECT partner_id, q_index, revenue, deals, revenue_smb, revenue_enterprise, tier, region, partner_name
        FROM partner_quarter
        """
    )
    if quarters.empty:
        raise NotEnoughHistory("No partner revenue is stored yet: load an extract first")
    windows = store.query_arrow_df(
        "SELECT partner_id, q_index, customers AS customers_year, products AS products_year FROM partner_year"
    )
    # Enterprise-grade products sold to SMB customers, per partner and quarter. Not derived at load time
    # because the catalogue of enterprise products can change without a load; the filter keeps it small.
    enterprise = store.query_arrow_df(
        f"""
        SELECT partner_id,
               -- stored quarter labels are always like 2025Q3; their index is year * 4 + quarter - 1
               substr(quarter, 1, 4)::INTEGER * 4 + substr(quarter, 6, 1)::INTEGER - 1 AS q_index,
               sum(revenue)::DOUBLE AS enterprise_into_smb
        FROM order_lines
        WHERE {ACTIVE_LINES} AND customer_segment = 'SMB' AND list_contains(?, product)
        GROUP BY ALL
        """,
        [enterprise_products(store)],
    )
    quarters = quarters.merge(enterprise, how="left", on=["partner_id", "q_index"])
    quarters["enterprise_into_smb"] = quarters["enterprise_into_smb"].fillna(0.0)
    # Order days for the BG/NBD model, derived at load time (partner_quarter, see analytics.store.store).
    days = store.query_arrow_df(
        "SELECT partner_id, q_index, order_days, first_day, last_day FROM partner_quarter WHERE order_days > 0"
    )
    return panel_from_frame(quarters, windows, days)


def _ratio(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Give now / before - 1 where before is positive (NaN elsewhere), clipped to [-1, 5]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(before > 0, now / np.where(before > 0, before, 1.0) - 1.0, np.nan)
    return np.clip(change, -1.0, 5.0)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, np.clip(part / np.where(whole > 0, whole, 1.0), 0.0, 1.0), 0.0)


def order_history_at(panel: Panel, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Give every panel row's BG/NBD summary at column `c`: (order days, frequency, recency, age), in weeks.

    Frequency is the order days after the first; recency runs from the first to the last order day,
    age from the first order day to the end of the cutoff quarter. Rows without an order day up to the
    cutoff have zero order days and NaN for the rest.
    """
    total = panel.order_days[:, :c + 1].sum(axis=1)
    first = np.where(np.isnan(panel.first_day[:, :c + 1]), np.inf, panel.first_day[:, :c + 1]).min(axis=1)
    last = np.where(np.isnan(panel.last_day[:, :c + 1]), -np.inf, panel.last_day[:, :c + 1]).max(axis=1)
    end = _day_number(quarter_end(quarter_label(panel.first + c)))
    known = total > 0
    frequency = np.where(known, total - 1, np.nan)
    recency = np.where(known, (last - first) / DAYS_PER_WEEK, np.nan)
    age = np.where(known, (end - first) / DAYS_PER_WEEK, np.nan)
    return total, frequency, recency, age


def btyd_at(panel: Panel, c: int, horizon: int) -> tuple[np.ndarray, np.ndarray, BgNbd | None]:
    """Give every panel row's BG/NBD chance of no order and expected order days in the `horizon` quarters after `c`.

    The model is fitted at the cutoff on every partner with an order up to it (those long gone tell
    how partners drop out), so it only knows what was known then. NaN for rows without an order day;
    the fit itself is the third item (None without any order day), with whether its optimiser converged.
    """
    total, frequency, recency, age = order_history_at(panel, c)
    known = total > 0
    no_order, expected = np.full(len(total), np.nan), np.full(len(total), np.nan)
    if not known.any():
        return no_order, expected, None
    fitted = fit_bgnbd(frequency[known], recency[known], age[known])
    weeks = horizon * WEEKS_PER_QUARTER
    no_order[known] = fitted.p_no_order(frequency[known], recency[known], age[known], weeks)
    expected[known] = fitted.expected_orders(frequency[known], recency[known], age[known], weeks)
    return no_order, expected, fitted


def btyd_churn_at(panel: Panel, c: int, horizon: int) -> np.ndarray:
    """Give every panel row's BG/NBD probability of no order in the `horizon` quarters after column `c` (btyd_at)."""
    return btyd_at(panel, c, horizon)[0]


def features_at(
    panel: Panel, cutoff: str | int, horizon: int = DEFAULT_HORIZON, tier_minimums: dict[str, float] | None = None
) -> pd.DataFrame:
    """Give one row per partner with any order in the `horizon` quarters to `cutoff`: features and context.

    Context columns (not model inputs): partner_id, partner_name, tier, quarter, revenue_at_stake
    (revenue over the horizon to the cutoff), revenue_trailing (the last 4 quarters), prior_level
    (quarterly revenue in the same half-year a year earlier), tier_minimum, underperforming,
    order_days_total (order days up to the cutoff), window_quarters (quarters of the revenue window: H, fewer
    at a cutoff less than H quarters after the data start), btyd_converged, and for the reasons in words
    revenue_latest (the cutoff quarter's), quarters_with_orders, revenue_to_date (both from the data's
    first quarter) and first_order_quarter.
    """
    c = panel.column(cutoff)
    tier_minimums = tier_minimums or {}
    window_start = max(c - horizon + 1, 0)
    population = panel.present[:, window_start:c + 1].any(axis=1)
    idx = np.flatnonzero(population)
    rev = panel.revenue[idx, :c + 1]
    present = panel.present[idx, :c + 1]

    def trailing(array: np.ndarray, length: int) -> np.ndarray:
        start = max(c - length + 1, 0)
        return array[idx, start:c + 1].sum(axis=1)

    revenue_year = trailing(panel.revenue, YEAR)
    revenue_at_stake = trailing(panel.revenue, horizon)
    last_two = rev[:, -2:].sum(axis=1) if c >= 1 else np.full(len(idx), np.nan)
    two_before = rev[:, -4:-2].sum(axis=1) if c >= 3 else np.full(len(idx), np.nan)
    year_before = rev[:, c - 5:c - 3].sum(axis=1) if c >= 5 else np.full(len(idx), np.nan)
    ever = present.any(axis=1)
    since_order = np.where(ever, np.argmax(present[:, ::-1], axis=1), 0)
    first_seen = np.argmax(present, axis=1)
    # A partner seen from the first stored quarter may be older than the data: its tenure is only known
    # once the data cover the year the tenure is capped at.
    tenure = np.where((first_seen == 0) & (c + 1 < YEAR), np.nan, np.minimum(c - first_seen + 1, YEAR))
    total_days, _, recency, age = order_history_at(panel, c)
    no_order, expected_orders, btyd_fit = btyd_at(panel, c, horizon)
    tier = np.array([t if t is not None else UNKNOWN for t in panel.tier[idx, c]], dtype=object)
    region = np.array([r if r is not None else UNKNOWN for r in panel.region[idx, c]], dtype=object)
    tier_rank = np.array([TIERS.index(t) if t in TIERS else np.nan for t in tier], dtype=float)
    minimum = np.array([tier_minimums.get(t, np.nan) for t in tier], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        minimum_ratio = np.where(minimum > 0, np.log2(np.maximum(revenue_year, 1.0) / minimum), np.nan)
        latest_ratio = np.where(revenue_year > 0, rev[:, -1] / (revenue_year / YEAR), np.nan)
    yoy = _ratio(last_two, year_before)
    underperforming = (yoy <= -0.5) | (revenue_year < minimum)

    frame = pd.DataFrame({
        "partner_id": panel.partners[idx],
        "partner_name": panel.name[idx, c],
        "quarter": quarter_label(panel.first + c),
        "tier": tier,
        "region": region,
        "revenue_at_stake": revenue_at_stake,
        "revenue_trailing": revenue_year,
        "prior_level": year_before / 2,
        "tier_minimum": minimum,
        "underperforming": underperforming,
        "revenue_trailing_log": np.sign(revenue_year) * np.log1p(np.abs(revenue_year)),
        "latest_quarter_ratio": np.clip(latest_ratio, -2.0, 4.0),
        "half_year_trend": _ratio(last_two, two_before),
        "yoy_change": yoy,
        "quarters_since_deal": since_order.astype(float),
        "active_quarters": present[:, -YEAR:].sum(axis=1).astype(float),
        "deals_trailing": trailing(panel.deals, YEAR),
        "customers_trailing": panel.customers_year[idx, c],
        "products_trailing": panel.products_year[idx, c],
        "smb_share": _share(trailing(panel.revenue_smb, YEAR), revenue_year),
        "enterprise_share": _share(trailing(panel.revenue_enterprise, YEAR), revenue_year),
        "enterprise_into_smb_share": _share(trailing(panel.enterprise_into_smb, YEAR), revenue_year),
        "tenure_quarters": tenure.astype(float),
        "tier_rank": tier_rank,
        "tier_minimum_ratio": minimum_ratio,
        "days_since_order": np.round((age[idx] - recency[idx]) * DAYS_PER_WEEK),  # NaN without an order day
        "order_days_trailing": trailing(panel.order_days, YEAR),
        "btyd_churn": no_order[idx],
        "btyd_expected_orders": expected_orders[idx],
        # Whether the cutoff's BG/NBD optimiser converged (the notes say so when it did not): not a model input.
        "btyd_converged": btyd_fit is None or btyd_fit.converged,
        # Quarters of the revenue window: H, or fewer at a cutoff less than H quarters after the data start.
        "window_quarters": float(c - window_start + 1),
        "order_days_total": total_days[idx],
        # The partner's history in words (analytics.model.fit.describe): not model inputs.
        "revenue_latest": rev[:, -1],
        "quarters_with_orders": present.sum(axis=1).astype(float),
        "revenue_to_date": rev.sum(axis=1),
        "first_order_quarter": np.array([quarter_label(panel.first + j) for j in range(c + 1)],
                                        dtype=object)[first_seen],
    })
    if c + 1 < YEAR:
        frame[YEAR_WINDOW_FEATURES] = np.nan
    return frame.reset_index(drop=True)


def labels_at(
    panel: Panel, features: pd.DataFrame, horizon: int = DEFAULT_HORIZON, churn_share: float = DEFAULT_CHURN_SHARE
) -> pd.DataFrame:
    """Give churn and turnaround labels for the partners of `features` (one cutoff), from the H quarters after it.

    churn: revenue over the next H quarters is nothing, or below `churn_share` of the H quarters to
    the cutoff (at a cutoff with a shorter window, of that window's revenue scaled to H quarters).
    turnaround (only for partners underperforming at the cutoff, else NaN): revenue over
    the next H quarters reaches the level before the fall (the same half-year a year earlier, per
    quarter) or, for a partner that did not fall, its tier's minimum (per quarter).
    """
    quarters = features["quarter"].unique()
    if len(quarters) != 1:
        raise ValueError("labels_at takes the features of one cutoff")
    c = panel.column(quarters[0])
    if c + horizon > panel.quarters - 1:
        raise NotEnoughHistory(
            f"{quarters[0]} has no observed {horizon}-quarter future: the data end at {quarter_label(panel.last)}"
        )
    rows = panel.rows_of(features["partner_id"])
    future = panel.revenue[rows, c + 1:c + 1 + horizon].sum(axis=1)
    stake = features["revenue_at_stake"].to_numpy()
    if "window_quarters" in features:  # a shorter window's revenue stands for H quarters at its pace
        stake = stake * horizon / features["window_quarters"].to_numpy(dtype=float)
    churn = (future <= 0) | (future < churn_share * stake)
    fell = features["yoy_change"].to_numpy() <= -0.5
    per_quarter_target = np.where(fell, features["prior_level"].to_numpy(), features["tier_minimum"].to_numpy() / YEAR)
    under = features["underperforming"].to_numpy()
    turnaround = np.where(under, (future >= horizon * per_quarter_target).astype(float), np.nan)
    return pd.DataFrame({"future_revenue": future, "churn": churn.astype(int), "turnaround": turnaround},
                        index=features.index)


def cutoffs(panel: Panel, horizon: int = DEFAULT_HORIZON, labelled: bool = True, up_to: int | None = None,
            window: int | None = None) -> list[int]:
    """Give the quarter indexes usable as cutoffs: H quarters of data up to them, and H after when `labelled`.

    `window` asks for fewer quarters of data up to a cutoff (down to 1): a short history still gives the
    model cutoffs to be calibrated on; features over a window cut short are missing, not low.
    """
    first = panel.first + (horizon if window is None else max(1, min(window, horizon))) - 1
    last = panel.last - horizon if labelled else panel.last
    if up_to is not None:
        last = min(last, up_to)
    return list(range(first, last + 1))


def build_examples(
    panel: Panel,
    at: list[int],
    horizon: int = DEFAULT_HORIZON,
    churn_share: float = DEFAULT_CHURN_SHARE,
    tier_minimums: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Give features and labels for every partner at each cutoff in `at` (quarter indexes), one frame."""
    frames = []
    for cutoff in at:
        features = features_at(panel, cutoff, horizon, tier_minimums)
        frames.append(pd.concat([features, labels_at(panel, features, horizon, churn_share)], axis=1))
    if not frames:
        return pd.DataFrame()
    examples = pd.concat(frames, ignore_index=True)
    examples["cutoff"] = examples["quarter"].map(quarter_index)
    return examples
