"""What an extract may be: size, rows, columns, line length, and how far an Excel file may expand.

`check_extract` looks at a file before anything reads it into tables, streaming through it in
chunks, so an oversized or hostile file (a workbook that expands to gigabytes, a CSV with a million
columns or a 100 MB line) is refused with a message that says which limit it broke, without the
file ever being held expanded in memory. The limits are stated on the Upload page and in the README.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from analytics.ingest.extract import unreadable_file
from analytics.store.store import StoreError

__all__ = [
    "MAX_FILE_MB",
    "MAX_ROWS",
    "MAX_COLUMNS",
    "MAX_LINE_BYTES",
    "MAX_EXCEL_EXPANDED_MB",
    "ExtractTooLarge",
    "check_extract",
    "limits_text",
]

MAX_FILE_MB = 400             # per file, as uploaded (also .streamlit/config.toml's server.maxUploadSize)
MAX_ROWS = 5_000_000          # data rows per file (the demo's largest quarter has about 90,000)
MAX_COLUMNS = 500             # an extract has about 15 columns
MAX_LINE_BYTES = 1_000_000    # one CSV line (an order line is a few hundred bytes)
MAX_EXCEL_EXPANDED_MB = 100   # a workbook's sheets once unzipped; larger extracts come as CSV
_MAX_EXCEL_RATIO = 200        # unzipped/zipped size of one part; a zip bomb's is in the thousands

_CHUNK = 4 * 1024 * 1024


class ExtractTooLarge(StoreError):
    """A file refused before reading because it breaks a stated limit; nothing was written."""


def limits_text() -> str:
    """Give the limits in one sentence for the Upload page and the command line."""
    return (f"up to {MAX_FILE_MB} MB, {MAX_ROWS:,} rows and {MAX_COLUMNS} columns per file "
            f"(Excel: up to {MAX_EXCEL_EXPANDED_MB} MB once unzipped)")


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


def check_extract(source: str | Path | bytes, file_name: str | None = None) -> None:
    """Raise ExtractTooLarge when the file breaks a limit; read in bounded chunks, never whole."""
    name = file_name or (Path(source).name if not isinstance(source, (bytes, bytearray, memoryview)) else "the file")
    size = _size(source)
    if size > MAX_FILE_MB * 1024 * 1024:
        raise ExtractTooLarge(f"{name} is {size / 1024 / 1024:,.0f} MB; files of at most {MAX_FILE_MB} MB are "
                              "accepted. Split the extract by quarter and load the parts.")
    if _head(source, 4) == b"PK\x03\x04":
        _check_workbook(source, name)
    elif unreadable_file(_head(source, 65536), name) is None:
        # An image or a password-protected workbook has no lines to count: the reader names what it is.
        _check_text(source, name)


def _check_text(source: str | Path | bytes, name: str) -> None:
    """Check lines and columns of a delimited text file in one streaming pass."""
    newlines = 0
    line_length = 0   # bytes since the last newline
    header = bytearray()
    header_done = False
    for chunk in _chunks(source):
        if not header_done:
            end = chunk.find(b"\n")
            header += chunk if end < 0 else chunk[:end]
            header_done = end >= 0
        count = chunk.count(b"\n")
        if count == 0:
            line_length += len(chunk)
        else:
            longest_inside = _longest_line(chunk, line_length)
            if longest_inside > MAX_LINE_BYTES:
                line_length = longest_inside
                break
            line_length = len(chunk) - chunk.rfind(b"\n") - 1
        newlines += count
        if line_length > MAX_LINE_BYTES or len(header) > MAX_LINE_BYTES:
            break
        if newlines > MAX_ROWS + 1:
            raise ExtractTooLarge(f"{name} has more than {MAX_ROWS:,} rows; at most {MAX_ROWS:,} rows per file are "
                                  "accepted. Split the extract by quarter and load the parts.")
    if line_length > MAX_LINE_BYTES or len(header) > MAX_LINE_BYTES:
        raise ExtractTooLarge(f"{name} has a line longer than {MAX_LINE_BYTES:,} bytes; a sales extract's lines are "
                              "a few hundred bytes. Is it the right file, and is it a CSV?")
    columns = 1 + max(header.count(sep) for sep in (b",", b";", b"\t", b"|"))
    if columns > MAX_COLUMNS:
        raise ExtractTooLarge(f"{name} has {columns:,} columns in its header; at most {MAX_COLUMNS} are accepted "
                              "(an extract has about 15).")


def _longest_line(chunk: bytes, carried: int) -> int:
    """Give the longest line in a chunk that holds newlines; the first one continues `carried` bytes."""
    # Every newline's position at once: a Python loop over a million lines took 0.6 s of a load.
    ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("\n"))
    lengths = np.diff(ends, prepend=-1) - 1
    lengths[0] += carried
    return int(lengths.max())


def _check_workbook(source: str | Path | bytes, name: str) -> None:
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
    if rows > MAX_ROWS + 1:
        raise ExtractTooLarge(f"{name} has more than {MAX_ROWS:,} rows; at most {MAX_ROWS:,} rows per file are "
                              "accepted. Split the extract by quarter and load the parts.")
