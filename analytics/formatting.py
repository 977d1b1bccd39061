"""Numbers as people read them on a page: money with a unit, changes with a sign."""

from __future__ import annotations

import math

__all__ = ["money", "pct_change", "signed_pct", "markdown_literal"]


def money(value: float | None) -> str:
    """Give an amount in dollars, shortened with k / M / B ("$1.23M"); "n/a" for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{sign}${value / size:,.2f}{unit}"
    return f"{sign}${value:,.0f}"


def pct_change(now: float, before: float) -> float | None:
    """Give the relative change from `before` to `now` (0.1 = +10 %), or None when before is zero."""
    return None if not before else (now - before) / abs(before)


def signed_pct(change: float | None) -> str | None:
    """Give a change as "+12.3 %" / "-4.0 %", or None when there is no change to show."""
    return None if change is None else f"{change:+.1%}"


_MARKDOWN_SPECIAL = "\\`*_{}[]()#+-.!|>~$:"


def markdown_literal(text: str) -> str:
    """Give text that Markdown shows exactly as written (names from files may hold `**`, `<script>`, `$`)."""
    escaped = "".join(f"\\{ch}" if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))
    return escaped.replace("<", "&lt;")
