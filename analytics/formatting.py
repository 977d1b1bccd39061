"""Numbers as people read them on a page: money with a unit, changes with a sign."""

from __future__ import annotations

import math
import re

import pandas as pd

__all__ = [
    "money", "money_exact", "pct_change", "signed_pct", "pct", "pct_magnitude", "count", "plural",
    "markdown_literal", "WORD_JOINER", "probability_text", "PROBABILITY_FLOOR", "PROBABILITY_CEILING",
]


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


def money_exact(value: float | None) -> str:
    """Give an amount in whole dollars as a letter or contract writes it ("$1,234,567"); "n/a" for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{'-' if value < 0 else ''}${abs(value):,.0f}"


def pct_change(now: float, before: float) -> float | None:
    """Give the relative change from `before` to `now` (0.1 = +10 %), or None when before is zero."""
    return None if not before else (now - before) / abs(before)


def signed_pct(change: float | None) -> str | None:
    """Give a change as "+12.3 %" / "-4.0 %", or None when there is no change to show."""
    return None if change is None else f"{change:+.1%}"


def pct(share: float, decimals: int = 0) -> str:
    """Give a share as a percentage with a space before the sign: "23 %", with decimals=1 "23.4 %"."""
    return f"{share * 100:.{decimals}f} %"


def pct_magnitude(share: float) -> str:
    """Give the size of a share or a change (its sign dropped) as a whole percentage that never rounds to a
    false "0 %" or "100 %": "under 1 %", "over 99 %"."""
    size = abs(share)
    if 0 < size < 0.005:
        return "under 1 %"
    if 0.995 <= size < 1:
        return "over 99 %"
    return f"{size * 100:.0f} %"


def count(value: float | None, missing: str = "n/a", minus: str = "-") -> str:
    """Give a whole number with thousands separators ("1,234"); `missing` for a missing value, and `minus`
    before a negative one (a letter leaves a missing count blank; a slide writes the typographic minus)."""
    if value is None or pd.isna(value):
        return missing
    n = int(value)
    return f"{minus}{abs(n):,}" if n < 0 else f"{n:,}"


def plural(n: float | None, word: str, thousands: bool = True) -> str:
    """Give a count with its noun, singular for one: "1 deal", "1,234 deals" ("1234 deals" without `thousands`);
    "deals not known" for a missing count (a review year the data do not cover whole). `n` is a count, rounded."""
    if n is None or pd.isna(n):
        return f"{word}s not known"
    n = int(round(n))
    return f"{n:{',' if thousands else ''}} {word}" + ("" if n == 1 else "s")


# The ends of the range a probability is written within; beyond them it reads "under 5 %" / "over 95 %".
PROBABILITY_FLOOR = 0.05
PROBABILITY_CEILING = 0.95


def probability_text(p: float | None) -> str:
    """Give a probability as people read it: "under 5 %", "23 %", "over 95 %"; "" for a missing one.

    Between 5 % and 95 % (both included) the whole percentage is written; below and above, only the band.
    Why these bands: people read "100 %" as certain and "0 %" as impossible, and no partner's future is
    either. And the ends cannot be told apart by the evidence: the model is calibrated and checked on
    tenths of a few thousand partners, so a 96 % and a 99.7 % rest on the same handful of past cases
    (in the demo, 166 regular dealers with an empty quarter, all of whom churned), and "1 in 20" is the
    finest odds a reader can weigh. Raises ValueError for a number outside 0..1, which is no probability.
    """
    try:
        p = float(p)  # pandas' NA and None are missing too
    except TypeError:
        return ""
    if math.isnan(p):
        return ""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"A probability is between 0 and 1, got {p!r}")
    if p < PROBABILITY_FLOOR:
        return f"under {PROBABILITY_FLOOR:.0%}".replace("%", " %")
    if p > PROBABILITY_CEILING:
        return f"over {PROBABILITY_CEILING:.0%}".replace("%", " %")
    return f"{p * 100:.0f} %"


_MARKDOWN_SPECIAL = "\\`*_{}[]()#+-.!|>~$:"
# GitHub-flavoured Markdown turns a bare address (http://..., www...., name@host) into a link even when
# its characters are escaped, because it looks for them in the text after escapes are resolved. An
# invisible word joiner where a link would begin keeps it text (it shows nothing, not even in labels,
# where an empty HTML comment would show as written; a copied name carries it).
_LINK_STARTS = re.compile(r"(?i)(?<=://)|(?=@)|(?<=www)(?=\\\.)")
WORD_JOINER = "\u2060"


def markdown_literal(text: str) -> str:
    """Give text that Markdown shows exactly as written (names from files may hold `**`, `<script>`, `$`, links)."""
    escaped = "".join(f"\\{ch}" if ch in _MARKDOWN_SPECIAL else ch for ch in str(text)).replace("<", "&lt;")
    return _LINK_STARTS.sub(WORD_JOINER, escaped)
