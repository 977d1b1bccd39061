"""The Upload page under AppTest: good file, bad file, manual mapping, re-upload, replace, rollback."""

from __future__ import annotations

import getpass
import json
import re
from pathlib import Path

import streamlit as st

from analytics.analyses.queries import channel_summary
from analytics.formatting import markdown_literal
from analytics.store.store import Store
from tests.apptest_helpers import open_page, upload

PAGE = "views/pages/upload.py"

GOOD = b"Partner ID,Booking Date,Amount (USD),Tier\nP1,2025-07-01,\"$1,500.00\",Gold\nP2,2025-08-01,500,Silver\n"
BAD = b"partner_id,order_date,revenue\nP1,2025-07-01,ten\nP2,2025-13-01,5\n"
ODD_HEADERS = b"Acct;When;Amt\nP9;2025-10-01;100\nP8;2025-11-01;50\n"


def summary_of(db: Path) -> dict:
    st.cache_resource.clear()  # let go of the app's connection before opening the file here
    with Store(db) as store:
        return channel_summary(store)


def test_page_states_its_limit_and_loads_a_good_file(tmp_path):
    db = tmp_path / "up.duckdb"
    at = open_page(db, PAGE)
    assert any("up to 400 MB, 5,000,000 rows and 500 columns per file" in c.value for c in at.caption)
    upload(at, "q3.csv", GOOD)
    preview = at.dataframe[0].value
    assert preview["partner_id"].tolist() == ["P1", "P2"] and float(preview["amount"][0]) == 1500.0
    at.button(key="load_0").click().run()
    assert not at.exception, at.exception
    assert "Loaded as load #1" in at.success[0].value
    assert [m.value for m in at.metric][:3] == ["2", "0", "2"]  # rows added, skipped, new partners
    assert summary_of(db)["revenue"] == 2000.0


def test_file_with_errors_lists_them_and_writes_nothing(tmp_path):
    db = tmp_path / "up.duckdb"
    at = upload(open_page(db, PAGE), "bad.csv", BAD)
    assert f"{markdown_literal('bad.csv')} cannot be loaded" in at.error[0].value  # Markdown underneath
    problems = at.dataframe[0].value
    assert problems[["row", "column"]].values.tolist() == [[2, "revenue"], [3, "order_date"]]
    assert at.get("download_button")  # the report can be downloaded
    assert not [b for b in at.button if b.key and b.key.startswith("load_")]
    assert summary_of(db)["lines"] == 0


def test_unrecognised_columns_are_mapped_by_hand_and_remembered(tmp_path):
    db = tmp_path / "up.duckdb"
    at = upload(open_page(db, PAGE), "odd.csv", ODD_HEADERS)
    at.selectbox(key="map_0_partner_id").set_value("Acct")
    at.selectbox(key="map_0_revenue").set_value("Amt")
    at.selectbox(key="map_0_order_date").set_value("When").run()
    at.button(key="map_0_apply").click().run()
    assert not at.exception, at.exception
    at.button(key="load_0").click().run()
    assert summary_of(db)["revenue"] == 150.0

    # The next file with the same headers is read with the confirmed mapping, no questions asked.
    at = open_page(db, PAGE)
    upload(at, "odd_q1.csv", b"Acct;When;Amt\nP9;2026-01-05;70\n")
    assert not [s for s in at.selectbox if s.key and s.key.startswith("map_")]
    at.button(key="load_0").click().run()
    assert summary_of(db)["revenue"] == 220.0


def test_the_same_file_again_is_recognised(tmp_path):
    db = tmp_path / "up.duckdb"
    at = upload(open_page(db, PAGE), "q3.csv", GOOD)
    at.button(key="load_0").click().run()
    at = upload(open_page(db, PAGE), "q3_again.csv", GOOD)
    assert any("already loaded as load #1" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "load_0"]
    assert summary_of(db)["lines"] == 2


def test_quarter_holding_data_asks_and_replace_swaps_it(tmp_path):
    db = tmp_path / "up.duckdb"
    at = upload(open_page(db, PAGE), "q3.csv", GOOD)
    at.button(key="load_0").click().run()
    at = upload(open_page(db, PAGE), "q3_fixed.csv", GOOD.replace(b"500,Silver", b"700,Silver"))
    # File names are shown literally: the Markdown source escapes them (\#1 q3\.csv shows as #1 q3.csv).
    assert any(r"2025Q3: 2 rows from \#1 q3\.csv" in w.value for w in at.warning)
    assert at.button(key="load_0").disabled  # nothing chosen yet
    at.radio(key="mode_0").set_value("cancel").run()
    assert at.button(key="load_0").disabled
    at.radio(key="mode_0").set_value("replace").run()
    at.button(key="load_0").click().run()
    assert not at.exception, at.exception
    assert summary_of(db)["revenue"] == 2200.0


def test_rollback_asks_for_confirmation(tmp_path):
    db = tmp_path / "up.duckdb"
    at = upload(open_page(db, PAGE), "q3.csv", GOOD)
    at.button(key="load_0").click().run()
    at = open_page(db, PAGE)
    at.selectbox(key="rollback_pick").set_value(1).run()
    at.button(key="rollback_ask").click().run()
    assert f"Roll back {markdown_literal('#1 q3.csv')}" in at.warning[0].value
    at.button(key="rollback_cancel").click().run()
    assert summary_of(db)["lines"] == 2
    at = open_page(db, PAGE)
    at.selectbox(key="rollback_pick").set_value(1).run()
    at.button(key="rollback_ask").click().run()
    # The only load of 2025Q3: rolling it back empties the quarter, so the words that say so must be typed.
    assert any(markdown_literal("removes 2025Q3 entirely: 2025Q3: 2 rows ($2,000.00)") in e.value for e in at.error)
    assert at.button(key="rollback_confirm").disabled
    at.text_input(key="confirm_rollback").input("remove 2025Q3").run()
    at.button(key="rollback_confirm").click().run()
    assert not at.exception, at.exception
    assert summary_of(db)["lines"] == 0
    (status,) = at.dataframe[0].value["status"].tolist()
    assert re.fullmatch(r"rolled back \d{4}-\d{2}-\d{2} \d{2}:\d{2} by local user \(.+\)", status)


def test_a_file_name_with_markdown_is_shown_literally_in_the_sidebar(tmp_path):
    db = tmp_path / "up.duckdb"
    at = upload(open_page(db, PAGE), "**q3** <b>.csv", GOOD)
    at.button(key="load_0").click().run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.sidebar.caption if "Last load" in c.value]
    # Escaped in the Markdown source, so the browser shows the characters, not bold text or a tag.
    assert captions and r"\*\*q3\*\* &lt;b\>\.csv" in captions[0], captions


def test_differing_revenue_columns_are_chosen_in_the_mapping_and_loaded(tmp_path):
    db = tmp_path / "up.duckdb"
    amb = b"Partner,Revenue,Amount (USD),Date\nP1,5,5,2025-07-01\nP2,6,7.50,2025-07-01\n"
    at = upload(open_page(db, PAGE), "amb.csv", amb)
    # The headers are shown literally: escaped in the Markdown source.
    told = "revenue: 'Revenue', 'Amount \\(USD\\)' differ in 1 row(s), first in row(s) 3."
    assert any(told in w.value for w in at.warning)
    pick = at.selectbox(key="map_0_revenue")
    assert pick.options == ["Revenue", "Amount (USD)"] and pick.value is None  # never preselected: not guessed
    assert at.button(key="map_0_apply").disabled
    assert not [b for b in at.button if b.key == "load_0"]
    pick.set_value("Amount (USD)").run()
    at.button(key="map_0_apply").click().run()
    assert not at.exception, at.exception
    at.button(key="load_0").click().run()
    assert not at.exception, at.exception
    assert summary_of(db)["revenue"] == 12.5

    # The choice is remembered for the next file with the same headers.
    at = upload(open_page(db, PAGE), "amb_q4.csv", amb.replace(b"2025-07", b"2025-10"))
    assert not [s for s in at.selectbox if s.key and s.key.startswith("map_")]
    at.button(key="load_0").click().run()
    assert summary_of(db)["revenue"] == 25.0


def test_an_image_named_csv_is_refused_in_one_sentence(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
    at = upload(open_page(tmp_path / "up.duckdb", PAGE), "chart.csv", png)
    assert markdown_literal("chart.csv cannot be loaded") in at.error[0].value
    assert at.dataframe[0].value["problem"].tolist() == [
        "chart.csv is not a text file (it looks like a PNG image): export the extract as CSV or Excel and load it "
        "again."
    ]


def shown_headers(element) -> list[str]:
    """Give a dataframe element's headers in the order shown (hidden columns left out)."""
    config = json.loads(element.proto.columns)
    names = list(element.proto.column_order) or list(element.value.columns)
    return [config.get(n, {}).get("label") or n for n in names if not config.get(n, {}).get("hidden")]


def test_the_preview_leads_with_partner_date_and_revenue_in_words(tmp_path):
    at = upload(open_page(tmp_path / "up.duckdb", PAGE), "q3.csv", GOOD)
    assert shown_headers(at.dataframe[0])[:3] == ["Partner id", "Order date", "Amount"]
    # Then the rest, columns the file lacks left out: no empty transaction id or customer columns.
    assert shown_headers(at.dataframe[0])[3:] == ["Currency", "Row in file", "Tier (recorded)", "Quarter"]
    mapping = at.table[0].value
    assert list(mapping.columns) == ["Field", "Column in the file"]
    assert dict(zip(mapping["Field"], mapping["Column in the file"], strict=True)) == {
        "Partner id": "Partner ID", "Amount": "Amount (USD)", "Order date": "Booking Date",
        "Tier (recorded)": "Tier"}


def test_mapping_fields_are_named_as_people_name_them(tmp_path):
    at = upload(open_page(tmp_path / "up.duckdb", PAGE), "odd.csv", ODD_HEADERS)
    assert {s.key: s.label for s in at.selectbox if s.key and s.key.startswith("map_")} == {
        "map_0_partner_id": "Partner id", "map_0_revenue": "Amount",
        "map_0_order_date": "Order date (or a quarter column)"}


def test_the_summary_and_the_loads_table_read_in_words(tmp_path):
    db = tmp_path / "up.duckdb"
    at = upload(open_page(db, PAGE), "q3.csv", GOOD)
    at.button(key="load_0").click().run()
    assert not at.exception, at.exception
    # Short labels that fit their column; what each counts is in the help.
    assert [(m.label, m.value) for m in at.metric] == [
        ("Rows added", "2"), ("Rows skipped", "0"), ("New partners", "2"), ("Partners gone", "0")]
    assert all(m.help for m in at.metric)
    loads = at.dataframe[-1]
    assert shown_headers(loads) == ["Load", "Loaded by", "Loaded at", "File", "Rows added",
                                    "Rows skipped", "Rows replaced", "Rows set aside", "Quarters", "Mode", "Status"]
    row = loads.value.iloc[0]
    assert (row["loaded_by"], row["mode"], row["status"]) == (f"local user ({getpass.getuser()})", "new data only",
                                                              "in effect")


# --- currencies and exchange rates (issue 28) ---------------------------------------------------------------------

IN_EUR = b"Partner ID,Quarter,Amount,Curr.\nP1,2025Q3,100.00,EUR\nP2,2025Q3,10.00,USD\n"
RATES = b"quarter,currency,rate\n2025Q3,EUR,1.0834\n"


def test_a_file_in_a_currency_without_rates_waits_for_them_and_then_loads_converted(tmp_path):
    db = tmp_path / "up.duckdb"
    at = upload(open_page(db, PAGE), "eur.csv", IN_EUR)
    assert any(markdown_literal("Currencies from column 'Curr.', line by line.") in c.value for c in at.caption)
    assert markdown_literal("EUR has no rate for 2025Q3: load rates first") in at.error[0].value
    assert not [b for b in at.button if b.key == "load_0"]

    at.file_uploader(key="rates_upload").upload("rates.csv", RATES, "text/csv").run()
    at.button(key="rates_load").click().run()
    assert not at.exception, at.exception
    done = markdown_literal("Loaded rates rates.csv as rates load #1: 1 rate(s) set or changed.")
    assert any(done in s.value for s in at.success)
    assert not at.error
    at.button(key="load_0").click().run()
    assert not at.exception, at.exception
    assert summary_of(db)["revenue"] == 118.34  # 100 EUR at 1.0834 and 10 USD


def test_a_bad_rates_file_shows_its_problems_and_changes_nothing(tmp_path):
    db = tmp_path / "up.duckdb"
    at = open_page(db, PAGE)
    at.file_uploader(key="rates_upload").upload("rates.csv", b"quarter,currency,rate\n2025Q3,EUR,0\n",
                                                "text/csv").run()
    at.button(key="rates_load").click().run()
    assert not at.exception, at.exception
    assert markdown_literal("rates.csv") in at.error[0].value and "nothing was changed" in at.error[0].value
    problems = at.dataframe[0].value
    assert problems[["row", "column"]].values.tolist() == [[2, "rate"]]
    assert problems["problem"].str.startswith("rate is zero").all()
    st.cache_resource.clear()
    with Store(db) as store:
        assert store.query_df("SELECT count(*) AS n FROM rate_loads")["n"].tolist() == [0]


def test_the_currency_chosen_for_a_file_that_names_none_is_used(tmp_path):
    db = tmp_path / "up.duckdb"
    at = open_page(db, PAGE)
    at.selectbox(key="file_currency").select("AUD").run()
    upload(at, "anz.csv", b"partner_id,quarter,revenue\nP1,2025Q3,10.05\n")
    assert any(markdown_literal("Amounts in AUD, as chosen for the file") in c.value for c in at.caption)
    assert markdown_literal("AUD has no rate for 2025Q3") in at.error[0].value
