"""The Partners at risk and Model pages, the Partner page's risk and review, under AppTest on real databases."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal, probability_text
from analytics.model.fit import MODEL
from analytics.model.scoring import refresh_scores, stored_scores
from analytics.program.rules import load_program
from analytics.review.decisions import recommendations, review_decisions
from analytics.review.saved_reviews import save_review
from analytics.store.store import Store
from tests.apptest_helpers import metric, open_page
from tests.builders import minimal_extract
from views.widgets import ROWS_SHOWN


@pytest.fixture(scope="module")
def demo_scores(demo_db: Path):
    with Store(demo_db) as store:
        return stored_scores(store, "2026Q3", 4)


def test_risk_page_counts_match_the_scores(demo_db, demo_scores):
    at = open_page(demo_db, "views/pages/risk.py")
    likely = int((demo_scores["churn_probability"] >= 0.5).sum())
    assert metric(at, "Likely to churn").value == f"{likely:,} of {len(demo_scores):,}"
    table = at.dataframe[0].value
    assert len(table) == min(likely, ROWS_SHOWN)  # the first rows on screen, all of them in the download
    assert table["churn_probability"].is_monotonic_decreasing
    # Shown in words with a rank to sort by (1 = the riskiest).
    assert table["risk_rank"].tolist() == list(range(1, len(table) + 1))
    assert table["churn_chance"].tolist() == [probability_text(p) for p in table["churn_probability"]]
    assert (table["churn_reasons"] != "").all()
    assert len(at.get("plotly_chart")) == 1

    at.slider(key="risk_threshold").set_value(80).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == min(int((demo_scores["churn_probability"] >= 0.8).sum()), ROWS_SHOWN)


def test_risk_page_follows_the_sidebar_filters(demo_db, demo_scores):
    at = open_page(demo_db, "views/pages/risk.py", tier=["Gold"], region=["EMEA"])
    table = at.dataframe[1].value  # every scored partner in the selection
    assert len(table) > 0 and set(table["tier"]) == {"Gold"} and set(table["region"]) == {"EMEA"}
    expected = demo_scores[(demo_scores["tier"] == "Gold") & (demo_scores["region"] == "EMEA")]
    assert metric(at, "Likely to churn").value.endswith(f" of {len(expected):,}")


def test_risk_page_with_another_horizon(demo_db):
    at = open_page(demo_db, "views/pages/risk.py")
    at.segmented_control(key="risk_horizon").set_value(2).run()
    assert not at.exception
    assert metric(at, "Revenue at stake").label == "Revenue at stake, 2026Q2–2026Q3, all " + \
        metric(at, "Likely to churn").value.split(" of ")[1] + " partners"
    assert metric(at, "Likely to churn").label.startswith("Likely to churn in 2026Q4–2027Q1")
    assert metric(at, "Expected revenue lost").label == "Expected revenue lost, next 2 quarters 2026Q4–2027Q1"


_ZERO_OR_HUNDRED = re.compile(r"(?<![\d.])(0|100) ?%")


def test_risk_page_shows_no_probability_of_0_or_100_percent(demo_db, demo_scores):
    # Whatever the scores, a probability is never written 0 % or 100 % (formatting.probability_text's bands).
    assert demo_scores["churn_probability"].between(0, 1).all()
    at = open_page(demo_db, "views/pages/risk.py")
    said = [e.value for kind in ("markdown", "caption", "subheader", "title", "info") for e in at.get(kind)]
    said += [m.label for m in at.metric] + [m.value for m in at.metric]
    for frame in at.dataframe:
        shown = json.loads(frame.proto.columns)  # the column_config: a hidden column is configured hidden
        hidden = {name for name, config in shown.items() if config.get("hidden")}
        assert {"churn_probability", "turnaround_probability"} <= hidden
        for name in frame.value.columns.difference(hidden):
            if frame.value[name].dtype == object:
                said += [str(v) for v in frame.value[name].dropna()]
    found = [text for text in said if _ZERO_OR_HUNDRED.search(text)]
    assert not found, found[:5]


def test_model_page_shows_backtests_and_drivers(demo_db):
    at = open_page(demo_db, "views/pages/model.py")
    tables = [d.value for d in at.dataframe]
    assert len(tables) == 2  # churn and turnaround backtests
    for table in tables:
        assert set(table["candidate"]) >= {MODEL}
        # Every candidate scored, none a constant 0.500: "0.840, 0.82–0.86".
        auc = table["ROC AUC (95 % interval)"].str.extract(r"^(0\.\d{3}), 0\.\d{2}–[01]\.\d{2}$")[0].astype(float)
        assert auc.notna().all() and (auc > 0.55).all() and (auc < 1).all(), table
        assert (table["note"] == "served").sum() == 1
    assert len(at.info) >= 2 and all("backtest's noise" in i.value for i in at.info[-2:])  # why it is served
    assert len(at.get("plotly_chart")) == 3  # two reliability curves, the drivers
    text = " ".join(m.value for m in at.markdown)
    assert "2026Q3" in text and "cutoffs 2024Q3, 2024Q4, 2025Q1, 2025Q2, 2025Q3" in text


def test_partner_page_shows_risk_and_reasons(demo_db, demo_scores):
    riskiest = demo_scores.iloc[0]
    at = open_page(demo_db, "views/pages/partner.py", partner_id=riskiest["partner_id"])
    assert metric(at, "Churn probability").value == probability_text(riskiest["churn_probability"])
    assert metric(at, "Churn probability").label == "Churn probability, 2026Q4–2027Q3"
    assert metric(at, "Revenue at stake").label == "Revenue at stake, 2025Q4–2026Q3"
    assert any("What raises the risk" in m.value for m in at.markdown)


def test_a_short_history_is_scored_by_the_calibrated_bgnbd_model_and_the_model_page_says_so(tmp_path, write_file):
    db = tmp_path / "short.duckdb"
    with Store(db) as store:
        from analytics.ingest.load import load_extract

        load_extract(store, write_file("short.csv", minimal_extract("2025Q1", 6)))
        refresh_scores(store)
        scores = stored_scores(store, "2026Q2", 4)
    at = open_page(db, "views/pages/model.py")
    notes = " ".join(w.value for w in at.warning)
    # Too short to test at a 4-quarter horizon, long enough to calibrate the BG/NBD model on its second quarter.
    assert "Churn not backtested" in notes and markdown_literal("(10 quarters of data; there are 6)") in notes
    at = open_page(db, "views/pages/risk.py")
    likely = int((scores["churn_probability"] >= 0.5).sum())
    assert len(scores) > 300 and metric(at, "Likely to churn").value == f"{likely:,} of {len(scores):,}"
    at = open_page(db, "views/pages/partner.py", partner_id="R0001")
    assert metric(at, "Churn probability").value.endswith("%")


def test_model_page_says_what_the_reliability_curve_is(demo_db):
    at = open_page(demo_db, "views/pages/model.py")
    captions = " ".join(c.value for c in at.caption)
    assert captions.count("Calibration (reliability curve)") == 2  # under each target's curve
    assert "observed by the test cutoff" in captions


def test_partner_page_says_what_holds_a_turnaround_back(demo_db, demo_scores):
    held_back = demo_scores[demo_scores["turnaround_reasons_against"] != ""].iloc[0]
    at = open_page(demo_db, "views/pages/partner.py", partner_id=held_back["partner_id"])
    shown = [m.value for m in at.markdown if m.value.startswith("**What holds a turnaround back:**")]
    assert len(shown) == 1 and markdown_literal(held_back["turnaround_reasons_against"]) in shown[0]


def test_partner_page_shows_its_recommendation_and_saved_decision(demo_copy):
    with Store(demo_copy) as store:
        recs = recommendations(store, "2026Q3", load_program())
        kept = recs[recs["at_risk"] & (recs["recommendation"] == "retain")].iloc[0]
        decisions = review_decisions(recs, ChannelFilter(), {kept["partner_id"]: {"decision": "demote",
                                                                                  "note": "**talk** to them"}})
        save_review(store, "FY2026", "2026Q3", load_program(), decisions, user="chief@example.com")
    at = open_page(demo_copy, "views/pages/partner.py", partner_id=kept["partner_id"])
    text = [m.value for m in at.markdown]
    assert "**Recommendation:** retain · **at risk**" in " ".join(text)
    why = next(t for t in text if t.startswith("**Why:**"))
    assert "at risk" in why and "churn probability" in why and "\\$" in why  # amounts shown literally
    saved = next(d.value for d in at.dataframe if "review" in d.value.columns)
    assert saved[["review", "decision", "recommendation", "decided_by", "note"]].values.tolist() == [
        ["FY2026", "demote", "retain", "chief@example.com", "**talk** to them"]]
    assert saved["decided_at"].notna().all()
