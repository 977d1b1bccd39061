"""The quarter in messages: which statements exist (noise), their words, figures and ranking, on hand-made frames."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.analyses.messages import (
    Message,
    dropoff_message,
    ranked,
    recruit_message,
    revenue_message,
    review_message,
    tier_change,
    tier_messages,
)
from analytics.review.actions import ACTIONS
from analytics.review.decisions import decision_counts
from tests.builders import bridge, per_tier

NOTHING_MOVED = pd.DataFrame({"from_tier": pd.Series([], dtype=object), "to_tier": pd.Series([], dtype=object),
                              "revenue_from": pd.Series([], dtype=float), "revenue_to": pd.Series([], dtype=float)})


def moves(*rows: tuple[str | None, str | None, float, float, int]) -> pd.DataFrame:
    """Give tier moves from (from_tier, to_tier, revenue_from, revenue_to, how many partners)."""
    out = [{"from_tier": f, "to_tier": t, "revenue_from": rf, "revenue_to": rt} for f, t, rf, rt, n in rows
           for _ in range(n)]
    return pd.DataFrame(out) if out else NOTHING_MOVED


def test_tier_change_compares_each_tier_with_a_year_before_and_a_missing_tier_counts_zero():
    out = tier_change(per_tier({"Gold": 88, "Silver": 5}, 10.0), per_tier({"Gold": 100, "Bronze": 3}, 20.0))
    assert out["tier"].tolist() == ["Gold", "Silver", "Bronze"]
    assert out["partners_before"].tolist() == [100, 0, 3]
    assert out["partners"].tolist() == [88, 5, 0]
    assert out["net_change"].tolist() == [-12, 5, -3]


@pytest.mark.parametrize(("before", "now", "news"), [
    (100, 88, True),    # 12 partners, 12 %
    (200, 191, False),  # 9 partners: under 10
    (300, 285, True),   # 15 partners, exactly 5 %
    (300, 286, False),  # 14 partners, under 5 % of 300
    (100, 110, True),   # 10 partners, 10 %: a rise is news too
], ids=["12-of-100", "9-partners", "5-percent", "under-5-percent", "rise-of-10"])
def test_a_tier_change_is_news_from_10_partners_and_5_percent(before, now, news):
    found, quiet = tier_messages(tier_change(per_tier({"Gold": now}), per_tier({"Gold": before})), NOTHING_MOVED,
                                 "2025Q3", "2026Q3")
    assert len(found) == int(news)
    assert quiet == ([] if news else [f"Gold {before:,} → {now:,} ({now - before:+,})".replace("-", "\u2212")])


def test_a_tier_message_names_the_leavers_by_where_they_went_and_quotes_the_moves():
    change = tier_change(per_tier({"Gold": 88, "Silver": 196}), per_tier({"Gold": 100, "Silver": 200}))
    # Gold loses 7 to Silver and 8 that lapsed, gains 3 from Silver: 100 - 15 + 3 = 88.
    found, _ = tier_messages(change, moves(("Gold", "Silver", 10.0, 8.0, 7), ("Gold", None, 5.0, 0.0, 8),
                                           ("Silver", "Gold", 2.0, 4.0, 3)), "2025Q3", "2026Q3")
    (gold,) = found
    assert gold.text == ("Gold partners fell from 100 to 88 (\u221212) in the year to 2026Q3: 15 left "
                         "(8 lapsed, 7 to Silver), 3 joined")
    assert gold.title == "Gold partners fell from 100 to 88 (\u221212) in the year to 2026Q3"
    assert dict(gold.figures) == {"partners_before": 100, "partners": 88, "net_change": -12, "left": 15,
                                  "joined": 3, "lapsed": 8, "to Silver": 7}
    assert gold.size == 7 * 10.0 + 8 * 5.0  # the leavers' revenue a year before
    assert (gold.page, gold.page_label) == ("views/pages/tiers.py", "Tiers → Tier moves")


def test_revenue_under_one_percent_is_flat_and_over_it_a_message_with_the_bridge():
    message, why = revenue_message(bridge(1000.0, 8.0, -3.0, 0.0, 0.0), "2025Q4–2026Q3", "2024Q4–2025Q3")
    assert message is None and why == "revenue $1.00k → $1.00k (+0.5 %)"
    message, why = revenue_message(bridge(1000.0, 50.0, -20.0, 10.0, -20.0), "2025Q4–2026Q3", "2024Q4–2025Q3")
    assert why is None
    assert message.text == ("Revenue rose 2.0 % to $1.02k over 2025Q4–2026Q3 (+$20 on 2024Q4–2025Q3): growing "
                            "partners +$50, declining \u2212$20, new +$10, lapsed \u2212$20")
    assert message.figures["change"] == 20.0 and message.size == 20.0


def changes(rows: dict[str, tuple[float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame([{"partner_id": p, "revenue_prev_t4": b, "revenue_t4": n} for p, (b, n) in rows.items()])
    frame["change_t4"] = (frame["revenue_t4"] - frame["revenue_prev_t4"]) / frame["revenue_prev_t4"]
    frame["revenue_lost"] = (frame["revenue_prev_t4"] - frame["revenue_t4"]).clip(lower=0)
    return frame


def test_the_dropoff_message_adds_up_the_largest_and_the_usual_churn_is_noise():
    message, _ = dropoff_message(changes({"A": (100.0, 0.0), "B": (100.0, 40.0), "C": (1000.0, 1100.0),
                                          "D": (100.0, 60.0)}), "2025Q4–2026Q3", "2024Q4–2025Q3")
    # A and B fell by half or more (D by 40 % only): 100 + 60 lost of the 1,300 of the year before.
    assert dict(message.figures) == {"partners": 2, "dropoffs": 2, "revenue_lost": 160.0, "revenue_before": 1300.0,
                                     "share_of_revenue_before": 160.0 / 1300.0}
    assert message.title == "The 2 largest drop-offs lost $160, 12.3 % of the year before's revenue"
    # 10 lost of 10,010: under half a percent.
    message, why = dropoff_message(changes({"A": (10.0, 0.0), "C": (10000.0, 10000.0)}), "x", "y")
    assert message is None and why == "the largest drop-offs lost $10"


def cohorts(rows: dict[str, tuple[int, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"cohort": c, "recruited": n, "active_after_2": a} for c, (n, a) in rows.items()])


def test_the_recruits_message_quotes_the_cohort_of_two_quarters_before_against_a_year_earlier():
    revenue = pd.DataFrame({"cohort": ["2026Q1", "2026Q1"], "revenue": [30.0, 12.0]})
    message, _ = recruit_message(cohorts({"2025Q1": (20, 0.75), "2026Q1": (12, 0.5)}), revenue, "2026Q3")
    assert message.text == ("12 recruits in 2026Q1: 50 % still ordering two quarters on, in 2026Q3 "
                            "(the 2025Q1 cohort: 75 %)")
    assert dict(message.figures) == {"recruited": 12, "still_ordering": 0.5, "still_ordering_year_earlier": 0.75}
    assert message.size == 42.0
    message, why = recruit_message(cohorts({"2026Q1": (9, 0.5)}), revenue, "2026Q3")
    assert message is None and why == "recruits of 2026Q1: 9"


def test_the_review_message_counts_recommended_terminations_against_the_target():
    decisions = pd.DataFrame({"recommendation": ["terminate", "terminate", "retain", "promote"],
                              "decision": ["retain", "terminate", "retain", "promote"],
                              "revenue_trailing": [100.0, 50.0, 900.0, 2000.0]})
    message = review_message(decision_counts(decisions), 4, 0.1, "2026Q3")
    # Recommended, not decided: the chief's change of the first partner does not count.
    assert message.text == ("2 partners recommended for termination in the review as of 2026Q3 (50.0 % of 4 against "
                            "a 10 % target), with $50 of revenue over the year")
    assert message.figures["terminate"] == 2
    none = decisions.assign(recommendation="retain")
    assert review_message(decision_counts(none), 4, 0.1, "2026Q3") is None
    assert set(decision_counts(none)["action"]) == set(ACTIONS)


def test_messages_are_ranked_by_size_then_kind_and_cut_to_the_few():
    def m(kind: str, size: float, subject: str = "") -> Message:
        return Message(kind, f"{kind} {subject}", "", size, "views/x.py", "X", {}, subject)

    found = [m("recruits", 5.0), m("tier", 50.0, "Gold"), m("dropoffs", 50.0), m("tier", 50.0, "Bronze"),
             m("revenue", 80.0)]
    assert [(x.kind, x.subject) for x in ranked(found, 4)] == [
        ("revenue", ""), ("tier", "Bronze"), ("tier", "Gold"), ("dropoffs", "")]
