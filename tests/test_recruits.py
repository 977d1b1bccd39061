"""Recruits and ramp: cohorts, their retention and time to each tier, cohort revenue, the nursery pipeline, the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics import charts
from analytics.analyses.recruits import (
    HISTORY_COLUMNS,
    PIPELINE_COLUMNS,
    cohort_revenue,
    cohort_table,
    nursery_pipeline,
    nursery_tiers,
    recruit_history,
)
from analytics.filters import ChannelFilter
from analytics.program.rules import ProgramRules, TierRule
from analytics.store.quarters import quarter_index
from tests.apptest_helpers import metric, open_page

nan = np.nan
FIRST = quarter_index("2024Q1")
LAST = quarter_index("2025Q4")
RULES = ProgramRules(tiers=(
    TierRule("Gold", min_revenue=300, min_deals=6, min_customers=3),
    TierRule("Silver", min_revenue=100, min_deals=3, min_customers=2),
    TierRule("Bronze", min_revenue=20, min_deals=1, min_customers=1),
))


def rows(partner_id: str, tier: str, quarters: dict[str, tuple[float, int, int, bool]]) -> list[tuple]:
    """Give history rows: per quarter (revenue, deals, customers over the trailing year, ordered)."""
    return [(partner_id, f"Name {partner_id}", tier, "NA", quarter_index(q), *figures)
            for q, figures in quarters.items()]


def each(quarters: list[str], figures: tuple) -> dict:
    return dict.fromkeys(quarters, figures)


ALL = ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4"]
# O and S ordered in the first stored quarter: not recruits. A and B joined in 2024Q2: A orders every
# quarter and reaches Bronze at once, Silver after 3 quarters (120 revenue, 4 deals, 2 customers); B
# orders once and then only its trailing customers are known. C joined in 2025Q3, D in 2025Q4.
HISTORY = pd.DataFrame(
    rows("O", "Silver", each(ALL[:6], (100.0, 2, 3, True)) | each(ALL[6:], (20.0, 2, 3, True)))
    + rows("S", "Silver", {"2024Q1": (10.0, 1, 1, True), "2024Q2": (0.0, 0, 1, False),
                           "2025Q3": (70.0, 2, 2, True), "2025Q4": (90.0, 2, 2, True)})
    + rows("A", "Bronze", {"2024Q2": (30.0, 1, 1, True), "2024Q3": (30.0, 1, 1, True)}
           | each(ALL[3:], (30.0, 1, 2, True)))
    + rows("B", "Bronze", {"2024Q2": (10.0, 1, 1, True)} | each(["2024Q3", "2024Q4", "2025Q1"], (0.0, 0, 1, False)))
    + rows("C", "Bronze", {"2025Q3": (30.0, 1, 1, True), "2025Q4": (40.0, 1, 1, True)})
    + rows("D", "Bronze", {"2025Q4": (5.0, 1, 1, True)}),
    columns=HISTORY_COLUMNS,
)
COHORT_COLUMNS = ["cohort", "recruited", "active_after_1", "active_after_2", "active_after_4", "active_after_8",
                  "three_deals_first_year", "quarters_to_Bronze", "quarters_to_Silver", "quarters_to_Gold"]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2025Q4", [
            # A is active throughout, B never again; the data end before 2024Q2 + 8. Half of the
            # 2024Q2 cohort (A) met Bronze at once and Silver after 3 quarters.
            ("2024Q2", 2, 0.5, 0.5, 0.5, nan, 0.5, 0.0, 3.0, nan),
            ("2025Q3", 1, 1.0, nan, nan, nan, nan, 0.0, nan, nan),
            ("2025Q4", 1, nan, nan, nan, nan, nan, nan, nan, nan),  # D: 5 of Bronze's 20
        ]),
        # A quarter earlier: D has not joined, C's next quarter is not in the data yet.
        ("2025Q3", [
            ("2024Q2", 2, 0.5, 0.5, 0.5, nan, 0.5, 0.0, 3.0, nan),
            ("2025Q3", 1, nan, nan, nan, nan, nan, 0.0, nan, nan),
        ]),
        # The first year of 2024Q2 ends in 2025Q1: in 2024Q4 its deal share is unknown, not 0.
        ("2024Q4", [("2024Q2", 2, 0.5, 0.5, nan, nan, nan, 0.0, nan, nan)]),
    ],
    ids=["latest", "quarter-earlier", "first-year-not-over"],
)
def test_cohort_table_against_a_hand_computation(as_of, expected):
    result = cohort_table(HISTORY, FIRST, quarter_index(as_of), RULES)
    pd.testing.assert_frame_equal(result, pd.DataFrame(expected, columns=COHORT_COLUMNS))


def test_cohort_median_is_the_time_by_which_half_reached_the_tier():
    # Three recruits of 2024Q2 reach Bronze after 0, 2 and never: half (2 of 3) have by 2 quarters.
    history = pd.DataFrame(
        rows("X", "Bronze", {"2024Q2": (25.0, 1, 1, True)})
        + rows("Y", "Bronze", {"2024Q2": (5.0, 1, 1, True), "2024Q4": (20.0, 1, 1, True)})
        + rows("Z", "Bronze", {"2024Q2": (5.0, 1, 1, True)})
        + rows("O", "Bronze", {"2024Q1": (5.0, 1, 1, True)}),
        columns=HISTORY_COLUMNS,
    )
    result = cohort_table(history, FIRST, LAST, RULES)
    assert result["quarters_to_Bronze"].tolist() == [2.0]
    assert result["quarters_to_Silver"].isna().all()


@pytest.mark.parametrize(
    ("customers", "quarters_to_silver"),
    [(1, nan), (0, 3.0)],
    ids=["one-customer-falls-short", "no-customers-in-the-data-ignores-the-minimum"],
)
def test_customer_minimums_count_as_in_the_review(customers, quarters_to_silver):
    # Silver needs 2 customers; an extract without customer ids has none at all, and the review then
    # ignores customer minimums: so do recruits.
    result = cohort_table(HISTORY.assign(customers_year=customers), FIRST, LAST, RULES)
    pd.testing.assert_series_equal(
        result["quarters_to_Silver"].head(1), pd.Series([quarters_to_silver], name="quarters_to_Silver")
    )


def test_cohort_revenue_by_quarter_since_joining():
    result = cohort_revenue(HISTORY, FIRST, LAST)
    expected = pd.DataFrame({
        "cohort": ["2024Q2"] * 7 + ["2025Q3", "2025Q3", "2025Q4"],
        "quarters_since_joining": [0, 1, 2, 3, 4, 5, 6, 0, 1, 0],
        "recruited": [2] * 7 + [1, 1, 1],
        "revenue": [40.0] + [30.0] * 6 + [30.0, 40.0, 5.0],
    })
    pd.testing.assert_frame_equal(result, expected)


def test_cohort_revenue_lines_draw_a_line_per_cohort_from_joining_on():
    fig = charts.cohort_revenue_lines(cohort_revenue(HISTORY, FIRST, LAST), "2025Q4")
    assert all(isinstance(trace, go.Scatter) for trace in fig.data)
    assert [trace.name for trace in fig.data] == ["2024Q2 (2 recruits)", "2025Q3 (1 recruit)", "2025Q4 (1 recruit)"]
    assert [list(trace.x) for trace in fig.data] == [list(range(7)), [0, 1], [0]]
    assert list(fig.data[1].y) == [30.0, 40.0]
    assert "2025Q4" in fig.layout.title.text and "since joining" in fig.layout.xaxis.title.text


def test_cohort_revenue_lines_take_an_empty_frame():
    old_hands = HISTORY[HISTORY["partner_id"].isin(["O", "S"])]
    assert charts.cohort_revenue_lines(cohort_revenue(old_hands, FIRST, LAST), "2025Q4").data == ()


def test_no_recruits_gives_empty_typed_frames():
    old_hands = HISTORY[HISTORY["partner_id"].isin(["O", "S"])]
    assert cohort_table(old_hands, FIRST, LAST, RULES).empty
    revenue = cohort_revenue(old_hands, FIRST, LAST)
    assert revenue.empty and revenue["revenue"].dtype == "float64"


def test_nursery_pipeline_against_a_hand_computation():
    result = nursery_pipeline(HISTORY, LAST, RULES)
    expected = pd.DataFrame(
        [
            # S: 70 + 90 in the last two quarters is 320 a year, past Gold's 300; the trailing year holds 160.
            ("S", "Silver", "Gold", 160.0, 320.0, 140.0, 4.0, 8.0, 2.0, 2.0, 1.0, False),
            # C: 140 a year on pace for Silver's 100; 70 so far, 2 of 3 deals, 1 of 2 customers.
            ("C", "Bronze", "Silver", 70.0, 140.0, 30.0, 2.0, 4.0, 1.0, 1.0, 1.0, False),
            # A already meets Silver (120 revenue, 4 deals, 2 customers): due for promotion.
            ("A", "Bronze", "Silver", 120.0, 120.0, 0.0, 4.0, 4.0, 0.0, 2.0, 0.0, True),
        ],
        columns=["partner_id", "tier", "next_tier", "revenue_trailing", "revenue_pace", "revenue_gap",
                 "deals_trailing", "deals_pace", "deals_gap", "customers_trailing", "customers_gap", "meets_next_tier"],
    )
    expected.insert(1, "partner_name", "Name " + expected["partner_id"])
    expected.insert(4, "region", "NA")
    # O (Silver) paces at 80 a year, short of Gold; D (Bronze) at 10, short of Silver; B is not active.
    pd.testing.assert_frame_equal(result, expected[PIPELINE_COLUMNS])


@pytest.mark.parametrize(
    ("names", "expected"),
    [(("Gold", "Silver", "Bronze"), ("Silver", "Bronze")), (("Gold", "Silver"), ("Silver",)), (("Gold",), ())],
    ids=["three-tiers", "two-tiers", "one-tier"],
)
def test_the_nursery_never_holds_the_highest_tier(names, expected):
    rules = ProgramRules(tiers=tuple(TierRule(n, 100.0 - i, 1, 1) for i, n in enumerate(names)))
    assert nursery_tiers(rules) == expected
    # S is Silver: with Gold and Silver only, it is the nursery's and grows into Gold.
    pipeline = nursery_pipeline(HISTORY.assign(tier="Silver"), LAST, rules)
    assert set(pipeline["next_tier"]) <= {"Gold"} and ("Silver" in expected) == (not pipeline.empty)


def test_nursery_pipeline_refuses_a_history_without_its_columns():
    with pytest.raises(ValueError, match="customers_year"):
        nursery_pipeline(HISTORY.drop(columns="customers_year"), LAST, RULES)


# A small store from a real CSV: P1 ordered in the first quarter; P2 joined in 2025Q2 as Bronze and
# was Silver by 2025Q4; in 2025Q3 it had no order, only its trailing year's customers.
CSV = """partner_id,partner_name,tier,region,order_date,customer_id,revenue
P1,First Ltd,Gold,NA,2025-01-10,C1,100
P2,Second Ltd,Bronze,EMEA,2025-04-05,C2,50
P2,Second Ltd,Bronze,EMEA,2025-04-06,C3,20
P2,Second Ltd,Silver,EMEA,2025-10-01,C2,30
"""


# Loaded into the module's store by the `channel` fixture (tests/conftest.py).
CHANNEL_CSV = CSV


def history_rows(*cells: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(cells, columns=HISTORY_COLUMNS)
    return frame.astype({"q_index": "int64", "deals": "int64", "customers_year": "int64"})


P1 = [("P1", "First Ltd", "Gold", "NA", quarter_index("2025Q1"), 100.0, 1, 1, True)] + [
    ("P1", "First Ltd", "Gold", "NA", quarter_index(q), 0.0, 0, 1, False) for q in ("2025Q2", "2025Q3", "2025Q4")
]


@pytest.mark.parametrize(
    ("as_of", "flt", "expected"),
    [
        ("2025Q4", ChannelFilter(), P1 + [
            ("P2", "Second Ltd", "Silver", "EMEA", quarter_index("2025Q2"), 70.0, 2, 2, True),
            ("P2", "Second Ltd", "Silver", "EMEA", quarter_index("2025Q3"), 0.0, 0, 2, False),
            ("P2", "Second Ltd", "Silver", "EMEA", quarter_index("2025Q4"), 30.0, 1, 2, True),
        ]),
        # Nothing after the as-of quarter is read: P2 is still Bronze.
        ("2025Q3", ChannelFilter(), P1[:3] + [
            ("P2", "Second Ltd", "Bronze", "EMEA", quarter_index("2025Q2"), 70.0, 2, 2, True),
            ("P2", "Second Ltd", "Bronze", "EMEA", quarter_index("2025Q3"), 0.0, 0, 2, False),
        ]),
        ("2025Q4", ChannelFilter(tiers=("Silver",)), [
            ("P2", "Second Ltd", "Silver", "EMEA", quarter_index("2025Q2"), 70.0, 2, 2, True),
            ("P2", "Second Ltd", "Silver", "EMEA", quarter_index("2025Q3"), 0.0, 0, 2, False),
            ("P2", "Second Ltd", "Silver", "EMEA", quarter_index("2025Q4"), 30.0, 1, 2, True),
        ]),
        ("2025Q3", ChannelFilter(tiers=("Silver",)), []),
        ("2025Q4", ChannelFilter(regions=("NA",)), P1),
    ],
    ids=["latest", "as-of-earlier", "tier-latest", "tier-not-yet", "region"],
)
def test_recruit_history_from_the_store(channel, as_of, flt, expected):
    result = recruit_history(channel, flt, as_of)
    pd.testing.assert_frame_equal(result, history_rows(*expected), check_dtype=bool(expected))


def test_recruits_page_on_the_demo_channel_shows_cohorts_and_follows_the_tier_filter(demo_db):
    at = open_page(demo_db, "views/pages/recruits.py")
    assert at.title[0].value == "Recruits and ramp"
    assert any("first stored order" in c.value for c in at.caption)
    cohorts = at.dataframe[0].value
    assert {"cohort", "recruited", "active_after_1", "three_deals_first_year"} <= set(cohorts.columns)
    # Where the data do not reach, the cell is empty, not 0 or "None": missing, shown with an empty placeholder.
    assert len(cohorts) >= 8 and pd.isna(cohorts["active_after_8"].iloc[-1]) and cohorts["active_after_1"].iloc[0] > 0
    assert at.dataframe[0].proto.placeholder == ""
    assert any(m.value.startswith("**Revenue per cohort") for m in at.markdown)  # the chart's title, as text
    (chart,) = [c for c in at.get("plotly_chart") if "Quarters since joining" in c.proto.spec]  # its x axis
    whole = int(metric(at, "Partners recruited").value.replace(",", ""))
    assert whole == int(cohorts["recruited"].sum()) > 500
    at.multiselect(key="f_tiers").set_value(["Bronze"]).run()
    assert not at.exception
    bronze = int(metric(at, "Partners recruited").value.replace(",", ""))
    assert 0 < bronze < whole
    assert int(at.dataframe[0].value["recruited"].sum()) == bronze
    # An earlier as-of quarter: no cohort after it, and the labels name it.
    at.selectbox(key="f_quarter").set_value("2025Q3").run()
    assert not at.exception
    assert at.dataframe[0].value["cohort"].max() == "2025Q3"
    assert metric(at, "Partners recruited").label.endswith("–2025Q3")


def test_recruit_headline():
    from analytics.analyses.recruits import RecruitHeadline, recruit_headline

    cohorts = pd.DataFrame({
        "cohort": ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q3"],
        "recruited": [10, 30, 5, 7, 8],
        # First year over for 2025Q1 and 2025Q2 only (as of 2026Q3): (0.5*10 + 0.2*30) / 40 = 0.275.
        "three_deals_first_year": [0.5, 0.2, np.nan, np.nan, np.nan],
    })
    assert recruit_headline(cohorts, "2026Q3") == RecruitHeadline(
        recruited=60, recruited_last_year=15, first_year_cohorts=("2025Q1", "2025Q2"),
        first_year_deals_share=pytest.approx(0.275))
    young = cohorts.assign(three_deals_first_year=np.nan)
    assert recruit_headline(young, "2026Q3").first_year_deals_share is None
    with pytest.raises(ValueError, match="recruited missing from the recruit cohorts"):
        recruit_headline(cohorts.drop(columns=["recruited"]), "2026Q3")
