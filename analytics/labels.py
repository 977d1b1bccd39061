"""Column names in words: the one mapping from the engine's column names to what people read, and how to format them.

Every table on a page (views/widgets.py builds its column_config from here) and every export
(analytics/export.py) takes its headers and number formats from this mapping, so a column reads the
same everywhere. A page passes only what differs, such as a period in a header ("Revenue 2025Q3–2026Q2").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import pandas as pd

__all__ = ["Kind", "Column", "COLUMNS", "column", "humanise", "people_columns", "partner_order"]

# How a column's values read: money in dollars, shares (fractions) as percentages, counts as whole numbers,
# long text (reasons, notes) given room; "id" is an identifier, never summed or formatted as a number.
Kind = Literal["id", "text", "long_text", "money", "share", "count", "number", "date", "datetime", "flag"]
NUMERIC_KINDS = ("money", "share", "count", "number")


@dataclass(frozen=True)
class Column:
    """A column as people read it: its header, its kind of value, and optional help for the header's tooltip."""

    label: str
    kind: Kind
    help: str | None = None


def _c(label: str, kind: Kind = "text", help: str | None = None) -> Column:
    return Column(label, kind, help)


COLUMNS: dict[str, Column] = {
    # Who and where
    "partner_id": _c("Partner id", "id"),
    "partner_name": _c("Name"),
    # Two tiers, two names everywhere: the tier the data record, and the tier the program's minimums give.
    "tier": _c("Tier (recorded)", help="The tier the sales extracts record for the partner"),
    "tier_quarter": _c("Tier recorded in"),
    "region": _c("Region"),
    "country": _c("Country"),
    # Regional programs (analytics.review.regional): the program that judges a partner and its currency.
    "program": _c("Program", help="The program the partner is judged under: its region's own, else the global one"),
    "currency": _c("Program currency"),
    "revenue_program": _c("Revenue in the program's currency", "number",
                          help="The review year's revenue converted quarter by quarter at each quarter's rate"),
    "tier_level": _c("Global tier level", help="The recorded tier's level on the global program's ladder"),
    "moved_from": _c("Moved from region"),
    "moved_in": _c("In its region since"),
    "left": _c("Left to decide", "count"),
    "share_decided": _c("Share decided", "share"),
    "last_saved_at": _c("Last saved at", "datetime"),
    "last_saved_by": _c("Last saved by"),
    "distributor": _c("Distributor"),
    "next_tier": _c("Next tier"),
    "from_tier": _c("Tier (recorded) before"),
    "to_tier": _c("Tier (recorded) after"),
    "move": _c("Move"),
    "quarter": _c("Quarter"),
    "cohort": _c("Cohort (quarter of first order)"),
    "product": _c("Product"),
    "segment": _c("Customer segment"),
    "customer_segment": _c("Customer segment"),
    "customer_id": _c("Customer id", "id"),
    "transaction_id": _c("Transaction id", "id"),
    "deal_type": _c("Deal type"),
    "contact_email": _c("Contact e-mail"),
    "quantity": _c("Quantity", "number"),
    "order_date": _c("Order date", "date"),
    "row_no": _c("Row in file", "count"),
    # Revenue and its changes
    "revenue": _c("Revenue", "money"),
    "revenue_q": _c("Revenue, latest quarter", "money"),
    "revenue_prev_q": _c("Revenue, quarter before", "money"),
    "revenue_year_ago_q": _c("Revenue, same quarter a year before", "money"),
    "revenue_t4": _c("Revenue, last 4 quarters", "money"),
    "revenue_prev_t4": _c("Revenue, the 4 quarters before", "money"),
    "revenue_trailing": _c("Revenue, last 4 quarters", "money"),
    "revenue_trailing_before": _c("Revenue, year before the load", "money"),
    "revenue_trailing_after": _c("Revenue, year with the load", "money"),
    "revenue_latest_quarter": _c("Revenue, latest quarter", "money"),
    "revenue_quarter_before": _c("Revenue, quarter before", "money"),
    "revenue_at_stake": _c("Revenue at stake", "money"),
    "revenue_lost": _c("Revenue lost", "money"),
    "revenue_from": _c("Revenue, year to the earlier quarter", "money"),
    "revenue_to": _c("Revenue, year to the later quarter", "money"),
    "revenue_pace": _c("Revenue pace (annualised)", "money"),
    "revenue_gap": _c("Revenue gap to next tier", "money"),
    "revenue_goal": _c("Revenue goal", "money"),
    "revenue_lost_dropoffs": _c("Their revenue lost", "money"),
    "revenue_trailing_what_if": _c("Revenue, what if", "money"),
    "enterprise_into_smb_revenue": _c("Enterprise-grade revenue from SMB", "money"),
    "change_qoq": _c("Change on the quarter before", "share"),
    "change_yoy": _c("Change year over year", "share"),
    "yoy_change": _c("Change year over year", "share"),
    "change_t4": _c("Change, last 4 quarters on the 4 before", "share"),
    "change": _c("Change"),
    "what_changed": _c("What changed", "long_text"),
    # Shares
    "share": _c("Share of revenue", "share"),
    "partner_share": _c("Share of partners", "share"),
    "revenue_share": _c("Share of revenue", "share"),
    "share_of_channel_change": _c("Share of the channel's change", "share"),
    "cumulative_share": _c("Cumulative share of the channel's change", "share"),
    "share_of_revenue_lost": _c("Share of revenue lost", "share"),
    "cumulative_share_of_revenue_lost": _c("Cumulative share of revenue lost", "share"),
    "smb_share": _c("SMB share of revenue", "share"),
    "enterprise_share": _c("Enterprise share of revenue", "share"),
    "enterprise_into_smb_share": _c("Enterprise-grade to SMB, share of revenue", "share"),
    "retention": _c("Share of customers kept", "share"),
    "share_at_risk": _c("Share at risk", "share"),
    "share_dropoffs": _c("Share down by half or more", "share"),
    "share_recruits": _c("Share recruits", "share"),
    "three_deals_first_year": _c("At least 3 deals in the first year", "share"),
    # Counts
    "partners": _c("Partners", "count"),
    "partners_what_if": _c("Partners, what if", "count"),
    "deals": _c("Deals", "count"),
    "customers": _c("Customers", "count"),
    "products": _c("Products", "count"),
    "deals_t4": _c("Deals, last 4 quarters", "count"),
    "customers_t4": _c("Customers, last 4 quarters", "count"),
    "products_t4": _c("Products, last 4 quarters", "count"),
    "deals_trailing": _c("Deals, last 4 quarters", "count"),
    "customers_trailing": _c("Customers, last 4 quarters", "count"),
    "deals_pace": _c("Deals pace (annualised)", "count"),
    "deals_gap": _c("Deals gap", "count"),
    "customers_gap": _c("Customers gap", "count"),
    "deals_goal": _c("Deals goal", "count"),
    "customers_before": _c("Customers the year before", "count"),
    "customers_kept": _c("Of them bought again", "count"),
    "customers_lost": _c("Customers lost", "count"),
    "recruited": _c("Partners recruited", "count"),
    "recruits": _c("Recruits", "count"),
    "scored_partners": _c("Partners scored", "count"),
    "partners_at_risk": _c("Partners at risk", "count"),
    "dropoff_partners": _c("Partners down by half or more", "count"),
    # The model and the review
    "churn_probability": _c("Churn probability", "share"),
    "turnaround_probability": _c("Turnaround probability", "share"),
    "churn_probability_before": _c("Churn probability before", "share"),
    "churn_probability_after": _c("Churn probability after", "share"),
    # A probability in words for a table (analytics.formatting.probability_text), with a rank to sort by.
    "churn_chance": _c("Churn probability", "text", help="Under 5 % and over 95 % are bands: the data cannot tell "
                                                         "finer odds apart there, and no partner's future is certain"),
    "turnaround_chance": _c("Turnaround probability", "text", help="Only for partners underperforming now"),
    "risk_rank": _c("Risk rank", "count", help="1 = the highest churn probability: sort by it to order by risk"),
    "churn_reasons": _c("What raises the risk", "long_text"),
    "churn_reasons_against": _c("What lowers it", "long_text"),
    "turnaround_reasons": _c("What favours a turnaround", "long_text"),
    "turnaround_reasons_against": _c("What holds a turnaround back", "long_text"),
    "underperforming": _c("Underperforming", "flag"),
    "candidate": _c("Model or baseline"),
    "model_version": _c("Model version"),
    "qualifies_for": _c("Tier its figures meet", help="The highest tier whose revenue, deal and customer minimums "
                                                      "(data/program.toml) its last four quarters all meet"),
    "recommendation": _c("Recommendation"),
    "at_risk": _c("At risk", "flag"),
    "dormant": _c("Dormant", "flag", help="No order in the review year; ordered in the year before"),
    "second_look": _c("Worth a second look", "long_text",
                      help="A recommended termination a chief would question, and why it is still recommended"),
    "flags": _c("Marked", help="At risk, dormant (no order in the review year), worth a second look"),
    "last_order_quarter": _c("Last order"),
    "revenue_year_before": _c("Revenue, the year before", "money"),
    "active_quarters_year_before": _c("Quarters with orders, the year before", "count"),
    "incentive_plan": _c("Incentive plan", help="The program's plan for the partner's segment focus over the review "
                                                "year (data/program.toml, [incentives]), or the chief's"),
    "tier_after": _c("Tier after the review"),
    "tier_judged": _c("Tier judged against"),
    "tier_up": _c("Tier if promoted"),
    "tier_down": _c("Tier if demoted"),
    "revenue_smb_share": _c("SMB share of revenue", "share"),
    "revenue_mid_market_share": _c("Mid-market share of revenue", "share"),
    "revenue_enterprise_share": _c("Enterprise share of revenue", "share"),
    "revenue_goal_so_far": _c("Revenue goal so far", "money", help="The revenue goal pro rata for the goal "
                                                                    "quarters loaded so far"),
    "deals_goal_so_far": _c("Deals goal so far", "number"),
    "recommended": _c("Recommended", "count"),
    "decided": _c("Decided", "count"),
    "decided_minus_recommended": _c("Decided − recommended", "count"),
    "decision": _c("Decision"),
    "note": _c("Note", "long_text"),
    "reasons": _c("Reasons", "long_text"),
    "development_goals": _c("Development goals", "long_text"),
    "grant": _c("Provisional continuation", "flag"),
    "otherwise": _c("If not granted"),
    "goal_quarters": _c("Goal quarters"),
    "quarters_loaded": _c("Goal quarters loaded"),
    "decided_by": _c("Decided by"),
    "decided_at": _c("Decided at", "datetime"),
    "review": _c("Review"),
    "name": _c("Name"),
    "as_of": _c("As of"),
    "action": _c("Action"),
    "created_at": _c("Created at", "datetime"),
    "created_by": _c("Created by"),
    "saved_at": _c("Saved at", "datetime"),
    "saved_by": _c("Saved by"),
    "overridden": _c("Decisions changed from the recommendation", "count"),
    "meets_next_tier": _c("Already meets the next tier", "flag"),
    "status": _c("Status"),
    # Loads and a file's problems
    "load_id": _c("Load", "id"),
    "file_name": _c("File"),
    "file": _c("File"),
    "mode": _c("Mode"),
    "rows_in_file": _c("Rows in file", "count"),
    "rows_added": _c("Rows added", "count"),
    "rows_skipped": _c("Rows skipped", "count", help="Lines whose transaction id was already stored"),
    "rows_replaced": _c("Rows replaced", "count"),
    "rows_set_aside": _c("Rows set aside", "count",
                         help="Rows with problems set aside on purpose; their rejects file can be downloaded"),
    "quarters": _c("Quarters"),
    "loaded_at": _c("Loaded at", "datetime"),
    "loaded_by": _c("Loaded by"),
    "rolled_back_at": _c("Rolled back at", "datetime"),
    "rolled_back_by": _c("Rolled back by"),
    "row": _c("Row", "count"),
    "column": _c("Column"),
    "problem": _c("Problem", "long_text"),
    "value": _c("Value"),
}

# Families of columns named after a number or a tier: (pattern, label template, kind).
_PATTERNS: list[tuple[re.Pattern[str], str, Kind]] = [
    (re.compile(r"top_(\d+)pct_share"), r"Top \1 % share", "share"),
    (re.compile(r"active_after_1"), "Ordering 1 quarter later", "share"),
    (re.compile(r"active_after_(\d+)"), r"Ordering \1 quarters later", "share"),
    (re.compile(r"quarters_to_(.+)"), r"Median quarters to \1", "number"),
]


def humanise(name: str) -> str:
    """Give an unknown engine name in words: "top_1pct_share" -> "Top 1 % share"."""
    words = re.sub(r"(\d)pct\b", r"\1 %", str(name)).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def column(name: str, dtype: object = None) -> Column:
    """Give how a column reads: from COLUMNS, else a family pattern, else its name in words and a kind by dtype."""
    if name in COLUMNS:
        return COLUMNS[name]
    for pattern, template, kind in _PATTERNS:
        if pattern.fullmatch(str(name)):
            return Column(pattern.sub(template, str(name)), kind)
    if dtype is not None and pd.api.types.is_bool_dtype(dtype):
        kind: Kind = "flag"
    elif str(name).startswith("revenue"):
        kind = "money"
    elif str(name).endswith(("share", "probability")):
        kind = "share"
    elif dtype is not None and pd.api.types.is_integer_dtype(dtype):
        kind = "count"
    elif dtype is not None and pd.api.types.is_numeric_dtype(dtype):
        kind = "number"
    elif dtype is not None and pd.api.types.is_datetime64_any_dtype(dtype):
        kind = "datetime"
    else:
        kind = "text"
    return Column(humanise(str(name)), kind)


def people_columns(frame: pd.DataFrame, labels: Mapping[str, str | None] | None = None) -> dict[str, Column]:
    """Give each column of `frame` to show, in order, as people read it; `labels` renames some (None: leave out).

    A column whose header would repeat an earlier one's is left out too: it holds the same figure
    (two "Revenue 2025Q3–2026Q2" columns when a risk window is the trailing year).
    """
    labels = labels or {}
    shown: dict[str, Column] = {}
    for name in frame.columns:
        if name in labels and labels[name] is None:
            continue
        spec = column(name, frame[name].dtype)
        if labels.get(name):
            spec = replace(spec, label=str(labels[name]))
        if spec.label in {c.label for c in shown.values()}:
            continue
        shown[name] = spec
    return shown


def partner_order(columns: Mapping[str, Column], first: Sequence[str] = ()) -> list[str]:
    """Give a partner table's columns in reading order: link and id, name, `first`, long text, text, flags, figures.

    What people read a partner table for (name, reasons, decision, note) comes before the figures, so it
    shows without scrolling on a laptop; within each group the engine's order stays.
    """
    rank = {"long_text": 3, "text": 4, "date": 4, "datetime": 4, "flag": 5}
    lead = {"partner": 0, "partner_id": 0, "partner_name": 1}

    def place(name: str) -> tuple[int, int]:
        if name in lead:
            return lead[name], 0
        if name in first:
            return 2, list(first).index(name)
        return rank.get(columns[name].kind, 6), 0

    return sorted(columns, key=place)
