"""What changed with the last load: hand-computed rows on a small store loaded twice, replace and rollback, the page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics.analyses.changes import CHANGE_ROW_COLUMNS, KINDS, load_changes
from analytics.formatting import markdown_literal
from analytics.ingest.load import load_extract
from analytics.ingest.rollback import rollback_load
from analytics.program.rules import ProgramRules, TierRule
from analytics.store.store import Store
from tests.apptest_helpers import open_page

RULES = ProgramRules(tiers=(TierRule("Gold", 1000, 1, 1), TierRule("Silver", 500, 1, 1),
                            TierRule("Authorized", 100, 1, 1)))
HEADER = "transaction_id,partner_id,partner_name,order_date,revenue,customer_id\n"
# Load A, to 2025Q3. P1 Silver (600); P2 Gold (1,200 in 2024Q4 + 100); P4 Authorized (200);
# P5 ordered in 2025Q2 only (already gone before B: no row for it).
LOAD_A = HEADER + """\
A1,P1,Climber Ltd,2025-08-01,600,C1
A2,P2,Faller GmbH,2024-11-01,1200,C2
A3,P2,Faller GmbH,2025-07-01,100,C2
A4,P4,Steady SA,2025-08-15,200,C4
A5,P5,Quiet BV,2025-05-01,100,C5
"""
# Load B, 2025Q4. P1 reaches Gold (1,100); P2's 2024Q4 leaves its trailing year (100: Authorized), it
# ordered in 2025Q3 and not in 2025Q4 (gone) and its trailing year fell 92 % (a new drop-off); P3 is a
# recruit; P4 stays Authorized (250).
LOAD_B = HEADER + """\
B1,P1,Climber Ltd,2025-11-01,500,C1
B2,P3,Newcomer Inc,2025-12-01,150,C3
B3,P4,Steady SA,2025-10-15,50,C4
"""


def _two_loads(db: Path, folder: Path) -> None:
    (folder / "a.csv").write_text(LOAD_A)
    (folder / "b.csv").write_text(LOAD_B)
    with Store(db) as store:
        load_extract(store, folder / "a.csv")
        load_extract(store, folder / "b.csv")


@pytest.fixture
def two_loads(databases, tmp_path: Path) -> Path:
    return databases.copy("changes_two_loads", _two_loads, tmp_path / "changes.duckdb")


def expected(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=CHANGE_ROW_COLUMNS).astype(
        {c: "float64" for c in CHANGE_ROW_COLUMNS if c.startswith(("revenue", "churn"))})


def test_a_second_load_gives_the_hand_computed_rows(two_loads):
    with Store(two_loads) as store:
        changes = load_changes(store, RULES)
    assert (changes.load_id, changes.file_name, changes.before_quarter, changes.after_quarter) == (
        2, "b.csv", "2025Q3", "2025Q4")
    nan = float("nan")
    pd.testing.assert_frame_equal(changes.rows, expected([
        ("P1", "Climber Ltd", "qualifies higher", "now meets the Gold minimums (met Silver before)", 600, 1100, 500,
         nan, nan),
        ("P2", "Faller GmbH", "qualifies lower", "fell below the Gold minimums; now meets Authorized", 1300, 100, 0,
         nan, nan),
        ("P2", "Faller GmbH", "drop-off", "trailing-year revenue down 92% ($1.20k to $100): $1.10k lost", 1300, 100,
         0, nan, nan),
        ("P3", "Newcomer Inc", "new", "new partner: first order ever in 2025Q4", 0, 150, 150, nan, nan),
        ("P2", "Faller GmbH", "gone", "ordered in 2025Q3, no order in 2025Q4", 1300, 100, 0, nan, nan),
    ]))
    # Nobody lapsed: P2 and P5 ordered within the four quarters to 2025Q4 (P2 in 2025Q3 is gone, not lapsed).
    assert changes.counts == {"qualifies higher": 1, "qualifies lower": 1, "risk rose": 0, "behind goals": 0,
                              "drop-off": 1, "new": 1, "lapsed": 0, "gone": 1}
    assert len(changes.notes) == 1 and "needs the stored scores as of both 2025Q3 and 2025Q4" in changes.notes[0]


def test_risk_rows_compare_the_stored_runs_of_the_two_quarters(two_loads):
    with Store(two_loads) as store:
        cur = store.cursor()
        for run_id, as_of in ((1, "2025Q3"), (2, "2025Q4")):
            cur.execute("INSERT INTO model_runs VALUES (?, ?, 4, 1, '1', 'k', 'scored', NULL, NULL, now(), 1, 2)",
                        [run_id, as_of])
        # P1 crosses 50 % (0.2 -> 0.7); P4 was already above (0.6 -> 0.9); P2 stays below.
        for run_id, pid, p in ((1, "P1", 0.2), (2, "P1", 0.7), (1, "P4", 0.6), (2, "P4", 0.9), (1, "P2", 0.1),
                               (2, "P2", 0.3)):
            cur.execute("INSERT INTO model_scores (run_id, partner_id, revenue_at_stake, churn_probability) "
                        "VALUES (?, ?, 1100, ?)", [run_id, pid, p])
        changes = load_changes(store, RULES)
    risk = changes.rows[changes.rows["change"] == "risk rose"]
    assert risk[["partner_id", "churn_probability_before", "churn_probability_after"]].values.tolist() == [
        ["P1", 0.2, 0.7]]
    assert risk["what_changed"].iloc[0] == "churn probability rose from 20% (2025Q3) to 70% (2025Q4); $1.10k of " \
                                           "revenue at stake"
    assert changes.notes == ()


def test_a_replace_compares_with_the_lines_it_set_aside(two_loads, write_file):
    with Store(two_loads) as store:
        load_extract(store, write_file("b2.csv", HEADER + "C1,P1,Climber Ltd,2025-11-01,100,C1\n"),
                     mode="replace", force=True)
        changes = load_changes(store, RULES)
    assert (changes.before_quarter, changes.after_quarter) == ("2025Q4", "2025Q4")
    by_kind = {k: changes.rows.loc[changes.rows["change"] == k, "partner_id"].tolist() for k in KINDS}
    # Before the replace P1 met Gold (1,100), now 700; P3's and P4's 2025Q4 lines went with the replace, so
    # P3 meets no tier now and P4, which ordered in 2025Q3, is gone.
    assert by_kind["qualifies lower"] == ["P1", "P3"]
    p1 = changes.rows[(changes.rows["partner_id"] == "P1") & (changes.rows["change"] == "qualifies lower")].iloc[0]
    assert (p1["revenue_trailing_before"], p1["revenue_trailing_after"]) == (1100, 700)
    assert by_kind["new"] == [] and by_kind["lapsed"] == [] and by_kind["gone"] == ["P4"]


def test_after_a_rollback_the_load_before_is_the_latest_and_the_first_has_nothing_to_compare(two_loads):
    with Store(two_loads) as store:
        rollback_load(store, 2, force=True)
        changes = load_changes(store, RULES)
    assert changes.load_id == 1 and changes.before_quarter is None and changes.rows.empty
    assert changes.notes == ("Nothing was stored before this load, so there is nothing to compare it with.",)


def test_an_empty_store_has_no_changes(store):
    assert load_changes(store, RULES) is None


def test_overview_shows_the_section_with_links_and_the_csv(two_loads):
    with Store(two_loads) as store:
        engine = load_changes(store)  # the program's own rules, as the page uses
    at = open_page(two_loads, "views/pages/overview.py")
    assert "What changed with the last load" in [s.value for s in at.subheader]
    frames = [df.value for df in at.dataframe if "what_changed" in df.value.columns]
    assert frames and frames[0]["partner"].tolist() == engine.rows["partner_id"].tolist()  # a click opens each
    assert frames[0]["what_changed"].tolist() == engine.rows["what_changed"].tolist()
    labels = [b.label for b in at.get("download_button")]
    assert f"Download changes with load 2 (CSV, {len(engine.rows)} rows)" in labels, labels
    assert any("needs the stored scores" in i.value for i in at.info)


def test_overview_says_what_an_unchanged_load_means(tmp_path, write_file):
    path = tmp_path / "one.duckdb"
    with Store(path) as store:
        load_extract(store, write_file("a.csv", LOAD_A))
    at = open_page(path, "views/pages/overview.py")
    note = "Nothing was stored before this load, so there is nothing to compare it with."
    assert markdown_literal(note) in [i.value for i in at.info]
