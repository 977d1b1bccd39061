"""The annual review: rules on hand-made partners, decisions in the database, what-if, export, the page."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import streamlit as st

from analytics.export import to_safe_csv, to_safe_excel
from analytics.ingest import load_extract
from analytics.program import ProgramRules, TierRule, load_program
from analytics.review import (
    ACTIONS,
    action_counts,
    list_reviews,
    load_review,
    provisional_follow_up,
    recommend,
    review_inputs,
    save_review,
)
from analytics.store import Store
from tests.apptest_helpers import metric, open_page
from tests.test_export import assert_csv_is_safe, assert_excel_is_safe

RULES = ProgramRules(
    tiers=(TierRule("Gold", 1000, 4, 2), TierRule("Silver", 500, 2, 1), TierRule("Authorized", 100, 1, 1)),
    nursery_quarters=4, review_out_share=0.1, provisional_threshold=0.4,
)


def partner(pid, tier, revenue, deals=4, customers=2, tenure=8, turnaround=np.nan, churn=0.1):
    return {"partner_id": pid, "partner_name": pid.title(), "tier": tier, "region": "EMEA",
            "revenue_trailing": revenue, "deals_trailing": deals, "customers_trailing": customers,
            "tenure_full": tenure, "yoy_change": np.nan, "churn_probability": churn,
            "turnaround_probability": turnaround, "churn_reasons": ""}


HAND_MADE = pd.DataFrame([
    partner("up", "Silver", 1000),                       # meets Gold exactly
    partner("just_short", "Silver", 999.99),             # a cent short of Gold
    partner("keep", "Gold", 1000),
    partner("down", "Gold", 600, deals=3, turnaround=0.2),
    partner("prov_down", "Gold", 600, deals=3, turnaround=0.4),  # exactly at the threshold
    partner("out", "Authorized", 50, turnaround=0.39),
    partner("prov_out", "Authorized", 50, turnaround=0.9),
    partner("nursery", "Authorized", 50, tenure=3, turnaround=0.1),
    partner("nursery_done", "Authorized", 50, tenure=4, turnaround=0.1),
    partner("deals_only", "Gold", 2000, deals=1, customers=5),  # no turnaround probability: revenue not fallen
    partner("no_tier", None, 600, deals=2, customers=1),
])


def test_every_action_is_reached_with_exact_boundaries_and_grace():
    recs = recommend(HAND_MADE, RULES).set_index("partner_id")
    assert recs["recommendation"].to_dict() == {
        "up": "promote", "just_short": "retain", "keep": "retain", "down": "demote",
        "prov_down": "provisional continuation", "out": "terminate", "prov_out": "provisional continuation",
        "nursery": "retain", "nursery_done": "terminate", "deals_only": "demote", "no_tier": "retain",
    }
    assert recs.loc["prov_down", "otherwise"] == "demote" and recs.loc["prov_out", "otherwise"] == "terminate"
    # Revised goals: half of the kept tier's yearly minimums, for the next two quarters.
    assert recs.loc["prov_down", ["revenue_goal", "deals_goal"]].tolist() == [500.0, 2]
    assert recs.loc["prov_out", ["revenue_goal", "deals_goal"]].tolist() == [50.0, 1]
    assert pd.isna(recs.loc["down", "revenue_goal"])
    assert recs.loc["just_short", "qualifies_for"] == "Silver"
    assert "short of Gold: revenue $600 < $1.00k, 3 deals < 4" in recs.loc["down", "reasons"]
    assert "nursery" in recs.loc["nursery", "reasons"]
    assert "revenue has not fallen" in recs.loc["deals_only", "reasons"]


def test_threshold_moves_partners_between_provisional_and_the_rules():
    lower = recommend(HAND_MADE, RULES, threshold=0.2).set_index("partner_id")["recommendation"]
    assert lower["down"] == "provisional continuation" and lower["nursery_done"] == "terminate"


def test_customer_minimums_are_ignored_when_the_data_have_no_customers():
    frame = HAND_MADE.assign(customers_trailing=0)
    recs = recommend(frame, RULES).set_index("partner_id")
    assert recs.loc["keep", "recommendation"] == "retain"  # would fail Gold's 2 customers otherwise


def test_what_if_counts_equal_a_direct_recount():
    stricter = RULES.with_minimums({"Gold": 1500, "Authorized": 60})
    recs = recommend(HAND_MADE, stricter, threshold=0.5)
    counts = action_counts(recs).set_index("action")
    direct = recs.groupby("recommendation")["revenue_trailing"].agg(["size", "sum"])
    for action in ACTIONS:
        expected = direct.loc[action] if action in direct.index else pd.Series({"size": 0, "sum": 0.0})
        assert counts.loc[action, "partners"] == expected["size"]
        assert counts.loc[action, "revenue_trailing"] == pytest.approx(expected["sum"])
    assert counts["partners"].sum() == len(HAND_MADE)
    assert counts.loc["promote", "partners"] == 0  # nobody reaches 1,500


def decisions_of(recs: pd.DataFrame) -> pd.DataFrame:
    return recs.assign(decision=recs["recommendation"], note="")


def test_decisions_round_trip_and_saving_again_changes_nothing(store):
    recs = recommend(HAND_MADE, RULES)
    decisions = decisions_of(recs)
    first = save_review(store, "FY2025", "2025Q4", RULES, decisions, user="chief@example.com")
    assert first == {"review": "FY2025", "added": 11, "changed": 0, "unchanged": 0}
    again = save_review(store, "FY2025", "2025Q4", RULES, decisions, user="someone@example.com")
    assert again == {"review": "FY2025", "added": 0, "changed": 0, "unchanged": 11}
    saved = load_review(store, "FY2025").set_index("partner_id")
    assert len(saved) == 11 and (saved["decided_by"] == "chief@example.com").all()
    assert saved.loc["prov_out", "revenue_goal"] == 50.0 and saved.loc["prov_out", "goal_quarters"] == "2026Q1–2026Q2"

    decisions.loc[decisions["partner_id"] == "out", ["decision", "note"]] = ["retain", "strategic account"]
    changed = save_review(store, "FY2025", "2025Q4", RULES, decisions, user="ceo@example.com")
    assert changed["changed"] == 1
    saved = load_review(store, "FY2025").set_index("partner_id")
    assert saved.loc["out", ["recommendation", "decision", "note", "decided_by"]].tolist() == [
        "terminate", "retain", "strategic account", "ceo@example.com"]
    assert saved.loc["keep", "decided_by"] == "chief@example.com"

    save_review(store, "FY2026", "2026Q4", RULES, decisions_of(recs).head(3), user="chief@example.com")
    reviews = list_reviews(store).set_index("name")
    assert reviews.loc["FY2025", "partners"] == 11 and reviews.loc["FY2025", "overridden"] == 1
    assert reviews.loc["FY2026", "partners"] == 3
    assert len(load_review(store, "FY2025")) == 11  # the earlier review stays readable


def test_bad_decisions_are_refused_and_nothing_is_written(store):
    decisions = decisions_of(recommend(HAND_MADE, RULES))
    decisions.loc[0, "decision"] = "fire them"
    with pytest.raises(ValueError, match="'fire them' for partner up is not one of"):
        save_review(store, "FY2025", "2025Q4", RULES, decisions)
    assert list_reviews(store).empty
    save_review(store, "FY2025", "2025Q4", RULES, decisions_of(recommend(HAND_MADE, RULES)))
    with pytest.raises(ValueError, match="is as of 2025Q4, not 2026Q4"):
        save_review(store, "FY2025", "2026Q4", RULES, decisions_of(recommend(HAND_MADE, RULES)))
    with pytest.raises(ValueError, match="needs a name"):
        save_review(store, "  ", "2025Q4", RULES, decisions_of(recommend(HAND_MADE, RULES)))


def test_follow_up_of_provisional_partners_against_their_goals(store, write_file):
    recs = recommend(HAND_MADE, RULES)
    save_review(store, "FY2025", "2025Q4", RULES, decisions_of(recs))
    # prov_down's goal is 500 and 2 deals in 2026Q1-Q2; prov_out's is 50 and 1 deal.
    load_extract(store, write_file("q1.csv", "partner_id,order_date,revenue\nprov_down,2026-02-01,300\n"
                                            "prov_down,2026-02-03,250\nprov_out,2026-01-10,20\n"))
    follow = provisional_follow_up(store, "FY2025").set_index("partner_id")
    assert follow["status"].to_dict() == {"prov_down": "met", "prov_out": "in progress"}
    load_extract(store, write_file("q2.csv", "partner_id,order_date,revenue\nother,2026-05-01,10\n"))
    follow = provisional_follow_up(store, "FY2025").set_index("partner_id")
    assert follow["status"].to_dict() == {"prov_down": "met", "prov_out": "missed"}
    assert follow.loc["prov_down", "revenue"] == 550 and follow.loc["prov_down", "deals"] == 2


def test_export_of_decisions_neutralises_formulas():
    decisions = decisions_of(recommend(HAND_MADE, RULES))
    decisions.loc[0, "note"] = '=HYPERLINK("http://evil.example","click")'
    decisions.loc[1, "partner_name"] = "+1-555"
    decisions.loc[2, "note"] = "@SUM(A1)"
    decisions.loc[3, "note"] = "-2+3"
    csv = pd.read_csv(io.BytesIO(to_safe_csv(decisions)), encoding="utf-8-sig")
    assert csv.loc[0, "note"].startswith("'=") and csv.loc[1, "partner_name"].startswith("'+")
    assert csv.loc[2, "note"].startswith("'@") and csv.loc[3, "note"].startswith("'-")
    excel = pd.read_excel(io.BytesIO(to_safe_excel(decisions, "decisions")))
    assert excel.loc[0, "note"].startswith("'=")


def test_saved_review_exports_split_no_cell_into_a_formula(store):
    # Names and notes with line breaks or separators before a formula, saved and read back as the page exports them.
    decisions = decisions_of(recommend(HAND_MADE, RULES))
    decisions.loc[0, "partner_name"] = "\r=1+1"
    decisions.loc[1, "note"] = 'call back\n=HYPERLINK("http://evil.example","click")'
    decisions.loc[2, "note"] = "line one\r\n@SUM(A1); -2+3"
    save_review(store, "FY2025", "2025Q4", RULES, decisions, user="chief@example.com")
    record = load_review(store, "FY2025")
    for frame in (decisions, record):
        rows = assert_csv_is_safe(to_safe_csv(frame), frame)
        book = assert_excel_is_safe(to_safe_excel(frame, "decisions"), frame)
        notes = {row[rows[0].index("note")] for row in rows[1:]}
        assert 'call back =HYPERLINK("http://evil.example","click")' in notes  # one cell, words kept
        assert "line one @SUM(A1);' -2+3" in notes
        assert len(book) == len(rows)


def test_demo_review_proposes_an_action_for_every_active_partner(demo_db):
    with Store(demo_db) as store:
        inputs = review_inputs(store, "2026Q3")
        active = store.query_df("SELECT count(DISTINCT partner_id) AS n FROM partner_quarter WHERE quarter BETWEEN "
                                "'2025Q4' AND '2026Q3'")["n"].iloc[0]
    recs = recommend(inputs, load_program())
    assert len(recs) == active and recs["recommendation"].isin(ACTIONS).all()
    shares = action_counts(recs).set_index("action")["share_of_partners"]
    # The program's intent: cut about a tenth, keep the ones likely to turn around, retain most.
    assert 0.05 <= shares["terminate"] <= 0.15
    assert shares["provisional continuation"] > 0.01
    assert shares["retain"] > 0.5


def test_review_page_records_an_override_and_reads_it_back(demo_copy):
    at = open_page(demo_copy, "views/review.py")
    assert metric(at, "Decisions that differ").value == "0"
    partner_id = at.selectbox(key="review_override_partner").value  # the first partner of the list
    assert partner_id
    at.selectbox(key="review_override_decision").set_value("terminate")
    at.text_input(key="review_override_note").set_value("=not a formula")
    at.button(key="review_override_apply").click().run()
    assert not at.exception
    at.button(key="save_review").click().run()
    assert not at.exception
    assert "Saved review FY2026" in at.success[0].value
    st.cache_resource.clear()  # let this test open the file
    with Store(demo_copy) as store:
        saved = load_review(store, "FY2026").set_index("partner_id")
    assert saved.loc[partner_id, ["decision", "note"]].tolist() == ["terminate", "=not a formula"]
    assert saved.loc[partner_id, "decided_by"].startswith("local user")
    changed = saved[saved["decision"] != saved["recommendation"]]
    assert list(changed.index) == ([partner_id] if saved.loc[partner_id, "recommendation"] != "terminate" else [])


def test_review_page_what_if_follows_the_minimums(demo_db):
    at = open_page(demo_db, "views/review.py")
    at.number_input(key="whatif_min_Gold").set_value(1_500_000.0).run()
    assert not at.exception
    compare = next(d.value for d in at.dataframe if "partners_what_if" in d.value.columns).set_index("action")
    assert compare.loc["promote", "partners_what_if"] < compare.loc["promote", "partners"]
    assert compare["partners_what_if"].sum() == compare["partners"].sum()
    # Minimums that do not fall from tier to tier are refused with a message, not a trace.
    at.number_input(key="whatif_min_Gold").set_value(5_000_000.0).run()
    assert not at.exception
    assert "must fall from the highest tier" in at.error[0].value
