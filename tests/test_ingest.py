"""Loading into the real DuckDB file: idempotence, transaction ids, replace/append/refuse, rollback, faults."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from analytics.analyses.queries import channel_summary
from analytics.ingest import load as ingest
from analytics.ingest.history import list_loads
from analytics.ingest.load import LoadRefused, load_extract
from analytics.ingest.report import ExtractInvalid
from analytics.ingest.rollback import rollback_load
from analytics.store.faults import StoreError
from analytics.store.store import Store
from tests.builders import ROOT

WITH_IDS = "partner_id,order_date,revenue,transaction_id,customer_id,customer_segment,tier\n"
WITHOUT_IDS = "partner_id,order_date,revenue,customer_id,tier\n"


def snapshot(store: Store) -> dict[str, pd.DataFrame]:
    """Give every table's content in a fixed order, to compare a database before and after."""
    return {
        "order_lines": store.query_df("SELECT * FROM order_lines ORDER BY load_id, row_no"),
        "loads": store.query_df("SELECT * FROM loads ORDER BY load_id"),
        "partner_quarter": store.query_df("SELECT * FROM partner_quarter ORDER BY partner_id, quarter"),
        "partner_year": store.query_df("SELECT * FROM partner_year ORDER BY partner_id, quarter"),
        "meta": store.query_df("SELECT * FROM meta ORDER BY key"),
    }


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], obj=table)


def derived_matches_raw(store: Store) -> None:
    """The derived tables equal a fresh aggregation of the rows that count."""
    derived = store.query_df("SELECT partner_id, quarter, revenue, order_lines FROM partner_quarter ORDER BY 1, 2")
    raw = store.query_df(
        """
        SELECT partner_id, quarter, CAST(sum(revenue) AS DOUBLE) AS revenue, count(*) AS order_lines
        FROM order_lines WHERE replaced_by IS NULL GROUP BY 1, 2 ORDER BY 1, 2
        """
    )
    pd.testing.assert_frame_equal(derived, raw)
    # Trailing year, counted another way: every line is spread over the four windows it falls in, and
    # only windows ending at a stored quarter exist.
    derived = store.query_df("SELECT partner_id, q_index, customers, products FROM partner_year ORDER BY 1, 2")
    raw = store.query_df(
        """
        WITH l AS (
            SELECT partner_id, customer_id, product,
                   CAST(substr(quarter, 1, 4) AS INTEGER) * 4 + CAST(substr(quarter, 6, 1) AS INTEGER) - 1 AS q
            FROM order_lines WHERE replaced_by IS NULL
        )
        SELECT partner_id, q + k AS q_index, count(DISTINCT customer_id) AS customers,
               count(DISTINCT product) AS products
        FROM l, range(4) r(k)
        WHERE q + k BETWEEN (SELECT min(q) FROM l) AND (SELECT max(q) FROM l)
        GROUP BY ALL ORDER BY 1, 2
        """
    )
    pd.testing.assert_frame_equal(derived, raw, check_dtype=False)


def test_trailing_year_follows_loads_out_of_order_replaces_and_rollbacks(store, write_file):
    columns = "partner_id,order_date,revenue,customer_id,product,tier\n"
    # 2025Q3 first, then earlier quarters: each later window must pick up the earlier customers.
    load_extract(store, write_file("q3.csv", columns + "P1,2025-07-01,10,C1,A,Gold\nP2,2025-08-01,5,C9,A,Gold\n"))
    # A later quarter after a gap: the gap quarter's window (2025Q4) still holds 2025Q3's customers.
    load_extract(store, write_file("q1_26.csv", columns + "P1,2026-02-01,10,C5,E,Gold\n"))
    derived_matches_raw(store)
    load_extract(store, write_file("q1.csv", columns + "P1,2025-01-01,10,C2,B,Gold\nP1,2025-02-01,10,C1,A,Gold\n"))
    load_extract(store, write_file("q4_24.csv", columns + "P1,2024-11-01,10,C3,C,Gold\n"))
    year = store.query_df("SELECT customers, products FROM partner_year WHERE partner_id = 'P1' AND quarter = '2025Q3'")
    # 2025Q3's year is 2024Q4-2025Q3: customers C1, C2, C3 and products A, B, C.
    assert year.iloc[0].tolist() == [3, 3]
    derived_matches_raw(store)
    load_extract(store, write_file("q1b.csv", columns + "P1,2025-03-01,10,C1,A,Gold\n"),
                 mode="replace", force=True)
    derived_matches_raw(store)
    load_extract(store, write_file("q4.csv", columns + "P1,2025-10-01,10,C4,D,Gold\n"))
    derived_matches_raw(store)
    rollback_load(store, 2, force=True)  # the channel's last quarter goes: its windows go with it
    assert store.query_df("SELECT max(quarter) AS q FROM partner_year").iloc[0]["q"] == "2025Q4"
    derived_matches_raw(store)
    rollback_load(store, 6, force=True)
    derived_matches_raw(store)
    rollback_load(store, 1, force=True)  # 2025Q3 goes: its windows hold only the earlier quarters' customers now
    derived_matches_raw(store)


def test_load_writes_lines_load_record_and_derived_table(store, write_file):
    path = write_file(
        "q3.csv",
        WITH_IDS
        + "P1,2025-07-01,100,T1,C1,SMB,Gold\nP1,2025-08-01,50,T2,C2,Enterprise,Gold\n"
        + "P2,2025-09-30,-5,T3,C3,SMB,Silver\n",
    )
    result = load_extract(store, path)
    assert (result.status, result.load_id, result.rows_added, result.quarters) == ("loaded", 1, 3, ["2025Q3"])
    pq = store.query_df("SELECT * FROM partner_quarter WHERE partner_id = 'P1'").iloc[0]
    got = (pq["revenue"], pq["order_lines"], pq["customers"], pq["revenue_smb"], pq["tier"])
    assert got == (150, 2, 2, 100, "Gold")
    loads = list_loads(store)
    assert loads.loc[0, "file_name"] == "q3.csv" and loads.loc[0, "quarters"] == "2025Q3"
    assert len(loads.loc[0, "content_hash"]) == 64
    derived_matches_raw(store)


def test_same_file_twice_changes_nothing(store, write_file):
    path = write_file("q3.csv", WITHOUT_IDS + "P1,2025-07-01,100,C1,Gold\n")
    load_extract(store, path)
    before = snapshot(store)
    again = load_extract(store, path)
    assert again.status == "unchanged" and "already loaded as load #1" in again.message
    assert_same(before, snapshot(store))


def test_rows_with_stored_transaction_ids_are_skipped_and_counted(store, write_file):
    load_extract(store, write_file("a.csv", WITH_IDS + "P1,2025-07-01,100,T1,C1,SMB,Gold\n"))
    result = load_extract(
        store, write_file("b.csv", WITH_IDS + "P1,2025-07-01,100,T1,C1,SMB,Gold\nP1,2025-07-02,30,T2,C1,SMB,Gold\n")
    )
    assert (result.rows_added, result.rows_skipped) == (1, 1)
    assert "1 skipped" in result.message
    assert channel_summary(store)["revenue"] == 130.0


def test_a_stored_transaction_id_with_invisible_characters_around_it_is_the_same_id(store, write_file):
    load_extract(store, write_file("a.csv", WITH_IDS + "P1,2025-07-01,100,T1,C1,SMB,Gold\n"))
    again = WITH_IDS + "P1\u00a0,2025-07-01,100,\u200bT1\ufeff,C1,SMB,Gold\nP1,2025-07-02,30,T2\x00,C1,SMB,Gold\n"
    result = load_extract(store, write_file("b.csv", again))
    assert (result.rows_added, result.rows_skipped) == (1, 1)
    lines = store.query_df("SELECT partner_id, transaction_id FROM order_lines ORDER BY transaction_id")
    assert lines.values.tolist() == [["P1", "T1"], ["P1", "T2"]]
    assert channel_summary(store)["partners"] == 1


def test_quarter_without_transaction_ids_is_refused_by_default(store, write_file):
    load_extract(store, write_file("a.csv", WITHOUT_IDS + "P1,2025-07-01,100,C1,Gold\n"))
    before = snapshot(store)
    with pytest.raises(LoadRefused, match=r"2025Q3 holds 1 rows from load #1 \(a.csv\).*replace.*append") as refused:
        load_extract(store, write_file("b.csv", WITHOUT_IDS + "P1,2025-07-05,40,C1,Gold\nP2,2025-10-01,1,C2,Gold\n"))
    assert refused.value.quarters == ["2025Q3"]
    assert_same(before, snapshot(store))


def test_append_adds_and_replace_swaps_the_quarter(store, write_file):
    load_extract(store, write_file("a.csv", WITHOUT_IDS + "P1,2025-07-01,100,C1,Gold\nP1,2025-04-01,7,C1,Gold\n"))
    appended = load_extract(store, write_file("b.csv", WITHOUT_IDS + "P1,2025-07-05,40,C1,Gold\n"), mode="append")
    assert appended.rows_added == 1
    assert channel_summary(store)["revenue"] == 147.0
    replaced = load_extract(store, write_file("c.csv", WITHOUT_IDS + "P1,2025-07-09,60,C1,Gold\n"),
                 mode="replace", force=True)
    assert replaced.rows_replaced == 2 and replaced.rows_added == 1
    quarters = {q["quarter"]: q["revenue"] for q in channel_summary(store)["quarters"]}
    assert quarters == {"2025Q2": 7.0, "2025Q3": 60.0}
    derived_matches_raw(store)


def test_rollback_removes_a_load_and_the_derived_table_follows(store, write_file):
    load_extract(store, write_file("a.csv", WITH_IDS + "P1,2025-07-01,100,T1,C1,SMB,Gold\n"))
    before = channel_summary(store)
    b = WITH_IDS + "P2,2025-07-01,5,T2,C1,SMB,Gold\nP1,2025-10-01,9,T3,C1,SMB,Gold\n"
    load_extract(store, write_file("b.csv", b))
    assert rollback_load(store, 2, force=True) == ["2025Q3", "2025Q4"]
    assert channel_summary(store) == {**before, "loads": 1}
    assert list_loads(store).set_index("load_id").loc[2, "status"] == "rolled_back"
    derived_matches_raw(store)
    with pytest.raises(StoreError, match="already rolled back"):
        rollback_load(store, 2, force=True)
    with pytest.raises(StoreError, match="no load #9"):
        rollback_load(store, 9, force=True)


def test_rolling_back_a_replace_brings_the_replaced_rows_back(store, write_file):
    load_extract(store, write_file("a.csv", WITHOUT_IDS + "P1,2025-07-01,100,C1,Gold\n"))
    before = channel_summary(store)
    load_extract(store, write_file("c.csv", WITHOUT_IDS + "P1,2025-07-09,60,C1,Gold\n"),
                 mode="replace", force=True)
    rollback_load(store, 2, force=True)
    assert channel_summary(store) == before
    derived_matches_raw(store)


def test_a_rolled_back_file_can_be_loaded_again(store, write_file):
    path = write_file("a.csv", WITHOUT_IDS + "P1,2025-07-01,100,C1,Gold\n")
    load_extract(store, path)
    rollback_load(store, 1, force=True)
    assert load_extract(store, path).status == "loaded"


def test_invalid_file_writes_nothing(store, write_file):
    load_extract(store, write_file("a.csv", WITHOUT_IDS + "P1,2025-07-01,100,C1,Gold\n"))
    before = snapshot(store)
    with pytest.raises(ExtractInvalid) as invalid:
        load_extract(store, write_file("bad.csv", WITHOUT_IDS + "P1,2025-10-01,100,C1,Gold\nP2,2025-10-01,x,C1,Gold\n"))
    assert invalid.value.report.problems[0].row == 3
    assert_same(before, snapshot(store))


def test_failure_half_way_leaves_the_database_unchanged(store, write_file, monkeypatch):
    load_extract(store, write_file("a.csv", WITH_IDS + "P1,2025-07-01,100,T1,C1,SMB,Gold\n"))
    before = snapshot(store)

    def explode(cur, quarters):
        raise RuntimeError("disk full")

    # The lines are inserted and the load recorded by the time the derived table is refreshed.
    monkeypatch.setattr(ingest, "refresh_derived", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        load_extract(store, write_file("b.csv", WITH_IDS + "P2,2025-07-01,5,T2,C1,SMB,Gold\n"),
                     mode="replace", force=True)
    assert_same(before, snapshot(store))


@pytest.mark.parametrize("stage", ["after_insert", "after_refresh"])
def test_killed_process_leaves_the_database_as_before(tmp_path, write_file, stage):
    db = tmp_path / "channel.duckdb"
    first = write_file("a.csv", WITH_IDS + "P1,2025-07-01,100,T1,C1,SMB,Gold\n")
    second = write_file("b.csv", WITH_IDS + "P2,2025-07-01,5,T2,C1,SMB,Gold\nP3,2025-10-01,5,T3,C1,SMB,Gold\n")
    with Store(db) as store:
        load_extract(store, first)
        before = snapshot(store)
    # The child process stops dead (os._exit: no cleanup, no rollback) inside the load's transaction.
    script = textwrap.dedent(
        f"""
        import os
        from analytics.ingest import load as ingest
        from analytics.store.store import Store
        real_refresh = ingest.refresh_derived
        def die(cur, quarters):
            if {stage!r} == "after_refresh":
                real_refresh(cur, quarters)
            os._exit(9)
        ingest.refresh_derived = die
        ingest.load_extract(Store({str(db)!r}), {str(second)!r})
        """
    )
    child = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == 9, child.stderr
    with Store(db) as reopened:
        assert_same(before, snapshot(reopened))
        assert load_extract(reopened, second).rows_added == 2


def test_unknown_mode_is_refused(store, write_file):
    with pytest.raises(ValueError, match="Unknown load mode"):
        load_extract(store, write_file("a.csv", WITHOUT_IDS + "P1,2025-07-01,1,C1,Gold\n"), mode="merge")


def test_quarter_only_extract_loads(store, write_file):
    load_extract(store, write_file("coarse.csv", "Reseller;Quarter;Amount (USD)\nP1;Q3 2025;1.234,50\nP1;Q4 2025;10\n"))
    quarters = {q["quarter"]: q["revenue"] for q in channel_summary(store)["quarters"]}
    assert quarters == {"2025Q3": 1234.5, "2025Q4": 10.0}
    assert store.query_df("SELECT sum(deals) AS d FROM partner_quarter").iloc[0]["d"] == 2
