"""Loads operations can trust with a quarter (issue 25): the replace and rollback guards, rows set aside,
totals rows, every field mapped by hand, and "NA" kept as text."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st

from analytics.analyses.queries import channel_summary
from analytics.demo import DemoSpec, write_demo_extracts
from analytics.ingest.extract import prepare_extract
from analytics.ingest.history import list_loads, load_history, load_rejects
from analytics.ingest.load import ReplaceRefused, load_extract
from analytics.ingest.mappings import remembered_mapping
from analytics.ingest.plan import load_plan
from analytics.ingest.report import ExtractInvalid
from analytics.ingest.rollback import RollbackRefused, rollback_load, rollback_plan
from analytics.store.store import Store
from tests.apptest_helpers import open_page

ROOT = Path(__file__).resolve().parents[1]
PAGE = "views/pages/upload.py"
HEADER = "partner_id,order_date,revenue\n"
# 2025Q3 as stored: 20 lines of 100.00 each (2,000.00).
QUARTER = HEADER + "".join(f"P{i},2025-08-{i + 1:02d},100\n" for i in range(20))
LATE = HEADER + "P1,2025-09-30,50\n"  # one late booking for 2025Q3: a tenth of 20 rows would be 2
BAD_ROWS = (HEADER + "P1,2025-07-01,10\n" + "P2,,20\n" + "P3,2025-07-03,ten\n" + "P4,2025-07-04,40\n")


def stored(store: Store) -> tuple[int, float]:
    summary = channel_summary(store)
    return summary["lines"], summary["revenue"]


def test_the_plan_puts_the_files_rows_and_revenue_beside_those_stored(store, write_file):
    load_extract(store, write_file("q3.csv", QUARTER))
    prepared = prepare_extract(write_file("late.csv", LATE + "P1,2025-10-02,7\n"))
    plan = load_plan(store, prepared)
    by_quarter = {q.quarter: (q.file_rows, q.file_revenue, q.stored_rows, q.stored_revenue) for q in plan.quarters}
    assert by_quarter == {"2025Q3": (1, 50.0, 20, 2000.0), "2025Q4": (1, 7.0, 0, 0.0)}
    assert [q.quarter for q in plan.held] == ["2025Q3"]
    assert plan.needs_choice  # no transaction ids: the rows cannot be told apart
    assert [q.quarter for q in plan.replace_removes_most] == ["2025Q3"]
    assert plan.replace_confirmation == "replace 2025Q3"
    assert "2025Q3: 20 stored rows ($2,000.00) from #1 q3.csv, the file brings 1 rows ($50.00)" in (
        plan.replace_warning())


def test_a_replace_that_removes_most_of_a_quarter_is_refused_without_force(store, write_file):
    load_extract(store, write_file("q3.csv", QUARTER))
    before = stored(store)
    with pytest.raises(ReplaceRefused, match=r"most of what is stored for 2025Q3 .*20 stored rows") as refused:
        load_extract(store, write_file("late.csv", LATE), mode="replace")
    assert refused.value.quarters == ["2025Q3"]
    assert stored(store) == before and len(list_loads(store)) == 1
    result = load_extract(store, write_file("late.csv", LATE), mode="replace", force=True)
    assert (result.rows_replaced, stored(store)) == (20, (1, 50.0))


def test_a_replace_that_keeps_most_of_a_quarter_needs_no_force(store, write_file):
    load_extract(store, write_file("q3.csv", QUARTER))
    # 2 rows of 20 (a tenth) and 1,000.00 of 2,000.00: not "most removed".
    load_extract(store, write_file("fix.csv", HEADER + "P1,2025-07-01,500\nP2,2025-07-02,500\n"), mode="replace")
    assert stored(store) == (2, 1000.0)


def test_a_rollback_that_empties_a_quarter_is_refused_without_force(store, write_file):
    first = load_extract(store, write_file("q3.csv", QUARTER))
    second = load_extract(store, write_file("q4.csv", HEADER + "P1,2025-10-01,5\n"))
    plan = rollback_plan(store, second.load_id)
    assert (plan.emptied, plan.confirmation) == (("2025Q4",), "remove 2025Q4")
    with pytest.raises(RollbackRefused, match=r"removes 2025Q4 entirely: 2025Q4: 1 rows \(\$5\.00\)"):
        rollback_load(store, second.load_id)
    assert stored(store) == (21, 2005.0)
    assert rollback_load(store, second.load_id, force=True) == ["2025Q4"]
    # A replacing load rolled back gives the quarter its rows back: nothing is emptied, nothing asked.
    replacing = load_extract(store, write_file("late.csv", LATE), mode="replace", force=True)
    assert rollback_plan(store, replacing.load_id).emptied == ()
    rollback_load(store, replacing.load_id)
    assert stored(store) == (20, 2000.0)
    assert first.load_id == 1


def test_bad_rows_refuse_the_file_unless_set_aside_with_their_rejects_kept(store, write_file):
    path = write_file("bad.csv", BAD_ROWS)
    with pytest.raises(ExtractInvalid, match="order date is empty"):
        load_extract(store, path)
    assert list_loads(store).empty
    result = load_extract(store, path, skip_bad_rows=True)
    assert (result.rows_added, result.rows_set_aside, stored(store)) == (2, 2, (2, 50.0))
    assert "2 rows with problems set aside (rows 3, 4)" in result.message
    rejects = pd.read_csv(io.BytesIO(load_rejects(store, result.load_id)), encoding="utf-8-sig", dtype=str,
                          keep_default_na=False)
    assert rejects.to_dict("list") == {
        "row": ["3", "4"],
        "reason": ["order_date: order date is empty",
                   "revenue: revenue is not an amount (expected like 1234.50, $1,234.50, (1,234.50) or 1.234,50)"],
        "partner_id": ["P2", "P3"], "order_date": ["", "2025-07-03"], "revenue": ["20", "ten"],
    }
    assert load_history(store).iloc[0]["rows_set_aside"] == 2


def test_a_problem_of_the_whole_file_cannot_be_set_aside(store, write_file):
    path = write_file("mixed.csv", HEADER + "P1,03/14/2025,1\nP2,14/03/2025,2\n")
    with pytest.raises(ExtractInvalid, match="mix day/month"):
        load_extract(store, path, skip_bad_rows=True)


def test_totals_rows_are_skipped_with_a_line_in_the_report(write_file):
    body = ("partner_id,partner_name,order_date,revenue\nP1,A,2025-07-01,10\nP2,B,2025-07-02,20.50\n"
            ",Subtotal,,30.50\nP3,C,2025-07-03,5\n,Grand total,,35.50\n,Total of something,,99\n")
    prepared = prepare_extract(write_file("t.csv", body))
    report = prepared.report
    # The last row's amount is no sum of the rows above: it stays a row with problems.
    assert [(p.row, p.message) for p in report.problems] == [(7, "order date is empty"), (7, "partner id is empty")]
    assert any(w.startswith("2 totals rows skipped") and "row 4 ('Subtotal" in w and "row 6 ('Grand total" in w
               for w in report.warnings)
    assert report.bad_rows == [7]


def test_a_total_written_where_the_partner_should_be_is_skipped_and_a_partner_named_like_one_is_kept(write_file):
    # "Sum Systems" is a partner whose id holds a total word; its amount is no sum of the rows above.
    body = ("partner_id,partner_name,order_date,revenue\nP1,A,2025-07-01,10\nP2,B,2025-07-02,20\n"
            "Total,,2025-07-03,30\nSum,Sum Systems,2025-07-04,7\n")
    report = prepare_extract(write_file("t.csv", body)).report
    assert report.ok, report.problems
    assert [w for w in report.warnings if "totals row" in w] == [
        "1 totals row skipped (no partner, a word like \"Total\", an amount equal to the sum of the rows above): "
        "row 4 ('Total | 2025-07-03 | 30')."]


@pytest.mark.parametrize("word", ["NA", "N/A", "None", "null", "NULL", "nan"], ids=str)
def test_words_that_pandas_reads_as_missing_stay_text(write_file, word):
    body = f"partner_id,partner_name,tier,region,order_date,revenue\n{word},{word},{word},{word},2025-07-01,1\n"
    csv_lines = prepare_extract(write_file("na.csv", body)).lines.to_pandas()
    frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)
    excel = io.BytesIO()
    frame.to_excel(excel, index=False)
    excel_lines = prepare_extract(excel.getvalue(), "na.xlsx").lines.to_pandas()
    for lines in (csv_lines, excel_lines):
        assert lines.loc[0, ["partner_id", "partner_name", "tier", "region"]].tolist() == [word] * 4


def test_the_demo_extracts_region_na_is_read_back_as_text(tmp_path):
    (path,) = write_demo_extracts(tmp_path, DemoSpec(partners=40, quarters=1))
    regions = set(prepare_extract(path).lines.column("region").to_pylist())
    assert "NA" in regions and None not in regions


def run(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), *args, "--no-scores"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_command_line_guards_sets_aside_and_remembers_a_hand_mapping(tmp_path, write_file):
    db = tmp_path / "cli.duckdb"
    assert run(db, "ingest", str(write_file("q3.csv", QUARTER))).returncode == 0
    refused = run(db, "ingest", "--replace", str(write_file("late.csv", LATE)))
    assert refused.returncode == 1 and "2025Q3: 20 stored rows ($2,000.00)" in refused.stdout
    assert run(db, "rollback", "1").returncode == 1
    bad = write_file("bad_q4.csv", BAD_ROWS.replace("2025-07", "2025-10"))
    told = run(db, "ingest", str(bad))
    assert told.returncode == 1 and "--skip-bad-rows --rejects FILE.csv" in told.stdout
    rejects = tmp_path / "rejects.csv"
    loaded = run(db, "ingest", "--skip-bad-rows", "--rejects", str(rejects), str(bad))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert pd.read_csv(rejects, encoding="utf-8-sig")["row"].tolist() == [3, 4]
    # An optional column the importer does not recognise, mapped by hand and remembered for the layout.
    odd = write_file("q1.csv", "partner_id,order_date,revenue,Kundengruppe\nP1,2026-01-05,3,Enterprise\n")
    assert run(db, "ingest", "--column", "customer_segment=Kundengruppe", str(odd)).returncode == 0
    with Store(db) as store:
        assert stored(store) == (23, 2053.0)
        assert remembered_mapping(store, ["partner_id", "order_date", "revenue", "Kundengruppe"])[
            "customer_segment"] == "Kundengruppe"
        assert store.query_df("SELECT customer_segment FROM order_lines WHERE quarter = '2026Q1'")[
            "customer_segment"].tolist() == ["Enterprise"]


def upload(at, name: str, data: bytes):
    at.file_uploader(key="uploads").upload(name, data, "text/csv").run()
    assert not at.exception, at.exception
    return at


def summary_of(db: Path) -> tuple[int, float]:
    st.cache_resource.clear()  # let go of the app's connection before opening the file here
    with Store(db) as store:
        return stored(store)


def test_the_page_shows_the_figures_preselects_nothing_and_asks_to_type_the_replace(tmp_path):
    db = tmp_path / "up.duckdb"
    at = upload(open_page(db, PAGE), "q3.csv", QUARTER.encode())
    at.button(key="load_0").click().run()
    at = upload(open_page(db, PAGE), "late.csv", LATE.encode())
    figures = at.dataframe[1].value  # after the preview: the quarter against what is stored
    assert figures.iloc[0].tolist()[:5] == ["2025Q3", 1, 50.0, 20, 2000.0]
    assert at.radio(key="mode_0").value is None and at.button(key="load_0").disabled
    at.radio(key="mode_0").set_value("replace").run()
    assert any("most of what is stored for 2025Q3" in e.value for e in at.error)
    assert at.button(key="load_0").disabled
    at.text_input(key="confirm_replace_0").input("replace 2025Q4").run()
    assert at.button(key="load_0").disabled
    at.text_input(key="confirm_replace_0").input("Replace 2025Q3").run()
    at.button(key="load_0").click().run()
    assert not at.exception, at.exception
    assert summary_of(db) == (1, 50.0)


def test_the_page_sets_bad_rows_aside_on_request_and_offers_the_rejects(tmp_path):
    db = tmp_path / "up.duckdb"
    at = upload(open_page(db, PAGE), "bad.csv", BAD_ROWS.encode())
    assert not [b for b in at.button if b.key == "load_0"]
    assert at.button(key="set_aside_0").label == "Load the 2 good rows, set 2 aside"
    at.button(key="set_aside_0").click().run()
    at.button(key="load_0").click().run()
    assert not at.exception, at.exception
    assert summary_of(db) == (2, 50.0)
    at = open_page(db, PAGE)
    assert [b.label for b in at.get("download_button") if "set aside by load #1" in b.label]


def test_an_optional_column_is_mapped_by_hand_on_the_page(tmp_path):
    db = tmp_path / "up.duckdb"
    data = b"partner_id,order_date,revenue,Kundengruppe\nP1,2025-07-01,3,Enterprise\n"
    at = upload(open_page(db, PAGE), "seg.csv", data)
    at.selectbox(key="remap_0_customer_segment").set_value("Kundengruppe").run()
    at.button(key="remap_0_apply").click().run()
    assert not at.exception, at.exception
    at.button(key="load_0").click().run()
    st.cache_resource.clear()
    with Store(db) as store:
        assert store.query_df("SELECT customer_segment FROM order_lines")["customer_segment"].tolist() == [
            "Enterprise"]


@pytest.mark.parametrize("page", ["views/pages/risk.py", "views/pages/model.py", "views/pages/overview.py"], ids=str)
def test_no_page_tells_a_person_to_run_a_command_when_scores_are_missing(small_channel_db, page):
    at = open_page(small_channel_db, page)
    said = [e.value for kind in ("info", "warning", "error", "markdown", "caption") for e in getattr(at, kind)]
    assert not [text for text in said if "python -m" in text or "rescore" in text]
    if page == "views/pages/risk.py":
        assert any("computed after every load and show here when ready" in text for text in said)


def test_an_append_of_rows_identical_to_stored_ones_is_refused_unless_forced(store, write_file):
    from analytics.ingest.load import AppendRefused

    header = "partner_id,order_date,revenue,customer_id\n"
    load_extract(store, write_file("q1.csv", header + "P1,2025-01-10,100,C1\nP2,2025-02-10,50,C2\n"))
    before = store.query_df("SELECT count(*) AS n, sum(revenue) AS r FROM order_lines")
    again = write_file("again.csv", header + "P1,2025-01-10,100,C1\nP3,2025-03-01,70,C3\n")  # one the same, one new
    with pytest.raises(AppendRefused, match=r"1 of its rows are identical to rows already stored \(2025Q1: 1\)"):
        load_extract(store, again, mode="append")
    assert store.query_df("SELECT count(*) AS n, sum(revenue) AS r FROM order_lines").equals(before)
    assert load_extract(store, again, mode="append", force=True).rows_added == 2
    # A row that differs in any figure (another day) is a new order line, appended without a word.
    assert load_extract(store, write_file("late.csv", header + "P1,2025-01-11,100,C1\n"), mode="append").rows_added == 1


@pytest.mark.parametrize("extra", [",,", ",", ',""'])
def test_a_row_with_extra_empty_fields_is_reported_like_one_with_an_extra_filled_field(store, write_file, extra):
    # DuckDB's reader keeps such a row and drops its empty extras; a shifted row must not load unnoticed.
    path = write_file("wide.csv", HEADER + f"P1,2025-07-01,10\nP2,2025-07-02,20{extra}\nP3,2025-07-03,30,x\n"
                                           "P4,2025-07-04,40\n")
    report = prepare_extract(path).report
    assert [(p.row, p.column) for p in report.problems] == [(3, None), (4, None)]
    assert all(p.message.startswith("cannot be split into the header's columns (too many columns")
               for p in report.problems)
    assert "this row" in report.problems[0].message and "the extra ones are empty" in report.problems[0].message
    assert report.rows == 4
    with pytest.raises(ExtractInvalid, match="cannot be split"):
        load_extract(store, path)
    assert list_loads(store).empty
    result = load_extract(store, path, skip_bad_rows=True)
    assert (result.rows_added, result.rows_set_aside, stored(store)) == (2, 2, (2, 50.0))
    rejects = pd.read_csv(io.BytesIO(load_rejects(store, result.load_id)), encoding="utf-8-sig", dtype=str,
                          keep_default_na=False)
    assert rejects["row"].tolist() == ["3", "4"] and rejects.loc[0, "partner_id"] == "P2"


def test_extra_empty_fields_are_found_in_a_windows_1252_file_with_crlf_and_quoted_line_breaks(write_file):
    body = (HEADER.replace("\n", "\r\n") + '"P1",2025-07-01,10\r\n"P\r\n2",2025-07-02,20\r\n'
            "P3,2025-07-03,30\r\nP\xe9,2025-07-04,40,\r\n").encode("cp1252")
    report = prepare_extract(write_file("win.csv", body)).report
    assert [p.row for p in report.problems] == [5]
    assert "the header has 3, this row 4" in report.problems[0].message
