"""Calendar quarters as labels ("2025Q3") and as integer indexes for arithmetic."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analytics.store.store import Store

__all__ = [
    "YEAR",
    "quarter_index",
    "quarter_label",
    "quarter_of_date",
    "quarter_range",
    "quarter_start",
    "quarter_end",
    "shift_quarter",
    "parse_quarter_text",
    "latest_quarter",
]

YEAR = 4  # quarters in a trailing year: deals, customers, tier minimums and breadth are counted over it

_LABEL = re.compile(r"^(\d{4})Q([1-4])$")
# Accepted spellings of a quarter in extracts: 2025Q3, 2025-Q3, 2025 Q3, Q3 2025, Q3-2025, Q3/2025.
_TEXT_YEAR_FIRST = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Qq]\s*([1-4])\s*$")
_TEXT_QUARTER_FIRST = re.compile(r"^\s*[Qq]\s*([1-4])\s*[-/ ]?\s*(\d{4})\s*$")


def quarter_index(label: str) -> int:
    """Give the integer index of a quarter label (year * 4 + quarter - 1)."""
    m = _LABEL.match(label)
    if not m:
        raise ValueError(f"Not a quarter label: {label!r} (expected like 2025Q3)")
    return int(m.group(1)) * 4 + int(m.group(2)) - 1


def quarter_label(index: int) -> str:
    """Give the label ("2025Q3") of a quarter index."""
    return f"{index // 4}Q{index % 4 + 1}"


def shift_quarter(label: str, quarters: int) -> str:
    """Give the quarter `quarters` after (or before, if negative) `label`."""
    return quarter_label(quarter_index(label) + quarters)


def quarter_of_date(day: dt.date) -> str:
    """Give the label of the quarter a date falls in."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_range(first: str, last: str) -> list[str]:
    """Give every quarter label from `first` to `last`, both included."""
    return [quarter_label(i) for i in range(quarter_index(first), quarter_index(last) + 1)]


def quarter_start(label: str) -> dt.date:
    """Give the first day of a quarter."""
    i = quarter_index(label)
    return dt.date(i // 4, (i % 4) * 3 + 1, 1)


def quarter_end(label: str) -> dt.date:
    """Give the last day of a quarter."""
    return quarter_start(shift_quarter(label, 1)) - dt.timedelta(days=1)


def parse_quarter_text(text: str) -> str | None:
    """Give the label for a quarter as extracts spell it ("Q3 2025", "2025-Q3"), or None."""
    m = _TEXT_YEAR_FIRST.match(text)
    if m:
        return f"{m.group(1)}Q{m.group(2)}"
    m = _TEXT_QUARTER_FIRST.match(text)
    if m:
        return f"{m.group(2)}Q{m.group(1)}"
    return None


def latest_quarter(store: Store) -> str | None:
    """Give the latest quarter holding data, or None when the store is empty."""
    return store.query_df("SELECT max(quarter) AS q FROM partner_quarter").iloc[0]["q"] or None
