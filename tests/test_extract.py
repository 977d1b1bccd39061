"""The importer's reading and validation: column mapping, every parse rule, every kind of bad input."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pandas as pd
import pytest

from analytics.ingest.extract import prepare_extract
from analytics.ingest.report import AmbiguousColumn, RowsNoted
from analytics.store.schema import match_columns, normalise_header
from tests.builders import PNG, encrypted_workbook


def lines_of(prepared) -> pd.DataFrame:
    assert prepared.report.ok, prepared.report.describe()
    return prepared.lines.to_pandas()


# -- column mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("Partner ID", "partner_id"),
        ("Reseller", "partner_id"),
        ("RESELLER-NO", "partner_id"),
        ("Amount (USD)", "revenue"),
        ("Net Revenue", "revenue"),
        ("Booking Date", "order_date"),
        ("Invoice date", "order_date"),
        ("Fiscal Quarter", "quarter"),
        ("Reseller Name", "partner_name"),
        ("Partner Tier", "tier"),
        ("End Customer", "customer_id"),
        ("Customer Segment", "customer_segment"),
        ("No. of employees", "customer_size"),
        ("Qty", "quantity"),
        ("Deal Type", "deal_type"),
        ("Transaction ID", "transaction_id"),
        ("Disti", "distributor"),
    ],
    ids=lambda v: v,
)
def test_headers_match_their_canonical_column(header, canonical):
    mapping, _ = match_columns(["x", header])
    assert mapping.get(canonical) == 1


def test_header_normalisation_ignores_case_space_and_punctuation():
    assert normalise_header("\ufeff Amount (USD) ") == "amountusd"
    assert normalise_header("partner_id") == normalise_header("Partner-ID") == "partnerid"


def test_override_wins_and_unknown_header_in_override_is_refused():
    mapping, _ = match_columns(["Acct", "Amount", "Date"], {"partner_id": "Acct"})
    assert mapping == {"partner_id": 0, "revenue": 1, "order_date": 2}
    with pytest.raises(ValueError, match="not a header of this file"):
        match_columns(["Acct"], {"partner_id": "Account"})


def test_two_candidate_columns_use_the_first_and_say_so():
    mapping, notes = match_columns(["Partner", "Revenue", "Amount", "Date"])
    assert mapping["revenue"] == 1
    assert notes == []  # different synonyms: "revenue" is the canonical spelling and is preferred
    mapping, notes = match_columns(["Partner", "Amount", "amount", "Date"])
    assert mapping["revenue"] == 1 and "ignored 'amount'" in notes[0]


# -- parse rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_separators(write_file, sep):
    text = sep.join(["Partner ID", "Revenue", "Order Date"]) + "\n" + sep.join(["P1", "10.5", "2025-07-01"]) + "\n"
    frame = lines_of(prepare_extract(write_file("x.csv", text)))
    assert frame.loc[0, "partner_id"] == "P1" and frame.loc[0, "revenue"] == Decimal("10.50")


def test_utf8_bom_and_latin1(write_file):
    bom = "\ufeffpartner_id,partner_name,revenue,order_date\nP1,Müller GmbH,1,2025-07-01\n"
    assert lines_of(prepare_extract(write_file("bom.csv", bom)))["partner_name"][0] == "Müller GmbH"
    prepared = prepare_extract(write_file("latin.csv", bom.lstrip("\ufeff"), encoding="latin-1"))
    assert lines_of(prepared)["partner_name"][0] == "Müller GmbH"
    assert any("not UTF-8" in w for w in prepared.report.warnings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", "1234.50"),
        ('"$1,234.50"', "1234.50"),
        ('"(1,234.50)"', "-1234.50"),
        ("-12", "-12.00"),
        ("USD 99.99", "99.99"),
        ('"1,000,000"', "1000000.00"),
    ],
    ids=["plain", "dollar-thousands", "parentheses-negative", "minus", "currency-code", "thousands-only"],
)
def test_money_with_decimal_point(write_file, text, expected):
    frame = lines_of(prepare_extract(write_file("m.csv", f"partner_id,revenue,order_date\nP1,{text},2025-07-01\n")))
    assert frame.loc[0, "revenue"] == Decimal(expected)


def test_money_with_decimal_comma_is_decided_for_the_file(write_file):
    text = "partner_id;revenue;order_date\nP1;1.234,50;2025-07-01\nP2;€ 12,00;2025-07-01\nP3;(3,5);2025-07-01\n"
    prepared = prepare_extract(write_file("eu.csv", text))
    assert list(lines_of(prepared)["revenue"]) == [Decimal("1234.50"), Decimal("12.00"), Decimal("-3.50")]
    assert any("decimal comma" in w for w in prepared.report.warnings)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["2025-07-01", "2025-08-15"], [dt.date(2025, 7, 1), dt.date(2025, 8, 15)]),
        (["2025-07-01 13:45:00", "2025-08-15T08:00"], [dt.date(2025, 7, 1), dt.date(2025, 8, 15)]),
        (["07/01/2025", "08/15/2025"], [dt.date(2025, 7, 1), dt.date(2025, 8, 15)]),
        (["01/07/2025", "15/08/2025"], [dt.date(2025, 7, 1), dt.date(2025, 8, 15)]),
        (["01.07.2025", "15.08.2025"], [dt.date(2025, 7, 1), dt.date(2025, 8, 15)]),
    ],
    ids=["iso", "iso-with-time", "month-first-decided-by-15", "day-first-decided-by-15", "dotted"],
)
def test_dates(write_file, dates, expected):
    text = "partner_id,revenue,order_date\n" + "".join(f"P1,1,{d}\n" for d in dates)
    frame = lines_of(prepare_extract(write_file("d.csv", text)))
    assert list(frame["order_date"]) == expected


def test_ambiguous_day_month_is_decided_once_and_reported(write_file):
    path = write_file("amb.csv", "partner_id,revenue,order_date\nP1,1,03/04/2025\nP1,1,05/06/2025\n")
    prepared = prepare_extract(path)
    assert list(lines_of(prepared)["order_date"]) == [dt.date(2025, 3, 4), dt.date(2025, 5, 6)]
    assert any("could be day/month or month/day" in w for w in prepared.report.warnings)
    day_first = prepare_extract(path, day_first=True)
    assert list(lines_of(day_first)["order_date"]) == [dt.date(2025, 4, 3), dt.date(2025, 6, 5)]


def test_mixed_day_month_orders_are_reported_not_guessed(write_file):
    text = "partner_id,revenue,order_date\nP1,1,13/04/2025\nP1,1,04/13/2025\n"
    report = prepare_extract(write_file("mixed.csv", text)).report
    assert not report.ok
    assert "row 2 has a day first, row 3 a month first" in report.problems[0].message


@pytest.mark.parametrize("quarter", ["2025Q3", "Q3 2025", "2025-Q3", "q3/2025", "2025 Q3"])
def test_quarter_column_instead_of_dates(write_file, quarter):
    frame = lines_of(prepare_extract(write_file("q.csv", f"Reseller,Quarter,Amount\nP1,{quarter},100\n")))
    assert frame.loc[0, "quarter"] == "2025Q3" and pd.isna(frame.loc[0, "order_date"])


def test_segments_from_words_and_from_customer_size(write_file):
    text = "partner_id,revenue,order_date,segment\nP1,1,2025-07-01,small business\nP1,1,2025-07-01,Large\n"
    assert list(lines_of(prepare_extract(write_file("s.csv", text)))["customer_segment"]) == ["SMB", "Enterprise"]
    text = "partner_id,revenue,order_date,employees\nP1,1,2025-07-01,40\nP1,1,2025-07-01,400\nP1,1,2025-07-01,4000\n"
    segments = list(lines_of(prepare_extract(write_file("size.csv", text)))["customer_segment"])
    assert segments == ["SMB", "Mid-market", "Enterprise"]


def test_excel_workbook(tmp_path):
    frame = pd.DataFrame(
        {"Reseller": ["P1", "P2"], "Amount (USD)": [1234.5, -10],
         "Booking Date": pd.to_datetime(["2025-07-01", "2025-09-30"])}
    )
    path = tmp_path / "extract.xlsx"
    frame.to_excel(path, index=False)
    lines = lines_of(prepare_extract(path))
    assert list(lines["revenue"]) == [Decimal("1234.50"), Decimal("-10.00")]
    assert list(lines["order_date"]) == [dt.date(2025, 7, 1), dt.date(2025, 9, 30)]
    assert list(lines["row_no"]) == [2, 3]


def test_upload_bytes_read_like_a_file():
    data = b"partner_id,revenue,order_date\nP1,1,2025-07-01\n"
    prepared = prepare_extract(data, file_name="upload.csv")
    assert prepared.file_name == "upload.csv" and prepared.lines.num_rows == 1


# -- validation: one test per kind of bad input, each naming file, row and column -----------------


def only_problem(report):
    assert not report.ok
    return report.problems[0]


def test_missing_required_column(write_file):
    report = prepare_extract(write_file("nocol.csv", "partner_id,order_date\nP1,2025-07-01\n")).report
    problem = only_problem(report)
    assert "Required column revenue missing" in problem.message and problem.row == 1
    assert "nocol.csv" in report.describe()


@pytest.mark.parametrize(
    ("header", "row", "missing"),
    [
        ("partner_id,order_date", "P1,2025-07-01", ["revenue"]),
        ("partner_id,revenue", "P1,10", ["order_date"]),
        ("x,y,z", "P1,10,2025-07-01", ["partner_id", "revenue", "order_date"]),
        ("partner_id,quarter,revenue", "P1,2025Q3,10", []),
        ("partner_id,order_date,revenue", "P1,2025-07-01,10", []),
    ],
    ids=["no-revenue", "no-date-or-quarter", "none-recognised", "a-quarter-suffices", "all-there"],
)
def test_the_report_names_the_required_columns_missing_as_data(write_file, header, row, missing):
    # The Upload page offers the mapping form on this list, not on the problems' wording.
    report = prepare_extract(write_file("cols.csv", f"{header}\n{row}\n")).report
    assert report.missing == missing
    assert len([p for p in report.problems if p.message.startswith("Required column")]) == len(missing)


def test_missing_date_and_quarter(write_file):
    problem = only_problem(prepare_extract(write_file("nodate.csv", "partner_id,revenue\nP1,1\n")).report)
    assert "order_date (or quarter) missing" in problem.message


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("P1,abc,2025-07-01", "revenue", "revenue is not an amount"),
        ("P1,,2025-07-01", "revenue", "revenue is empty"),
        ("P1,1,2025-13-45", "order_date", "order date is not a date"),
        ("P1,1,", "order_date", "order date is empty"),
        ("P1,1,1925-07-01", "order_date", "far outside the expected range"),
        (",1,2025-07-01", "partner_id", "partner id is empty"),
    ],
    ids=["bad-amount", "empty-amount", "bad-date", "empty-date", "date-out-of-range", "empty-partner"],
)
def test_bad_values_name_row_and_column(write_file, row, column, message):
    text = f"partner_id,revenue,order_date\nP0,1,2025-07-01\n{row}\n"
    report = prepare_extract(write_file("bad.csv", text)).report
    problem = only_problem(report)
    assert (problem.row, problem.column) == (3, column)
    assert message in problem.message
    assert f"bad.csv: row 3, column '{column}'" in report.describe()


def test_bad_quarter_and_bad_quantity(write_file):
    text = "partner_id,revenue,quarter,qty\nP1,1,2025Q5,1\nP1,1,2025Q1,many\n"
    report = prepare_extract(write_file("q.csv", text)).report
    assert [(p.row, p.column) for p in report.problems] == [(2, "quarter"), (3, "qty")]


def test_duplicate_transaction_id_in_file(write_file):
    text = "partner_id,revenue,order_date,transaction_id\nP1,1,2025-07-01,T1\nP1,2,2025-07-02,T2\nP1,3,2025-07-03,T1\n"
    problem = only_problem(prepare_extract(write_file("dup.csv", text)).report)
    assert (problem.row, problem.column) == (4, "transaction_id")
    assert "first at row 2" in problem.message


def test_empty_file_and_header_only(write_file):
    assert "the file is empty" in only_problem(prepare_extract(write_file("empty.csv", "")).report).message
    header_only = prepare_extract(write_file("header.csv", "partner_id,revenue,order_date\n")).report
    assert "no data rows" in only_problem(header_only).message


def test_row_with_too_many_columns_is_reported_and_later_rows_keep_their_numbers(write_file):
    text = "partner_id,revenue,order_date\nP1,1,2025-07-01\nP2,1,2025-07-01,extra\nP3,x,2025-07-01\n"
    report = prepare_extract(write_file("ragged.csv", text)).report
    assert [(p.row, p.column) for p in report.problems] == [(3, None), (4, "revenue")]
    assert "cannot be split" in report.problems[0].message
    assert report.rows == 3


def test_every_problem_is_listed_and_downloadable(write_file):
    rows = "".join(f"P{i},bad,2025-07-01\n" for i in range(300))
    report = prepare_extract(write_file("many.csv", "partner_id,revenue,order_date\n" + rows)).report
    frame = report.problems_frame()
    assert len(frame) == 300 and list(frame.columns) == ["file", "row", "column", "problem", "value"]
    assert frame["row"].tolist() == list(range(2, 302))
    assert "and 275 more problem(s)" in report.describe(limit=25)


def test_damaged_excel_is_reported(write_file):
    problem = only_problem(prepare_extract(write_file("broken.xlsx", b"PK\x03\x04 not really a zip")).report)
    assert "cannot be read as an Excel workbook" in problem.message


def test_file_with_problems_gives_no_lines(write_file):
    prepared = prepare_extract(write_file("bad.csv", "partner_id,revenue,order_date\nP1,x,2025-07-01\n"))
    assert prepared.lines is None


def test_excel_via_bytes_buffer():
    buffer = io.BytesIO()
    pd.DataFrame({"Partner": ["P1"], "Revenue": ["1.234,50"], "Quarter": ["Q1 2026"]}).to_excel(buffer, index=False)
    lines = lines_of(prepare_extract(buffer.getvalue(), file_name="q1.xlsx"))
    assert lines.loc[0, "revenue"] == Decimal("1234.50") and lines.loc[0, "quarter"] == "2026Q1"


# -- encodings line by line (issue 14, item 6) ---------------------------------------------------


def test_mixed_encodings_are_decoded_line_by_line_and_reported(write_file):
    header = "partner_id,partner_name,revenue,order_date\n"
    data = (
        (header + "P1,Müller GmbH,1,2025-07-01\nP2,Bäckerei Süd,1,2025-07-01\n").encode("cp1252")
        + "P3,Müller GmbH,1,2025-07-02\n".encode()  # one line pasted in from a UTF-8 export
        + "P4,Café Noël,1,2025-07-03\nP5,Plain Ltd,1,2025-07-03\n".encode("cp1252")
    )
    prepared = prepare_extract(write_file("mixed.csv", data))
    assert lines_of(prepared)["partner_name"].tolist() == [
        "Müller GmbH", "Bäckerei Süd", "Müller GmbH", "Café Noël", "Plain Ltd"
    ]
    report = prepared.report
    assert report.encodings == {
        "UTF-8": RowsNoted(1, (4,)), "Windows-1252": RowsNoted(3, (2, 3, 5)),
    }
    assert any("rows 2, 3, 5 were read as Windows-1252 and row 4 as UTF-8" in w for w in report.warnings)


def test_a_utf8_file_reports_no_encodings(write_file):
    text = "partner_id,partner_name,revenue,order_date\nP1,Müller,1,2025-07-01\n"
    prepared = prepare_extract(write_file("u.csv", text))
    assert lines_of(prepared)["partner_name"][0] == "Müller" and prepared.report.encodings == {}


# -- invisible characters and look-alikes (issue 14, item 7) -------------------------------------


@pytest.mark.parametrize(
    "raw_id",
    ["P000020\x00", "P000020\u200b", "\u200cP000020", "P000\u200d020", "P000020\u2060", "\ufeffP000020",
     "\u00a0P000020\u202f", "P000020\x07", "Ｐ０００020"],
    ids=["nul", "zero-width-space", "zwnj", "zwj", "word-joiner", "bom", "no-break-spaces", "bell", "full-width"],
)
def test_look_alike_ids_become_one_partner(write_file, raw_id):
    text = f"partner_id,revenue,order_date,transaction_id\nP000020,1,2025-07-01,T1\n{raw_id},2,2025-07-02,T2\n"
    prepared = prepare_extract(write_file("ids.csv", text))
    assert lines_of(prepared)["partner_id"].tolist() == ["P000020", "P000020"]
    assert prepared.report.normalised == {"partner_id": RowsNoted(1, (3,))}
    assert any("'partner_id': 1 cell (row 3)" in w for w in prepared.report.warnings)


def test_names_lose_invisible_characters_and_get_plain_spaces(write_file):
    # NFC: a decomposed ü (u + combining diaeresis) is stored as the one character other files use.
    text = "partner_id,partner_name,region,revenue,order_date\nP1,\u200bMu\u0308ller\u00a0GmbH ,EMEA\x00,1,2025-07-01\n"
    prepared = prepare_extract(write_file("names.csv", text))
    lines = lines_of(prepared)
    assert (lines.loc[0, "partner_name"], lines.loc[0, "region"]) == ("Müller GmbH", "EMEA")
    assert prepared.report.normalised == {"partner_name": RowsNoted(1, (2,)), "region": RowsNoted(1, (2,))}


def test_an_id_of_only_invisible_characters_is_a_row_error(write_file):
    text = ("partner_id,revenue,order_date,transaction_id\nP1,1,2025-07-01,T1\n"
            "\u200b\u00a0,2,2025-07-02,T2\nP3,3,2025-07-03,\ufeff\n")
    report = prepare_extract(write_file("blank.csv", text)).report
    assert [(p.row, p.column) for p in report.problems] == [(3, "partner_id"), (4, "transaction_id")]
    assert "holds only invisible characters" in report.problems[0].message


DUPLICATE_OF_ROW_2 = "transaction id appears twice in the file (first at row 2)"


def test_transaction_ids_that_differ_only_invisibly_are_duplicates(write_file):
    text = "partner_id,revenue,order_date,transaction_id\nP1,1,2025-07-01,T1\nP1,1,2025-07-01,T1\u200b\n"
    report = prepare_extract(write_file("dup.csv", text)).report
    assert [(p.row, p.message) for p in report.problems] == [(3, DUPLICATE_OF_ROW_2)]


def test_rows_docked_by_rejects_keep_their_numbers_when_cells_are_normalised(write_file):
    # A row DuckDB cannot split turns raw_numbered into a table of its own; normalising must change that one.
    text = "partner_id,revenue,order_date,transaction_id\nP1,1,2025-07-01,T1\nP2,2\nP3,3,2025-07-03,T1\u200b\n"
    report = prepare_extract(write_file("rej.csv", text)).report
    assert report.normalised == {"transaction_id": RowsNoted(1, (4,))}
    assert [(p.row, p.message) for p in report.problems][1] == (4, DUPLICATE_OF_ROW_2)


# -- files that are no extract at all (issue 14, item 9) -----------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("q3.xlsx", "encrypted", "q3.xlsx is password-protected: save it without a password, or export it as CSV, "
                                 "and load it again."),
        ("q3.csv", PNG, "q3.csv is not a text file (it looks like a PNG image): export the extract as CSV or Excel "
                        "and load it again."),
        ("q3.csv", bytes(range(256)) * 50, "q3.csv is not a text file (it looks like binary data)"),
        ("q3.csv", b"MZ" + bytes(4000), "q3.csv is not a text file (it looks like binary data)"),
        ("q3.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000), "q3.xls is an old Excel 97-2003 workbook"),
    ],
    ids=["encrypted-xlsx", "png-as-csv", "binary", "nul-heavy", "old-xls"],
)
def test_files_that_are_not_extracts_get_one_plain_sentence(write_file, name, data, message):
    data = encrypted_workbook() if data == "encrypted" else data
    report = prepare_extract(write_file(name, data)).report
    problem = only_problem(report)
    assert problem.message.startswith(message)
    assert "calamine" not in problem.message and "CSV Parser" not in problem.message
    assert report.describe().splitlines()[1] == f"  {problem.message}"  # the sentence names the file once


def test_a_few_nul_bytes_in_ids_do_not_make_a_file_binary(write_file):
    rows = "".join(f"P{i}\x00,1,2025-07-01\n" for i in range(3))
    assert len(lines_of(prepare_extract(write_file("nul.csv", "partner_id,revenue,order_date\n" + rows)))) == 3


# -- ambiguous money and date columns (issue 14, item 10) ----------------------------------------


def test_two_differing_revenue_columns_are_refused_naming_both_and_the_rows(write_file):
    text = ("Partner,Revenue,Amount (USD),Date\n"
            "P1,5,5,2025-07-01\nP2,6,7.50,2025-07-01\nP3,1,1,2025-07-01\nP4,2,3,2025-07-01\n")
    prepared = prepare_extract(write_file("amb.csv", text))
    assert prepared.lines is None
    assert prepared.report.ambiguous == [AmbiguousColumn("revenue", ("Revenue", "Amount (USD)"), 2, (3, 5))]
    message = only_problem(prepared.report).message
    assert "columns 'Revenue' and 'Amount (USD)' could each be revenue and differ in rows 3, 5" in message
    assert '--column revenue="Amount (USD)"' in message


def test_a_chosen_revenue_column_settles_the_ambiguity(write_file):
    text = "Partner,Revenue,Amount (USD),Date\nP1,5,5,2025-07-01\nP2,6,7.50,2025-07-01\n"
    prepared = prepare_extract(write_file("amb.csv", text), column_overrides={"revenue": "Amount (USD)"})
    assert lines_of(prepared)["revenue"].tolist() == [Decimal("5.00"), Decimal("7.50")]
    assert prepared.report.ambiguous == []


def test_identical_revenue_columns_load_with_a_warning(write_file):
    text = "Partner,Revenue,Amount (USD),Date\nP1,5,5.00,2025-07-01\nP2,\"1,200\",1200,2025-07-01\n"
    prepared = prepare_extract(write_file("same.csv", text))
    assert lines_of(prepared)["revenue"].tolist() == [Decimal("5.00"), Decimal("1200.00")]
    assert any("'Revenue' and 'Amount (USD)' could each be revenue and hold the same values" in w
               for w in prepared.report.warnings)


@pytest.mark.parametrize(
    ("header", "rows", "column"),
    [
        ("Partner,Revenue,Order Date,Invoice Date", ["P1,5,2025-07-01,2025-07-01", "P2,5,2025-07-01,2025-08-03"],
         "order_date"),
        ("Partner,Revenue,Quarter,Fiscal Quarter", ["P1,5,2025Q3,2025Q3", "P2,5,2025Q3,2026Q1"], "quarter"),
    ],
    ids=["dates", "quarters"],
)
def test_differing_date_or_quarter_columns_are_refused_too(write_file, header, rows, column):
    report = prepare_extract(write_file("d.csv", "\n".join([header, *rows]) + "\n")).report
    assert [(a.column, a.first_rows) for a in report.ambiguous] == [(column, (3,))]


def test_utf16_text_with_its_byte_order_mark_is_read(write_file):
    text = "partner_id\tpartner_name\trevenue\torder_date\r\nP1\tMüller GmbH\t1\t2025-07-01\r\n"
    prepared = prepare_extract(write_file("unicode.txt", text, encoding="utf-16"))
    assert lines_of(prepared)["partner_name"].tolist() == ["Müller GmbH"]
    assert any("UTF-16" in w for w in prepared.report.warnings)


def test_a_column_with_no_amounts_is_no_revenue_candidate(write_file):
    text = "Partner,Revenue,Sales,Date\nP1,5,Ann Lee,2025-07-01\nP2,6,Bo Chan,2025-07-01\n"
    prepared = prepare_extract(write_file("reps.csv", text))
    assert lines_of(prepared)["revenue"].tolist() == [Decimal("5.00"), Decimal("6.00")]
    assert prepared.report.ambiguous == []


def test_workbook_cells_are_normalised_too():
    buffer = io.BytesIO()
    pd.DataFrame({"Partner": ["P7", "\u200bP7\u00a0"], "Reseller Name": ["A\u00a0B", "A B"], "Revenue": [1, 2],
                  "Date": ["2025-07-01", "2025-07-02"]}).to_excel(buffer, index=False)
    prepared = prepare_extract(buffer.getvalue(), file_name="q3.xlsx")
    lines = lines_of(prepared)
    assert lines["partner_id"].tolist() == ["P7", "P7"] and lines["partner_name"].tolist() == ["A B", "A B"]
    assert prepared.report.normalised == {"Partner": RowsNoted(1, (3,)), "Reseller Name": RowsNoted(1, (2,))}
