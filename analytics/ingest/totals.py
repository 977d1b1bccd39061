"""Totals and subtotal rows that spreadsheets add to an extract: recognised and skipped, never loaded or blamed.

A row is a total when it has no partner (or a word like "Total" where the partner should be), a word
like "Total", "Subtotal" or "Sum" in one of its cells, and an amount equal to the sum of the rows above
it: all of them (a grand total) or those since the previous total (a subtotal). A row that only looks
like one (the amount differs) stays a row with a problem, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from analytics.ingest.report import ExtractReport

__all__ = ["TOTAL_WORDS", "skip_total_rows"]

# Matched case-insensitively as whole words in any cell of the row.
TOTAL_WORDS = r"\b(grand\s*total|sub-?\s*totals?|totals?|sum|gesamt|summe|total\s*general)\b"
# Every word TOTAL_WORDS matches contains one of these: a plain substring test on them spares the pattern
# (a regular expression over each of a million cells took seconds) all the cells that hold none.
TOTAL_STEMS = ("total", "sum", "gesamt")
# A file with more candidate rows than this is not a report with totals; its rows are left to validation.
_MOST_CANDIDATES = 500


def skip_total_rows(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str]) -> None:
    """Remove total rows from `con`'s temporary table lines and their problems from `report`, with a warning."""
    cells = [f"c{i}" for i in range(len(report.headers))]
    partner = col["partner_id"]
    # Column names are the synthetic c0, c1, ...; the pattern is a constant.
    # Rows without a partner, or with a total word where it should be, are found first: a handful in a
    # report, none in a plain extract. Only their cells are searched for a total word. MATERIALIZED keeps
    # that search after the join: pushed down to the scan of every line's cells, as DuckDB otherwise
    # does, it took about a sixth of a million-line load.
    stems = " OR ".join(f"contains(lower({partner}), '{stem}')" for stem in TOTAL_STEMS)
    cell_list = ", ".join(f"r.{c}" for c in cells)
    candidates = con.execute(
        f"""
        WITH possible AS (
            SELECT row_no FROM lines WHERE revenue IS NOT NULL AND partner_id IS NULL
            UNION
            SELECT row_no FROM raw_numbered WHERE ({stems}) AND regexp_matches(lower({partner}), ?)
        ), joined AS MATERIALIZED (
            SELECT l.row_no, l.revenue, concat_ws(' | ', {cell_list}) AS text,
                   lower(concat_ws(' ', {cell_list})) AS words
            FROM possible JOIN lines l USING (row_no) JOIN raw_numbered r USING (row_no)
            WHERE l.revenue IS NOT NULL
        )
        SELECT row_no, revenue, text FROM joined WHERE regexp_matches(words, ?)
        ORDER BY row_no LIMIT {_MOST_CANDIDATES + 1}
        """,
        [TOTAL_WORDS, TOTAL_WORDS],
    ).fetchall()
    if not candidates or len(candidates) > _MOST_CANDIDATES:
        return
    found: list[tuple[int, str, str]] = []
    previous = 1
    for row_no, amount, text in candidates:
        # The rows above that are not totals themselves; sums in DECIMAL, so equal to the cent.
        everything, since = con.execute(
            "SELECT coalesce(sum(revenue), 0), coalesce(sum(revenue) FILTER (WHERE row_no > ?), 0) FROM lines "
            "WHERE row_no < ? AND NOT list_contains(?, row_no)",
            [previous, row_no, [r for r, _, _ in found]],
        ).fetchall()[0]
        if amount in (everything, since):
            found.append((row_no, "grand total" if amount == everything and since != everything else "total",
                          text))
            previous = row_no
    if not found:
        return
    rows = [r for r, _, _ in found]
    con.execute("DELETE FROM lines WHERE list_contains(?, row_no)", [rows])
    report.problems = [p for p in report.problems if p.row not in rows]
    listed = "; ".join(f"row {r:,} ({text.strip(' |')[:80]!r})" for r, _, text in found[:5])
    more = f" and {len(found) - 5:,} more" if len(found) > 5 else ""
    report.warnings.append(
        f"{len(found):,} totals row{'s' if len(found) > 1 else ''} skipped (no partner, a word like \"Total\", "
        f"an amount equal to the sum of the rows above): {listed}{more}."
    )
