"""Revenue drop-offs: each partner's change quarter over quarter, year over year and between two periods.

The two periods compared are by default the trailing year ("t4", the 4 quarters to the chosen quarter)
and the 4 before ("prev_t4"); a person may choose any two runs of quarters of the same length
(ComparePeriods: period A before period B), and the t4 columns then hold period B, the prev_t4 columns
period A. A partner is selected by its latest recorded tier, region and distributor from the start of
period A to the end of period B; a segment selection counts only revenue from customers in those
segments (and partner x quarter rows with revenue there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.analyses.queries import ACTIVE_WINDOW, UNKNOWN_TIER, in_selected_segments, partner_window
from analytics.filters import ChannelFilter, as_of_quarter
from analytics.frames import empty_frame, require_columns
from analytics.periods import quarter_span
from analytics.store import quarters
from analytics.store.schema import TIERS
from analytics.store.store import Store

__all__ = [
    "BRIDGE_COMPONENTS",
    "ComparePeriods",
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


@dataclass(frozen=True)
class ComparePeriods:
    """Two runs of quarters of the same length to compare: period A (a_first to a_last) before period B."""

    a_first: str
    a_last: str
    b_first: str
    b_last: str

    def __post_init__(self) -> None:
        a0, a1, b0, b1 = (quarters.quarter_index(q) for q in (self.a_first, self.a_last, self.b_first, self.b_last))
        if a0 > a1 or b0 > b1:
            raise ValueError(f"A period runs from its first quarter to its last, not {self.label_a} or {self.label_b}")
        if a1 - a0 != b1 - b0:
            raise ValueError(f"Period A ({self.label_a}, {a1 - a0 + 1} quarters) and period B ({self.label_b}, "
                             f"{b1 - b0 + 1} quarters) must be of the same length")
        if a1 >= b0:
            raise ValueError(f"Period A ({self.label_a}) must end before period B ({self.label_b}) starts")

    @classmethod
    def trailing(cls, quarter: str, length: int = ACTIVE_WINDOW) -> ComparePeriods:
        """Give the `length` quarters to `quarter` (period B) against the `length` before them (period A)."""
        return cls(quarters.shift_quarter(quarter, -2 * length + 1), quarters.shift_quarter(quarter, -length),
                   quarters.shift_quarter(quarter, -length + 1), quarter)

    @property
    def length(self) -> int:
        """Give the quarters in each period."""
        return quarters.quarter_index(self.b_last) - quarters.quarter_index(self.b_first) + 1

    @property
    def label_a(self) -> str:
        """Give period A as "2024Q3–2025Q2" (one quarter: "2024Q3")."""
        return quarter_span(self.a_first, self.a_last)

    @property
    def label_b(self) -> str:
        """Give period B as "2025Q3–2026Q2" (one quarter: "2025Q3")."""
        return quarter_span(self.b_first, self.b_last)

    @property
    def is_trailing(self) -> bool:
        """Tell whether these are the default periods: the 4 quarters to period B's end against the 4 before."""
        return self == ComparePeriods.trailing(self.b_last)


def _relative_change(new: pd.Series, base: pd.Series) -> pd.Series:
    # A change from nothing (or from a net credit) has no meaningful percentage.
    return ((new - base) / base).where(base > 0)


def partner_changes(
    store: Store, flt: ChannelFilter, quarter: str | None = None, periods: ComparePeriods | None = None,
) -> pd.DataFrame:
    """Give one row per partner with any order in the two periods compared: its changes (see compute_changes).

    `periods` defaults to the 4 quarters to `quarter` against the 4 before; `quarter` to the filter's
    quarter, then to the latest. With `periods` given, `quarter` is not used.
    """
    if periods is None:
        quarter = as_of_quarter(store, flt, quarter)
        if quarter is None:
            return empty_frame(CHANGE_COLUMNS, _DTYPES)
        periods = ComparePeriods.trailing(quarter)
    last = quarters.quarter_index(periods.b_last)
    first = quarters.quarter_index(periods.a_first)
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
        # From a year before period B's last quarter too: its year-over-year change needs that quarter.
        [*window_params, min(first, last - ACTIVE_WINDOW), last, *params],
    )
    return compute_changes(frame, last, periods)


def compute_changes(pq: pd.DataFrame, quarter_index: int, periods: ComparePeriods | None = None) -> pd.DataFrame:
    """Give per partner with a row in the two periods compared its revenue changes.

    `pq` is partner_quarter-like: [partner_id, q_index, revenue, partner_name, tier, region].
    `periods` defaults to the 4 quarters to `quarter_index` (period B) and the 4 before (period A);
    when given, `quarter_index` must be period B's last quarter.
    revenue_q / revenue_prev_q / revenue_year_ago_q are the revenue in that quarter, the one before and
    the same quarter a year before; revenue_t4 / revenue_prev_t4 over period B and period A.
    change_* = (new - base) / base, NaN when the base is zero or negative.
    revenue_lost = max(revenue_prev_t4 - revenue_t4, 0). partner_name, tier and region are the latest
    recorded in the two periods. Ordered by partner_id.
    """
    require_columns(pq, _PQ_COLUMNS, "the partner x quarter rows")
    last = int(quarter_index)
    periods = periods or ComparePeriods.trailing(quarters.quarter_label(last))
    if quarters.quarter_index(periods.b_last) != last:
        raise ValueError(f"quarter_index {last} is not the last quarter of period B ({periods.label_b})")
    b_first = quarters.quarter_index(periods.b_first)
    a_first, a_last = quarters.quarter_index(periods.a_first), quarters.quarter_index(periods.a_last)
    in_a, in_b = pq["q_index"].between(a_first, a_last), pq["q_index"].between(b_first, last)
    members = pq.loc[in_a | in_b, "partner_id"].unique()
    if len(members) == 0:
        return empty_frame(CHANGE_COLUMNS, _DTYPES)
    mine = pq["partner_id"].isin(members)
    rows, in_a, in_b = pq[mine], in_a[mine], in_b[mine]
    q, revenue = rows["q_index"], rows["revenue"].astype("float64")
    sums = pd.DataFrame({
        "partner_id": rows["partner_id"],
        "revenue_q": revenue.where(q == last, 0.0),
        "revenue_prev_q": revenue.where(q == last - 1, 0.0),
        "revenue_year_ago_q": revenue.where(q == last - ACTIVE_WINDOW, 0.0),
        "revenue_t4": revenue.where(in_b, 0.0),
        "revenue_prev_t4": revenue.where(in_a, 0.0),
    }).groupby("partner_id").sum()
    # groupby().last() skips missing values: the latest attribute that was recorded.
    compared = rows[in_a | in_b]
    attributes = compared.sort_values("q_index").groupby("partner_id")[["partner_name", "tier", "region"]].last()
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


def revenue_bridge(changes: pd.DataFrame, periods: ComparePeriods | None = None) -> pd.DataFrame:
    """Give [component, amount]: the previous 4 quarters' revenue, what changed it, and the last 4 quarters'.

    With `periods` other than the trailing ones, the first and last components name period A and B
    ("Period A, 2024Q1–2024Q2"), and "New partners" and "Lapsed" are new to and absent from period B.

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
    components = list(BRIDGE_COMPONENTS)
    if periods is not None and not periods.is_trailing:
        components[0], components[-1] = f"Period A, {periods.label_a}", f"Period B, {periods.label_b}"
    return pd.DataFrame({"component": components, "amount": amounts})


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
