"""What an extract may be: size, rows, columns, line length, and how far an Excel file may expand.

`check_extract` looks at a file before anything reads it into tables, streaming through it in
chunks, so an oversized or hostile file (a workbook that expands to gigabytes, a CSV with a million
columns, a 100 MB line, or a 5 MB cell spread over quoted lines each under the line limit) is refused
with a message that says which limit it broke and where, without the file ever being held expanded in
memory. The limits are stated on the Upload page and in docs/running.md.

The size and row limits protect the web page (an upload is held in the server's memory); the command
line, where operations schedule the load of a large channel's quarter, has none (COMMAND_LINE_LIMITS):
its file is streamed, and DuckDB reads it from disk. The line, column, cell and Excel limits hold on
both paths.

Cells have limits too: one oversized partner name once made the Partner page send 27 MB of HTML per
visit. A CSV cell over MAX_TEXT_CHARS (or a header over MAX_NAME_CHARS) refuses the file here; ids and
names longer than MAX_NAME_CHARS are dealt with where the rows are read (analytics.ingest.cells:
an id is refused with its row, a name is cut, with a line in the report).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analytics.ingest.sniff import unreadable_file
from analytics.store.faults import StoreError

__all__ = [
    "MAX_FILE_MB",
    "MAX_ROWS",
    "MAX_COLUMNS",
    "MAX_LINE_BYTES",
    "MAX_EXCEL_EXPANDED_MB",
    "MAX_NAME_CHARS",
    "MAX_TEXT_CHARS",
    "ExtractTooLarge",
    "ExtractLimits",
    "COMMAND_LINE_LIMITS",
    "page_limits",
    "check_extract",
    "limits_text",
    "rows_wider_than_header",
]

MAX_FILE_MB = 400             # per file, as uploaded (also .streamlit/config.toml's server.maxUploadSize)
MAX_ROWS = 5_000_000          # data rows per file (the demo's largest quarter has about 90,000)
MAX_COLUMNS = 500             # an extract has about 15 columns
MAX_LINE_BYTES = 1_000_000    # one CSV line (an order line is a few hundred bytes)
MAX_EXCEL_EXPANDED_MB = 100   # a workbook's sheets once unzipped; larger extracts come as CSV
MAX_NAME_CHARS = 1_000        # an id, a name (partner, product, region, ...) or a header; real ones are under 100
MAX_TEXT_CHARS = 10_000       # any cell at all, stored or not
_MAX_EXCEL_RATIO = 200        # unzipped/zipped size of one part; a zip bomb's is in the thousands

_CHUNK = 4 * 1024 * 1024


class ExtractTooLarge(StoreError):
    """A file refused before reading because it breaks a stated limit; nothing was written."""


@dataclass(frozen=True)
class ExtractLimits:
    """How large a file one way in takes: megabytes and data rows per file (None: no limit of that kind)."""

    max_file_mb: int | None
    max_rows: int | None
    # Said after a refusal: where a larger file can go instead ("" when nowhere).
    elsewhere: str = ""


# The command line streams its file and DuckDB reads it from disk: no size or row limit (see docs/operations.md).
COMMAND_LINE_LIMITS = ExtractLimits(max_file_mb=None, max_rows=None)


def page_limits() -> ExtractLimits:
    """Give the limits of a file uploaded on a page (read when called, so a test can lower MAX_FILE_MB)."""
    return ExtractLimits(MAX_FILE_MB, MAX_ROWS,
                         elsewhere=" The command line (python -m analytics ingest FILE) takes larger files.")


def limits_text() -> str:
    """Give the limits in one sentence for the Upload page and the command line."""
    return (f"up to {MAX_FILE_MB} MB, {MAX_ROWS:,} rows and {MAX_COLUMNS} columns per file "
            f"(Excel: up to {MAX_EXCEL_EXPANDED_MB} MB once unzipped); ids and names up to {MAX_NAME_CHARS:,} "
            f"characters, any cell up to {MAX_TEXT_CHARS:,}")


def _chunks(source: str | Path | bytes) -> Iterator[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        for start in range(0, len(view), _CHUNK):
            yield bytes(view[start:start + _CHUNK])
        return
    with open(source, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _size(source: str | Path | bytes) -> int:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    return Path(source).stat().st_size


def _head(source: str | Path | bytes, n: int = 8) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source[:n])
    with open(source, "rb") as handle:
        return handle.read(n)


def check_extract(
    source: str | Path | bytes, file_name: str | None = None, limits: ExtractLimits | None = None
) -> None:
    """Raise ExtractTooLarge when the file breaks a limit; read in bounded chunks, never whole.

    `limits` are the size and row limits of the way the file came in: a page's (page_limits(), the
    default) or the command line's (COMMAND_LINE_LIMITS, none).
    """

    limits = limits or page_limits()
    name = file_name or (Path(source).name if not isinstance(source, (bytes, bytearray, memoryview)) else "the file")
    size = _size(source)
    if limits.max_file_mb is not None and size > limits.max_file_mb * 1024 * 1024:
        raise ExtractTooLarge(f"{name} is {size / 1024 / 1024:,.0f} MB; files of at most {limits.max_file_mb} MB "
                              f"are accepted. Split the extract by quarter and load the parts.{limits.elsewhere}")
    if _head(source, 4) == b"PK\x03\x04":
        _check_workbook(source, name, limits)
    elif unreadable_file(_head(source, 65536), name) is None:
        # An image or a password-protected workbook has no lines to count: the reader names what it is.
        _check_text(source, name, limits)


def _check_text(source: str | Path | bytes, name: str, limits: ExtractLimits) -> None:
    """Check lines and columns of a delimited text file in one streaming pass (and its cells, when they could
    be too long, in a second)."""
    newlines = 0
    line_length = 0   # bytes since the last newline
    longest = 0       # the longest line seen
    quoted = False    # whether any quote was seen
    header = bytearray()
    header_done = False
    for chunk in _chunks(source):
        quoted = quoted or b'"' in chunk
        if not header_done:
            end = chunk.find(b"\n")
            header += chunk if end < 0 else chunk[:end]
            header_done = end >= 0
        count = chunk.count(b"\n")
        if count == 0:
            line_length += len(chunk)
        else:
            longest_inside = _longest_line(chunk, line_length)
            longest = max(longest, longest_inside)
            if longest_inside > MAX_LINE_BYTES:
                line_length = longest_inside
                break
            line_length = len(chunk) - chunk.rfind(b"\n") - 1
        newlines += count
        if line_length > MAX_LINE_BYTES or len(header) > MAX_LINE_BYTES:
            break
        if limits.max_rows is not None and newlines > limits.max_rows + 1:
            raise _too_many_rows(name, limits)
    if line_length > MAX_LINE_BYTES or len(header) > MAX_LINE_BYTES:
        raise ExtractTooLarge(f"{name} has a line longer than {MAX_LINE_BYTES:,} bytes; a sales extract's lines are "
                              "a few hundred bytes. Is it the right file, and is it a CSV?")
    counts = {sep: header.count(sep) for sep in (b",", b";", b"\t", b"|")}
    columns = 1 + max(counts.values())
    if columns > MAX_COLUMNS:
        raise ExtractTooLarge(f"{name} has {columns:,} columns in its header; at most {MAX_COLUMNS} are accepted "
                              "(an extract has about 15).")
    # Without quotes a cell is part of one line: when no line is longer than a cell may be, no cell is
    # (characters are at most bytes), and the cell pass, the costlier one, cannot find anything.
    if not quoted and len(header) <= MAX_NAME_CHARS and max(longest, line_length) <= MAX_TEXT_CHARS:
        return
    # The separator the reader will pick (the one that splits the header most) decides where cells end.
    _check_cells(source, name, max(counts, key=counts.get), bytes(header))


class _CellScan:
    """The state of one pass over a CSV's cells that carries from one chunk to the next."""

    def __init__(self) -> None:
        self.in_quotes = False  # the chunk starts inside a quoted cell
        self.chars = 0          # characters of the cell under way, before this chunk
        self.row = 1            # the row (header = 1) the cell under way is in
        self.column = 0         # its position in the row, from 0


def _check_cells(source: str | Path | bytes, name: str, delimiter: bytes, header: bytes) -> None:
    """Refuse a CSV with a cell longer than MAX_TEXT_CHARS (a header longer than MAX_NAME_CHARS), naming where.

    Quote-aware, as the reader splits: a separator or a line break inside quotes is part of the cell,
    so a cell spread over many short lines is measured whole. Characters are counted as UTF-8 counts
    them (bytes that do not continue a character); in a Latin-1 file a few accented letters count as none.
    """
    scan = _CellScan()
    for chunk in _chunks(source):
        found = _longest_cell_in(chunk, delimiter, scan)
        if found is not None:
            chars, row, column = found
            limit = MAX_NAME_CHARS if row == 1 else MAX_TEXT_CHARS
            if row == 1:
                raise ExtractTooLarge(f"{name} has a header of more than {limit:,} characters in column {column + 1}; "
                                      f"headers of at most {limit:,} characters are accepted.")
            raise ExtractTooLarge(
                f"{name} has a cell of more than {limit:,} characters at row {row:,}, column "
                f"{_header_name(header, delimiter, column)} ({chars:,} characters read so far); cells of at most "
                f"{limit:,} characters are accepted ({MAX_NAME_CHARS:,} for ids and names). "
                "Is a quote left open in the rows before it?")


def _header_name(header: bytes, delimiter: bytes, column: int) -> str:
    """Give the header of column `column` (from 0) quoted and cut short, or its number when the header has none."""
    text = header.decode("utf-8", errors="replace").rstrip("\r")
    try:
        names = next(csv.reader([text], delimiter=delimiter.decode()))
    except (csv.Error, StopIteration):
        names = []
    if column < len(names) and names[column].strip():
        shown = names[column].strip()
        return repr(shown if len(shown) <= 60 else shown[:60] + "…")
    return f"{column + 1}"


def _longest_line(chunk: bytes, carried: int) -> int:
    """Give the longest line in a chunk that holds newlines; the first one continues `carried` bytes."""
    # Every newline's position at once: a Python loop over a million lines took 0.6 s of a load.
    ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("\n"))
    lengths = np.diff(ends, prepend=-1) - 1
    lengths[0] += carried
    return int(lengths.max())


def _characters(data: bytes) -> int:
    """Give the characters in `data` as a cell holds them: bytes 0x80-0xBF continue a character, quotes are no text."""
    view = np.frombuffer(data, dtype=np.uint8)
    return len(view) - int(np.count_nonzero((view & 0xC0) == 0x80)) - data.count(b'"')


def _cell_ends(chunk: bytes, delimiter: bytes, in_quotes: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """Give where cells end in `chunk` (separators and line breaks outside quotes), which of those end a row,
    and whether the chunk ends inside quotes; `in_quotes` tells whether it starts inside them."""
    data = np.frombuffer(chunk, dtype=np.uint8)
    newline = data == ord("\n")
    seps = np.flatnonzero(newline | (data == delimiter[0]))
    if b'"' in chunk:
        # A separator ends a cell when an even number of quotes precede it ("" inside a cell is two).
        quotes = np.flatnonzero(data == ord('"'))
        seps = seps[(np.searchsorted(quotes, seps) + int(in_quotes)) % 2 == 0]
        in_quotes = bool((len(quotes) + int(in_quotes)) % 2)
    elif in_quotes:
        seps = seps[:0]  # the whole chunk is inside one quoted cell: nothing in it ends a cell
    return seps, newline[seps], in_quotes


def rows_wider_than_header(source: str | Path | bytes, delimiter: str, fields: int) -> list[tuple[int, int]]:
    """Give (row, fields) of each CSV row (header = row 1) with more than `fields` fields, quote-aware.

    DuckDB's reader refuses a row with an extra filled field but silently drops extra *empty* ones
    ("P1,5,2025-07-01,,"), so a shifted row could load as if nothing were wrong; this finds both kinds.
    Such a row ends with a separator (or an empty quoted cell): a file where no line does is passed
    in one or two fast byte searches (0.1 s for a million lines), and only one where some line does
    is scanned cell by cell. `source` is the file's bytes or its path; a path is read in chunks, never whole.
    """
    sep = delimiter.encode()
    head = _head(source, 65536)
    ending = b"\r\n" if b"\r\n" in head else b"\n"
    tails = [sep + ending] + ([sep + b'""' + ending] if b'"' + ending in head else [])
    last = _tail(source, 8)
    if not _contains_any(source, tails) and not last.rstrip(b"\r\n").endswith((sep, sep + b'""')):
        return []
    wide: list[tuple[int, int]] = []
    in_quotes, cells, row = False, 1, 1  # carried across chunks: the row under way has `cells` so far
    for chunk in _chunks(source):
        seps, row_ends, in_quotes = _cell_ends(chunk, sep, in_quotes)
        breaks = np.flatnonzero(row_ends)
        if len(breaks):
            # Cells per row ended in this chunk: its separators up to and including the line break.
            per_row = np.diff(breaks, prepend=-1)
            per_row[0] += cells - 1
            wide += [(row + int(i), int(per_row[i])) for i in np.flatnonzero(per_row > fields)]
            row += len(breaks)
            cells = len(seps) - int(breaks[-1])
        else:
            cells += len(seps)
    if cells > fields and not last.endswith(b"\n"):
        wide.append((row, cells))  # the last row, without a line break
    return wide


def _tail(source: str | Path | bytes, n: int) -> bytes:
    """Give the last `n` bytes of the file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source[-n:])
    with open(source, "rb") as handle:
        handle.seek(max(0, _size(source) - n))
        return handle.read(n)


def _contains_any(source: str | Path | bytes, needles: list[bytes]) -> bool:
    """Tell whether any of `needles` occurs in the file, searching chunk by chunk (a needle may span two)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return any(n in source for n in needles)
    overlap = max(len(n) for n in needles) - 1
    carried = b""
    for chunk in _chunks(source):
        window = carried + chunk
        if any(n in window for n in needles):
            return True
        carried = window[-overlap:] if overlap else b""
    return False


def _longest_cell_in(chunk: bytes, delimiter: bytes, scan: _CellScan) -> tuple[int, int, int] | None:
    """Give (characters, row, column) of the first cell in `chunk` over its limit, or None; advance `scan`."""
    seps, row_ends, in_quotes = _cell_ends(chunk, delimiter, scan.in_quotes)
    if len(seps):
        # Bytes bound characters from above: only a cell whose bytes exceed its limit is counted exactly.
        lengths = np.diff(seps, prepend=-1) - 1
        lengths[0] += scan.chars
        # Almost always none: rows and limits are worked out only for cells longer than the lower limit.
        for k in np.flatnonzero(lengths > MAX_NAME_CHARS):
            k = int(k)
            row = scan.row + int(np.count_nonzero(row_ends[:k]))
            limit = MAX_NAME_CHARS if row == 1 else MAX_TEXT_CHARS
            begin = int(seps[k - 1]) + 1 if k else 0
            chars = _characters(chunk[begin:int(seps[k])]) + (0 if k else scan.chars)
            if chars > limit:
                last_row_end = np.flatnonzero(row_ends[:k])
                column = k - int(last_row_end[-1]) - 1 if len(last_row_end) else scan.column + k
                return chars, row, column
        breaks = np.flatnonzero(row_ends)
        scan.column = len(seps) - int(breaks[-1]) - 1 if len(breaks) else scan.column + len(seps)
        scan.row += len(breaks)
        scan.chars = _characters(chunk[int(seps[-1]) + 1:])
    else:
        scan.chars += _characters(chunk)
    scan.in_quotes = in_quotes
    limit = MAX_NAME_CHARS if scan.row == 1 else MAX_TEXT_CHARS
    if scan.chars > limit:  # a cell still open at the end of the chunk (or of the file) is already too long
        return scan.chars, scan.row, scan.column
    return None


def _too_many_rows(name: str, limits: ExtractLimits) -> ExtractTooLarge:
    return ExtractTooLarge(f"{name} has more than {limits.max_rows:,} rows; at most {limits.max_rows:,} rows per "
                           f"file are accepted. Split the extract by quarter and load the parts.{limits.elsewhere}")


def _check_workbook(source: str | Path | bytes, name: str, limits: ExtractLimits) -> None:
    """Check an .xlsx without trusting its headers: unzip its sheets in chunks, counting bytes and rows."""
    handle = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) else open(source, "rb")
    cap = MAX_EXCEL_EXPANDED_MB * 1024 * 1024
    too_big = ExtractTooLarge(
        f"{name} expands to more than {MAX_EXCEL_EXPANDED_MB} MB once unzipped; workbooks up to "
        f"{MAX_EXCEL_EXPANDED_MB} MB unzipped are accepted. Save a large extract as CSV and load that.")
    try:
        with handle, zipfile.ZipFile(handle) as workbook:
            parts = workbook.infolist()
            if sum(p.file_size for p in parts) > cap:
                raise too_big
            for part in parts:
                if part.compress_size and part.file_size / part.compress_size > _MAX_EXCEL_RATIO \
                        and part.file_size > 1024 * 1024:
                    raise ExtractTooLarge(f"{name} looks like a zip bomb: {part.filename} expands "
                                          f"{part.file_size / part.compress_size:,.0f} times. It is not read.")
            expanded, rows = 0, 0
            for part in parts:
                if not part.filename.startswith("xl/"):
                    continue
                with workbook.open(part) as stream:
                    # The sizes in a zip's directory can lie; the bytes that come out cannot.
                    while chunk := stream.read(_CHUNK):
                        expanded += len(chunk)
                        if expanded > cap:
                            raise too_big
                        if part.filename.startswith("xl/worksheets/"):
                            rows += chunk.count(b"<row ") + chunk.count(b"<row>")
    except zipfile.BadZipFile:
        return  # not a workbook after all: the reader reports what is wrong with it
    if limits.max_rows is not None and rows > limits.max_rows + 1:
        raise _too_many_rows(name, limits)
