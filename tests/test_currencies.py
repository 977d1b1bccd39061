"""Currencies and exchange rates (issue 28): lines keep amount and currency, revenue is converted to the cent at the
quarter's rate, rates are kept with their history, and every bad case is refused with nothing stored."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pandas as pd
import pytest

from analytics.analyses.queries import channel_summary
from analytics.ingest.extract import prepare_extract
from analytics.ingest.load import load_extract
from analytics.ingest.report import ExtractInvalid
from analytics.ingest.rollback import rollback_load
from analytics.program.rules import load_program
from analytics.store.currencies import header_currency
from analytics.store.rates import (
    RatesInvalid,
    RatesMissing,
    current_rates,
    load_rates,
    rate_changes_since,
    rate_history,
    reporting_per_unit,
)
from analytics.store.schema import MIGRATIONS
from analytics.store.store import Store
from tests.builders import ROOT, make_v1_file

RATES = "quarter,currency,rate\n2025Q3,EUR,1.0834\n2025Q3,AUD,1.5\n2025Q4,EUR,1.1\n"

# Hand-made: amounts whose conversion lands on half a cent (rounded away from zero), a credit, and USD lines.
EXTRACT = (
    "Partner ID,Quarter,Amount,Curr.\n"
    "P1,2025Q3,100.00,EUR\n"      # 100 * 1.0834 = 108.34
    "P1,2025Q3,19.99,eur\n"       # 19.99 * 1.0834 = 21.657166 -> 21.66 (codes read in any case)
    "P2,2025Q3,10.05,AUD\n"       # 10.05 * 1.5 = 15.075 -> 15.08
    "P2,2025Q3,-10.05,AUD\n"      # a credit: -15.075 -> -15.08
    "P3,2025Q3,7.50,USD\n"        # the reporting currency: as it is
    "P1,2025Q4,0.05,EUR\n"        # 0.05 * 1.1 = 0.055 -> 0.06
)


def snapshot(store: Store) -> dict[str, pd.DataFrame]:
    """Give every table a load or a rates file could change, to compare before and after a refusal."""
    tables = {"order_lines": "load_id, row_no", "loads": "load_id", "partner_quarter": "partner_id, quarter",
              "partner_year": "partner_id, quarter", "meta": "key", "exchange_rates": "quarter, currency",
              "rate_loads": "rate_load_id", "rate_history": "rate_load_id, quarter, currency"}
    return {t: store.query_df(f"SELECT * FROM {t} ORDER BY {order}") for t, order in tables.items()}


def assert_unchanged(before: dict[str, pd.DataFrame], store: Store) -> None:
    after = snapshot(store)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], obj=table)


def lines(store: Store) -> list[tuple]:
    frame = store.query_df("SELECT partner_id, quarter, amount, currency, revenue FROM order_lines ORDER BY row_no")
    return [(p, q, Decimal(str(a)), c, Decimal(str(r))) for p, q, a, c, r in frame.itertuples(index=False)]


def test_conversion_is_exact_to_the_cent_and_the_line_keeps_its_amount_and_currency(store) -> None:
    load_rates(store, RATES.encode(), "rates.csv")
    result = load_extract(store, EXTRACT.encode(), "mixed.csv")
    assert result.currency_note == "Currencies from column 'Curr.', line by line."
    assert lines(store) == [
        ("P1", "2025Q3", Decimal("100.00"), "EUR", Decimal("108.34")),
        ("P1", "2025Q3", Decimal("19.99"), "EUR", Decimal("21.66")),
        ("P2", "2025Q3", Decimal("10.05"), "AUD", Decimal("15.08")),
        ("P2", "2025Q3", Decimal("-10.05"), "AUD", Decimal("-15.08")),
        ("P3", "2025Q3", Decimal("7.50"), "USD", Decimal("7.50")),
        ("P1", "2025Q4", Decimal("0.05"), "EUR", Decimal("0.06")),
    ]
    revenue = store.query_df("SELECT partner_id, quarter, revenue FROM partner_quarter ORDER BY 1, 2")
    assert revenue.values.tolist() == [["P1", "2025Q3", 130.0], ["P1", "2025Q4", 0.06], ["P2", "2025Q3", 0.0],
                                       ["P3", "2025Q3", 7.5]]
    summary = channel_summary(store)
    assert (summary["revenue"], summary["reporting_currency"]) == (137.56, "USD")


@pytest.mark.parametrize(
    ("text", "currency", "expected", "note"),
    [
        ("Partner ID,Quarter,Amount (AUD)\nP1,2025Q3,10.05\n", None, "AUD", "the header 'Amount (AUD)' says so"),
        ("partner_id,quarter,AUD Sales\nP1,2025Q3,10.05\n", None, "AUD", "the header 'AUD Sales' says so"),
        ("partner_id,quarter,revenue\nP1,2025Q3,10.05\n", "aud", "AUD", "Amounts in AUD, as chosen for the file"),
        ("partner_id,quarter,revenue\nP1,2025Q3,10.05\n", None, "USD",
         "The file names no currency: its amounts are taken to be in USD, the reporting currency."),
        ("partner_id,quarter,revenue,Currency\nP1,2025Q3,10.05,\n", "AUD", "AUD", "empty currency are in AUD"),
    ],
    ids=["header in brackets", "code before the word", "chosen for the file", "none: reporting", "empty cell"],
)
def test_where_the_currency_comes_from(text, currency, expected, note) -> None:
    prepared = prepare_extract(text.encode(), "x.csv", currency=currency, reporting_currency="USD")
    assert prepared.report.ok, prepared.report.describe()
    assert prepared.lines.column("currency").to_pylist() == [expected]
    assert prepared.lines.column("amount").to_pylist() == [Decimal("10.05")]
    assert note in prepared.report.currency_note


def test_header_currency_needs_a_code_as_a_word() -> None:
    assert [header_currency(h) for h in ("Amount (EUR)", "Net amount", "Revenue USD", "Total")] == \
        ["EUR", None, "USD", None]


def test_a_line_in_a_currency_without_a_rate_refuses_the_file_before_anything_is_written(store) -> None:
    load_rates(store, b"quarter,currency,rate\n2025Q3,EUR,1.0834\n", "rates.csv")
    load_extract(store, b"partner_id,quarter,revenue\nP9,2025Q2,1\n", "earlier.csv")
    before = snapshot(store)
    with pytest.raises(RatesMissing, match=r"Not loaded: mixed.csv\. AUD has no rate for 2025Q3; EUR has no rate "
                                           r"for 2025Q4: load rates first") as refused:
        load_extract(store, EXTRACT.encode(), "mixed.csv")
    assert refused.value.missing == {"AUD": ["2025Q3"], "EUR": ["2025Q4"]}
    assert_unchanged(before, store)


@pytest.mark.parametrize(
    ("cell", "message"),
    [("EURO", "currency is not an ISO 4217 currency code"), ("", "currency is empty, and the file names no currency")],
    ids=["unknown code", "empty with no file currency"],
)
def test_an_unknown_or_empty_currency_is_a_problem_of_its_row_and_column(store, cell, message) -> None:
    load_rates(store, RATES.encode(), "rates.csv")
    before = snapshot(store)
    text = f"partner_id,quarter,revenue,Curr.\nP1,2025Q3,1,EUR\nP2,2025Q3,2,{cell}\n"
    with pytest.raises(ExtractInvalid) as refused:
        load_extract(store, text.encode(), "codes.csv")
    (problem,) = refused.value.report.problems
    assert (problem.row, problem.column) == (3, "Curr.") and message in problem.message
    assert_unchanged(before, store)


@pytest.mark.parametrize(
    ("rates", "where", "message"),
    [
        ("quarter,currency,rate\n2025Q3,EUR,1.08\n2025Q4,EUR,0\n", "row 3, column 'rate'", "rate is zero"),
        ("quarter,currency,rate\n2025Q3,EUR,-1.08\n", "row 2, column 'rate'", "rate is negative"),
        ("quarter,currency,rate\n2025Q3,EUR,\n", "row 2, column 'rate'", "rate is missing"),
        ("Quarter;Currency;Rate\n2025Q3;EUR;1,08\n2025Q3;XEU;1,2\n", "row 3, column 'Currency'",
         "currency is not an ISO 4217 code"),
        ("quarter,currency,rate\n2025Q3,EUR,1.08\n2025Q4,EUR,1.1\nQ3 2025,eur,1.09\n", "row 4, column 'quarter'",
         r"EUR 2025Q3 is given twice \(first at row 2\)"),
        ("quarter,currency,rate\n2025Q5,EUR,1.08\n", "row 2, column 'quarter'", "quarter is not a quarter"),
        ("quarter,currency,rate\n2025Q3,USD,1.2\n", "row 2, column 'rate'", "USD is the reporting currency"),
        ("quarter,code\n2025Q3,EUR\n", "row 1", "no rate column"),
    ],
    ids=["zero", "negative", "missing", "unknown code", "duplicate", "bad quarter", "reporting currency", "no rate"],
)
def test_a_bad_rates_file_is_refused_naming_file_row_and_column_and_nothing_changes(store, rates, where,
                                                                                    message) -> None:
    load_rates(store, RATES.encode(), "rates.csv")
    load_extract(store, EXTRACT.encode(), "mixed.csv")
    before = snapshot(store)
    with pytest.raises(RatesInvalid, match=rf"bad_rates.csv: {where}: {message}"):
        load_rates(store, rates.encode(), "bad_rates.csv")
    assert_unchanged(before, store)


def test_a_rate_change_recomputes_the_lines_and_the_derived_tables_and_is_recorded(store) -> None:
    load_rates(store, RATES.encode(), "rates.csv", loaded_by="ana")
    load_extract(store, EXTRACT.encode(), "mixed.csv")
    year_before = store.query_df("SELECT * FROM partner_year ORDER BY partner_id, quarter")
    version = store.data_version()

    result = load_rates(store, b"quarter,currency,rate\n2025Q3,EUR,1.1\n2025Q3,AUD,1.5\n", "new.csv",
                        loaded_by="ben")
    # Only EUR 2025Q3 changed (AUD is as in force): 100 * 1.1 = 110.00 and 19.99 * 1.1 = 21.989 -> 21.99.
    assert result.changes[["quarter", "currency", "previous_rate", "rate", "lines"]].values.tolist() == \
        [["2025Q3", "EUR", 1.0834, 1.1, 2]]
    assert result.changes["revenue_change"].tolist() == [pytest.approx(110.00 + 21.99 - 108.34 - 21.66)]
    assert [r[4] for r in lines(store)][:2] == [Decimal("110.00"), Decimal("21.99")]
    p1 = store.query_df("SELECT revenue FROM partner_quarter WHERE partner_id = 'P1' AND quarter = '2025Q3'")
    assert p1["revenue"].tolist() == [131.99]
    assert store.data_version() == version + 1  # the pages and the stored scores see new data
    pd.testing.assert_frame_equal(year_before, store.query_df("SELECT * FROM partner_year ORDER BY 1, 2"))
    assert current_rates(store).values.tolist() == [["2025Q3", "AUD", 1.5], ["2025Q3", "EUR", 1.1],
                                                    ["2025Q4", "EUR", 1.1]]
    history = rate_history(store)
    assert history[["rate_load_id", "currency", "previous_rate", "rate", "loaded_by"]].head(1).values.tolist() == \
        [[2, "EUR", 1.0834, 1.1, "ben"]]
    (sentence,) = rate_changes_since(store, reporting="USD")
    assert sentence.startswith("EUR rate for 2025Q3 changed from 1.0834 to 1.1 by ben on ")
    assert sentence.endswith("(new.csv), revenue +1.99 USD over 2 line(s)")

    again = load_rates(store, b"quarter,currency,rate\n2025Q3,EUR,1.1\n", "same.csv")
    assert again.rate_load_id is None and "nothing changed" in again.message
    assert store.data_version() == version + 1


def test_a_line_brought_back_by_a_rollback_is_at_the_rate_in_force(store) -> None:
    load_rates(store, RATES.encode(), "rates.csv")
    load_extract(store, b"partner_id,quarter,revenue,currency\nP1,2025Q3,100,EUR\n", "first.csv")
    load_extract(store, b"partner_id,quarter,revenue,currency\nP1,2025Q3,200,EUR\n", "second.csv", mode="replace")
    load_rates(store, b"quarter,currency,rate\n2025Q3,EUR,1.2\n", "new.csv")
    rollback_load(store, 2)
    assert store.query_df("SELECT revenue FROM partner_quarter")["revenue"].tolist() == [120.0]


def test_the_upgrade_keeps_old_lines_as_dollars_and_can_run_again(tmp_path) -> None:
    path = tmp_path / "v1.duckdb"
    make_v1_file(path)
    with Store(path) as store:
        frame = store.query_df("SELECT revenue, amount, currency FROM order_lines ORDER BY row_no")
        assert frame.astype({"revenue": float, "amount": float}).values.tolist() == \
            [[100.0, 100.0, "USD"], [20.0, 20.0, "USD"]]
        with store.transaction() as cur:  # the migration is idempotent
            for statement in filter(str.strip, MIGRATIONS[14].split(";")):
                cur.execute(statement)
        assert store.query_df("SELECT count(*) AS n FROM order_lines WHERE currency = 'USD'")["n"].tolist() == [2]


def test_the_reporting_currency_comes_from_the_program_file(tmp_path) -> None:
    program = (ROOT / "data" / "program.toml").read_text()
    assert load_program(ROOT / "data" / "program.toml").reporting_currency == "USD"
    aud = tmp_path / "aud.toml"
    aud.write_text(program.replace('reporting_currency = "USD"', 'reporting_currency = "AUD"'))
    assert load_program(aud).reporting_currency == "AUD"
    bad = tmp_path / "bad.toml"
    bad.write_text(program.replace('reporting_currency = "USD"', 'reporting_currency = "Dollars"'))
    with pytest.raises(ValueError, match=r"bad.toml: reporting_currency must be an ISO 4217 code"):
        load_program(bad)


def run(db, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), *args, "--no-scores"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_command_line_loads_rates_and_an_extract_in_a_chosen_currency(tmp_path, write_file) -> None:
    db = tmp_path / "cli.duckdb"
    extract = write_file("anz.csv", "partner_id,quarter,revenue\nP1,2025Q3,10.05\n")
    refused = run(db, "ingest", "--currency", "aud", str(extract))
    assert refused.returncode == 1 and "AUD has no rate for 2025Q3: load rates first" in refused.stdout
    bad = run(db, "rates", str(write_file("bad.csv", "quarter,currency,rate\n2025Q3,AUD,0\n")))
    assert bad.returncode == 1 and "bad.csv: row 2, column 'rate': rate is zero" in bad.stdout
    done = run(db, "rates", str(write_file("rates.csv", RATES)))
    assert done.returncode == 0 and "AUD 2025Q3: 1.5 (new)" in done.stdout
    loaded = run(db, "ingest", "--currency", "aud", str(extract))
    assert loaded.returncode == 0 and "Amounts in AUD, as chosen for the file" in loaded.stdout
    summary = json.loads(subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), "summary", "--json"],
                                        cwd=ROOT, capture_output=True, text=True, timeout=300).stdout)
    assert (summary["revenue"], summary["reporting_currency"]) == (15.08, "USD")


def test_a_rates_file_in_excel_loads_like_its_csv(store, tmp_path) -> None:
    workbook = tmp_path / "rates.xlsx"
    pd.DataFrame({"Quarter": ["Q3 2025", "2025Q4"], "Currency": ["eur", "EUR"], "Rate": [1.0834, 1.1]}).to_excel(
        workbook, index=False)
    load_rates(store, workbook)
    assert current_rates(store).values.tolist() == [["2025Q3", "EUR", 1.0834], ["2025Q4", "EUR", 1.1]]
    assert rate_history(store)["file_name"].unique().tolist() == ["rates.xlsx"]


def test_a_rates_load_killed_while_it_converts_leaves_every_table_as_it_was(tmp_path) -> None:
    from tests.processes import kill_when_paused, start

    db = tmp_path / "channel.duckdb"
    with Store(db) as store:
        load_rates(store, RATES.encode(), "rates.csv")
        load_extract(store, EXTRACT.encode(), "mixed.csv")
        before = snapshot(store)
    new_rates = tmp_path / "new.csv"
    new_rates.write_text("quarter,currency,rate\n2025Q3,EUR,1.2\n")
    process = start(["-m", "analytics", "--db", str(db), "rates", str(new_rates), "--no-scores"], "rates:converted",
                    db)
    kill_when_paused(process, "rates:converted")
    with Store(db) as store:
        assert_unchanged(before, store)


def test_a_figure_in_the_reporting_currency_can_be_shown_in_another(store) -> None:
    load_rates(store, RATES.encode(), "rates.csv")
    load_extract(store, EXTRACT.encode(), "mixed.csv")
    assert reporting_per_unit(store, "EUR", reporting="USD").to_dict() == {"2025Q3": 1.0834, "2025Q4": 1.1}
    assert reporting_per_unit(store, "USD", reporting="USD").to_dict() == {"2025Q3": 1.0, "2025Q4": 1.0}
    assert reporting_per_unit(store, "AUD", reporting="USD").to_dict() == {"2025Q3": 1.5}
