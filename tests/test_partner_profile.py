"""One partner's profile: search, history, products, segments, top customers and rank, on a small real store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.analyses.partner_profile import (
    fill_history,
    find_partners,
    partner_history,
    partner_products,
    partner_rank,
    partner_segments,
    partner_top_customers,
    rank_partner,
)

LINES = """partner_id,partner_name,tier,region,order_date,customer_id,customer_segment,product,revenue
P1,Bluepeak Systems,Silver,NA,2024-08-01,C1,SMB,Business Suite,100
P1,Bluepeak Systems,Gold,NA,2025-02-01,C1,SMB,Business Suite,300
P1,Bluepeak Systems,Gold,NA,2025-02-01,C2,Enterprise,Analytics Pro,500
P1,Bluepeak Systems,Gold,NA,2025-05-01,C2,Enterprise,Business Suite,200
P1,Bluepeak Systems,Gold,NA,2025-05-02,C3,,Cloud Backup,50
P10,Blue Harbor,Gold,EMEA,2025-03-01,C9,SMB,Business Suite,1000
P2,Red_Rock 100%,Gold,NA,2025-06-01,C7,Mid-market,Starter Edition,1050
P3,Redrock Ltd,Silver,NA,2025-04-01,C8,SMB,Starter Edition,80
P3,Redrock Ltd,Silver,NA,2025-07-15,C8,SMB,Starter Edition,20
"""


# Loaded into the module's store by the `channel` fixture (tests/conftest.py).
CHANNEL_CSV = LINES


# -- find_partners ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "partners"),
    [
        ("blue", ["P10", "P1"]),
        ("  BLUEPEAK ", ["P1"]),
        ("p1", ["P1", "P10"]),  # the exact id first, then by name
        ("_rock", ["P2"]),  # _ is a letter here, not "any character" (which would find Redrock)
        ("0%", ["P2"]),  # % too (as a wildcard it would find P10)
        ("nothing like it", []),
    ],
    ids=["name-any-case", "trimmed", "exact-id-first", "underscore-literal", "percent-literal", "no-match"],
)
def test_find_partners(channel, text, partners):
    assert find_partners(channel, text)["partner_id"].tolist() == partners


def test_find_partners_gives_the_latest_attributes_and_last_quarter(channel):
    found = find_partners(channel, "P1", limit=1)
    expected = pd.DataFrame({
        "partner_id": ["P1"], "partner_name": ["Bluepeak Systems"], "tier": ["Gold"], "tier_quarter": ["2025Q2"],
        "region": ["NA"],
        "last_quarter": ["2025Q2"],
    })
    pd.testing.assert_frame_equal(found, expected)


def test_find_partners_refuses_a_zero_limit(channel):
    with pytest.raises(ValueError, match="limit must be 1 or more"):
        find_partners(channel, "P", limit=0)


# -- history ------------------------------------------------------------------------------------


def test_partner_history_fills_every_quarter_of_the_channel(channel):
    expected = pd.DataFrame({
        "quarter": ["2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3"],
        "revenue": [100.0, 0.0, 800.0, 250.0, 0.0],
        "tier": pd.Series(["Silver", None, "Gold", "Gold", None], dtype="object"),
        "deals": [1, 0, 2, 2, 0],
        "customers": [1, 0, 2, 2, 0],
        "products": [1, 0, 2, 2, 0],
    })
    pd.testing.assert_frame_equal(partner_history(channel, "P1"), expected)


def test_partner_history_of_an_unknown_partner(channel):
    with pytest.raises(ValueError, match="No partner 'P999'"):
        partner_history(channel, "P999")


def test_fill_history_on_a_hand_made_frame():
    rows = pd.DataFrame({"quarter": ["2025Q2"], "revenue": [5.0], "tier": ["Gold"], "deals": [1], "customers": [1],
                         "products": [1]})
    result = fill_history(rows, ["2025Q1", "2025Q2"])
    assert result["revenue"].tolist() == [0.0, 5.0]
    assert result["tier"].tolist() == [None, "Gold"]
    with pytest.raises(ValueError, match="Required column.*deals"):
        fill_history(rows.drop(columns="deals"), ["2025Q1"])


# -- products, segments, customers over the trailing year ---------------------------------------


def test_partner_products_over_the_trailing_year(channel):
    # The 2024Q3 line is outside the 4 quarters to 2025Q3.
    expected = pd.DataFrame({
        "product": ["Analytics Pro", "Business Suite", "Cloud Backup"],
        "revenue": [500.0, 500.0, 50.0],
        "customers": [1, 2, 1],
        "deals": [1, 2, 1],
        "share": [500 / 1050, 500 / 1050, 50 / 1050],
    })
    pd.testing.assert_frame_equal(partner_products(channel, "P1", "2025Q3"), expected, check_dtype=False)
    assert partner_products(channel, "P1", "2024Q3")["revenue"].tolist() == [100.0]


def test_partner_segments_always_show_the_three_segments(channel):
    expected = pd.DataFrame({
        "segment": ["SMB", "Mid-market", "Enterprise", "Unspecified"],
        "revenue": [300.0, 0.0, 700.0, 50.0],
        "customers": [1, 0, 1, 1],
        "share": [300 / 1050, 0.0, 700 / 1050, 50 / 1050],
    })
    pd.testing.assert_frame_equal(partner_segments(channel, "P1", "2025Q3"), expected)


def test_partner_top_customers(channel):
    result = partner_top_customers(channel, "P1", "2025Q3", limit=2)
    expected = pd.DataFrame({
        "customer_id": ["C2", "C1"],
        "segment": ["Enterprise", "SMB"],
        "revenue": [700.0, 300.0],
        "deals": [2, 1],
        "products": [2, 1],
        "share": [700 / 1050, 300 / 1050],
    })
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


def test_profile_of_a_quiet_partner_is_empty_not_an_error(channel):
    assert partner_products(channel, "P10", "2024Q3").empty
    assert np.isnan(partner_segments(channel, "P10", "2024Q3")["share"]).all()


# -- rank ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner_id", "expected"),
    [
        ("P1", {"tier": "Gold", "tier_quarter": "2025Q2", "region": "NA", "rank_in_tier": 1, "partners_in_tier": 3,
                "rank_in_region": 1, "partners_in_region": 3, "revenue_t4": 1050.0}),
        ("P10", {"tier": "Gold", "tier_quarter": "2025Q1", "region": "EMEA", "rank_in_tier": 3, "partners_in_tier": 3,
                 "rank_in_region": 1, "partners_in_region": 1, "revenue_t4": 1000.0}),
        ("P3", {"tier": "Silver", "tier_quarter": "2025Q3", "region": "NA", "rank_in_tier": 1, "partners_in_tier": 1,
                "rank_in_region": 3, "partners_in_region": 3, "revenue_t4": 100.0}),
        ("P999", {"tier": None, "tier_quarter": None, "region": None, "rank_in_tier": None, "partners_in_tier": None,
                  "rank_in_region": None, "partners_in_region": None, "revenue_t4": 0.0}),
    ],
    ids=["tied-first", "last-in-tier", "alone-in-tier", "not-active"],
)
def test_partner_rank_by_trailing_year_revenue(channel, partner_id, expected):
    # Trailing year to 2025Q3: P1 and P2 1,050 (Gold, NA), P10 1,000 (Gold, EMEA), P3 100 (Silver, NA).
    assert partner_rank(channel, partner_id, "2025Q3") == expected


def test_a_partner_without_orders_in_the_year_is_ranked_in_its_latest_recorded_tier(channel):
    # Year to 2026Q1 (2025Q2–2026Q1): P2 1,050 and P1 250 (Gold), P3 100 (Silver). P10's last order, and
    # tier, is of 2025Q1: it is still Gold (recorded 2025Q1), last of the three Gold partners with revenue 0.
    assert partner_rank(channel, "P10", "2026Q1") == {
        "tier": "Gold", "tier_quarter": "2025Q1", "region": "EMEA", "rank_in_tier": 3, "partners_in_tier": 3,
        "rank_in_region": 1, "partners_in_region": 1, "revenue_t4": 0.0}


def test_rank_partner_without_a_region():
    frame = pd.DataFrame({"partner_id": ["A", "B"], "tier": ["Gold", "Gold"], "region": [None, "NA"],
                          "revenue": [10.0, 20.0]})
    result = rank_partner(frame, "A")
    assert (result["rank_in_tier"], result["partners_in_tier"], result["rank_in_region"]) == (2, 2, None)


def test_deals_in_year_counts_the_four_quarters_to_the_quarter():
    from analytics.analyses.partner_profile import deals_in_year

    history = pd.DataFrame({"quarter": ["2025Q2", "2025Q3", "2025Q4", "2026Q2", "2026Q3"],
                            "deals": [100, 1, 2, 4, 8]})
    # 2025Q4-2026Q3: 2 + 4 + 8 (2026Q1 has no row); 2025Q3-2026Q2: 1 + 2 + 4.
    assert deals_in_year(history, "2026Q3") == 14
    assert deals_in_year(history, "2026Q2") == 7
    assert deals_in_year(history.iloc[:0], "2026Q3") == 0
    with pytest.raises(ValueError, match="deals missing from the partner's history"):
        deals_in_year(history.drop(columns=["deals"]), "2026Q3")
