"""Account retention per partner: customers of the year before who bought again; the partners losing them fastest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import charts
from analytics.analyses.retention import (
    RETENTION_COLUMNS,
    account_retention,
    compute_retention,
    kept_text,
    losing_accounts,
    retention_periods,
)
from analytics.filters import ChannelFilter
from analytics.store.store import Store
from tests.apptest_helpers import metric, open_page

LAST = "2025Q4"


def lines(pid: str, region: str, year: int, customers: list[str], revenue: float = 100,
          segment: str = "SMB") -> list[str]:
    return [f"{pid},Name {pid},Gold,{region},{c},{segment},{year}-0{1 + i % 9}-15,{revenue}"
            for i, c in enumerate(customers)]


# R kept 2 of its 4 customers of 2024 (c9 is new, c7 bought only in 2023, before the year before).
# S's lines carry no customer id: no figure. T's c2 only returned goods in 2024 and its c1 only a credit
# in 2025: 0 of 1. U kept 4 of 5 (in EMEA), V 1 of 6; the same id at two partners is two accounts.
CSV = "\n".join([
    "partner_id,partner_name,tier,region,customer_id,customer_segment,order_date,revenue",
    *lines("R", "NA", 2023, ["c7"]),
    *lines("R", "NA", 2024, ["c1", "c2", "c3", "c4", "c1"]),
    *lines("R", "NA", 2025, ["c1", "c2", "c9"]),
    *lines("S", "NA", 2024, ["", ""]),
    *lines("S", "NA", 2025, [""]),
    *lines("T", "NA", 2024, ["c1"]),
    *lines("T", "NA", 2024, ["c2"], revenue=-10),
    *lines("T", "NA", 2025, ["c1"], revenue=-5),
    *lines("U", "EMEA", 2024, ["u1", "u2", "u3", "u4", "u5"], segment="Enterprise"),
    *lines("U", "EMEA", 2025, ["u1", "u2", "u3", "u4"], segment="Enterprise"),
    *lines("V", "NA", 2024, ["v1", "v2", "v3", "v4", "v5", "v6"]),
    *lines("V", "NA", 2025, ["v1", "c1"]),
]) + "\n"


# Loaded into the module's store by the `channel` fixture (tests/conftest.py).
CHANNEL_CSV = CSV


def expected(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["partner_id", "region", "customers_before", "customers_kept"])
    frame.insert(1, "partner_name", "Name " + frame["partner_id"])
    frame.insert(2, "tier", "Gold")
    frame["customers_lost"] = frame["customers_before"] - frame["customers_kept"]
    frame["retention"] = frame["customers_kept"] / frame["customers_before"]
    return frame[RETENTION_COLUMNS]


def test_account_retention_against_a_hand_computation(channel):
    result = account_retention(channel, ChannelFilter(quarter=LAST))
    pd.testing.assert_frame_equal(
        result, expected([("R", "NA", 4, 2), ("T", "NA", 1, 0), ("U", "EMEA", 5, 4), ("V", "NA", 6, 1)]))
    assert "S" not in result["partner_id"].tolist()  # no customer ids: no figure, not 0 %


@pytest.mark.parametrize(
    ("flt", "partners"),
    [
        (ChannelFilter(quarter=LAST, regions=("EMEA",)), ["U"]),
        (ChannelFilter(quarter=LAST, segments=("SMB",)), ["R", "T", "V"]),
        (ChannelFilter(quarter=LAST, tiers=("Silver",)), []),
    ],
    ids=["region", "segment", "nobody"],
)
def test_account_retention_applies_the_filter(channel, flt, partners):
    assert account_retention(channel, flt)["partner_id"].tolist() == partners


def test_account_retention_defaults_to_the_latest_quarter_and_moves_with_it(channel):
    assert account_retention(channel, ChannelFilter())["partner_id"].tolist() == ["R", "T", "U", "V"]
    # As of 2024Q4 the year before is 2023: only R's c7, who did not buy in 2024.
    pd.testing.assert_frame_equal(account_retention(channel, ChannelFilter(), "2024Q4"), expected([("R", "NA", 1, 0)]))


def test_an_empty_store_gives_an_empty_table(store):
    result = account_retention(store, ChannelFilter())
    assert result.empty and list(result.columns) == RETENTION_COLUMNS


def test_compute_retention_leaves_no_figure_without_customers_before():
    counts = pd.DataFrame({"partner_id": ["X"], "partner_name": ["X"], "tier": ["Gold"], "region": ["NA"],
                           "customers_before": [0], "customers_kept": [0]})
    assert np.isnan(compute_retention(counts)["retention"].iloc[0])


def test_compute_retention_names_a_missing_column():
    with pytest.raises(ValueError, match="Required column.*customers_kept"):
        compute_retention(pd.DataFrame({"partner_id": [], "partner_name": [], "tier": [], "region": [],
                                        "customers_before": []}))


@pytest.mark.parametrize(
    ("min_customers", "partners"),
    [(5, ["V", "U"]), (1, ["T", "V", "R", "U"]), (6, ["V"]), (7, [])],
    ids=["five", "one", "six", "seven"],
)
def test_losing_accounts_lowest_retention_first(channel, min_customers, partners):
    table = account_retention(channel, ChannelFilter(quarter=LAST))
    assert losing_accounts(table, min_customers)["partner_id"].tolist() == partners


@pytest.mark.parametrize("min_customers", [0, 2.5, True], ids=["zero", "fraction", "bool"])
def test_losing_accounts_refuse_a_bad_minimum(channel, min_customers):
    with pytest.raises(ValueError, match="min_customers must be a whole number"):
        losing_accounts(account_retention(channel, ChannelFilter(quarter=LAST)), min_customers)


@pytest.mark.parametrize(
    ("kept", "before", "text"),
    [(7, 10, "7 of 10 (70 %)"), (1234, 2000, "1,234 of 2,000 (62 %)"), (0, 0, "n/a")],
    ids=["plain", "thousands", "none-before"],
)
def test_kept_text(kept, before, text):
    assert kept_text(kept, before) == text


def test_retention_periods():
    assert retention_periods("2025Q2") == ("2023Q3–2024Q2", "2024Q3–2025Q2")


def test_retention_histogram_counts_partners_per_tenth(channel):
    table = account_retention(channel, ChannelFilter(quarter=LAST))
    fig = charts.retention_histogram(table, *retention_periods(LAST))
    counts = dict(zip(fig.data[0].x, fig.data[0].y, strict=True))
    # T 0 %, V 17 %, R 50 %, U 80 %.
    assert counts == {f"{10 * i}–{10 * i + 10} %": n for i, n in enumerate([1, 1, 0, 0, 0, 1, 0, 0, 1, 0])}
    assert "2024Q1–2024Q4" in fig.layout.title.text and "4 partners" in fig.layout.title.text
    only_large = charts.retention_histogram(table, *retention_periods(LAST), min_customers=5)
    assert sum(only_large.data[0].y) == 2


# -- pages ------------------------------------------------------------------------------------


def direct_retention(db, partner_id: str | None, quarter: str) -> tuple[int, int]:
    """Give (kept, before) straight from the order lines, for one partner or summed over all."""
    import streamlit as st

    st.cache_resource.clear()  # the app's cached connection must not hold the file for this one
    with Store(db) as store:
        table = account_retention(store, ChannelFilter(quarter=quarter))
    if partner_id is not None:
        table = table[table["partner_id"] == partner_id]
    return int(table["customers_kept"].sum()), int(table["customers_before"].sum())


def test_engagement_page_shows_retention_and_the_partners_losing_accounts(demo_db):
    at = open_page(demo_db, "views/pages/engagement.py")
    quarter = at.selectbox(key="f_quarter").value
    shown = metric(at, "Customers kept from the year before")
    assert shown.value == kept_text(*direct_retention(demo_db, None, quarter))
    assert any("Partners losing accounts fastest" in m.value for m in at.markdown)
    losing = [d.value for d in at.dataframe if "retention" in d.value.columns][0]
    assert (losing["customers_before"] >= 5).all() and losing["retention"].is_monotonic_increasing


def test_partner_page_shows_the_customers_kept(demo_db):
    at = open_page(demo_db, "views/pages/partner.py", partner_id="P000002")
    quarter = at.selectbox(key="f_quarter").value
    before, after = retention_periods(quarter)
    shown = metric(at, "Customers kept from the year before")
    assert before in shown.help and after in shown.help
    assert shown.value == kept_text(*direct_retention(demo_db, "P000002", quarter))
    assert " of " in shown.value
