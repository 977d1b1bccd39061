"""Reading a sales extract as real extracts come, and validating all of it before anything is stored.

The file is read by DuckDB with every column as text, under synthetic column names (c0, c1, ...), so
the file's own header text never enters SQL. Normalisation (money, dates, quarters, segments) is done
in SQL over the whole file at once; the decisions that need the whole file (decimal comma or point,
day/month order) are taken once per file, never row by row.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import hashlib
import io
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.ingest.limits import MAX_NAME_CHARS, rows_wider_than_header
from analytics.ingest.rejects import rejected_rows
from analytics.ingest.totals import skip_total_rows
from analytics.store.currencies import ISO_4217, header_currency
from analytics.store.schema import LINE_COLUMNS, SEGMENTS, TIERS, column_candidates, match_columns

__all__ = [
    "Problem",
    "RowsNoted",
    "AmbiguousColumn",
    "ExtractReport",
    "PreparedExtract",
    "ExtractInvalid",
    "required_columns",
    "prepare_extract",
    "prepare_extract_in",
    "extract_headers",
    "normalise_cell",
    "unreadable_file",
    "EARLIEST_DATE",
]

EARLIEST_DATE = dt.date(1990, 1, 1)
DELIMITERS = (",", ";", "\t", "|")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")

Progress = Callable[[float, str], None]

# Ids are compared across files and loads: look-alike forms (full-width digits, ligatures) are folded
# (NFKC). Names and other text keep their forms (NFC) and only lose what prints as nothing.
ID_COLUMNS = ("partner_id", "transaction_id", "customer_id")
TEXT_COLUMNS = ("partner_name", "tier", "region", "country", "distributor", "customer_segment", "product", "deal_type",
                "contact_email", "currency")
# Required columns whose value a wrong guess would change: two candidate columns that differ are refused.
COMPARED_COLUMNS = ("revenue", "order_date", "quarter")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an extract: where (row as a spreadsheet numbers it, header = 1) and what."""

    row: int | None
    column: str | None
    message: str
    value: str | None = None
    # A problem of the whole file that merely points at a row (dates in another order than requested):
    # setting that row aside would not fix the file.
    whole_file: bool = False


@dataclass(frozen=True)
class RowsNoted:
    """Rows (or cells) that reading treated in some noted way: how many, and the first few row numbers."""

    count: int
    first_rows: tuple[int, ...]


@dataclass(frozen=True)
class AmbiguousColumn:
    """A required column that several of the file's columns could hold, with different values in some rows."""

    column: str                  # the canonical column, e.g. "revenue"
    headers: tuple[str, ...]     # the file's candidate headers, the one matched first first
    differing_rows: int
    first_rows: tuple[int, ...]  # the first rows (spreadsheet numbers) where they differ


@dataclass
class ExtractReport:
    """What reading an extract found: rows, the column mapping, problems (blocking) and warnings."""

    file: str
    headers: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    quarters: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Encoding -> the rows with non-ASCII text read in it; empty for a file that is UTF-8 throughout.
    encodings: dict[str, RowsNoted] = field(default_factory=dict)
    # The file's header -> the cells whose invisible characters, spaces or forms were normalised.
    normalised: dict[str, RowsNoted] = field(default_factory=dict)
    ambiguous: list[AmbiguousColumn] = field(default_factory=list)
    # Required columns no header matched ("order_date" stands for a date or a quarter column).
    missing: list[str] = field(default_factory=list)
    # Problems of rows a person chose to set aside (analytics.ingest.rejects): they no longer block.
    set_aside: list[Problem] = field(default_factory=list)
    # Rows DuckDB could not split into columns: reported, and absent from the rows read.
    unsplit_rows: int = 0
    # The currencies of the amounts, and one sentence saying where they come from (a column, the revenue
    # column's header, the currency chosen for the file, or none: the reporting currency).
    currencies: list[str] = field(default_factory=list)
    currency_note: str = ""

    @property
    def ok(self) -> bool:
        """Tell whether the extract can be loaded (no problems; warnings do not block)."""
        return not self.problems

    @property
    def bad_rows(self) -> list[int]:
        """Give the data rows (spreadsheet numbers) that have a problem of their own, in file order."""
        return sorted({p.row for p in self.problems if p.row is not None and p.row > 1 and not p.whole_file})

    @property
    def can_set_aside(self) -> bool:
        """Tell whether every problem belongs to a row that can be set aside, leaving good rows to load."""
        return (bool(self.problems) and not self.missing and not self.ambiguous
                and all(p.row is not None and p.row > 1 and not p.whole_file for p in self.problems)
                and len(self.bad_rows) < self.rows)

    def problems_frame(self) -> pd.DataFrame:
        """Give every problem as a table with file, row, column, problem and value."""
        return pd.DataFrame(
            [(self.file, p.row, p.column, p.message, p.value) for p in self.problems],
            columns=["file", "row", "column", "problem", "value"],
        )

    def describe(self, limit: int = 25) -> str:
        """Give the report as text for a terminal: counts, then the problems (at most `limit`)."""
        lines = [f"{self.file}: {self.rows:,} data rows, {len(self.problems):,} problem(s)"]
        lines += [f"  currency: {self.currency_note}"] if self.currency_note else []
        lines += [f"  warning: {w}" for w in self.warnings]
        for p in self.problems[:limit]:
            parts = (f"row {p.row}" if p.row else "", f"column {p.column!r}" if p.column else "")
            where = ", ".join(x for x in parts if x)
            value = f" (value: {p.value!r})" if p.value is not None else ""
            prefix = "" if not where and p.message.startswith(self.file) else f"{self.file}: "
            lines.append(f"  {prefix}{where + ': ' if where else ''}{p.message}{value}")
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit:,} more problem(s)")
        return "\n".join(lines)


class ExtractInvalid(ValueError):
    """An extract with problems; nothing from it was stored. `report` lists every problem."""

    def __init__(self, report: ExtractReport):
        self.report = report
        super().__init__(report.describe())


@dataclass
class PreparedExtract:
    """A validated extract ready to store: its report, content hash and the normalised order lines."""

    file_name: str
    content_hash: str
    report: ExtractReport
    lines: pa.Table | None
    # The rows with problems as they were in the file, with row number and reason (rejects.rejected_rows).
    rejects: pd.DataFrame | None = None


# ---------------------------------------------------------------------------------------------
# Reading


def _read_bytes(source: str | Path | bytes) -> bytes:
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def _read_head(path: Path, n: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(n)


_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _rows_text(rows: Sequence[int], total: int | None = None, word: str = "row") -> str:
    """Give row numbers as a short phrase: "row 5", "rows 2, 3, 4 and 97 more"."""
    total = len(rows) if total is None else total
    shown = ", ".join(str(r) for r in rows[:5])
    more = f" and {total - len(rows[:5]):,} more" if total > len(rows[:5]) else ""
    return f"{word}{'s' if total > 1 else ''} {shown}{more}"


def _noted(rows: Sequence[int]) -> RowsNoted:
    return RowsNoted(len(rows), tuple(rows[:5]))


def _decode(data: bytes) -> tuple[str, dict[str, RowsNoted], str | None]:
    """Give the text, the rows with non-ASCII text per encoding used, and a warning when it was not all UTF-8.

    Each line is read as UTF-8 when it is valid UTF-8, else as Windows-1252 (Latin-1 for the five bytes
    Windows-1252 leaves undefined): a file pasted together from two exports keeps every name intact
    instead of turning "Müller" into "MÃ¼ller". Rows are counted as lines (header = 1).
    """
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16", errors="replace"), {}, "The file is UTF-16 text; it was read as such."
    try:
        return data.decode("utf-8-sig"), {}, None
    except UnicodeDecodeError:
        pass
    data = data.removeprefix(codecs.BOM_UTF8)
    texts, rows = [], {"UTF-8": [], "Windows-1252": []}
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            texts.append(line.decode("ascii"))
            continue
        try:
            texts.append(line.decode("utf-8"))
            rows["UTF-8"].append(number)
        except UnicodeDecodeError:
            try:
                texts.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                texts.append(line.decode("latin-1"))
            rows["Windows-1252"].append(number)
    encodings = {name: _noted(found) for name, found in rows.items() if found}
    cp1252 = _rows_text(rows["Windows-1252"])
    if rows["UTF-8"]:
        warning = (f"The file mixes encodings: {cp1252} were read as Windows-1252 and {_rows_text(rows['UTF-8'])} "
                   "as UTF-8 (each line as UTF-8 where it is valid UTF-8, else as Windows-1252).")
    else:
        warning = f"The file is not UTF-8; it was read as Windows-1252 (Latin-1) ({cp1252} hold non-ASCII text)."
    return "\n".join(texts), encodings, warning


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a Compound File: old .xls, or an encrypted .xlsx inside
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program"),
)
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1a\x1b")
_OTHER_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def unreadable_file(data: bytes, name: str) -> str | None:
    """Give one sentence saying why a file cannot be an extract (password-protected, an image, binary), else None.

    `data` may be the whole file or its first 64 KB.
    """
    if data.startswith(_OLE):
        if _ENCRYPTED_STREAM in data or name.lower().endswith(EXCEL_SUFFIXES):
            return f"{name} is password-protected: save it without a password, or export it as CSV, and load it again."
        return (f"{name} is an old Excel 97-2003 workbook or another Office document: save it as .xlsx, "
                "or export it as CSV, and load it again.")
    if data.startswith(_UTF16_BOMS) or data.startswith(b"PK\x03\x04"):
        return None  # text, or a workbook (zipped): the readers report what is wrong with it
    kind = next((what for signature, what in _SIGNATURES if data.startswith(signature)), None)
    head = data[:65536]
    # Text holds almost no control bytes (binary data about one in ten); a few NULs in ids (a damaged
    # export) are text all the same.
    if kind is None and len(head.translate(None, delete=_OTHER_BYTES)) > max(16, len(head) // 100):
        kind = "binary data"
    if kind is None:
        return None
    return f"{name} is not a text file (it looks like {kind}): export the extract as CSV or Excel and load it again."


def _header_and_delimiter(text: str) -> tuple[list[str], str]:
    """Give the header fields and the separator that splits the header into the most fields."""
    first = text[:65536]
    best: tuple[list[str], str] = ([], ",")
    for delim in DELIMITERS:
        try:
            header = next(csv.reader(io.StringIO(first), delimiter=delim, quotechar='"'), [])
        except csv.Error:
            continue
        if len(header) > len(best[0]):
            best = (header, delim)
    headers = [h.strip() or f"column {i + 1}" for i, h in enumerate(best[0])]
    return headers, best[1]


def _load_csv(con: duckdb.DuckDBPyConnection, path: Path, n_columns: int, delim: str) -> list[int]:
    """Read the CSV into table raw (all text) and give the rows DuckDB could not split, as row numbers."""
    # Synthetic names only: the struct literal holds no file text, so formatting it in is safe.
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_columns)) + "}"
    con.execute(
        f"""
        CREATE TEMP TABLE raw AS SELECT * FROM read_csv(?, header = true, delim = ?, quote = '"',
            escape = '"', columns = {columns}, auto_detect = false, store_rejects = true,
            ignore_errors = true, max_line_size = 10000000)
        """,
        [str(path), delim],
    )
    return [int(r[0]) for r in con.execute("SELECT DISTINCT line FROM reject_errors ORDER BY line").fetchall()]


def _reject_problems(con: duckdb.DuckDBPyConnection) -> list[Problem]:
    rows = con.execute(
        "SELECT line, min(error_type), min(error_message), min(csv_line) FROM reject_errors GROUP BY line ORDER BY line"
    ).fetchall()
    return [
        Problem(int(line), None, f"cannot be split into the header's columns ({kind.lower()}: {msg})",
                _shown(text))
        for line, kind, msg, text in rows
    ]


def _extra_empty_field_problems(wide: list[tuple[int, int]], fields: int, reported: set[int | None]) -> list[Problem]:
    """Give a problem for each row with more fields than the header that DuckDB kept (its extra fields empty).

    DuckDB drops extra empty fields without a word, so such a row is reported here in the words it uses
    for a row with an extra filled field: both are rows shifted out of their columns.
    """
    return [
        Problem(row, None, f"cannot be split into the header's columns (too many columns: the header has {fields}, "
                           f"this row {found}; the extra ones are empty)")
        for row, found in wide if row not in reported
    ]


def _shown(text: str | None, at_most: int = 200) -> str | None:
    """Give a value for a problem's report cut to `at_most` characters: a rejected line can be a megabyte."""
    return text if text is None or len(text) <= at_most else f"{text[:at_most]}… ({len(text):,} characters)"


def _load_excel(con: duckdb.DuckDBPyConnection, data: bytes) -> tuple[list[str], list[str]]:
    """Read the first sheet into table raw (all text) and give its headers and warnings."""
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=str, header=0, keep_default_na=False)
    warnings = []
    names = list(sheets)
    if len(names) > 1:
        warnings.append(f"The workbook has {len(names)} sheets; only the first ({names[0]!r}) was read.")
    frame = sheets[names[0]] if names else pd.DataFrame()
    headers = [str(h).strip() or f"column {i + 1}" for i, h in enumerate(frame.columns)]
    frame = frame.set_axis([f"c{i}" for i in range(len(headers))], axis=1).astype("object")
    con.register("excel_frame", frame)
    con.execute("CREATE TEMP TABLE raw AS SELECT * FROM excel_frame")
    con.unregister("excel_frame")
    return headers, warnings


# ---------------------------------------------------------------------------------------------
# Normalisation, as SQL over table raw. Each function gives an expression over a raw column.


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


# ---------------------------------------------------------------------------------------------
# The whole pipeline


def _is_excel(name: str, data: bytes) -> bool:
    return name.lower().endswith(EXCEL_SUFFIXES) or data[:4] == b"PK\x03\x04"


def extract_headers(source: str | Path | bytes, file_name: str | None = None) -> list[str]:
    """Give the file's own column headers (empty for an empty or unreadable file), without reading the rows."""
    name = file_name or (Path(source).name if not isinstance(source, bytes) else "upload")
    # The header is in the first few kilobytes; reading or decoding all of a large text file is not needed.
    data = source[:65536] if isinstance(source, bytes) else _read_head(Path(source), 65536)
    if _is_excel(name, data) or not data.strip():
        data = _read_bytes(source)
    if not data.strip():
        return []
    if _is_excel(name, data):
        try:
            frame = pd.read_excel(io.BytesIO(data), nrows=0, dtype=str)
        except Exception:  # a damaged workbook: prepare_extract reports it
            return []
        return [str(h).strip() or f"column {i + 1}" for i, h in enumerate(frame.columns)]
    text, _, _ = _decode(data)
    return _header_and_delimiter(text)[0]


def required_columns(mapping: dict[str, str]) -> list[str]:
    """Give the columns an extract must map: partner_id, revenue, and order_date unless a quarter column is mapped."""
    return ["partner_id", "revenue"] + ([] if "order_date" in mapping or "quarter" in mapping else ["order_date"])


def prepare_extract(
    source: str | Path | bytes,
    file_name: str | None = None,
    column_overrides: dict[str, str] | None = None,
    day_first: bool | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
    currency: str | None = None,
    reporting_currency: str | None = None,
) -> PreparedExtract:
    """Give the extract read, normalised and validated; `lines` is None when it has problems.

    `source` is a path or the file's bytes (an upload, with `file_name`). `column_overrides` maps
    canonical column names to the file's own headers where the automatic matching is not wanted.
    `day_first` settles dates like 03/04/2025 when the file itself does not tell. `currency` is the
    currency of amounts the file names none for (no currency column or cell, no code in the revenue
    header); without it they are in `reporting_currency` (default: the program file's).
    """
    con = duckdb.connect()
    try:
        prepared = prepare_extract_in(con, source, file_name, column_overrides, day_first, today, progress,
                                      currency, reporting_currency)
        if prepared.report.ok or prepared.report.can_set_aside:
            # With bad rows the lines are kept all the same: a person may set those rows aside
            # (analytics.ingest.rejects.set_aside_bad_rows); until then the report blocks the load.
            prepared.rejects = rejected_rows(con, prepared.report) if not prepared.report.ok else None
            prepared.lines = con.sql(f"SELECT {', '.join(LINE_COLUMNS)} FROM lines ORDER BY row_no").to_arrow_table()
    finally:
        con.close()
    return prepared


def prepare_extract_in(
    con: duckdb.DuckDBPyConnection,
    source: str | Path | bytes,
    file_name: str | None = None,
    column_overrides: dict[str, str] | None = None,
    day_first: bool | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
    currency: str | None = None,
    reporting_currency: str | None = None,
) -> PreparedExtract:
    """Give the extract's report and hash, leaving its normalised lines in the temporary table `lines` of `con`.

    `currency` and `reporting_currency` as in prepare_extract.

    Everything it creates is temporary (seen only by `con`), so `con` may be a cursor on the channel
    database: the lines then go into order_lines without a round trip through Python. The returned
    `lines` is None; the rows are in `con`, in LINE_COLUMNS, ordered by row_no, when the report is ok.
    """
    notify = progress or (lambda fraction, message: None)
    name = file_name or (Path(source).name if not isinstance(source, bytes) else "upload")
    notify(0.0, f"Reading {name}")
    data = _read_bytes(source)
    report = ExtractReport(file=name)
    content_hash = hashlib.sha256(data).hexdigest()
    if not data or data.isspace():
        report.problems.append(Problem(None, None, "the file is empty"))
        return PreparedExtract(name, content_hash, report, None)
    unreadable = unreadable_file(data, name)
    if unreadable:
        report.problems.append(Problem(None, None, unreadable))
        return PreparedExtract(name, content_hash, report, None)

    if _is_excel(name, data):
        try:
            headers, warnings = _load_excel(con, data)
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            report.problems.append(Problem(None, None, f"cannot be read as an Excel workbook: {exc}"))
            return PreparedExtract(name, content_hash, report, None)
        report.warnings += warnings
        con.execute("CREATE TEMP VIEW raw_numbered AS SELECT rowid + 2 AS row_no, * FROM raw")
    else:
        try:
            headers, delim, warning, wide = _read_csv_text(con, source, data, report)
        except duckdb.InvalidInputException as exc:
            # Text so far from CSV that DuckDB gives up on it; its parser dump helps nobody.
            report.problems.append(Problem(None, None, (
                f"{name} cannot be read as CSV text ({str(exc).splitlines()[0]}): export the extract as CSV or "
                "Excel and load it again."
            )))
            return PreparedExtract(name, content_hash, report, None)
        if warning:
            report.warnings.append(warning)
        unsplit = _reject_problems(con)
        report.problems += unsplit
        report.unsplit_rows = len({p.row for p in unsplit})
        _number_rows(con, sorted({p.row for p in unsplit}))
        report.problems += _extra_empty_field_problems(wide, len(headers), {p.row for p in report.problems})
    report.headers = headers
    if currency is not None and currency.strip().upper() not in ISO_4217:
        report.problems.append(Problem(None, None, f"the currency chosen for the file, {currency!r}, is not an ISO "
                                                   "4217 code (like USD, EUR or AUD)"))
        return PreparedExtract(name, content_hash, report, None)
    if reporting_currency is None:
        # Imported here: the program file is read only when the caller did not say.
        from analytics.store.rates import reporting_currency as program_currency
        reporting_currency = program_currency()
    notify(0.3, f"Validating {name}")
    _normalise_and_validate(con, report, column_overrides, day_first, today or dt.date.today(),
                            currency.strip().upper() if currency else None, reporting_currency)
    notify(0.6, f"Validated {name}")
    return PreparedExtract(name, content_hash, report, None)


def _utf8_head(data: bytes) -> str | None:
    """Give the first 64 KB as text when they are UTF-8 (a character cut at the end is fine), else None."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(data[:65536], final=False)
    except UnicodeDecodeError:
        return None


def _read_csv_text(
    con: duckdb.DuckDBPyConnection, source: str | Path | bytes, data: bytes, report: ExtractReport
) -> tuple[list[str], str, str | None, list[tuple[int, int]]]:
    """Read a CSV into table raw; give its headers, separator, an encoding warning (or None) and the
    rows with more fields than the header (row, fields; see limits.rows_wider_than_header).

    A UTF-8 file (the usual case) goes to DuckDB as it is, without being decoded in Python; a file
    that turns out not to be UTF-8, at its start or anywhere later, is decoded here line by line
    (see _decode; the rows per encoding go into `report`) and read again.
    """
    head = None if data.startswith(_UTF16_BOMS) else _utf8_head(data)
    with tempfile.TemporaryDirectory() as tmp:
        if head is not None:
            headers, delim = _header_and_delimiter(head)
            path = Path(tmp) / "extract.csv"
            if isinstance(source, bytes):
                path.write_bytes(data)
            else:
                path = Path(source)
            _load_csv(con, path, len(headers), delim)
            bad_encoding = con.execute(
                "SELECT count(*) FROM reject_errors WHERE error_type = 'INVALID ENCODING'"
            ).fetchall()[0][0]
            if not bad_encoding:
                return headers, delim, None, rows_wider_than_header(data, delim, len(headers))
            con.execute("DROP TABLE raw")
        text, report.encodings, warning = _decode(data)
        headers, delim = _header_and_delimiter(text)
        path = Path(tmp) / "decoded.csv"
        decoded = text.encode("utf-8")
        path.write_bytes(decoded)
        _load_csv(con, path, len(headers), delim)
    return headers, delim, warning, rows_wider_than_header(decoded, delim, len(headers))


def _number_rows(con: duckdb.DuckDBPyConnection, rejected: list[int]) -> None:
    """Give raw's rows their row numbers in the file (header = row 1), skipping rejected rows."""
    if not rejected:
        con.execute("CREATE TEMP VIEW raw_numbered AS SELECT rowid + 2 AS row_no, * FROM raw")
        return
    n = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
    # The k-th row DuckDB kept is the k-th data row number that was not rejected.
    candidates = np.arange(2, n + len(rejected) + 2)
    kept = np.setdiff1d(candidates, np.array(rejected))[:n]
    con.register("row_map", pa.table({"rid": np.arange(n), "row_no": kept}))
    con.execute(
        "CREATE TEMP TABLE raw_numbered AS SELECT m.row_no, r.* FROM (SELECT rowid AS rid, * FROM raw) r "
        "JOIN row_map m USING (rid) ORDER BY m.row_no"
    )
    con.execute("ALTER TABLE raw_numbered DROP COLUMN rid")
    con.unregister("row_map")


def _normalise_and_validate(
    con: duckdb.DuckDBPyConnection,
    report: ExtractReport,
    overrides: dict[str, str] | None,
    day_first: bool | None,
    today: dt.date,
    currency: str | None = None,
    reporting_currency: str = "USD",
) -> None:
    """Parse table raw_numbered into temporary table lines, adding every problem found to `report`."""
    mapped = _map_columns(con, report, overrides)
    if mapped is None:
        return
    col, candidates = mapped
    _limit_lengths(con, report, col)
    _parse_lines(con, report, col, candidates, day_first, _file_currency(report, col, currency, reporting_currency))
    _check_rows(con, report, col, today)
    _check_currencies(con, report, col)
    _check_duplicate_ids(con, report, col)
    skip_total_rows(con, report, col)
    report.problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    _collect_warnings(con, report, col)
    report.quarters = [
        r[0] for r in con.execute("SELECT DISTINCT quarter FROM lines WHERE quarter IS NOT NULL ORDER BY 1").fetchall()
    ]


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


def _map_columns(
    con: duckdb.DuckDBPyConnection, report: ExtractReport, overrides: dict[str, str] | None
) -> tuple[dict[str, str], dict[str, list[int]]] | None:
    """Give canonical column -> raw column and the candidates per column; None when the header alone stops the file.

    It stops at a header that cannot be matched, a required column missing or no data rows. Records
    the mapping, the row count and the header's problems in `report`.
    """
    headers = report.headers
    try:
        positions, notes = match_columns(headers, overrides, quiet=COMPARED_COLUMNS)
    except ValueError as exc:
        report.problems.append(Problem(1, None, str(exc)))
        return None
    report.warnings += notes
    # A column a person chose is not compared with the others that could hold it.
    candidates = {c: found for c, found in column_candidates(headers, positions).items() if c not in (overrides or {})}
    report.mapping = {canonical: headers[i] for canonical, i in positions.items()}
    # Rows DuckDB could not split are already reported; they count as rows of the file all the same.
    report.rows = con.execute("SELECT count(*) FROM raw_numbered").fetchall()[0][0] + report.unsplit_rows
    col = {canonical: f"c{i}" for canonical, i in positions.items()}

    listed = ", ".join(repr(h) for h in headers)
    report.missing = [c for c in required_columns(report.mapping) if c not in col]
    for required in report.missing:
        what = "order_date (or quarter)" if required == "order_date" else required
        report.problems.append(
            Problem(1, None, f"Required column {what} missing: no header matches it (headers: {listed})")
        )
    if report.problems and any(p.row == 1 for p in report.problems):
        return None
    if report.rows == 0:
        report.problems.append(Problem(None, None, "the file has a header but no data rows"))
        return None
    return col, candidates


def _parse_lines(
    con: duckdb.DuckDBPyConnection,
    report: ExtractReport,
    col: dict[str, str],
    candidates: dict[str, list[int]],
    day_first: bool | None,
    file_currency: str | None = None,
) -> None:
    """Create temporary table lines: every row's values parsed (amounts, dates, quarters, tiers, segments, currency).

    `file_currency` is the currency of lines that name none (see _file_currency); a line's revenue is its amount
    until the load converts it (analytics.ingest.load).
    """
    _normalise_cells(con, report, col)

    convention, note = _decimal_convention(con, col["revenue"])
    if note:
        report.warnings.append(note)
    if "order_date" in col:
        decided, order_problems, order_notes = _day_order(con, col["order_date"], day_first)
        report.problems += order_problems
        report.warnings += order_notes
        date_expr = _date_value(col["order_date"], decided)
        quarter_expr = "CAST(year(order_date) AS VARCHAR) || 'Q' || CAST(quarter(order_date) AS VARCHAR)"
    else:
        date_expr = "CAST(NULL AS DATE)"
        quarter_expr = "quarter_text"
        if "quarter" in col and "order_date" not in col:
            report.warnings.append("The file has quarters but no dates; each row counts in its quarter.")
    value_of = {
        "revenue": lambda c: _money_value(c, convention),
        "order_date": lambda c: _date_value(c, decided),
        "quarter": _quarter_from_text,
    }
    for canonical in ("revenue", "order_date" if "order_date" in col else "quarter"):
        if len(candidates.get(canonical, ())) > 1:
            _compare_candidates(con, report, canonical, candidates[canonical], value_of[canonical])

    select = {
        "row_no": "row_no",
        "transaction_id": _text(col.get("transaction_id")),
        "partner_id": _text(col["partner_id"]),
        "partner_name": _text(col.get("partner_name")),
        "tier": _tier_value(col.get("tier")),
        "region": _text(col.get("region")),
        "country": _text(col.get("country")),
        "distributor": _text(col.get("distributor")),
        "customer_id": _text(col.get("customer_id")),
        "customer_segment": _segment_value(col.get("customer_segment"), col.get("customer_size")),
        "product": _text(col.get("product")),
        "quantity": _number_value(col["quantity"]) if "quantity" in col else "CAST(NULL AS DOUBLE)",
        "deal_type": _text(col.get("deal_type")),
        "order_date": date_expr,
        "revenue": _money_value(col["revenue"], convention),
        "contact_email": _text(col.get("contact_email")),
        "quarter_text": _quarter_from_text(col["quarter"]) if "quarter" in col else "NULL",
        "currency_text": f"upper({_text(col['currency'])})" if "currency" in col else "NULL",
    }
    parsed = "SELECT " + ", ".join(f"{expr} AS {name}" for name, expr in select.items()) + " FROM raw_numbered"
    # A code checked against ISO 4217 (three capital letters), so it is safe to write into the SQL.
    fallback = f"'{file_currency}'" if file_currency and re.fullmatch("[A-Z]{3}", file_currency) else "NULL"
    con.execute(f"CREATE TEMP TABLE lines AS SELECT *, {quarter_expr} AS quarter, revenue AS amount, "
                f"coalesce(currency_text, {fallback}) AS currency FROM ({parsed})")


def _file_currency(report: ExtractReport, col: dict[str, str], chosen: str | None, reporting: str) -> str | None:
    """Give the currency of lines that name none, and say in `report.currency_note` where currencies come from.

    A code in the revenue column's header ("Amount (AUD)") wins over the currency chosen for the file; with a
    currency column, a line with an empty cell takes the header's or the chosen currency, else it is a problem
    (never guessed: a file that names currencies line by line could mix them). A file that names none anywhere
    is in the reporting currency.
    """
    revenue_header = report.mapping["revenue"]
    in_header = header_currency(revenue_header)
    if in_header and chosen and chosen != in_header:
        report.warnings.append(f"The header {revenue_header!r} names {in_header}; the amounts were read in "
                               f"{in_header}, not in {chosen} as chosen for the file.")
    file_currency = in_header or chosen
    if "currency" in col:
        if file_currency:
            why = f"the header {revenue_header!r} says so" if in_header else "as chosen for the file"
            note = (f"from column {report.mapping['currency']!r}; lines with an empty currency are in "
                    f"{file_currency} ({why})")
        else:
            note = f"from column {report.mapping['currency']!r}, line by line"
        report.currency_note = f"Currencies {note}."
        return file_currency
    if in_header:
        report.currency_note = f"Amounts in {in_header}: the header {revenue_header!r} says so."
    elif chosen:
        report.currency_note = f"Amounts in {chosen}, as chosen for the file (the file names no currency)."
    else:
        report.currency_note = (f"The file names no currency: its amounts are taken to be in {reporting}, "
                                "the reporting currency.")
    return file_currency or reporting


def _check_currencies(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str]) -> None:
    """Add a problem for every line whose currency is empty (and the file names none) or is no ISO 4217 code."""
    header = report.mapping.get("currency")
    # A file holds a handful of currencies: the codes are checked once each, and rows looked up only for bad ones.
    present = [c for (c,) in con.execute("SELECT DISTINCT currency FROM lines").fetchall()]
    bad = [c for c in present if c is not None and c not in ISO_4217]
    found = [] if not bad and None not in present else con.execute(
        "SELECT row_no, currency FROM lines WHERE currency IS NULL OR list_contains(?, currency) ORDER BY row_no",
        [bad],
    ).fetchall()
    report.problems += [
        Problem(int(row), header, "currency is empty, and the file names no currency for its amounts (choose one "
                                  "for the file: on the Upload page, or ingest --currency)")
        if code is None else
        Problem(int(row), header, "currency is not an ISO 4217 currency code (like USD, EUR or AUD)", code)
        for row, code in found
    ]
    if not found:
        report.currencies = [c for (c,) in con.execute(
            "SELECT currency FROM lines GROUP BY currency ORDER BY count(*) DESC, currency").fetchall()]



def _check_rows(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str], today: dt.date) -> None:
    """Add a problem for every row with an empty or unreadable required value, or a date far out of range."""
    header_of = report.mapping
    latest = today + dt.timedelta(days=366)
    # Rows whose parsed values could be wrong get their raw text back from raw_numbered, to tell an
    # empty value from an unreadable one and to show it in the report; the rest never carry it.
    suspect = ["partner_id IS NULL", "revenue IS NULL"]
    if "order_date" in col:
        suspect.append(f"order_date IS NULL OR order_date < DATE '{EARLIEST_DATE}' OR order_date > DATE '{latest}'")
    else:
        suspect.append(f"quarter IS NULL OR CAST(substr(quarter, 1, 4) AS INTEGER) NOT BETWEEN {EARLIEST_DATE.year} "
                       f"AND {latest.year}")
    if "quantity" in col:
        suspect.append("quantity IS NULL")
    if "customer_segment" in col or "customer_size" in col:
        suspect.append("customer_segment IS NULL")
    raw_text = {k: _text(col.get(k)) for k in ("revenue", "order_date", "quarter", "quantity", "customer_segment",
                                                "customer_size")}
    con.execute(
        "CREATE TEMP TABLE suspects AS SELECT l.*, "
        + ", ".join(f"{expr} AS raw_{name}" for name, expr in raw_text.items())
        + f" FROM (SELECT * FROM lines WHERE {' OR '.join(f'({c})' for c in suspect)}) l"
        + " JOIN raw_numbered USING (row_no)"
    )
    checks = [
        ("partner_id", "partner_id IS NULL", "partner id is empty", "NULL"),
        ("revenue", "raw_revenue IS NULL", "revenue is empty", "NULL"),
        ("revenue", "raw_revenue IS NOT NULL AND revenue IS NULL",
         "revenue is not an amount (expected like 1234.50, $1,234.50, (1,234.50) or 1.234,50)", "raw_revenue"),
    ]
    if "order_date" in col:
        checks += [
            ("order_date", "raw_order_date IS NULL", "order date is empty", "NULL"),
            ("order_date", "raw_order_date IS NOT NULL AND order_date IS NULL",
             "order date is not a date (expected YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY)", "raw_order_date"),
            ("order_date", f"order_date < DATE '{EARLIEST_DATE}' OR order_date > DATE '{latest}'",
             f"order date is far outside the expected range ({EARLIEST_DATE} to {latest})", "raw_order_date"),
        ]
    else:
        checks += [
            ("quarter", "raw_quarter IS NULL", "quarter is empty", "NULL"),
            ("quarter", "raw_quarter IS NOT NULL AND quarter IS NULL",
             "quarter is not a quarter (expected like 2025Q3 or Q3 2025)", "raw_quarter"),
            ("quarter", f"CAST(substr(quarter, 1, 4) AS INTEGER) NOT BETWEEN {EARLIEST_DATE.year} AND {latest.year}",
             f"quarter is far outside the expected range ({EARLIEST_DATE.year} to {latest.year})", "raw_quarter"),
        ]
    if "quantity" in col:
        checks.append(
            ("quantity", "raw_quantity IS NOT NULL AND quantity IS NULL", "quantity is not a number", "raw_quantity")
        )
    # Each check's SQL is one of the constant strings above (dates are formatted from date objects).
    union = " UNION ALL ".join(
        f"SELECT row_no, {i} AS check_no, CAST({value} AS VARCHAR) AS value FROM suspects WHERE {cond}"
        for i, (_, cond, _, value) in enumerate(checks)
    )
    found = con.execute(f"SELECT * FROM ({union}) ORDER BY row_no, check_no").fetchall()
    report.problems += [Problem(int(r), header_of[checks[i][0]], checks[i][2], v) for r, i, v in found]



def _check_duplicate_ids(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str]) -> None:
    """Add a problem for every row whose transaction id an earlier row of the file already has."""
    header_of = report.mapping
    # Grouping finds whether any id repeats far quicker than the window that says where each repeat is.
    repeats = "transaction_id" in col and con.execute(
        "SELECT count(*) FROM (SELECT transaction_id FROM lines WHERE transaction_id IS NOT NULL "
        "GROUP BY transaction_id HAVING count(*) > 1)"
    ).fetchall()[0][0]
    if repeats:
        dups = con.execute(
            """
            SELECT row_no, transaction_id, first_row FROM (
                SELECT row_no, transaction_id, min(row_no) OVER (PARTITION BY transaction_id) AS first_row
                FROM lines WHERE transaction_id IS NOT NULL
            ) WHERE row_no > first_row ORDER BY row_no
            """
        ).fetchall()
        report.problems += [
            Problem(int(r), header_of["transaction_id"],
                    f"transaction id appears twice in the file (first at row {first})", tx)
            for r, tx, first in dups
        ]


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


def _compare_candidates(
    con: duckdb.DuckDBPyConnection,
    report: ExtractReport,
    canonical: str,
    positions: list[int],
    value_of: Callable[[str], str],
) -> None:
    """Refuse a required column that several columns could hold when their values differ; note it when they agree."""
    # A column with no value readable as this field (a "Sales" column of sales reps' names) is no candidate.
    others = positions[1:]
    readable = con.execute(
        "SELECT " + ", ".join(f"count({value_of(f'c{i}')})" for i in others) + " FROM raw_numbered"
    ).fetchall()[0]
    positions = [positions[0], *(i for i, n in zip(others, readable, strict=True) if n)]
    if len(positions) < 2:
        return
    headers = [report.headers[i] for i in positions]
    chosen = value_of(f"c{positions[0]}")
    differ = " OR ".join(f"({chosen}) IS DISTINCT FROM ({value_of(f'c{i}')})" for i in positions[1:])
    count, rows = con.execute(
        f"SELECT count(*), list(row_no ORDER BY row_no)[1:5] FROM raw_numbered WHERE {differ}"
    ).fetchall()[0]
    listed = " and ".join(repr(h) for h in headers)
    if not count:
        report.warnings.append(f"Columns {listed} could each be {canonical} and hold the same values in every row; "
                               f"{headers[0]!r} was used.")
        return
    ambiguous = AmbiguousColumn(canonical, tuple(headers), int(count), tuple(int(r) for r in rows))
    report.ambiguous.append(ambiguous)
    options = " or ".join(f'--column {canonical}="{h}"' for h in headers)
    report.problems.append(Problem(1, None, (
        f"{canonical} is ambiguous: columns {listed} could each be {canonical} and differ in "
        f"{_rows_text(ambiguous.first_rows, count)}. It is not guessed: choose the column that holds {canonical} "
        f"(on the Upload page in the column mapping; on the command line with {options})."
    )))


def _collect_warnings(con: duckdb.DuckDBPyConnection, report: ExtractReport, col: dict[str, str]) -> None:
    """Note values that were understood only partly: unknown segments and tiers (they do not block)."""
    if "customer_segment" in col or "customer_size" in col:
        rows = con.execute(
            """
            SELECT coalesce(raw_customer_segment, raw_customer_size) AS v, count(*) FROM suspects
            WHERE customer_segment IS NULL AND coalesce(raw_customer_segment, raw_customer_size) IS NOT NULL
            GROUP BY v ORDER BY count(*) DESC LIMIT 5
            """
        ).fetchall()
        if rows:
            seen = ", ".join(f"{v!r} ({n:,} rows)" for v, n in rows)
            report.warnings.append(
                f"Customer segments not recognised, counted as unknown segment: {seen}. Expected {', '.join(SEGMENTS)}."
            )
    if "tier" in col:
        rows = con.execute(
            "SELECT tier, count(*) FROM lines WHERE tier IS NOT NULL AND tier NOT IN ("
            + ", ".join("?" for _ in TIERS) + ") GROUP BY tier ORDER BY count(*) DESC LIMIT 5",
            list(TIERS),
        ).fetchall()
        if rows:
            seen = ", ".join(f"{v!r} ({n:,} rows)" for v, n in rows)
            report.warnings.append(f"Tiers other than {', '.join(TIERS)} kept as written: {seen}.")
    unused = [h for h in report.headers if h not in report.mapping.values()]
    if unused:
        report.warnings.append(f"Columns not used: {', '.join(repr(h) for h in unused)}.")

