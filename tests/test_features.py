"""Features and labels on hand-made histories, and no look-ahead on a real database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.ingest.load import load_extract
from analytics.model.features import (
    NotEnoughHistory,
    cutoffs,
    features_at,
    labels_at,
    load_panel,
    panel_from_frame,
)
from analytics.store.quarters import quarter_index, quarter_label

FIRST = quarter_index("2024Q1")


def panel_of(histories: dict[str, list[float]], tiers: dict[str, str] | None = None):
    """Give a panel from revenue per quarter per partner (from 2024Q1; None means no order that quarter)."""
    rows = []
    for partner, revenues in histories.items():
        for offset, revenue in enumerate(revenues):
            if revenue is not None:
                rows.append({"partner_id": partner, "q_index": FIRST + offset, "revenue": float(revenue),
                             "deals": 1, "tier": (tiers or {}).get(partner), "region": "EMEA"})
    return panel_from_frame(pd.DataFrame(rows))


def labelled(panel, cutoff: str, minimums=None, horizon=4) -> pd.DataFrame:
    features = features_at(panel, cutoff, horizon, minimums)
    return pd.concat([features, labels_at(panel, features, horizon)], axis=1).set_index("partner_id")


# Cutoff 2025Q4 is the 8th quarter; the 4 after it are 2026Q1-Q4.
CUTOFF = "2025Q4"


def test_churn_label_on_hand_made_histories():
    panel = panel_of({
        "steady": [100] * 12,
        "fades": [100] * 8 + [10] * 4,          # 40 next year against 400: below 20 %
        "stops": [100] * 8 + [None] * 4,         # nothing at all
        "boundary": [100] * 8 + [20] * 4,        # exactly 20 %: not below it
        "credits": [100] * 8 + [-50, 0, 0, 0],  # net negative: nothing
    })
    labels = labelled(panel, CUTOFF)["churn"]
    assert labels.to_dict() == {"boundary": 0, "credits": 1, "fades": 1, "steady": 0, "stops": 1}


def test_turnaround_only_for_underperformers_and_against_the_level_before_the_fall():
    panel = panel_of(
        {
            "steady": [100] * 12,
            # the same half-year a year earlier (2025Q1-Q2) was 100 a quarter; the last two are 40: down 60 %
            "recovers": [100] * 6 + [40, 40] + [100] * 4,
            "stays_down": [100] * 6 + [40, 40] + [40] * 4,
            # Gold minimum 1,000 a year; 100 a quarter is below it without any fall
            "below_minimum": [100] * 8 + [250] * 4,
            "below_minimum_stays": [100] * 8 + [249] * 4,
        },
        tiers={"below_minimum": "Gold", "below_minimum_stays": "Gold"},
    )
    frame = labelled(panel, CUTOFF, minimums={"Gold": 1000})
    assert frame["underperforming"].to_dict() == {
        "below_minimum": True, "below_minimum_stays": True, "recovers": True, "stays_down": True, "steady": False,
    }
    assert frame.loc["recovers", "yoy_change"] == pytest.approx(-0.6)
    assert frame["turnaround"].to_dict() == pytest.approx(
        {"below_minimum": 1.0, "below_minimum_stays": 0.0, "recovers": 1.0, "stays_down": 0.0, "steady": np.nan},
        nan_ok=True,
    )


def test_features_of_recent_history_and_short_tenure():
    panel = panel_of({
        "old": [100] * 5 + [None, None, 50],   # no order for two quarters, then one in the cutoff quarter
        "quiet": [100] * 5 + [30, None, None],  # last order two quarters before the cutoff
        "recruit": [None] * 6 + [10, 20],       # recruited two quarters ago
    })
    frame = features_at(panel, "2025Q4").set_index("partner_id")
    assert frame.loc["old", "quarters_since_deal"] == 0
    assert frame.loc["quiet", "quarters_since_deal"] == 2
    assert frame.loc["old", "active_quarters"] == 2
    assert frame.loc["recruit", "tenure_quarters"] == 2
    assert frame.loc["old", "tenure_quarters"] == 4  # capped: "a year or more"
    assert np.isnan(frame.loc["recruit", "yoy_change"])  # no revenue a year earlier: missing, not dropped
    assert frame.loc["old", "revenue_trailing"] == 150  # 2025Q1-Q4: 100 + nothing + nothing + 50
    assert frame.loc["old", "latest_quarter_ratio"] == pytest.approx(50 / (150 / 4))


def test_population_is_partners_with_orders_in_the_horizon():
    panel = panel_of({"active": [100] * 8, "lapsed": [100] * 3 + [None] * 5})
    assert set(features_at(panel, "2025Q4", horizon=4)["partner_id"]) == {"active"}
    assert set(features_at(panel, "2025Q4", horizon=8)["partner_id"]) == {"active", "lapsed"}


def test_cutoffs_need_history_and_an_observed_future():
    panel = panel_of({"a": [100] * 12})
    assert [quarter_label(c) for c in cutoffs(panel, 4)] == ["2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert [quarter_label(c) for c in cutoffs(panel, 4, up_to=quarter_index("2025Q2"))] == [
        "2024Q4", "2025Q1", "2025Q2"]
    with pytest.raises(NotEnoughHistory, match="no observed 4-quarter future"):
        labelled(panel, "2026Q1")


def _quarter_csv(first: str, quarters: int, partners: int, seed: int) -> str:
    """Give an extract with dates, customers, segments and products over `quarters` quarters."""
    rng = np.random.default_rng(seed)
    lines = ["partner_id,order_date,revenue,tier,region,customer_id,customer_segment,product"]
    start = quarter_index(first)
    for q in range(start, start + quarters):
        month = (q % 4) * 3 + 1
        for p in range(partners):
            if rng.random() < 0.8:
                for _ in range(rng.integers(1, 4)):
                    lines.append(
                        f"P{p},{q // 4}-{month:02d}-{rng.integers(1, 28):02d},{rng.integers(10, 500)},"
                        f"{['Gold', 'Silver'][p % 2]},EMEA,C{rng.integers(0, 6)},"
                        f"{['SMB', 'Enterprise'][rng.integers(0, 2)]},"
                        f"{['Enterprise Platform', 'Core'][rng.integers(0, 2)]}"
                    )
    return "\n".join(lines) + "\n"


def test_features_at_a_cutoff_do_not_change_when_later_quarters_arrive(store, write_file):
    load_extract(store, write_file("early.csv", _quarter_csv("2024Q1", 6, 30, seed=1)))
    panel = load_panel(store)
    early = features_at(panel, "2025Q2", 4, {"Gold": 2000})
    load_extract(store, write_file("later.csv", _quarter_csv("2025Q3", 3, 40, seed=2)))
    later_panel = load_panel(store)
    assert later_panel.last > panel.last
    pd.testing.assert_frame_equal(early, features_at(later_panel, "2025Q2", 4, {"Gold": 2000}))


def test_distinct_customers_over_the_trailing_year_count_a_customer_once(store, write_file):
    rows = ["partner_id,order_date,revenue,customer_id,product"]
    rows += [f"P1,2025-{m:02d}-05,100,C1,Core" for m in (1, 4, 7, 10)]  # one customer, four quarters
    rows += ["P1,2025-10-06,50,C2,Suite", "P1,2024-10-01,70,C3,Core"]   # C3 is outside the year to 2025Q4
    load_extract(store, write_file("p1.csv", "\n".join(rows) + "\n"))
    frame = features_at(load_panel(store), "2025Q4", 4).set_index("partner_id")
    assert frame.loc["P1", "customers_trailing"] == 2
    assert frame.loc["P1", "products_trailing"] == 2
    assert frame.loc["P1", "deals_trailing"] == 5


def test_windows_cut_short_by_the_start_of_the_data_are_missing_not_zero():
    panel = panel_of({"old": [100, 100, 100, 100, 100], "recruit": [None, 50, 60, 70, 80]})
    early = features_at(panel, "2024Q2", horizon=2).set_index("partner_id")
    # Two quarters into the data: a trailing year is not known, nor how long "old" has been a partner.
    for column in ("deals_trailing", "active_quarters", "revenue_trailing_log", "order_days_trailing"):
        assert early[column].isna().all(), column
    assert np.isnan(early.loc["old", "tenure_quarters"]) and early.loc["recruit", "tenure_quarters"] == 1
    later = features_at(panel, "2024Q4", horizon=2).set_index("partner_id")
    assert later.loc["old", "deals_trailing"] == 4 and later.loc["old", "tenure_quarters"] == 4
    assert later.loc["recruit", "tenure_quarters"] == 3


def test_order_days_recency_and_the_bgnbd_probability_from_real_lines(store, write_file):
    rows = ["partner_id,order_date,revenue"]
    rows += [f"STEADY,2025-{m:02d}-10,100" for m in range(1, 13)]          # every month, to December
    rows += [f"STEADY,2025-{m:02d}-10,40" for m in (3, 6)]                  # a second line on a day: one day
    rows += [f"GONE,2025-{m:02d}-03,100" for m in range(1, 6)]              # every month, then silence
    rows += ["ONCE,2025-11-20,500", "CREDIT,2025-02-01,100", "CREDIT,2025-12-01,-30"]
    load_extract(store, write_file("days.csv", "\n".join(rows) + "\n"))
    frame = features_at(load_panel(store), "2025Q4", 4).set_index("partner_id")
    assert frame.loc["STEADY", "order_days_trailing"] == 12 and frame.loc["GONE", "order_days_trailing"] == 5
    assert frame.loc["STEADY", "days_since_order"] == 21   # 10 December to 31 December
    assert frame.loc["GONE", "days_since_order"] == 242    # 3 May to 31 December
    assert frame.loc["CREDIT", "order_days_trailing"] == 1  # a credit is not an order
    assert frame.loc["CREDIT", "days_since_order"] == 333
    # The BG/NBD model, fitted on these partners at 2025Q4: the silent one is the likeliest to order nothing.
    p = frame["btyd_churn"]
    assert p["GONE"] > p["STEADY"] and p.between(0, 1).all()


def test_order_days_are_derived_again_when_an_older_database_is_opened(tmp_path, write_file):
    import duckdb

    from analytics.store.store import Store

    rows = ["partner_id,order_date,revenue", "A,2025-01-10,100", "A,2025-01-10,5", "A,2025-02-11,100",
            "B,2025-03-01,-20", "B,2025-03-02,50"]
    path = tmp_path / "older.duckdb"
    with Store(path) as store:
        load_extract(store, write_file("a.csv", "\n".join(rows) + "\n"))
        before = features_at(load_panel(store), "2025Q1", 1).set_index("partner_id")
    # The file as version 7 wrote it: no order-day columns yet.
    with duckdb.connect(str(path)) as con:
        for column in ("order_days", "first_day", "last_day"):
            con.execute(f"ALTER TABLE partner_quarter DROP COLUMN {column}")
        con.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    with Store(path) as store:
        after = features_at(load_panel(store), "2025Q1", 1).set_index("partner_id")
    assert after.loc["A", "order_days_total"] == 2 and after.loc["B", "order_days_total"] == 1
    pd.testing.assert_frame_equal(after, before)


def test_short_windows_give_earlier_cutoffs_whose_labels_scale_the_window_to_the_horizon():
    # One partner steady at 100 a quarter, one that falls to 10 a quarter after the first two quarters.
    rows = [{"partner_id": "steady", "q_index": quarter_index("2024Q1") + q, "revenue": 100.0} for q in range(8)]
    rows += [{"partner_id": "faller", "q_index": quarter_index("2024Q1") + q, "revenue": 100.0 if q < 2 else 10.0}
             for q in range(8)]
    panel = panel_from_frame(pd.DataFrame(rows))
    assert cutoffs(panel, 4) == [quarter_index("2024Q4")]
    assert cutoffs(panel, 4, window=1) == [quarter_index(q) for q in ("2024Q1", "2024Q2", "2024Q3", "2024Q4")]
    features = features_at(panel, "2024Q2", 4)
    assert features["window_quarters"].tolist() == [2.0, 2.0]
    labels = labels_at(panel, features, 4).set_index(features["partner_id"])
    # 200 over two quarters stands for 400 over four; 20 % of it is 80. The faller's next four quarters: 40.
    assert labels.loc["faller", "churn"] == 1 and labels.loc["steady", "churn"] == 0
