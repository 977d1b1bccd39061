"""Id and text cells made comparable: Unicode forms, invisible characters and spaces, and lengths.

Ids are compared across files and loads, so look-alike forms are folded and what prints as nothing is
dropped; an id longer than MAX_NAME_CHARS is refused with its row (never cut: cut, it could match
another), a longer name is cut, with a warning.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import duckdb
import pyarrow as pa

from analytics.ingest.limits import MAX_NAME_CHARS
from analytics.ingest.report import ExtractReport, Problem, RowsNoted, _rows_text

__all__ = [
    "ID_COLUMNS",
    "TEXT_COLUMNS",
    "normalise_cell",
]

# Ids are compared across files and loads: look-alike forms (full-width digits, ligatures) are folded
# (NFKC). Names and other text keep their forms (NFC) and only lose what prints as nothing.
ID_COLUMNS = ("partner_id", "transaction_id", "customer_id")
TEXT_COLUMNS = ("partner_name", "tier", "region", "country", "distributor", "customer_segment", "product", "deal_type",
                "contact_email", "currency")


@functools.cache
def _invisible() -> re.Pattern:
    """Give a pattern for the characters that print as nothing: controls and format characters (U+200B, U+FEFF, ...)."""
    chars = "".join(chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) in ("Cc", "Cf"))
    return re.compile("[" + re.escape(chars.replace("\t", "").replace("\n", "").replace("\r", "")) + "]")


# Line breaks, tabs and every other kind of space (no-break, thin, ideographic) become a plain space.
_SPACES = re.compile("[\t\n\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def normalise_cell(value: str, identifier: bool = False) -> str:
    """Give a cell as it is stored: Unicode-normalised (NFKC for ids, NFC for text), invisible characters
    dropped, every kind of space a plain space, trimmed; "P000020\u200b" gives "P000020"."""
    value = unicodedata.normalize("NFKC" if identifier else "NFC", value)
    return _invisible().sub("", _SPACES.sub(" ", value)).strip(" ")


def _numbered_table(con: duckdb.DuckDBPyConnection) -> str:
    """Give the table that holds raw_numbered's cells: raw_numbered itself, or raw when it is a view on raw."""
    views = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = 'raw_numbered' AND temporary"
    ).fetchall()[0][0]
    return "raw" if views else "raw_numbered"


def _normalise_cells(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str]) -> None:
    """Normalise the id and text cells in place (see normalise_cell), noting per column what changed.

    Only cells holding something other than printable ASCII can change, and almost every cell is plain
    ASCII: one pattern over each row finds the few, and each distinct value is normalised once.
    An id that holds nothing but invisible characters is a problem of its row, left as it was.
    """
    checked = [(canonical, col[canonical]) for canonical in ID_COLUMNS + TEXT_COLUMNS if canonical in col]
    if not checked:
        return
    cells = ", ".join(c for _, c in checked)
    # Column names are the synthetic c0, c1, ...; no file text enters the SQL.
    con.execute(
        f"CREATE TEMP TABLE odd_cells AS SELECT row_no, {cells} FROM raw_numbered "
        f"WHERE regexp_matches(concat({cells}), '[^ -~]')"
    )
    table = _numbered_table(con)
    for canonical, c in checked:
        identifier = canonical in ID_COLUMNS
        values = [v for (v,) in con.execute(
            f"SELECT DISTINCT {c} FROM odd_cells WHERE regexp_matches({c}, '[^ -~]')").fetchall()]
        fixes = {v: normalise_cell(v, identifier) for v in values}
        fixes = {old: new for old, new in fixes.items() if new != old}
        if not fixes:
            continue
        header = report.mapping[canonical]
        con.register("cell_fixes", pa.table({"old": list(fixes), "new": list(fixes.values())}))
        try:
            count, rows = con.execute(
                f"SELECT count(*), list(row_no ORDER BY row_no)[1:5] FROM odd_cells JOIN cell_fixes ON {c} = old"
            ).fetchall()[0]
            report.normalised[header] = RowsNoted(int(count), tuple(int(r) for r in rows))
            if identifier:
                blank = con.execute(
                    f"SELECT row_no, {c} FROM odd_cells JOIN cell_fixes ON {c} = old WHERE new = '' ORDER BY row_no"
                ).fetchall()
                what = f"{canonical.replace('_', ' ')} holds only invisible characters or spaces"
                report.problems += [Problem(int(r), header, what, v) for r, v in blank]
            con.execute(f"UPDATE {table} SET {c} = f.new FROM cell_fixes f WHERE {table}.{c} = f.old AND f.new <> ''")
        finally:
            con.unregister("cell_fixes")
    con.execute("DROP TABLE odd_cells")
    if report.normalised:
        done = "; ".join(f"{h!r}: {n.count:,} cell{'s' if n.count > 1 else ''} ({_rows_text(n.first_rows, n.count)})"
                         for h, n in report.normalised.items())
        report.warnings.append(
            "Invisible characters (zero-width, NUL and other control characters), no-break spaces and look-alike "
            f"forms were removed or made plain, so that equal ids compare equal: {done}."
        )


def _limit_lengths(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str]) -> None:
    """Refuse ids longer than MAX_NAME_CHARS (a problem per row) and cut longer names, with a warning per column.

    An id is not cut: two long ids that differ only after the cut would become one partner. A name cut
    short still names its partner. One oversized name once made the Partner page send 27 MB per visit.
    """
    table = _numbered_table(con)
    for canonical in ID_COLUMNS + TEXT_COLUMNS:
        if canonical not in col:
            continue
        c, header = col[canonical], report.mapping[canonical]
        # c is a synthetic column name (c0, c1, ...); the limit is a parameter.
        found = con.execute(f"SELECT row_no, length({c}), left({c}, 60) FROM raw_numbered WHERE length({c}) > ? "
                            "ORDER BY row_no", [MAX_NAME_CHARS]).fetchall()
        if not found:
            continue
        if canonical in ID_COLUMNS:
            what = canonical.replace("_", " ")
            report.problems += [
                Problem(int(row), header, f"{what} is {n:,} characters long; ids of at most {MAX_NAME_CHARS:,} "
                        "characters are accepted (a long id is refused, not cut: cut, it could match another)",
                        f"{start}… ({n:,} characters)")
                for row, n, start in found
            ]
            continue
        con.execute(f"UPDATE {table} SET {c} = left({c}, ?) WHERE length({c}) > ?", [MAX_NAME_CHARS, MAX_NAME_CHARS])
        rows = [int(r) for r, _, _ in found]
        verb = "were" if len(rows) > 1 else "was"
        report.warnings.append(
            f"{len(rows):,} value{'s' if len(rows) > 1 else ''} of column {header!r} longer than {MAX_NAME_CHARS:,} "
            f"characters (the longest {max(n for _, n, _ in found):,}) {verb} cut to the first {MAX_NAME_CHARS:,} "
            f"characters: {_rows_text(rows[:5], len(rows))}.")
