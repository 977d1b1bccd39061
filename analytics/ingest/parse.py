"""Normalisation as SQL over table raw: each function gives an expression over a raw column.

Money (currency symbols, thousands separators, a decimal comma or point), dates (ISO, dotted, and
03/04/2025 in the order decided once for the whole file), quarters, quantities, segments and tiers.
The decisions that need the whole file (decimal comma or point, day/month order) are taken here once
per file, never row by row.
"""

from __future__ import annotations

import duckdb

from analytics.ingest.report import Problem
from analytics.store.schema import SEGMENTS, TIERS


def _text(col: str | None) -> str:
    if not col:
        return "NULL"
    # trim() costs more than the rest of the parse; most values have no padding to trim.
    return f"CASE WHEN {col} LIKE ' %' OR {col} LIKE '% ' THEN NULLIF(trim({col}), '') ELSE NULLIF({col}, '') END"


# Currency symbols, codes and spaces (including no-break and thin spaces, and the Swiss apostrophe)
# are dropped; what is left is a sign, digits and separators.
_MONEY_CLEAN = r"""regexp_replace(trim({c}), '[\s\x{{a0}}\x{{202f}}''$€£¥]|USD|EUR|GBP|CHF', '', 'gi')"""
_MONEY_BODY = r"""regexp_replace({clean}, '^\(|\)$|^[-+]|-$', '', 'g')"""
_MONEY_NEG = r"""({clean} LIKE '(%)' OR starts_with({clean}, '-') OR ends_with({clean}, '-'))"""
_MONEY_VALID = {
    "point": r"^((\d{1,3}(,\d{3})+|\d+)(\.\d+)?|\.\d+)$",
    "comma": r"^((\d{1,3}(\.\d{3})+|\d+)(,\d+)?|,\d+)$",
}


def _money_parts(col: str) -> tuple[str, str, str]:
    clean = _MONEY_CLEAN.format(c=col)
    return clean, _MONEY_BODY.format(clean=clean), _MONEY_NEG.format(clean=clean)


def _bound(value: str, name: str, body: str) -> str:
    """Give `body` evaluated with `name` bound to `value`, computing `value` once per row.

    DuckDB lifts an expression used more than once out of a CASE or coalesce and computes it for
    every row, even where the branch is never taken; inside a lambda it stays in the branch.
    """
    return f"list_transform([{value}], lambda {name}: {body})[1]"


def _money_value(col: str, convention: str) -> str:
    body, neg = _MONEY_BODY.format(clean="m"), _MONEY_NEG.format(clean="m")
    digits = f"replace({body}, ',', '')" if convention == "point" else f"replace(replace({body}, '.', ''), ',', '.')"
    pattern = _MONEY_VALID[convention]
    slow = _bound(
        _MONEY_CLEAN.format(c=col),
        "m",
        f"CASE WHEN regexp_matches({body}, '{pattern}') "
        f"THEN TRY_CAST({digits} AS DECIMAL(18, 2)) * CASE WHEN {neg} THEN -1 ELSE 1 END END",
    )
    # Most amounts are plain numbers: a cast reads them without the regular expressions (not so with a
    # decimal comma, where "1.234" means a thousand and more).
    return f"coalesce(TRY_CAST({col} AS DECIMAL(18, 2)), {slow})" if convention == "point" else slow


def _decimal_convention(con: duckdb.DuckDBPyConnection, col: str) -> tuple[str, str | None]:
    """Decide, for the whole file, whether amounts use a decimal point or a decimal comma."""
    # Both signs of a decimal comma need a comma somewhere: most files have none and need no patterns.
    if not con.execute(f"SELECT count(*) FROM raw WHERE contains({col}, ',')").fetchall()[0][0]:
        return "point", None
    _, body, _ = _money_parts(col)
    comma, point = con.execute(
        rf"""
        SELECT count(*) FILTER (WHERE regexp_matches(b, ',\d{{1,2}}$') OR regexp_matches(b, '\.\d{{3}}.*,')),
               count(*) FILTER (WHERE regexp_matches(b, '\.\d{{1,2}}$') OR regexp_matches(b, ',\d{{3}}.*\.'))
        FROM (SELECT {body} AS b FROM raw)
        """
    ).fetchall()[0]
    if comma and not point:
        return "comma", "Amounts use a decimal comma (like 1.234,50); read that way for the whole file."
    if comma and point:
        # Mixed: read the majority style; rows in the other style fail validation and are reported.
        return ("comma" if comma > point else "point"), None
    return "point", None


_DATE_ISO = r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}.*)?$"
_DATE_ISO_SLASH = r"^\d{4}/\d{1,2}/\d{1,2}([ T]\d{1,2}:\d{2}.*)?$"
_DATE_DOTTED = r"^\d{1,2}\.\d{1,2}\.\d{4}([ T]\d{1,2}:\d{2}.*)?$"
_DATE_AMBIGUOUS = r"^\d{1,2}[/-]\d{1,2}[/-]\d{4}([ T]\d{1,2}:\d{2}.*)?$"


def _date_value(col: str, day_first: bool) -> str:
    first = "%d/%m/%Y" if day_first else "%m/%d/%Y"
    part = "split_part(replace(d, 'T', ' '), ' ', 1)"
    # ISO dates (the usual case) are read by a plain cast; the patterns are for the other formats.
    slow = _bound(f"trim({col})", "d", f"""CASE
        WHEN regexp_matches(d, '{_DATE_ISO}') THEN CAST(try_strptime({part}, '%Y-%m-%d') AS DATE)
        WHEN regexp_matches(d, '{_DATE_ISO_SLASH}') THEN CAST(try_strptime({part}, '%Y/%m/%d') AS DATE)
        WHEN regexp_matches(d, '{_DATE_DOTTED}') THEN CAST(try_strptime({part}, '%d.%m.%Y') AS DATE)
        WHEN regexp_matches(d, '{_DATE_AMBIGUOUS}')
            THEN CAST(try_strptime(replace({part}, '-', '/'), '{first}') AS DATE)
    END""")
    return f"coalesce(TRY_CAST({col} AS DATE), {slow})"


def _day_order(
    con: duckdb.DuckDBPyConnection, col: str, day_first: bool | None
) -> tuple[bool, list[Problem], list[str]]:
    """Decide, for the whole file, whether dates like 03/04/2025 are day/month or month/day."""
    d = f"trim({col})"
    first_max, second_max, first_row, second_row, n = con.execute(
        rf"""
        WITH parts AS (
            SELECT row_no,
                   CAST(regexp_extract({d}, '^(\d{{1,2}})[/-]', 1) AS INTEGER) AS a,
                   CAST(regexp_extract({d}, '^\d{{1,2}}[/-](\d{{1,2}})[/-]', 1) AS INTEGER) AS b
            FROM raw_numbered
            -- Values a cast reads are read that way (see _date_value), so only the others are looked at.
            WHERE TRY_CAST({col} AS DATE) IS NULL AND regexp_matches({d}, '{_DATE_AMBIGUOUS}')
        )
        SELECT max(a), max(b), min(row_no) FILTER (WHERE a > 12), min(row_no) FILTER (WHERE b > 12), count(*)
        FROM parts
        """
    ).fetchall()[0]
    if not n:
        return bool(day_first), [], []
    day_seen, month_seen = (first_max or 0) > 12, (second_max or 0) > 12
    if day_seen and month_seen:
        msg = (
            f"dates mix day/month orders: row {first_row} has a day first, row {second_row} a month first; "
            "use one order for the whole file"
        )
        return False, [Problem(None, None, msg)], []
    if day_seen or month_seen:
        decided = day_seen
        if day_first is not None and day_first != decided:
            row = first_row if day_seen else second_row
            order = "day/month" if decided else "month/day"
            return decided, [Problem(row, None, f"dates are {order} (see this row), not as requested",
                                     whole_file=True)], []
        return decided, [], []
    if day_first is None:
        return False, [], [
            "Dates like 03/04/2025 could be day/month or month/day; nothing in the file tells, so they were "
            "read as month/day (MM/DD/YYYY) for the whole file. Load with day-first if they are DD/MM/YYYY."
        ]
    return day_first, [], []


def _quarter_from_text(col: str) -> str:
    q = f"trim({col})"
    return rf"""CASE
        WHEN regexp_matches({q}, '^\d{{4}}\s*[-/ ]?\s*[Qq]\s*[1-4]$')
            THEN regexp_extract({q}, '^(\d{{4}})', 1) || 'Q' || regexp_extract({q}, '([1-4])$', 1)
        WHEN regexp_matches({q}, '^[Qq]\s*[1-4]\s*[-/ ]?\s*\d{{4}}$')
            THEN regexp_extract({q}, '(\d{{4}})$', 1) || 'Q' || regexp_extract({q}, '^[Qq]\s*([1-4])', 1)
    END"""


def _number_value(col: str) -> str:
    # Quantities: plain numbers, optionally with thousands separators. Most are plain: a cast reads them
    # without the regular expression.
    slow = rf"TRY_CAST(replace(regexp_replace(trim({col}), '[\s\x{{a0}}'']', '', 'g'), ',', '') AS DOUBLE)"
    return f"coalesce(TRY_CAST({col} AS DOUBLE), {slow})"


_SEGMENT_WORDS = {
    "SMB": ("smb", "small", "smallbusiness", "smallmediumbusiness", "sme", "smallandmedium", "small business"),
    "Mid-market": ("midmarket", "mid", "midsize", "medium", "mm", "midmarketcommercial", "commercial"),
    "Enterprise": ("enterprise", "ent", "large", "largeenterprise", "corporate", "global"),
}


def _segment_words(col: str) -> str:
    """Give the segment a word means ("small business" -> SMB), looked up in one list, else NULL."""
    words = [(w.replace(" ", ""), segment) for segment, ws in _SEGMENT_WORDS.items() for w in ws]
    key = f"regexp_replace(lower(trim({col})), '[^a-z]', '', 'g')"
    return f"{[s for _, s in words]!r}[list_position({[w for w, _ in words]!r}, {key})]"


def _segment_value(segment_col: str | None, size_col: str | None) -> str:
    """Give the customer segment: from a segment column's words, else from a size (employees or words)."""
    found = [_segment_words(segment_col)] if segment_col else []
    if size_col:
        by_size = "CASE WHEN n < 100 THEN 'SMB' WHEN n < 1000 THEN 'Mid-market' WHEN n >= 1000 THEN 'Enterprise' END"
        found += [_bound(_number_value(size_col), "n", by_size), _segment_words(size_col)]
    if not found:
        return "NULL"
    understood = f"coalesce({', '.join(found)})" if len(found) > 1 else found[0]
    if not segment_col:
        return understood
    # Values already spelled as the product spells them skip the word matching.
    exact = ", ".join(repr(x) for x in SEGMENTS)
    return f"CASE WHEN {segment_col} IN ({exact}) THEN {segment_col} ELSE {understood} END"


def _tier_value(col: str | None) -> str:
    if not col:
        return "NULL"
    # Tiers already spelled as the program spells them skip the case-folding; others keep their spelling.
    known = f"{list(TIERS)!r}[list_position({[t.lower() for t in TIERS]!r}, lower(t))]"
    other = _bound(f"trim({col})", "t", f"coalesce({known}, NULLIF(t, ''))")
    return f"CASE WHEN {col} IN ({', '.join(repr(t) for t in TIERS)}) THEN {col} ELSE {other} END"
