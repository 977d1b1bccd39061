"""Oversized and hostile files are refused with a clear message, without exhausting memory, and write nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from analytics.formatting import markdown_literal
from analytics.ingest import limits
from analytics.ingest.history import list_loads
from analytics.ingest.limits import ExtractTooLarge, check_extract
from analytics.ingest.load import load_extract
from tests.apptest_helpers import open_page

GOOD = b"partner_id,order_date,revenue\nP1,2025-07-01,100\n"


def zip_bomb(path, expanded_mb: int) -> None:
    """Write an .xlsx-shaped zip whose one sheet expands to `expanded_mb` MB of the same byte."""
    block = b"<row>" + b"0" * (1024 * 1024 - 5)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for _ in range(expanded_mb):
                sheet.write(block)


def peak_memory_mb_of(code: str) -> tuple[str, float]:
    """Run `code` in a fresh interpreter; give what it printed last and its peak resident memory in MB."""
    # VmHWM, not getrusage: ru_maxrss survives exec, so a child forked from pytest starts at pytest's size.
    script = (
        code + "\nimport re\nprint(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]) / 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    *said, peak = done.stdout.strip().splitlines()
    return "\n".join(said), float(peak)


def test_a_good_file_passes(tmp_path):
    path = tmp_path / "good.csv"
    path.write_bytes(GOOD)
    check_extract(path)
    check_extract(GOOD, "good.csv")


def test_a_csv_with_a_100_mb_line_is_refused_without_holding_it(tmp_path):
    path = tmp_path / "long_line.csv"
    with path.open("wb") as handle:
        handle.write(b"partner_id,order_date,revenue\nP1,2025-07-01,")
        for _ in range(100):
            handle.write(b"9" * (1024 * 1024))
        handle.write(b"\n")
    said, peak = peak_memory_mb_of(
        "from analytics.ingest.limits import check_extract, ExtractTooLarge\n"
        f"try:\n    check_extract({str(path)!r})\nexcept ExtractTooLarge as exc:\n    print(exc)\n"
    )
    assert "long_line.csv has a line longer than 1,000,000 bytes" in said
    assert peak < 250, f"checking a 100 MB line took {peak:.0f} MB"


def test_a_header_with_a_million_columns_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(b";".join(b"c%d" % i for i in range(1_000_000)) + b"\n1\n")
    with pytest.raises(ExtractTooLarge, match="line longer than"):
        check_extract(path)  # the header alone is 7 MB: refused as a line before its columns are counted
    path.write_bytes(b",".join(b"c%d" % i for i in range(2_000)) + b"\n1\n")
    with pytest.raises(ExtractTooLarge, match="wide.csv has 2,000 columns in its header; at most 500"):
        check_extract(path)


@pytest.mark.parametrize(
    ("limit", "value", "name", "rows", "message"),
    [
        ("MAX_ROWS", 10, "tall.csv", 10, "tall.csv has more than 10 rows"),
        ("MAX_FILE_MB", 1, "big.csv", 100_000, r"big.csv is 2 MB; files of at most 1 MB"),
    ],
    ids=["too-many-rows", "over-the-size-limit"],
)
def test_a_file_over_a_limit_is_refused_naming_it(tmp_path, monkeypatch, limit, value, name, rows, message):
    monkeypatch.setattr(limits, limit, value)
    path = tmp_path / name
    path.write_bytes(GOOD + b"P1,2025-07-02,1\n" * rows)
    with pytest.raises(ExtractTooLarge, match=message):
        check_extract(path)


def test_an_excel_zip_bomb_is_refused_without_expanding_it(tmp_path):
    path = tmp_path / "bomb.xlsx"
    zip_bomb(path, 300)
    assert path.stat().st_size < 2 * 1024 * 1024
    said, peak = peak_memory_mb_of(
        "from analytics.ingest.limits import check_extract, ExtractTooLarge\n"
        f"try:\n    check_extract({str(path)!r})\nexcept ExtractTooLarge as exc:\n    print(exc)\n"
    )
    assert "bomb.xlsx expands to more than 100 MB" in said or "looks like a zip bomb" in said, said
    assert peak < 250, f"checking a zip bomb took {peak:.0f} MB"


def test_the_importer_refuses_oversized_files_and_writes_nothing(store, tmp_path):
    load_extract(store, tmp_path.joinpath("ok.csv").write_bytes(GOOD) and tmp_path / "ok.csv")
    before = list_loads(store)
    bomb = tmp_path / "bomb.xlsx"
    zip_bomb(bomb, 150)
    with pytest.raises(ExtractTooLarge):
        load_extract(store, bomb)
    long_line = tmp_path / "long.csv"
    long_line.write_bytes(GOOD + b"P2,2025-07-01," + b"1" * 2_000_000 + b"\n")
    with pytest.raises(ExtractTooLarge):
        load_extract(store, long_line)
    assert list_loads(store).equals(before)
    assert store.query_df("SELECT sum(revenue) AS r FROM order_lines")["r"].iloc[0] == 100


def test_the_command_line_says_the_file_is_too_large(tmp_path):
    db, path = tmp_path / "c.duckdb", tmp_path / "long.csv"
    path.write_bytes(GOOD + b"P2,2025-07-01," + b"1" * 2_000_000 + b"\n")
    done = subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), "ingest", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "long.csv has a line longer than 1,000,000 bytes" in done.stdout + done.stderr
    summary = subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), "summary", "--json"],
                             capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(summary.stdout)["lines"] == 0


def test_the_upload_page_states_the_limits_and_refuses_a_bomb(tmp_path):
    from analytics.store.store import Store

    db = tmp_path / "up.duckdb"
    Store(db).close()
    bomb = tmp_path / "bomb.xlsx"
    zip_bomb(bomb, 150)
    at = open_page(db, "views/pages/upload.py")
    assert any("up to 400 MB, 5,000,000 rows and 500 columns per file" in c.value for c in at.caption)
    at.file_uploader(key="uploads").upload("bomb.xlsx", bomb.read_bytes(), "application/vnd.ms-excel").run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert markdown_literal("bomb.xlsx") in errors and "Nothing was read or written" in errors  # shown literally
    assert not [b for b in at.button if b.key and b.key.startswith("load_")]
    with Store(db) as store:
        assert list_loads(store).empty
