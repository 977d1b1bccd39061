"""The review covers every partner of the program, marks what a chief would question, and is a table to work in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st

from analytics.filters import ChannelFilter
from analytics.ingest.load import load_extract
from analytics.program.rules import ProgramRules, TierRule
from analytics.review.decisions import decision_counts, recommend, recommendations, review_decisions, review_out
from analytics.review.inputs import review_inputs
from analytics.review.worklist import flag_words, narrow_decisions, order_decisions
from analytics.store.store import Store
from tests.apptest_helpers import first_option_id, metric, open_page
from tests.builders import REVIEW_RULES as RULES
from tests.builders import partner

QUARTER_STARTS = ["2024-01-15", "2024-04-15", "2024-07-15", "2024-10-15", "2025-01-15", "2025-04-15", "2025-07-15",
                  "2025-10-15"]


def _channel_csv() -> str:
    """Give 8 quarters (2024Q1–2025Q4) of a hand-made channel: who orders when is the point of each partner."""
    lines = ["partner_id,partner_name,order_date,revenue,tier,region,customer_id"]
    for q, day in enumerate(QUARTER_STARTS):
        lines.append(f"STEADY,Steady Ltd,{day},2000,Gold,EMEA,C{q % 3}")        # orders every quarter
        if q < 4:  # a Gold partner at $400k a quarter through 2024, then nothing in the review year 2025
            lines.append(f"GONE,Gone GmbH,{day},400000,Gold,EMEA,C1")
        if 2 <= q < 4:  # ordered in the year before, twice; nothing since 2024Q4's start
            lines.append(f"LATE,\"Late, Inc.\",{day},100,Silver,NA,C2")
    lines.append("OLD,Old SA,2023-07-01,5000,Gold,EMEA,C3")  # older than the review's 8 quarters: not in it
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("worklist")
    (folder / "channel.csv").write_text(_channel_csv())
    with Store(folder / "channel.duckdb") as store:
        load_extract(store, folder / "channel.csv")
    return folder / "channel.duckdb"


def test_partners_without_orders_in_the_review_year_are_reviewed_with_what_they_sold(hand_made):
    with Store(hand_made) as store:
        inputs = review_inputs(store, "2025Q4", lookback=8).set_index("partner_id")
        year_only = review_inputs(store, "2025Q4", lookback=4)
    assert sorted(inputs.index) == ["GONE", "LATE", "STEADY"]  # OLD ordered before the 8 quarters
    assert year_only["partner_id"].tolist() == ["STEADY"]
    gone = inputs.loc["GONE"]
    assert bool(gone["dormant"]) and not bool(inputs.loc["STEADY", "dormant"])
    assert gone["tier"] == "Gold" and gone["revenue_trailing"] == 0 and gone["last_order_quarter"] == "2024Q4"
    assert gone["revenue_year_before"] == 1_600_000 and gone["active_quarters_year_before"] == 4
    assert inputs.loc["LATE", "region"] == "NA"  # North America, not a missing value
    recs = recommend(inputs.reset_index(), RULES).set_index("partner_id")
    assert recs.loc["GONE", "recommendation"] == "terminate"
    assert recs.loc["GONE", "reasons"].startswith(
        "no order in the review year (last order in 2024Q4), after $1.60M in the year before, with orders in 4 of "
        "its 4 quarters; short of Gold: revenue $0 < $1.00k (meets no tier's minimum)")
    # No model score and no turnaround wording for a partner that stopped: its history is the reason.
    assert "probability" not in recs.loc["GONE", "reasons"]


def _rules(shortfall=0.10, churn=0.20) -> ProgramRules:
    return ProgramRules(tiers=(TierRule("Gold", 1000, 1, 0), TierRule("Authorized", 100, 1, 0)),
                        second_look_churn=churn, second_look_shortfall=shortfall)


@pytest.mark.parametrize(("revenue", "churn", "turnaround", "flagged", "words"), [
    (91.0, 0.5, 0.1, True, "revenue only $9 (9 %) short of Authorized's $100"),
    (90.0, 0.5, 0.1, False, ""),                # short by exactly a tenth: not a small shortfall
    (50.0, 0.19, 0.1, True, "churn probability only 19 % (under 20 %)"),
    (50.0, 0.20, 0.1, False, ""),
    (50.0, np.nan, np.nan, False, ""),          # no score: nothing to question it on
    (95.0, 0.05, np.nan, True, "the model gives no turnaround probability"),
], ids=["small-shortfall", "tenth-short", "low-churn", "churn-at-limit", "no-score", "both-no-turnaround"])
def test_terminations_worth_a_second_look_say_why_they_stay(revenue, churn, turnaround, flagged, words):
    recs = recommend(pd.DataFrame([partner("p", "Authorized", revenue, deals=3, customers=1, churn=churn,
                                           turnaround=turnaround)]), _rules(), threshold=0.3)
    assert recs.loc[0, "recommendation"] == "terminate"
    assert (recs.loc[0, "second_look"] != "") == flagged
    assert words in recs.loc[0, "second_look"]
    if flagged:
        assert "still recommended because its revenue meets no tier's minimum" in recs.loc[0, "second_look"]
        assert "worth a second look: " in recs.loc[0, "reasons"]


def test_a_partner_kept_is_never_marked_for_a_second_look():
    recs = recommend(pd.DataFrame([partner("p", "Authorized", 150, churn=0.01)]), _rules())
    assert recs.loc[0, "recommendation"] == "retain" and recs.loc[0, "second_look"] == ""


def _decisions(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["partner_id", "partner_name", "tier", "region", "recommendation", "decision",
                                       "revenue_trailing", "churn_probability", "turnaround_probability",
                                       "yoy_change", "at_risk", "dormant", "second_look"])


DECIDED = _decisions([
    ("a", "Acme", "Gold", "EMEA", "retain", "retain", 900.0, 0.1, np.nan, 0.1, True, False, ""),
    ("b", "Bolt", "Silver", "NA", "terminate", "provisional continuation", 40.0, 0.9, 0.2, -0.8, False, False, "x"),
    ("c", "Cog", "Silver", "EMEA", "terminate", "terminate", 0.0, np.nan, np.nan, np.nan, False, True, ""),
    ("d", "Dot", "Gold", "APAC", "promote", "promote", 2000.0, 0.05, np.nan, 0.5, False, False, ""),
])


def test_headline_counts_follow_the_decisions_beside_the_recommendation():
    counts = decision_counts(DECIDED).set_index("action")
    assert counts.loc["terminate", ["recommended", "decided", "decided_minus_recommended"]].tolist() == [2, 1, -1]
    assert counts.loc["provisional continuation", ["recommended", "decided"]].tolist() == [0, 1]
    assert counts.loc["demote", "decided"] == 0 and counts["decided"].sum() == 4
    assert counts.loc["provisional continuation", "revenue_trailing"] == 40.0
    out = review_out(DECIDED, RULES)
    assert (out.terminations, out.partners, out.share, out.over_target) == (1, 4, 0.25, True)
    assert out.describe() == "1 of 4 partners (25.0%) against the program's 10%"


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"actions": ["terminate"]}, ["c"]),
    ({"tiers": ["Gold"], "regions": ["EMEA"]}, ["a"]),
    ({"flags": ["at risk"]}, ["a"]),
    ({"flags": ["dormant"]}, ["c"]),
    ({"flags": ["worth a second look"]}, ["b"]),
    ({"flags": ["differs from the recommendation"]}, ["b"]),
    ({"flags": ["changed by me"], "changed": ["d"]}, ["d"]),
    ({"regions": ["NA"], "flags": ["dormant"]}, []),
], ids=["action", "tier-and-region", "at-risk", "dormant", "second-look", "differs", "changed", "none"])
def test_the_table_narrows_by_decision_tier_region_and_marks(kwargs, expected):
    assert narrow_decisions(DECIDED, **kwargs)["partner_id"].tolist() == expected


def test_an_unknown_mark_or_order_is_refused_by_name():
    with pytest.raises(ValueError, match="Unknown flag.*shiny"):
        narrow_decisions(DECIDED, flags=["shiny"])
    with pytest.raises(ValueError, match="Unknown order 'sideways'"):
        order_decisions(DECIDED, "sideways")


def test_orders_put_missing_figures_last_and_break_ties_by_partner():
    assert order_decisions(DECIDED, "Churn probability, highest first")["partner_id"].tolist() == ["b", "a", "d", "c"]
    assert order_decisions(DECIDED, "Review year revenue, largest first")["partner_id"].tolist() == ["d", "a", "b",
                                                                                                      "c"]
    assert flag_words(DECIDED).tolist() == ["at risk", "worth a second look", "dormant", ""]


# -- the page ------------------------------------------------------------------------------------
def test_the_page_counts_every_partner_and_its_headline_follows_a_decision(review_db):
    at = open_page(review_db, "views/pages/review.py")
    assert not at.exception
    st.cache_resource.clear()
    with Store(review_db) as store:
        from analytics.program.rules import load_program

        recs = recommendations(store, "2026Q3", load_program())
    dormant = int(recs["dormant"].sum())
    caption = next(c.value for c in at.caption if c.value.startswith("Review of the year"))
    assert f"all {len(recs):,} partners of the selection" in caption and f"{dormant:,} dormant" in caption
    terminate = int((recs["recommendation"] == "terminate").sum())
    assert metric(at, "Terminate").value == f"{terminate:,}"
    # Keep one recommended termination on provisional continuation: the headline follows the decision.
    picker = at.selectbox(key="review_override_partner")
    doomed = recs.loc[recs["recommendation"] == "terminate", "partner_id"].iloc[0]
    picker.set_value(doomed).run()
    at.selectbox(key="review_override_decision").set_value("provisional continuation")
    at.button(key="review_override_apply").click().run()
    assert not at.exception
    assert metric(at, "Terminate").value == f"{terminate - 1:,}"
    review_out_line = next(b.value for b in [*at.warning, *at.info] if b.value.startswith("Terminations decided"))
    assert review_out_line.startswith(f"Terminations decided: {terminate - 1:,} of {len(recs):,} partners")
    # "Changed by me" narrows the table to that partner.
    at.multiselect(key="review_f_flags").set_value(["changed by me"]).run()
    shown = next(d.value for d in at.dataframe if "partner_id" in d.value.columns and "flags" in d.value.columns)
    assert shown["partner_id"].tolist() == [doomed]
    assert first_option_id(at.selectbox(key="review_override_partner"))  # the picker lists partners


def test_a_new_load_never_moves_the_open_review_to_another_year(review_db, tmp_path):
    at = open_page(review_db, "views/pages/review.py")
    assert any(c.value.startswith("Review of the year 2025Q4–2026Q3") for c in at.caption)
    late = tmp_path / "next_quarter.csv"
    late.write_text("partner_id,order_date,revenue\nP000001,2026-10-15,1000\n")
    st.cache_resource.clear()
    with Store(review_db) as store:
        load_extract(store, late)
    st.cache_data.clear()
    at.run()
    assert not at.exception
    assert any(c.value.startswith("Review of the year 2025Q4–2026Q3") for c in at.caption)  # still this review
    assert any("2026Q4 has been loaded since it was opened" in i.value for i in at.info)
    at.button(key="review_open_latest").click().run()
    assert not at.exception
    assert at.session_state["review_as_of"] == "2026Q4"


def test_review_decisions_carry_the_marks_the_table_filters_on():
    recs = recommend(pd.DataFrame([partner("p", "Authorized", 95, deals=3, customers=1, churn=0.05)]),
                     _rules(), threshold=0.3)
    decided = review_decisions(recs.assign(dormant=False), ChannelFilter("2025Q4"), {})
    assert narrow_decisions(decided, flags=["worth a second look"])["partner_id"].tolist() == ["p"]
