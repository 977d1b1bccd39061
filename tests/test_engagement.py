"""Engagement and fit (deals, breadth, segment focus, enterprise into SMB) and the product catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.analyses.engagement import (
    AGGREGATE_COLUMNS,
    ENGAGEMENT_COLUMNS,
    compute_engagement,
    engagement_table,
    low_deal_partners,
    oversellers,
    segment_focus,
)
from analytics.filters import ChannelFilter
from analytics.program.catalogue import CATALOGUE_PATH, enterprise_grade_listed, enterprise_products
from analytics.store.store import Store

LINES = """partner_id,partner_name,tier,region,order_date,customer_id,customer_segment,product,revenue
P1,Alpha,Gold,NA,2025-01-10,C1,SMB,Business Suite,100
P1,Alpha,Gold,NA,2025-01-10,C1,SMB,Cloud Backup,50
P1,Alpha,Gold,NA,2025-04-05,C1,SMB,Enterprise Platform,400
P1,Alpha,Gold,NA,2025-07-01,C2,Enterprise,Enterprise Data Hub,450
P1,Alpha,Gold,NA,2024-11-01,C3,SMB,Business Suite,999
P2,Beta,Silver,EMEA,2025-02-01,C4,Mid-market,Starter Edition,200
P3,Gamma,Bronze,EMEA,2025-05-01,C5,SMB,Data Vault,300
P3,Gamma,Bronze,EMEA,2025-05-01,C5,SMB,Data Vault,-100
P3,Gamma,Bronze,EMEA,2025-08-01,C6,SMB,Starter Edition,100
"""
# A coarser extract for the last quarter: undated rows, each one deal, no partner attributes.
QUARTERLY = """partner_id,quarter,customer_id,revenue
P2,2025Q4,C4,50
P2,2025Q4,C4,25
"""
CATALOGUE = 'enterprise_grade = ["Data Vault"]\n'


# Loaded into the module's store by the `channel` fixture (tests/conftest.py).
CHANNEL_CSV = (LINES, QUARTERLY)


@pytest.fixture
def catalogue(tmp_path):
    path = tmp_path / "products.toml"
    path.write_text(CATALOGUE)
    return path


# -- on a real store ----------------------------------------------------------------------------


def test_engagement_table_against_a_hand_computation(channel):
    result = engagement_table(channel, ChannelFilter(), "2025Q4", ["Enterprise Platform", "Enterprise Data Hub",
                                                                   "Data Vault"])
    expected = pd.DataFrame({
        "partner_id": ["P1", "P3", "P2"],
        "partner_name": ["Alpha", "Gamma", "Beta"],
        "tier": ["Gold", "Bronze", "Silver"],
        "region": ["NA", "EMEA", "EMEA"],
        # P1's 2024Q4 line is outside the trailing year; P3's credit nets its first order.
        "revenue_t4": [1000.0, 300.0, 275.0],
        # P1: two lines to C1 on one day are one deal; P2: one dated deal plus two undated rows.
        "deals_t4": [3, 2, 3],
        "customers_t4": [2, 2, 1],
        "products_t4": [4, 2, 1],
        "smb_share": [0.55, 1.0, 0.0],
        "enterprise_share": [0.45, 0.0, 0.0],
        "enterprise_into_smb_revenue": [400.0, 200.0, 0.0],
        "enterprise_into_smb_share": [0.4, 200 / 300, 0.0],
    })
    pd.testing.assert_frame_equal(result, expected)


@pytest.mark.parametrize(
    ("flt", "partners", "revenue"),
    [
        (ChannelFilter(tiers=("Gold",)), ["P1"], [1000.0]),
        (ChannelFilter(regions=("EMEA",)), ["P3", "P2"], [300.0, 275.0]),
        # Only lines to SMB customers: P1's Enterprise customer and P2 drop out.
        (ChannelFilter(segments=("SMB",)), ["P1", "P3"], [550.0, 300.0]),
    ],
    ids=["tier", "region", "segment"],
)
def test_engagement_table_applies_the_filter(channel, flt, partners, revenue):
    result = engagement_table(channel, flt, "2025Q4", [])
    assert result["partner_id"].tolist() == partners
    assert result["revenue_t4"].tolist() == revenue


def test_engagement_table_defaults_to_the_catalogue_and_the_latest_quarter(channel):
    result = engagement_table(channel, ChannelFilter()).set_index("partner_id")
    # The shipped catalogue does not list "Data Vault"; names with "enterprise" count anyway.
    assert result.loc["P1", "enterprise_into_smb_revenue"] == 400.0
    assert result.loc["P3", "enterprise_into_smb_revenue"] == 0.0


def test_engagement_table_refuses_one_product_name_as_a_collection(channel):
    with pytest.raises(ValueError, match="collection of product names"):
        engagement_table(channel, ChannelFilter(), "2025Q4", "Enterprise Platform")


# -- pure functions on hand-made frames ---------------------------------------------------------


def table(rows: list[tuple]) -> pd.DataFrame:
    aggregates = pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)
    return compute_engagement(aggregates)


TABLE = table([
    # id, name, tier, region, revenue, deals, customers, products, smb, enterprise, enterprise into SMB
    ("A", "A Ltd", "Gold", "NA", 1000.0, 40, 12, 6, 200.0, 700.0, 50.0),
    ("B", "B Ltd", "Silver", "NA", 500.0, 2, 1, 1, 500.0, 0.0, 300.0),
    ("C", "C Ltd", "Silver", "EMEA", 800.0, 1, 1, 2, 400.0, 0.0, 160.0),
    ("D", "D Ltd", None, "EMEA", 0.0, 1, 1, 1, 0.0, 0.0, 0.0),
    ("E", "E Ltd", "Bronze", "EMEA", 90.0, 2, 2, 1, 90.0, 0.0, 90.0),
])


def test_compute_engagement_shares_of_revenue():
    assert TABLE.columns.tolist() == ENGAGEMENT_COLUMNS
    assert TABLE["partner_id"].tolist() == ["A", "C", "B", "E", "D"]
    shares = TABLE.set_index("partner_id")[["smb_share", "enterprise_share", "enterprise_into_smb_share"]]
    assert shares.loc["A"].tolist() == pytest.approx([0.2, 0.7, 0.05])
    assert shares.loc["D"].isna().all()  # no revenue: no share


@pytest.mark.parametrize(
    ("max_deals", "partners"),
    [(1, ["C", "D"]), (2, ["C", "D", "B", "E"])],
    ids=["one-deal", "one-or-two-deals"],
)
def test_low_deal_partners(max_deals, partners):
    assert low_deal_partners(TABLE, max_deals)["partner_id"].tolist() == partners


@pytest.mark.parametrize("max_deals", [0, 1.5, True], ids=["zero", "fraction", "bool"])
def test_low_deal_partners_refuse_a_bad_limit(max_deals):
    with pytest.raises(ValueError, match="max_deals must be"):
        low_deal_partners(TABLE, max_deals)


@pytest.mark.parametrize(
    ("min_share", "partners"),
    [(0.2, ["B", "C", "E"]), (0.5, ["B", "E"]), (1.0, ["E"])],
    ids=["fifth", "half", "all-of-it"],
)
def test_oversellers_ranked_by_revenue_at_stake(min_share, partners):
    assert oversellers(TABLE, min_share)["partner_id"].tolist() == partners


def test_oversellers_refuse_a_bad_share():
    with pytest.raises(ValueError, match="min_share must be"):
        oversellers(TABLE, 20)


def test_segment_focus_long_frame_per_tier():
    expected = pd.DataFrame({
        "tier": ["Gold", "Gold", "Silver", "Silver", "Silver", "Silver", "Bronze", "Bronze"],
        "partner_id": ["A", "A", "B", "C", "B", "C", "E", "E"],
        "segment": ["SMB", "Enterprise", "SMB", "SMB", "Enterprise", "Enterprise", "SMB", "Enterprise"],
        "share": [0.2, 0.7, 1.0, 0.5, 0.0, 0.0, 1.0, 0.0],
    })
    pd.testing.assert_frame_equal(segment_focus(TABLE), expected)


def test_compute_engagement_names_a_missing_column():
    with pytest.raises(ValueError, match="Required column.*deals_t4"):
        compute_engagement(pd.DataFrame(columns=[c for c in AGGREGATE_COLUMNS if c != "deals_t4"]))


# -- the catalogue ------------------------------------------------------------------------------


def test_enterprise_products_are_listed_ones_plus_stored_names(channel, catalogue):
    assert enterprise_products(channel, catalogue) == ["Data Vault", "Enterprise Data Hub", "Enterprise Platform"]


def test_enterprise_products_without_a_catalogue_file(channel, tmp_path):
    assert enterprise_products(channel, tmp_path / "missing.toml") == ["Enterprise Data Hub", "Enterprise Platform"]


def test_shipped_catalogue_lists_the_demo_enterprise_products():
    from analytics.demo import ENTERPRISE_PRODUCTS

    assert set(enterprise_grade_listed(CATALOGUE_PATH)) == set(ENTERPRISE_PRODUCTS)


@pytest.mark.parametrize(
    ("content", "message"),
    [("enterprise_grade = [", "not valid TOML"), ('enterprise_grade = "Data Vault"', "must be a list")],
    ids=["broken-toml", "not-a-list"],
)
def test_bad_catalogue_file_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "products.toml"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        enterprise_grade_listed(path)


def test_segment_focus_leaves_out_partners_without_revenue():
    assert "D" not in segment_focus(TABLE)["partner_id"].tolist()
    assert np.isfinite(segment_focus(TABLE)["share"]).all()


@pytest.mark.parametrize("quarter", ["2026Q3", "2025Q1"])
@pytest.mark.parametrize("flt", [ChannelFilter(), ChannelFilter(tiers=("Gold", "Silver"), regions=("EMEA",))])
def test_derived_tables_give_what_the_order_lines_give(demo_db, quarter, flt):
    """The whole channel's figures come from partner_quarter and partner_year; they must equal the lines'."""
    from analytics.analyses.engagement import _aggregates_from_derived, _aggregates_from_lines
    from analytics.store.quarters import quarter_index

    with Store(demo_db) as store:
        products = enterprise_products(store)
        derived = _aggregates_from_derived(store, flt, quarter_index(quarter), products)
        lines = _aggregates_from_lines(store, flt, quarter_index(quarter), products)
    assert len(derived) > 100
    derived, lines = (f[AGGREGATE_COLUMNS].sort_values("partner_id", ignore_index=True) for f in (derived, lines))
    pd.testing.assert_frame_equal(derived, lines, check_dtype=False, rtol=1e-9)
