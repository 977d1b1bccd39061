"""Files over the page's size limit: the command line takes them, streaming; the Upload page refuses them.

The page's limit is lowered to 1 MB here (limits.MAX_FILE_MB) so that a file just over it is small to write.
"""

from __future__ import annotations

import io

import pytest

from analytics import cli
from analytics.formatting import markdown_literal
from analytics.ingest import limits
from analytics.ingest.history import list_loads
from analytics.ingest.limits import COMMAND_LINE_LIMITS, ExtractTooLarge, check_extract, rows_wider_than_header
from analytics.ingest.load import load_extract
from analytics.ingest.read import _CHUNK, _content_hash, _decode, _decode_to
from analytics.store.store import Store
from tests.apptest_helpers import open_page

HEADER = b"partner_id,order_date,revenue,transaction_id\n"


def extract_over(megabytes: float) -> tuple[bytes, int, float]:
    """Give a valid extract just over `megabytes`, its data rows and its revenue."""
    lines, rows, revenue = [HEADER], 0, 0.0
    size = len(HEADER)
    while size <= megabytes * 1024 * 1024:
        rows += 1
        line = b"P%05d,2025-08-%02d,%d.25,T%07d\n" % (rows % 500, 1 + rows % 28, rows % 1000, rows)
        revenue += rows % 1000 + 0.25
        lines.append(line)
        size += len(line)
    return b"".join(lines), rows, revenue


@pytest.fixture
def page_limit_of_1_mb(monkeypatch):
    monkeypatch.setattr(limits, "MAX_FILE_MB", 1)


def test_the_command_line_loads_a_file_over_the_page_limit(tmp_path, page_limit_of_1_mb, capsys):
    data, rows, revenue = extract_over(1.05)
    path = tmp_path / "big_quarter.csv"
    path.write_bytes(data)
    with pytest.raises(ExtractTooLarge, match=r"big_quarter.csv is 1 MB; files of at most 1 MB are accepted.* "
                                              r"The command line \(python -m analytics ingest FILE\) takes larger"):
        check_extract(path)  # the page's limits, as the Upload page checks them

    db = tmp_path / "c.duckdb"
    assert cli.main(["--db", str(db), "ingest", str(path), "--no-scores"]) == 0
    assert f"Loaded big_quarter.csv as load #1: {rows:,} rows added" in capsys.readouterr().out
    with Store(db) as store:
        stored = store.query_df("SELECT count(*) AS n, sum(revenue) AS r FROM order_lines").iloc[0]
        assert (int(stored["n"]), float(stored["r"])) == (rows, pytest.approx(revenue))
        assert list_loads(store)["content_hash"].tolist() == [_content_hash(data)]


def test_the_engine_takes_the_page_limits_unless_told_otherwise(store, tmp_path, page_limit_of_1_mb):
    data, rows, _ = extract_over(1.05)
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with pytest.raises(ExtractTooLarge, match="files of at most 1 MB"):
        load_extract(store, path)
    assert list_loads(store).empty
    assert load_extract(store, path, limits=COMMAND_LINE_LIMITS).rows_added == rows


def test_the_command_line_has_no_row_limit_and_the_page_has(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 10)
    path = tmp_path / "tall.csv"
    path.write_bytes(HEADER + b"".join(b"P1,2025-07-01,1,T%d\n" % i for i in range(11)))
    with pytest.raises(ExtractTooLarge, match="tall.csv has more than 10 rows; .* takes larger files"):
        check_extract(path)
    check_extract(path, limits=COMMAND_LINE_LIMITS)


def test_the_upload_page_refuses_a_file_over_its_limit(tmp_path, page_limit_of_1_mb):
    db = tmp_path / "up.duckdb"
    Store(db).close()
    data, _, _ = extract_over(1.05)
    at = open_page(db, "views/pages/upload.py")
    at.file_uploader(key="uploads").upload("big_quarter.csv", data, "text/csv").run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert markdown_literal("big_quarter.csv") in errors and "files of at most 1 MB are accepted" in errors
    assert not [b for b in at.button if b.key and b.key.startswith("load_")]
    with Store(db) as store:
        assert list_loads(store).empty


def test_decoding_a_file_in_chunks_gives_what_decoding_it_whole_gives(tmp_path):
    # Over one chunk, with Windows-1252 and UTF-8 rows on both sides of the chunk's end.
    row = b"P1,2025-07-01,1,T1\n"
    filler = row * (_CHUNK // len(row))
    data = (HEADER + "P2,2025-07-01,2,Müller\n".encode("cp1252") + filler + "P3,2025-07-01,3,Zoë\n".encode()
            + "P4,2025-07-01,4,Ångström\n".encode("cp1252"))
    text, encodings, warning = _decode(data)
    path = tmp_path / "latin.csv"
    path.write_bytes(data)
    out = io.BytesIO()
    assert _decode_to(path, out) == (encodings, warning)
    assert out.getvalue().decode("utf-8") == text
    n = filler.count(b"\n")
    assert {k: (v.count, v.first_rows) for k, v in encodings.items()} == {
        "UTF-8": (1, (n + 3,)), "Windows-1252": (2, (2, n + 4)),
    }
    assert text.endswith("P4,2025-07-01,4,Ångström\n") and "Müller" in text


def test_wide_rows_are_found_in_a_file_read_in_chunks(tmp_path):
    row = b"P1,2025-07-01,1,T1\n"
    filler = row * (_CHUNK // len(row) - 1)
    data = HEADER + filler + b"P2,2025-07-01,2,T2,,\n" + row * 10 + b"P3,2025-07-01,3,T3,"
    path = tmp_path / "wide.csv"
    path.write_bytes(data)
    n = filler.count(b"\n")
    expected = [(n + 2, 6), (n + 13, 5)]
    assert rows_wider_than_header(data, ",", 4) == expected
    assert rows_wider_than_header(path, ",", 4) == expected


def test_the_cell_pass_runs_only_where_a_cell_could_be_too_long(tmp_path, monkeypatch):
    scanned = []
    monkeypatch.setattr(limits, "_check_cells", lambda source, name, *rest: scanned.append(name))
    short = tmp_path / "short.csv"
    short.write_bytes(HEADER + b"P1,2025-07-01,1,T1\n" * 1000)
    check_extract(short, limits=COMMAND_LINE_LIMITS)
    assert scanned == []  # no quotes, no line longer than a cell may be: no cell can be too long
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(HEADER + b'P1,2025-07-01,1,"T1\nstill T1"\n')
    long_line = tmp_path / "long_line.csv"
    long_line.write_bytes(HEADER + b"P1,2025-07-01,1," + b"T" * (limits.MAX_TEXT_CHARS + 1) + b"\n")
    for path in (quoted, long_line):
        check_extract(path, limits=COMMAND_LINE_LIMITS)
    assert scanned == ["quoted.csv", "long_line.csv"]


def test_a_cell_over_its_limit_in_an_unquoted_file_is_still_refused(tmp_path):
    path = tmp_path / "long_cell.csv"
    path.write_bytes(HEADER + b"P1,2025-07-01,1," + b"T" * (limits.MAX_TEXT_CHARS + 1) + b"\n")
    with pytest.raises(ExtractTooLarge, match="long_cell.csv has a cell of more than 10,000 characters at row 2"):
        check_extract(path, limits=COMMAND_LINE_LIMITS)
