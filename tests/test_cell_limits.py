"""Every cell has a length limit: an oversized value is refused (or a long name cut) with a line that says where."""

from __future__ import annotations

import pytest

from analytics.ingest import limits
from analytics.ingest.extract import prepare_extract
from analytics.ingest.history import list_loads
from analytics.ingest.limits import MAX_NAME_CHARS, MAX_TEXT_CHARS, ExtractTooLarge, check_extract, limits_text
from analytics.ingest.load import load_extract
from analytics.ingest.report import ExtractInvalid

HEADER = b"partner_id,partner_name,order_date,revenue\n"
GOOD_ROW = b"P1,Acme,2025-07-01,100\n"


def spread_name(total_chars: int, line_chars: int = 900_000) -> bytes:
    """Give a quoted cell of `total_chars` characters over lines of `line_chars`, each under the line limit."""
    lines, left = [], total_chars
    while left > 0:
        lines.append(b"A" * min(line_chars, left))
        left -= line_chars
    return b'"' + b"\n".join(lines) + b'"'


def test_the_5_mb_name_over_short_quoted_lines_is_refused_naming_row_and_column(tmp_path):
    path = tmp_path / "attack.csv"
    path.write_bytes(HEADER + GOOD_ROW + b"P2," + spread_name(5_400_000) + b",2025-07-01,5\n")
    with pytest.raises(ExtractTooLarge, match=r"attack\.csv has a cell of more than 10,000 characters at row 3, "
                                               r"column 'partner_name'"):
        check_extract(path)


def test_the_importer_stores_nothing_of_a_file_with_an_oversized_cell(store, tmp_path):
    load_extract(store, HEADER + GOOD_ROW, "ok.csv")
    before = list_loads(store)
    with pytest.raises(ExtractTooLarge, match="row 2, column 'partner_name'"):
        load_extract(store, HEADER + b'P2,"' + b"x" * (MAX_TEXT_CHARS + 1) + b'",2025-07-01,5\n', "big.csv")
    assert list_loads(store).equals(before)
    assert store.query_df("SELECT count(*) AS n FROM order_lines")["n"].iloc[0] == 1


@pytest.mark.parametrize(("cell", "refused"), [
    ('"' + "é" * MAX_TEXT_CHARS + '"', False),   # 20,000 bytes, 10,000 characters: the quotes are not text
    ("é" * (MAX_TEXT_CHARS + 1), True),
    ('"a,""b""\n' + "c" * (MAX_TEXT_CHARS - 3) + '"', True),   # a , b and the line break count: 10,001
    ('"a,""b""\n' + "c" * 100 + '"', False),
], ids=["utf8-at-limit", "one-over", "quoted-separators-counted", "quoted-short"])
def test_cells_are_measured_in_characters_as_the_reader_splits_them(cell, refused):
    data = HEADER + b"P1," + cell.encode() + b",2025-07-01,100\n" + GOOD_ROW
    if refused:
        with pytest.raises(ExtractTooLarge, match="row 2, column 'partner_name'"):
            check_extract(data, "f.csv")
    else:
        check_extract(data, "f.csv")


def test_a_cell_of_a_later_column_is_named_by_its_header_after_a_quoted_line_break():
    data = (b"partner_id;name;order_date;revenue\n" + b'P1;"a;""b""\nc";2025-07-01;1\n'
            + b"P2;x;2025-07-01;" + b"9" * (MAX_TEXT_CHARS + 1) + b"\n")
    with pytest.raises(ExtractTooLarge, match="row 3, column 'revenue'"):
        check_extract(data, "semi.csv")


def test_a_header_over_the_name_limit_is_refused():
    data = b"partner_id," + b"h" * (MAX_NAME_CHARS + 1) + b",order_date,revenue\n" + GOOD_ROW
    with pytest.raises(ExtractTooLarge, match="header of more than 1,000 characters in column 2"):
        check_extract(data, "f.csv")


def test_a_long_name_is_cut_to_the_limit_with_a_line_in_the_report():
    data = HEADER + b"P1," + b"N" * 1500 + b",2025-07-01,100\n" + GOOD_ROW
    prepared = prepare_extract(data, "names.csv")
    assert prepared.report.ok
    assert prepared.lines.column("partner_name").to_pylist() == ["N" * MAX_NAME_CHARS, "Acme"]
    assert ("1 value of column 'partner_name' longer than 1,000 characters (the longest 1,500) was cut to the "
            "first 1,000 characters: row 2.") in prepared.report.warnings


def test_a_long_id_is_refused_with_its_row_and_a_short_value_in_the_report(store):
    data = HEADER + GOOD_ROW + b"Q" * 1200 + b",X,2025-07-02,3\n"
    with pytest.raises(ExtractInvalid) as raised:
        load_extract(store, data, "ids.csv")
    [problem] = raised.value.report.problems
    assert (problem.row, problem.column) == (3, "partner_id")
    assert problem.message.startswith("partner id is 1,200 characters long; ids of at most 1,000 characters")
    assert problem.value == "Q" * 60 + "… (1,200 characters)"
    assert store.query_df("SELECT count(*) AS n FROM order_lines")["n"].iloc[0] == 0


def test_the_limits_sentence_states_the_cell_limits():
    assert "ids and names up to 1,000 characters, any cell up to 10,000" in limits_text()


@pytest.mark.parametrize("chunk", [3, 7, 4 * 1024 * 1024])
def test_rows_wider_than_the_header_are_counted_quote_aware_across_chunks(monkeypatch, chunk):
    monkeypatch.setattr(limits, "_CHUNK", chunk)
    data = b'a,b\n1,2\n"x,\ny",2,\n3,4\n5,6,,\n"7","8",""\n9,10,'
    assert limits.rows_wider_than_header(data, ",", 2) == [(3, 3), (5, 4), (6, 3), (7, 3)]
    assert limits.rows_wider_than_header(b"a;b\n1;2\n3;4\n", ";", 2) == []


def test_a_long_quoted_cell_is_measured_whole_when_chunks_fall_entirely_inside_it(monkeypatch):
    # A chunk with no quote of its own that starts inside quotes holds no cell end, however many
    # line breaks and separators it has: counting them once let a cell spread over lines pass.
    monkeypatch.setattr(limits, "_CHUNK", 64)
    cell = "ab,\n" * (MAX_TEXT_CHARS // 4 + 10)
    data = f'partner_id,partner_name,revenue,order_date\nP1,"{cell}",1,2025-07-01\n'.encode()
    with pytest.raises(ExtractTooLarge, match="at row 2, column 'partner_name'"):
        check_extract(data, "spread.csv")
