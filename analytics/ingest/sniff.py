"""What kind of file a load was given, from its first bytes: a password-protected or old Office file, an image,
an archive or other binary data is refused in one sentence before any reader tries it.

Below both the limits' first pass (limits.check_extract) and the reader (read, extract), which ask it.
"""

from __future__ import annotations

import codecs

from analytics.ingest.excel import EXCEL_SUFFIXES

__all__ = ["unreadable_file", "OLE", "ENCRYPTED_STREAM", "UTF16_BOMS"]

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a Compound File: old .xls, or an encrypted .xlsx inside
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
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
    if data.startswith(OLE):
        if ENCRYPTED_STREAM in data or name.lower().endswith(EXCEL_SUFFIXES):
            return f"{name} is password-protected: save it without a password, or export it as CSV, and load it again."
        return (f"{name} is an old Excel 97-2003 workbook or another Office document: save it as .xlsx, "
                "or export it as CSV, and load it again.")
    if data.startswith(UTF16_BOMS) or data.startswith(b"PK\x03\x04"):
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
