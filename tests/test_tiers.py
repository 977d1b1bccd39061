"""Tier distribution, tier moves, the Sankey flow and revenue concentration: hand-made frames and a small real store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.analyses.tiers import (
    classify_tier_moves,
    concentration,
    revenue_concentration,
    tier_distribution,
    tier_flow,
    tier_moves,
    tier_rank,
    tier_shares,
)
from analytics.filters import ChannelFilter

QUARTERS_2024 = ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
QUARTERS_2025 = ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
# partner, name, region, segment, tier in 2024, tier in 2025, revenue per quarter in 2024, in 2025
PLAN = [
    ("P1", "Alpha", "NA", "SMB", "Gold", "Gold", 100, 100),
    ("P2", "Beta", "EMEA", "Enterprise", "Silver", "Gold", 50, 50),  # promoted
    ("P3", "Gamma", "NA", "SMB", "Gold", "Bronze", 80, 80),  # demoted
    ("P4", "Delta", "NA", "SMB", "Bronze", None, 40, 0),  # lapsed
    ("P5", "Epsilon", "EMEA", "SMB", None, "Authorized", 0, 30),  # new
]


def channel_csv() -> str:
    """Give a coarse extract (one row per partner and quarter) of PLAN."""
    lines = ["partner_id,partner_name,tier,region,customer_segment,quarter,revenue"]
    for pid, name, region, segment, tier_2024, tier_2025, rev_2024, rev_2025 in PLAN:
        for quarters, tier, revenue in ((QUARTERS_2024, tier_2024, rev_2024), (QUARTERS_2025, tier_2025, rev_2025)):
            if tier is not None:
                lines += [f"{pid},{name},{tier},{region},{segment},{q},{revenue}" for q in quarters]
    return "\n".join(lines) + "\n"


# Loaded into the module's store by the `channel` fixture (tests/conftest.py).
CHANNEL_CSV = channel_csv()


# -- tier_rank / tier_shares --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "rank"),
    [("Platinum", 0), ("Authorized", 4), ("Registered", 5), ("Unknown", 5)],
    ids=["highest", "lowest-known", "unknown-name", "unknown"],
)
def test_tier_rank_puts_unknown_tiers_below_authorized(tier, rank):
    assert tier_rank(tier) == rank


def test_tier_shares_within_each_quarter():
    frame = pd.DataFrame({
        "quarter": ["2025Q1", "2025Q1", "2025Q2", "2025Q2"],
        "tier": ["Silver", "Gold", "Gold", "Silver"],
        "partners": [3, 1, 2, 2],
        "revenue": [100.0, 300.0, 50.0, -60.0],
    })
    expected = pd.DataFrame({
        "quarter": ["2025Q1", "2025Q1", "2025Q2", "2025Q2"],
        "tier": ["Gold", "Silver", "Gold", "Silver"],
        "partners": [1, 3, 2, 2],
        "revenue": [300.0, 100.0, 50.0, -60.0],
        "partner_share": [0.25, 0.75, 0.5, 0.5],
        # a quarter whose credits exceed its sales has no meaningful revenue share
        "revenue_share": [0.75, 0.25, np.nan, np.nan],
    })
    pd.testing.assert_frame_equal(tier_shares(frame), expected)


def test_tier_shares_names_a_missing_column():
    with pytest.raises(ValueError, match="Required column.*partners"):
        tier_shares(pd.DataFrame({"quarter": [], "tier": [], "revenue": []}))


# -- classify_tier_moves / tier_flow ------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "move"),
    [
        ("Silver", "Gold", "promoted"),
        ("Gold", "Bronze", "demoted"),
        ("Gold", "Gold", "kept"),
        ("Bronze", None, "lapsed"),
        (None, "Authorized", "new"),
        ("Registered", "Authorized", "promoted"),
        ("Authorized", "Unknown", "demoted"),
        ("Registered", "Unknown", "kept"),
    ],
    ids=["promoted", "demoted", "kept", "lapsed", "new", "unknown-to-known", "known-to-unknown", "unknown-to-unknown"],
)
def test_classify_one_move(before, after, move):
    frame_before = pd.DataFrame({"partner_id": ["P1"], "tier": [before]})
    frame_after = pd.DataFrame({"partner_id": ["P1"], "tier": [after]})
    assert classify_tier_moves(frame_before, frame_after)["move"].tolist() == [move]


def test_classify_moves_of_partners_missing_from_one_side():
    before = pd.DataFrame({"partner_id": ["P3", "P1", "P2", "P9"], "tier": ["Gold", "Silver", "Gold", None]})
    after = pd.DataFrame({"partner_id": ["P1", "P4", "P2"], "tier": ["Gold", "Bronze", "Gold"]})
    expected = pd.DataFrame({
        "partner_id": ["P1", "P2", "P3", "P4"],
        "from_tier": ["Silver", "Gold", "Gold", None],
        "to_tier": ["Gold", "Gold", None, "Bronze"],
        "move": ["promoted", "kept", "lapsed", "new"],
    })
    pd.testing.assert_frame_equal(classify_tier_moves(before, after), expected)


def test_classify_refuses_a_partner_twice():
    twice = pd.DataFrame({"partner_id": ["P1", "P1"], "tier": ["Gold", "Silver"]})
    with pytest.raises(ValueError, match="more than once"):
        classify_tier_moves(twice, twice.head(1))


def test_tier_flow_sends_lapsed_to_lapsed_and_takes_new_from_new():
    moves = pd.DataFrame({
        "from_tier": ["Gold", "Silver", "Gold", None, "Bronze", None, "Silver"],
        "to_tier": ["Gold", "Gold", "Bronze", "Authorized", None, "Authorized", "Gold"],
    })
    expected = pd.DataFrame({
        "source": ["Gold", "Gold", "Silver", "Bronze", "New"],
        "target": ["Gold", "Bronze", "Gold", "Lapsed", "Authorized"],
        "partners": [1, 1, 2, 1, 2],
    })
    pd.testing.assert_frame_equal(tier_flow(moves), expected)


# -- concentration ------------------------------------------------------------------------------


def test_concentration_takes_the_ceiling_of_k_percent_of_partners():
    frame = pd.DataFrame({
        "partner_id": [f"G{i}" for i in range(1, 11)] + [f"S{i}" for i in range(30)] + ["A1", "A2"],
        "tier": ["Gold"] * 10 + ["Silver"] * 30 + ["Authorized"] * 2,
        "revenue": [float(i) for i in range(1, 11)] + [10.0] * 30 + [0.0, 0.0],
    })
    result = concentration(frame).set_index("tier")
    assert result.index.tolist() == ["All tiers", "Gold", "Silver", "Authorized"]
    # Gold: 10 partners, 55 in all; top 1 % and 10 % = 1 partner (10), top 20 % = 2 partners (10 + 9).
    assert result.loc["Gold", ["top_1pct_share", "top_10pct_share", "top_20pct_share"]].tolist() == pytest.approx(
        [10 / 55, 10 / 55, 19 / 55]
    )
    # Silver: 10 % of 30 is 3 partners exactly (0.1 * 30 is 3.0000000000000004 in floats).
    assert result.loc["Silver", "top_10pct_share"] == pytest.approx(0.1)
    # All 42 partners, 355 in all: top 1 % = 1, top 10 % = 5, top 20 % = 9 partners.
    assert result.loc["All tiers", "top_10pct_share"] == pytest.approx(50 / 355)
    assert result.loc["All tiers", "top_20pct_share"] == pytest.approx(90 / 355)
    assert result.loc["All tiers", "partners"] == 42
    assert np.isnan(result.loc["Authorized", "top_20pct_share"])  # no revenue: no share


# -- on a real store ----------------------------------------------------------------------------


def test_tier_distribution_counts_each_quarters_partners_in_that_quarters_tier(channel):
    result = tier_distribution(channel, ChannelFilter())
    q1 = result[result["quarter"] == "2025Q1"].reset_index(drop=True)
    expected = pd.DataFrame({
        "quarter": ["2025Q1"] * 3,
        "tier": ["Gold", "Bronze", "Authorized"],
        "partners": [2, 1, 1],
        "revenue": [150.0, 80.0, 30.0],
        "partner_share": [0.5, 0.25, 0.25],
        "revenue_share": [150 / 260, 80 / 260, 30 / 260],
    })
    pd.testing.assert_frame_equal(q1, expected)
    assert result["quarter"].unique().tolist() == QUARTERS_2024 + QUARTERS_2025


@pytest.mark.parametrize(
    ("flt", "tiers_in_2025q1", "revenue"),
    [
        (ChannelFilter(regions=("EMEA",)), ["Gold", "Authorized"], [50.0, 30.0]),
        (ChannelFilter(tiers=("Gold", "Bronze")), ["Gold", "Bronze"], [150.0, 80.0]),
        (ChannelFilter(segments=("Enterprise",)), ["Gold"], [50.0]),
    ],
    ids=["region", "tier", "segment"],
)
def test_tier_distribution_applies_the_filter(channel, flt, tiers_in_2025q1, revenue):
    result = tier_distribution(channel, flt)
    q1 = result[result["quarter"] == "2025Q1"]
    assert q1["tier"].tolist() == tiers_in_2025q1
    assert q1["revenue"].tolist() == revenue


def test_tier_distribution_stops_at_the_filters_quarter(channel):
    result = tier_distribution(channel, ChannelFilter(quarter="2024Q4"))
    assert result["quarter"].max() == "2024Q4"


def test_tier_moves_between_two_quarters(channel):
    result = tier_moves(channel, ChannelFilter(), "2024Q4", "2025Q4")
    expected = pd.DataFrame({
        "partner_id": ["P2", "P1", "P3", "P4", "P5"],
        "partner_name": ["Beta", "Alpha", "Gamma", "Delta", "Epsilon"],
        "from_tier": ["Silver", "Gold", "Gold", "Bronze", None],
        "to_tier": ["Gold", "Gold", "Bronze", None, "Authorized"],
        "move": ["promoted", "kept", "demoted", "lapsed", "new"],
        "revenue_from": [200.0, 400.0, 320.0, 160.0, 0.0],
        "revenue_to": [200.0, 400.0, 320.0, 0.0, 120.0],
    })
    pd.testing.assert_frame_equal(result, expected)


@pytest.mark.parametrize(
    ("flt", "partners"),
    [
        # Gold at either end: P2 became Gold, P3 was Gold; both stay whole partners with their move.
        (ChannelFilter(tiers=("Gold",)), ["P1", "P2", "P3"]),
        (ChannelFilter(regions=("EMEA",)), ["P2", "P5"]),
        (ChannelFilter(tiers=("Bronze",), regions=("NA",)), ["P3", "P4"]),
    ],
    ids=["tier-at-either-end", "region", "tier-and-region"],
)
def test_tier_moves_apply_the_filter_to_whole_partners(channel, flt, partners):
    result = tier_moves(channel, flt, "2024Q4", "2025Q4")
    assert sorted(result["partner_id"]) == partners
    assert set(result.loc[result["partner_id"] == "P3", "move"]) <= {"demoted"}


def test_tier_moves_need_an_earlier_from_quarter(channel):
    with pytest.raises(ValueError, match="must be before"):
        tier_moves(channel, ChannelFilter(), "2025Q4", "2025Q4")


def test_revenue_concentration_on_the_trailing_year(channel):
    result = revenue_concentration(channel, ChannelFilter(), "2025Q4")
    # Trailing year: P1 400 and P2 200 (Gold), P3 320 (Bronze), P5 120 (Authorized); P4 has lapsed.
    expected = pd.DataFrame({
        "tier": ["All tiers", "Gold", "Bronze", "Authorized"],
        "partners": [4, 2, 1, 1],
        "top_1pct_share": [400 / 1040, 400 / 600, 1.0, 1.0],
        "top_10pct_share": [400 / 1040, 400 / 600, 1.0, 1.0],
        "top_20pct_share": [400 / 1040, 400 / 600, 1.0, 1.0],
    })
    pd.testing.assert_frame_equal(result, expected)
    by_region = revenue_concentration(channel, ChannelFilter(quarter="2025Q4", regions=("EMEA",)))
    assert by_region["tier"].tolist() == ["All tiers", "Gold", "Authorized"]
    assert by_region.loc[0, "top_1pct_share"] == pytest.approx(200 / 320)
