"""Revenue drop-offs: per-partner changes, the significant fallers, the revenue bridge and the change distribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.analyses.dropoffs import (
    BRIDGE_COMPONENTS,
    CHANGE_COLUMNS,
    change_distribution,
    compute_changes,
    partner_changes,
    revenue_bridge,
    significant_dropoffs,
)
from analytics.filters import ChannelFilter
from analytics.store.quarters import quarter_index, quarter_range

LAST = "2025Q4"
Q = quarter_index(LAST)


def pq_rows(partner_id: str, revenues: dict[str, float], tier: str = "Gold", region: str = "NA") -> list[dict]:
    return [
        {"partner_id": partner_id, "q_index": quarter_index(q), "revenue": float(r),
         "partner_name": f"Name {partner_id}", "tier": tier, "region": region}
        for q, r in revenues.items()
    ]


def each(quarters: list[str], revenue: float) -> dict[str, float]:
    return dict.fromkeys(quarters, revenue)


YEAR_BEFORE = quarter_range("2024Q1", "2024Q4")
LAST_YEAR = quarter_range("2025Q1", "2025Q4")

# F fell 60 %, N is new, L lapsed, G grew, C turned to credits, O ordered only before the 8 quarters.
PQ = pd.DataFrame(
    pq_rows("F", each(YEAR_BEFORE, 100) | each(LAST_YEAR, 40))
    + pq_rows("N", each(LAST_YEAR, 50), tier="Silver", region="EMEA")
    + pq_rows("L", each(YEAR_BEFORE, 30), tier="Bronze")
    + pq_rows("G", each(YEAR_BEFORE, 200) | {"2025Q1": 200, "2025Q2": 200, "2025Q3": 300, "2025Q4": 300},
              region="EMEA")
    + pq_rows("C", {"2024Q2": 10, "2025Q3": -25}, tier="Silver")
    + pq_rows("O", {"2023Q4": 500})
)


def test_compute_changes_against_a_hand_computation():
    result = compute_changes(PQ, Q)
    nan = np.nan
    expected = pd.DataFrame(
        [
            # partner, q, prev q, qoq, year-ago q, yoy, t4, prev t4, change t4, lost
            ("C", 0.0, -25.0, nan, 0.0, nan, -25.0, 10.0, -3.5, 35.0),
            ("F", 40.0, 40.0, 0.0, 100.0, -0.6, 160.0, 400.0, -0.6, 240.0),
            ("G", 300.0, 300.0, 0.0, 200.0, 0.5, 1000.0, 800.0, 0.25, 0.0),
            ("L", 0.0, 0.0, nan, 30.0, -1.0, 0.0, 120.0, -1.0, 120.0),
            ("N", 50.0, 50.0, 0.0, 0.0, nan, 200.0, 0.0, nan, 0.0),
        ],
        columns=["partner_id", "revenue_q", "revenue_prev_q", "change_qoq", "revenue_year_ago_q", "change_yoy",
                 "revenue_t4", "revenue_prev_t4", "change_t4", "revenue_lost"],
    )
    expected.insert(1, "partner_name", "Name " + expected["partner_id"])
    expected.insert(2, "tier", ["Silver", "Gold", "Gold", "Bronze", "Silver"])
    expected.insert(3, "region", ["NA", "NA", "EMEA", "NA", "EMEA"])
    pd.testing.assert_frame_equal(result, expected[CHANGE_COLUMNS])


def test_compute_changes_keeps_the_latest_recorded_attributes():
    rows = pd.DataFrame(
        pq_rows("P", {"2025Q1": 10}, tier="Silver") + pq_rows("P", {"2025Q2": 10}, tier=None)
        + pq_rows("P", {"2024Q1": 10}, tier="Bronze")
    )
    assert compute_changes(rows, Q)["tier"].tolist() == ["Silver"]


def test_compute_changes_names_a_missing_column():
    with pytest.raises(ValueError, match="Required column.*q_index"):
        compute_changes(PQ.drop(columns="q_index"), Q)


@pytest.mark.parametrize(
    ("threshold", "partners"),
    [(0.5, ["F", "L", "C"]), (0.7, ["L", "C"]), (1.0, ["L", "C"]), (0.1, ["F", "L", "C"])],
    ids=["half", "seventy-percent", "everything-gone", "ten-percent"],
)
def test_significant_dropoffs_are_ranked_by_revenue_lost(threshold, partners):
    assert significant_dropoffs(compute_changes(PQ, Q), threshold)["partner_id"].tolist() == partners


def test_significant_dropoffs_share_of_the_channel_change():
    result = significant_dropoffs(compute_changes(PQ, Q), 0.5)
    # Channel: 1335 in the last 4 quarters against 1330 before, a change of +5.
    assert result["share_of_channel_change"].tolist() == pytest.approx([-240 / 5, -120 / 5, -35 / 5])
    assert result["cumulative_share"].tolist() == pytest.approx([-48, -72, -79])
    # All revenue lost: F 240, L 120, C 35 (the growers and the newcomer lost nothing).
    assert result["share_of_revenue_lost"].tolist() == pytest.approx([240 / 395, 120 / 395, 35 / 395])
    assert result["cumulative_share_of_revenue_lost"].iloc[-1] == pytest.approx(1.0)


def test_significant_dropoffs_explain_a_falling_channel():
    changes = compute_changes(PQ[PQ["partner_id"].isin(["F", "L", "N"])], Q)
    result = significant_dropoffs(changes)
    # Channel change: (160 + 0 + 200) - (400 + 120 + 0) = -160.
    assert result["share_of_channel_change"].tolist() == pytest.approx([240 / 160, 120 / 160])


@pytest.mark.parametrize("threshold", [0, -0.5, 1.5], ids=["zero", "negative", "above-one"])
def test_significant_dropoffs_refuse_a_meaningless_threshold(threshold):
    with pytest.raises(ValueError, match="threshold must be"):
        significant_dropoffs(compute_changes(PQ, Q), threshold)


def test_revenue_bridge_components():
    result = revenue_bridge(compute_changes(PQ, Q))
    expected = pd.DataFrame({
        "component": list(BRIDGE_COMPONENTS),
        # N is new (+200); G grew (+200); F fell (-240) and C turned to a credit (-35); L lapsed (-120).
        "amount": [1330.0, 200.0, 200.0, -275.0, -120.0, 1335.0],
    })
    pd.testing.assert_frame_equal(result, expected)


def test_revenue_bridge_adds_up_exactly_with_credits():
    rng = np.random.default_rng(3)
    n = 2000
    before = np.round(rng.normal(5_000, 8_000, n), 2)
    now = np.round(before * rng.lognormal(0, 0.6, n) - rng.exponential(500, n), 2)
    before[:200], now[200:400], before[400:450], now[400:450] = 0.0, 0.0, 0.0, -50.0  # new, lapsed, credit-only
    result = revenue_bridge(pd.DataFrame({"revenue_t4": now, "revenue_prev_t4": before})).set_index("component")
    start, end = result.loc["Previous 4 quarters", "amount"], result.loc["Last 4 quarters", "amount"]
    middle = result.loc[["New partners", "Growing", "Declining", "Lapsed"], "amount"].sum()
    assert (before < 0).any() and (now < 0).any()
    assert middle == pytest.approx(end - start, rel=0, abs=1e-6)
    assert start == pytest.approx(before.sum(), rel=0, abs=1e-6)
    assert end == pytest.approx(now.sum(), rel=0, abs=1e-6)


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("tier", pd.DataFrame({"group": ["Gold", "Gold", "Silver", "Bronze"], "partner_id": ["F", "G", "C", "L"],
                               "change_t4": [-0.6, 0.25, -3.5, -1.0]})),
        ("region", pd.DataFrame({"group": ["EMEA", "NA", "NA", "NA"], "partner_id": ["G", "C", "F", "L"],
                                 "change_t4": [0.25, -3.5, -0.6, -1.0]})),
    ],
    ids=["by-tier", "by-region"],
)
def test_change_distribution_leaves_out_undefined_changes(by, expected):
    pd.testing.assert_frame_equal(change_distribution(compute_changes(PQ, Q), by), expected)


def test_change_distribution_refuses_another_grouping():
    with pytest.raises(ValueError, match="by must be 'tier' or 'region'"):
        change_distribution(compute_changes(PQ, Q), "country")


# -- on a real store ----------------------------------------------------------------------------


def store_csv() -> str:
    lines = ["partner_id,partner_name,tier,region,customer_segment,quarter,revenue"]
    for pid, tier, region, segment, revenues in [
        ("F", "Gold", "NA", "SMB", each(YEAR_BEFORE, 100) | each(LAST_YEAR, 40)),
        ("N", "Silver", "EMEA", "Enterprise", each(LAST_YEAR, 50)),
        ("L", "Bronze", "NA", "SMB", each(YEAR_BEFORE, 30)),
        ("S", "Gold", "EMEA", "Enterprise", each(YEAR_BEFORE + LAST_YEAR, 200)),
        ("O", "Gold", "NA", "SMB", {"2023Q4": 500}),
    ]:
        lines += [f"{pid},Name {pid},{tier},{region},{segment},{q},{r}" for q, r in revenues.items()]
    return "\n".join(lines) + "\n"


# Loaded into the module's store by the `channel` fixture (tests/conftest.py).
CHANNEL_CSV = store_csv()


def test_partner_changes_from_the_store(channel):
    result = partner_changes(channel, ChannelFilter(), LAST)
    nan = np.nan
    expected = pd.DataFrame(
        [
            ("F", "Name F", "Gold", "NA", 40.0, 40.0, 0.0, 100.0, -0.6, 160.0, 400.0, -0.6, 240.0),
            ("L", "Name L", "Bronze", "NA", 0.0, 0.0, nan, 30.0, -1.0, 0.0, 120.0, -1.0, 120.0),
            ("N", "Name N", "Silver", "EMEA", 50.0, 50.0, 0.0, 0.0, nan, 200.0, 0.0, nan, 0.0),
            ("S", "Name S", "Gold", "EMEA", 200.0, 200.0, 0.0, 200.0, 0.0, 800.0, 800.0, 0.0, 0.0),
        ],
        columns=CHANGE_COLUMNS,
    )
    pd.testing.assert_frame_equal(result, expected)
    # O's only order is 2023Q4, outside the 8 quarters to 2025Q4 but inside those to 2025Q3.
    assert "O" in partner_changes(channel, ChannelFilter(quarter="2025Q3"))["partner_id"].tolist()


@pytest.mark.parametrize(
    ("flt", "partners"),
    [
        (ChannelFilter(regions=("EMEA",)), ["N", "S"]),
        (ChannelFilter(tiers=("Gold", "Bronze")), ["F", "L", "S"]),
        (ChannelFilter(segments=("SMB",)), ["F", "L"]),
    ],
    ids=["region", "tier", "segment"],
)
def test_partner_changes_apply_the_filter(channel, flt, partners):
    result = partner_changes(channel, flt, LAST)
    assert result["partner_id"].tolist() == partners
    bridge = revenue_bridge(result).set_index("component")["amount"]
    assert bridge["Last 4 quarters"] == result["revenue_t4"].sum()
