"""Reading a file as text: its encoding, its header and separator, and its rows into table raw.

A UTF-8 CSV (the usual case) goes to DuckDB as it is, without being decoded in Python; a file that is
not UTF-8 is decoded line by line (each line as UTF-8 where it is valid, else Windows-1252). DuckDB
reads every column as text under synthetic names (c0, c1, ...), so the file's own header text never
enters SQL; rows it could not split are reported with their row numbers, and every other row gets its
row number in the file (table or view raw_numbered).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.ingest.excel import _is_excel
from analytics.ingest.limits import rows_wider_than_header
from analytics.ingest.report import ExtractReport, Problem, RowsNoted, _rows_text, _shown
from analytics.ingest.sniff import UTF16_BOMS

__all__ = [
    "extract_headers",
]

DELIMITERS = (",", ";", "\t", "|")


_CHUNK = 4 * 1024 * 1024


def _read_bytes(source: str | Path | bytes) -> bytes:
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def _read_head(path: Path, n: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(n)


def _head(source: str | Path | bytes, n: int = 65536) -> bytes:
    return source[:n] if isinstance(source, bytes) else _read_head(Path(source), n)


def _chunks(source: str | Path | bytes) -> Iterator[bytes]:
    """Give the file in chunks of a few megabytes: a file of gigabytes is never held whole."""
    if isinstance(source, bytes):
        for begin in range(0, len(source), _CHUNK):
            yield source[begin:begin + _CHUNK]
        return
    with open(source, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _content_hash(source: str | Path | bytes) -> str:
    """Give the SHA-256 of the file's bytes (a load's identity: the same file twice changes nothing)."""
    digest = hashlib.sha256()
    for chunk in _chunks(source):
        digest.update(chunk)
    return digest.hexdigest()


def _is_blank(source: str | Path | bytes) -> bool:
    """Tell whether the file is empty or holds nothing but white space."""
    return all(chunk.isspace() for chunk in _chunks(source))


def _contains(source: str | Path | bytes, needle: bytes) -> bool:
    """Tell whether `needle` occurs in the file, searching chunk by chunk (it may span two chunks)."""
    carried = b""
    for chunk in _chunks(source):
        window = carried + chunk
        if needle in window:
            return True
        carried = window[-(len(needle) - 1):]
    return False




def _decode(data: bytes) -> tuple[str, dict[str, RowsNoted], str | None]:
    """Give the text, the rows with non-ASCII text per encoding used, and a warning when it was not all UTF-8.

    See _decode_to, which writes the text of a file of any size as UTF-8 without holding it.
    """
    out = io.BytesIO()
    encodings, warning = _decode_to(data, out)
    return out.getvalue().decode("utf-8"), encodings, warning


def _decode_to(source: str | Path | bytes, out: BinaryIO) -> tuple[dict[str, RowsNoted], str | None]:
    """Write the file's text to `out` as UTF-8; give the rows with non-ASCII text per encoding used, and a
    warning when it was not all UTF-8. Reads in chunks and lines, never the whole file.

    Each line is read as UTF-8 when it is valid UTF-8, else as Windows-1252 (Latin-1 for the five bytes
    Windows-1252 leaves undefined): a file pasted together from two exports keeps every name intact
    instead of turning "Müller" into "MÃ¼ller". Rows are counted as lines (header = 1).
    """
    def opened() -> BinaryIO:
        return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")

    with opened() as handle:
        start = handle.read(2)
    whole = ("utf-16", "replace") if start.startswith(UTF16_BOMS) else ("utf-8-sig", "strict")
    begin = out.tell()
    decoder = codecs.getincrementaldecoder(whole[0])(errors=whole[1])
    try:
        with opened() as handle:
            while chunk := handle.read(_CHUNK):
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
        return {}, "The file is UTF-16 text; it was read as such." if whole[0] == "utf-16" else None
    except UnicodeDecodeError:
        out.seek(begin)
        out.truncate()
    # Per encoding: how many rows, and the first few.
    counts, first = {"UTF-8": 0, "Windows-1252": 0}, {"UTF-8": [], "Windows-1252": []}
    with opened() as handle:
        for number, line in enumerate(handle, start=1):
            if number == 1:
                line = line.removeprefix(codecs.BOM_UTF8)
            if line.isascii():
                out.write(line)
                continue
            try:
                line.decode("utf-8")
                out.write(line)
                found = "UTF-8"
            except UnicodeDecodeError:
                try:
                    text = line.decode("cp1252")
                except UnicodeDecodeError:
                    text = line.decode("latin-1")
                out.write(text.encode("utf-8"))
                found = "Windows-1252"
            counts[found] += 1
            if len(first[found]) < 5:
                first[found].append(number)
    encodings = {name: RowsNoted(n, tuple(first[name])) for name, n in counts.items() if n}
    cp1252 = _rows_text(first["Windows-1252"], counts["Windows-1252"])
    if counts["UTF-8"]:
        warning = (f"The file mixes encodings: {cp1252} were read as Windows-1252 and "
                   f"{_rows_text(first['UTF-8'], counts['UTF-8'])} "
                   "as UTF-8 (each line as UTF-8 where it is valid UTF-8, else as Windows-1252).")
    else:
        warning = f"The file is not UTF-8; it was read as Windows-1252 (Latin-1) ({cp1252} hold non-ASCII text)."
    return encodings, warning




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


def extract_headers(source: str | Path | bytes, file_name: str | None = None) -> list[str]:
    """Give the file's own column headers (empty for an empty or unreadable file), without reading the rows."""
    name = file_name or (Path(source).name if not isinstance(source, bytes) else "upload")
    # The header is in the first few kilobytes; reading or decoding all of a large text file is not needed.
    data = _head(source)
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


def _utf8_head(data: bytes) -> str | None:
    """Give the first 64 KB as text when they are UTF-8 (a character cut at the end is fine), else None."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(data[:65536], final=False)
    except UnicodeDecodeError:
        return None


def _read_csv_text(
    con: duckdb.DuckDBPyConnection, source: str | Path | bytes, report: ExtractReport
) -> tuple[list[str], str, str | None, list[tuple[int, int]]]:
    """Read a CSV into table raw; give its headers, separator, an encoding warning (or None) and the
    rows with more fields than the header (row, fields; see limits.rows_wider_than_header).

    A UTF-8 file (the usual case) goes to DuckDB as it is, without being decoded in Python; a file
    that turns out not to be UTF-8, at its start or anywhere later, is decoded here line by line
    (see _decode_to; the rows per encoding go into `report`) into a temporary file and read again. A
    file given as a path is read from disk by DuckDB and in chunks here: it is never held whole.
    """
    start = _head(source)
    head = None if start.startswith(UTF16_BOMS) else _utf8_head(start)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "extract.csv"
        if isinstance(source, bytes):
            path.write_bytes(source)
        else:
            path = Path(source)
        if head is not None:
            headers, delim = _header_and_delimiter(head)
            _load_csv(con, path, len(headers), delim)
            bad_encoding = con.execute(
                "SELECT count(*) FROM reject_errors WHERE error_type = 'INVALID ENCODING'"
            ).fetchall()[0][0]
            if not bad_encoding:
                return headers, delim, None, rows_wider_than_header(path, delim, len(headers))
            con.execute("DROP TABLE raw")
        decoded = Path(tmp) / "decoded.csv"
        with decoded.open("wb") as out:
            report.encodings, warning = _decode_to(path, out)
        with decoded.open(encoding="utf-8", newline="") as text:
            headers, delim = _header_and_delimiter(text.read(65536))
        _load_csv(con, decoded, len(headers), delim)
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
