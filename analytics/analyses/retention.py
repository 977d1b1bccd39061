"""Account retention per partner: of its customers in the year before, the share that bought again this year.

Read from the order lines (customer_id); not a model feature yet. A customer "bought" in a year when it
has an order line with positive revenue there (a credit or return alone is not a purchase). Partners
whose lines in the year before carry no customer id have no figure: unknown, not 0 %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.analyses.queries import partner_window
from analytics.filters import ChannelFilter, as_of_quarter
from analytics.frames import empty_frame, require_columns
from analytics.periods import trailing_span
from analytics.store.quarters import YEAR, quarter_index, quarter_label, shift_quarter
from analytics.store.store import Store

__all__ = [
    "RETENTION_COLUMNS",
    "account_retention",
    "compute_retention",
    "losing_accounts",
    "retention_periods",
    "kept_text",
]

_COUNT_COLUMNS = ["partner_id", "partner_name", "tier", "region", "customers_before", "customers_kept"]
RETENTION_COLUMNS = [*_COUNT_COLUMNS, "customers_lost", "retention"]


def retention_periods(quarter: str) -> tuple[str, str]:
    """Give the year before and the trailing year to `quarter` as text ("2024Q1–2024Q4", "2025Q1–2025Q4")."""
    return trailing_span(shift_quarter(quarter, -YEAR)), trailing_span(quarter)


def kept_text(kept: int, before: int) -> str:
    """Give customers kept of those before as people read it: "7 of 10 (70 %)"; "n/a" when there were none before."""
    if not before:
        return "n/a"
    return f"{kept:,} of {before:,} ({kept / before:.0%})".replace("%)", " %)")


def account_retention(store: Store, flt: ChannelFilter, quarter: str | None = None) -> pd.DataFrame:
    """Give RETENTION_COLUMNS for every partner with customers in the 4 quarters before the 4 to `quarter`.

    `quarter` defaults to the filter's quarter, then to the latest. A partner is selected by its
    latest tier, region and distributor in the 8 quarters (as the drop-offs are); with a segment
    selection only customers in those segments count. See compute_retention.
    """
    quarter = as_of_quarter(store, flt, quarter)
    if quarter is None:
        return compute_retention(empty_frame(_COUNT_COLUMNS, {"customers_before": "int64",
                                                              "customers_kept": "int64"}))
    last = quarter_index(quarter)
    first, split = last - 2 * YEAR + 1, last - YEAR
    window, window_params = partner_window(flt, first, last)
    where, params = flt.partner_quarter_where("w")
    lines_where, lines_params = ChannelFilter(segments=flt.segments, scope=flt.scope).order_lines_where("ol")
    counts = store.query_df(
        f"""
        WITH w AS ({window}),
        bought AS (
            SELECT ol.partner_id, ol.customer_id,
                   bool_or(ol.quarter <= ?) AS before, bool_or(ol.quarter > ?) AS after
            FROM order_lines ol
            WHERE {lines_where} AND ol.customer_id IS NOT NULL AND ol.revenue > 0
              AND ol.quarter BETWEEN ? AND ?
            GROUP BY ol.partner_id, ol.customer_id
        )
        SELECT w.partner_id, w.partner_name, w.tier, w.region,
               count(*) FILTER (WHERE b.before) AS customers_before,
               count(*) FILTER (WHERE b.before AND b.after) AS customers_kept
        FROM bought b JOIN w ON w.partner_id = b.partner_id
        WHERE {where}
        GROUP BY ALL
        HAVING count(*) FILTER (WHERE b.before) > 0
        """,
        [*window_params, quarter_label(split), quarter_label(split), *lines_params,
         quarter_label(first), quarter, *params],
    )
    return compute_retention(counts)


def compute_retention(counts: pd.DataFrame) -> pd.DataFrame:
    """Give the retention table from per-partner counts of customers in the year before and of those kept.

    customers_lost = customers_before - customers_kept; retention = customers_kept / customers_before,
    NaN when there were no customers before (no figure rather than 0). Ordered by partner_id.
    """
    require_columns(counts, _COUNT_COLUMNS, "the partner customer counts")
    out = counts[_COUNT_COLUMNS].copy()
    for column in ("customers_before", "customers_kept"):
        out[column] = out[column].astype("int64")
    out["customers_lost"] = out["customers_before"] - out["customers_kept"]
    before = out["customers_before"].astype("float64")
    out["retention"] = out["customers_kept"] / before.where(before > 0)
    return out.sort_values("partner_id").reset_index(drop=True)[RETENTION_COLUMNS]


def losing_accounts(table: pd.DataFrame, min_customers: int = 5) -> pd.DataFrame:
    """Give the partners losing accounts fastest: lowest retention first, of those with `min_customers` or more before.

    Ties are broken by customers lost (most first), then partner_id.
    """
    require_columns(table, ["partner_id", "customers_before", "customers_lost", "retention"], "the retention table")
    if isinstance(min_customers, bool) or not isinstance(min_customers, (int, np.integer)) or min_customers < 1:
        raise ValueError(f"min_customers must be a whole number of customers, 1 or more, not {min_customers!r}")
    out = table[(table["customers_before"] >= min_customers) & table["retention"].notna()]
    return out.sort_values(["retention", "customers_lost", "partner_id"], ascending=[True, False, True]) \
        .reset_index(drop=True)
