"""The review's rules the Annual review page states: provisional candidates and the review's tallies."""

import pandas as pd
import pytest

from analytics.review.candidates import ReviewTally, provisional_candidates, review_tally
from analytics.review.decisions import PROVISIONAL


def _decisions() -> pd.DataFrame:
    return pd.DataFrame({
        "partner_id": ["A", "B", "C", "D", "E"],
        "recommendation": [PROVISIONAL, "retain", PROVISIONAL, "terminate", PROVISIONAL],
        "decision": [PROVISIONAL, PROVISIONAL, "terminate", "terminate", PROVISIONAL],
        "grant": [True, True, False, False, True],
        "turnaround_probability": [0.40, 0.10, 0.70, 0.90, 0.40],
        "revenue_trailing": [100.0, 500.0, 50.0, 900.0, 300.0],
        "dormant": [False, False, True, True, False],
        "second_look": ["", "", "", "low churn probability", ""],
    })


def test_candidates_are_recommended_or_granted_likeliest_first():
    # D is neither recommended nor granted: out, however likely it is to turn around. C was recommended
    # and not granted: still listed (the chief can tick it). A and E tie on probability: more revenue first.
    got = provisional_candidates(_decisions())
    assert got["partner_id"].tolist() == ["C", "E", "A", "B"]


def test_candidates_keep_the_decisions_order_on_a_full_tie():
    frame = _decisions().assign(turnaround_probability=0.5, revenue_trailing=1.0)
    assert provisional_candidates(frame)["partner_id"].tolist() == ["A", "B", "C", "E"]


def test_no_candidate_gives_an_empty_frame_with_the_columns():
    frame = _decisions().assign(recommendation="retain", grant=False)
    got = provisional_candidates(frame)
    assert got.empty and list(got.columns) == list(frame.columns)


def test_candidates_name_a_missing_column():
    with pytest.raises(ValueError, match="grant missing from the review's decisions"):
        provisional_candidates(_decisions().drop(columns=["grant"]))


def test_tally_counts_dormant_second_looks_and_changes():
    # Changed: B (retain → provisional) and C (provisional → terminate).
    assert review_tally(_decisions()) == ReviewTally(partners=5, dormant=2, second_looks=1, changed=2)
    assert review_tally(_decisions()).active == 3


def test_tally_names_a_missing_column():
    with pytest.raises(ValueError, match="second_look missing"):
        review_tally(_decisions().drop(columns=["second_look"]))
