"""Drop-offs between two periods a person chooses: the engine on a hand-made channel, and the page under AppTest."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from analytics.analyses.dropoffs import ComparePeriods, partner_changes, revenue_bridge, significant_dropoffs
from analytics.filters import ChannelFilter
from tests.apptest_helpers import metric, open_page
from tests.builders import PERIODS_CSV as CHANNEL_CSV  # noqa: F401 (conftest.py's channel fixture reads it)

HALVES = ComparePeriods("2024Q1", "2024Q2", "2025Q1", "2025Q2")


def by_partner(frame):
    return frame.set_index("partner_id")


def test_changes_between_two_chosen_periods_by_hand(channel):
    changes = by_partner(partner_changes(channel, ChannelFilter(), periods=HALVES))
    assert sorted(changes.index) == ["FELL", "GREW", "LAPSED", "NEW"]  # GAP and LATE ordered in neither period
    assert changes.loc["FELL", ["revenue_prev_t4", "revenue_t4", "revenue_lost"]].tolist() == [200, 50, 150]
    assert changes.loc["FELL", "change_t4"] == pytest.approx(-0.75)
    assert changes.loc["GREW", "change_t4"] == pytest.approx(0.6)
    assert changes.loc["LAPSED", ["revenue_prev_t4", "revenue_t4", "change_t4"]].tolist() == [60, 0, -1]
    assert math.isnan(changes.loc["NEW", "change_t4"])
    # Quarter over quarter and year over year are to period B's last quarter, 2025Q2.
    assert changes.loc["FELL", ["revenue_q", "revenue_prev_q", "revenue_year_ago_q"]].tolist() == [20, 30, 100]
    assert changes.loc["FELL", "change_yoy"] == pytest.approx(-0.8)
    assert changes.loc["FELL", "tier"] == "Silver"  # the latest recorded in the periods


def test_the_default_periods_are_the_last_four_quarters_against_the_four_before(channel):
    assert ComparePeriods.trailing("2025Q2") == ComparePeriods("2023Q3", "2024Q2", "2024Q3", "2025Q2")
    default = by_partner(partner_changes(channel, ChannelFilter(), "2025Q2"))
    assert "GAP" in default.index and default.loc["GAP", "revenue_t4"] == 500  # 2024Q3 is in the last 4 then
    assert default.loc["FELL", ["revenue_prev_t4", "revenue_t4"]].tolist() == [200, 50]


def test_significant_dropoffs_and_bridge_between_chosen_periods(channel):
    changes = partner_changes(channel, ChannelFilter(), periods=HALVES)
    assert significant_dropoffs(changes, 0.5)["partner_id"].tolist() == ["FELL", "LAPSED"]
    bridge = revenue_bridge(changes, HALVES)
    assert bridge["component"].tolist() == ["Period A, 2024Q1–2024Q2", "New partners", "Growing", "Declining",
                                            "Lapsed", "Period B, 2025Q1–2025Q2"]
    assert bridge["amount"].tolist() == [310, 40, 30, -150, -60, 170]


def test_a_tier_filter_selects_by_the_latest_tier_in_the_periods(channel):
    changes = partner_changes(channel, ChannelFilter(tiers=("Silver",)), periods=HALVES)
    assert sorted(changes["partner_id"]) == ["FELL", "NEW"]


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        (("2024Q1", "2024Q3", "2025Q1", "2025Q2"), r"same length"),
        (("2025Q1", "2025Q2", "2024Q1", "2024Q2"), r"Period A \(2025Q1–2025Q2\) must end before period B"),
        (("2024Q1", "2024Q4", "2024Q4", "2025Q3"), r"must end before"),
        (("2024Q2", "2024Q1", "2025Q2", "2025Q1"), r"from its first quarter to its last"),
        (("2024Q1", "2024Q2", "2025Q1", "2025Q5"), r"2025Q5"),
    ],
    ids=["different-lengths", "a-after-b", "overlapping", "backwards", "not-a-quarter"],
)
def test_periods_that_cannot_be_compared_are_refused(periods, message):
    with pytest.raises(ValueError, match=message):
        ComparePeriods(*periods)


@pytest.fixture
def channel_db(periods_db: Path) -> Path:
    return periods_db


def test_the_page_compares_the_periods_chosen_and_keeps_them_in_the_url(channel_db):
    at = open_page(channel_db, "views/pages/dropoffs.py", quarter="2025Q4")
    assert metric(at, "Partners down 50 % or more").help == "Revenue in 2025Q1–2025Q4 against 2024Q1–2024Q4."
    at.toggle(key="dropoff_custom").set_value(True).run()
    at.select_slider(key="dropoff_period_a").set_range("2024Q1", "2024Q2")
    at.select_slider(key="dropoff_period_b").set_range("2025Q1", "2025Q2").run()
    assert not at.exception, at.exception
    assert metric(at, "Partners down 50 % or more").help == "Revenue in 2025Q1–2025Q2 against 2024Q1–2024Q2."
    assert metric(at, "Partners down 50 % or more").value == "2"
    assert metric(at, "Revenue they lost").value == "$210"
    assert at.query_params["period_a"] == "2024Q1-2024Q2" and at.query_params["period_b"] == "2025Q1-2025Q2"
    # Unequal lengths: said plainly, and the default periods shown meanwhile.
    at.select_slider(key="dropoff_period_b").set_range("2025Q1", "2025Q3").run()
    assert any("same length" in w.value for w in at.warning)
    assert metric(at, "Partners down 50 % or more").help == "Revenue in 2025Q1–2025Q4 against 2024Q1–2024Q4."


def test_a_link_with_periods_opens_them_and_one_with_unloaded_periods_says_so(channel_db):
    at = open_page(channel_db, "views/pages/dropoffs.py", quarter="2025Q4", period_a="2024Q1-2024Q2",
                   period_b="2025Q1-2025Q2")
    assert at.toggle(key="dropoff_custom").value is True
    assert metric(at, "Partners down 50 % or more").help == "Revenue in 2025Q1–2025Q2 against 2024Q1–2024Q2."
    assert metric(at, "Partners down 50 % or more").value == "2"
    at = open_page(channel_db, "views/pages/dropoffs.py", quarter="2025Q4", period_a="2019Q1-2019Q2",
                   period_b="2025Q1-2025Q2")
    assert any(w.value.startswith("The link asked for period a “2019Q1") and "not loaded up to 2025Q4" in w.value
               for w in at.warning), [w.value for w in at.warning]
    assert metric(at, "Partners down 50 % or more").help == "Revenue in 2025Q1–2025Q4 against 2024Q1–2024Q4."
