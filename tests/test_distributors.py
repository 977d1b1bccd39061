"""Distributors: tier mix per distributor and quarter, the lower-tier share and its target, the partners' health."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import charts
from analytics.analyses.distributors import (
    HEALTH_COLUMNS,
    MIX_COLUMNS,
    NO_DISTRIBUTOR,
    SHARE_COLUMNS,
    compute_distributor_health,
    distributor_health,
    distributor_partners,
    distributor_tier_mix,
    lower_tier_shares,
)
from analytics.analyses.dropoffs import partner_changes
from analytics.filters import ChannelFilter
from analytics.ingest.load import load_extract
from analytics.program.rules import PROGRAM_PATH, load_program, save_program
from analytics.store.quarters import quarter_index, quarter_range
from analytics.store.store import Store
from tests.apptest_helpers import open_page

LAST = "2025Q4"
Q = quarter_index(LAST)
nan = np.nan


def rows(pid: str, tier: str, distributor: str, quarters: list[str], revenue: float) -> list[str]:
    return [f"{pid},Name {pid},{tier},NA,{distributor},{q},{revenue}" for q in quarters]


# A steady Gold partner and a Silver one that fell 60 % at North; C a Bronze recruit of 2025Q2 at North;
# D (Authorized, South) present since the first stored quarter 2023Q4; E (Platinum, no distributor)
# lapsed after 2024; F a Gold recruit of 2025Q4 at South.
CSV = "\n".join([
    "partner_id,partner_name,tier,region,distributor,quarter,revenue",
    *rows("A", "Gold", "North", quarter_range("2023Q4", "2025Q4"), 100),
    *rows("B", "Silver", "North", quarter_range("2024Q1", "2024Q4"), 100),
    *rows("B", "Silver", "North", quarter_range("2025Q1", "2025Q4"), 40),
    *rows("C", "Bronze", "North", quarter_range("2025Q2", "2025Q4"), 50),
    *rows("D", "Authorized", "South", ["2023Q4", *quarter_range("2025Q1", "2025Q4")], 30),
    *rows("E", "Platinum", "", quarter_range("2024Q1", "2024Q4"), 500),
    *rows("F", "Gold", "South", ["2025Q4"], 80),
]) + "\n"


# Loaded into the module's store by the `channel` fixture (tests/conftest.py).
CHANNEL_CSV = CSV


def test_tier_mix_per_distributor_quarter_and_tier(channel):
    mix = distributor_tier_mix(channel, ChannelFilter(quarter=LAST))
    assert list(mix.columns) == MIX_COLUMNS
    expected = pd.DataFrame(
        [("North", LAST, "Gold", 1, 100.0), ("North", LAST, "Silver", 1, 40.0), ("North", LAST, "Bronze", 1, 50.0),
         ("South", LAST, "Gold", 1, 80.0), ("South", LAST, "Authorized", 1, 30.0)],
        columns=MIX_COLUMNS,
    )
    pd.testing.assert_frame_equal(mix[mix["quarter"] == LAST].reset_index(drop=True), expected)
    # E has no distributor: it is under NO_DISTRIBUTOR in 2024, and nothing is later than the filter's quarter.
    assert mix.loc[mix["distributor"] == NO_DISTRIBUTOR, "quarter"].tolist() == quarter_range("2024Q1", "2024Q4")
    assert distributor_tier_mix(channel, ChannelFilter(quarter="2024Q2"))["quarter"].max() == "2024Q2"


@pytest.mark.parametrize(
    ("flt", "distributors", "tiers"),
    [
        (ChannelFilter(quarter=LAST, distributors=("South",)), ["South"], ["Gold", "Authorized"]),
        (ChannelFilter(quarter=LAST, tiers=("Gold",)), ["North", "South"], ["Gold"]),
    ],
    ids=["distributor", "tier"],
)
def test_tier_mix_applies_the_filter(channel, flt, distributors, tiers):
    now = distributor_tier_mix(channel, flt).query("quarter == @LAST")
    assert sorted(now["distributor"].unique()) == distributors
    assert list(dict.fromkeys(now["tier"])) == tiers


def test_lower_tier_shares_against_a_hand_computation():
    mix = pd.DataFrame(
        [("X", "2025Q4", "Gold", 1, 100.0), ("X", "2025Q4", "Silver", 1, 30.0), ("X", "2025Q4", "Authorized", 1, 20.0),
         ("X", "2025Q4", "Unknown", 1, 70.0), ("Y", "2025Q4", "Gold", 1, -20.0), ("Y", "2025Q4", "Bronze", 1, 10.0),
         ("Z", "2025Q3", "Platinum", 2, 300.0)],
        columns=MIX_COLUMNS,
    )
    expected = pd.DataFrame(
        # Unknown tiers count in neither; a net credit leaves no share; only upper tiers is 0 %.
        [("X", "2025Q4", 100.0, 50.0, 50 / 150), ("Y", "2025Q4", -20.0, 10.0, nan), ("Z", "2025Q3", 300.0, 0.0, 0.0)],
        columns=SHARE_COLUMNS,
    )
    pd.testing.assert_frame_equal(lower_tier_shares(mix), expected)


def test_lower_tier_shares_from_the_store(channel):
    shares = lower_tier_shares(distributor_tier_mix(channel, ChannelFilter(quarter=LAST))).set_index(
        ["distributor", "quarter"])["lower_tier_share"]
    assert shares[("North", LAST)] == pytest.approx(90 / 190)
    assert shares[("South", LAST)] == pytest.approx(30 / 110)
    assert shares[("North", "2024Q1")] == pytest.approx(0.5)
    assert shares[(NO_DISTRIBUTOR, "2024Q1")] == 0.0


def test_lower_tier_shares_name_a_missing_column():
    with pytest.raises(ValueError, match="Required column.*tier"):
        lower_tier_shares(pd.DataFrame({"distributor": [], "quarter": [], "revenue": []}))


def health_row(distributor, partners, revenue, scored, at_risk, share_at_risk, drops, share_drops, lost, recruits,
               share_recruits):
    return (distributor, partners, revenue, scored, at_risk, share_at_risk, drops, share_drops, lost, recruits,
            share_recruits)


def test_health_without_stored_scores_from_the_store(channel):
    # North: A, B, C active (100*4 + 40*4 + 50*3); B fell 60 % (lost 240) of A and B with revenue before; C recruit.
    # South: D and F active; F is a recruit; D is not (present since the first stored quarter, 2023Q4).
    # No distributor: E lapsed (lost 2000), so no active partner but one drop-off.
    expected = pd.DataFrame(
        [health_row("North", 3, 710.0, nan, nan, nan, 1, 0.5, 240.0, 1, 1 / 3),
         health_row("South", 2, 200.0, nan, nan, nan, 0, nan, 0.0, 1, 0.5),
         health_row(NO_DISTRIBUTOR, 0, 0.0, nan, nan, nan, 1, 1.0, 2000.0, 0, nan)],
        columns=HEALTH_COLUMNS,
    )
    pd.testing.assert_frame_equal(distributor_health(channel, ChannelFilter(quarter=LAST)), expected)


def test_health_with_scores_counts_the_active_partners_at_or_above_the_threshold(channel):
    flt = ChannelFilter(quarter=LAST)
    scores = pd.DataFrame({"partner_id": ["A", "B", "C", "D", "E"], "churn_probability": [0.7, 0.2, 0.5, 0.1, 0.9]})
    result = compute_distributor_health(
        distributor_partners(channel, flt), partner_changes(channel, flt), scores, Q, quarter_index("2023Q4"), 0.5)
    at_risk = result.set_index("distributor")[["scored_partners", "partners_at_risk", "share_at_risk"]]
    # F has no score; E is scored but not active in the trailing year, so it counts nowhere.
    expected = pd.DataFrame(
        {"scored_partners": [3.0, 1.0, 0.0], "partners_at_risk": [2.0, 0.0, 0.0], "share_at_risk": [2 / 3, 0.0, nan]},
        index=pd.Index(["North", "South", NO_DISTRIBUTOR], name="distributor"),
    )
    pd.testing.assert_frame_equal(at_risk, expected)


@pytest.mark.parametrize(
    ("quarter", "recruits"),
    [(LAST, {"North": 1, "South": 1}), ("2024Q3", {"North": 1, NO_DISTRIBUTOR: 1})],
    # As of 2024Q3 the first stored quarter (2023Q4) is in the trailing year: A and D were there from the
    # start and may be older, so only B and E (first orders in 2024Q1) are recruits.
    ids=["latest", "first-stored-quarter-in-the-year"],
)
def test_recruits_leave_out_partners_present_since_the_first_stored_quarter(channel, quarter, recruits):
    result = distributor_health(channel, ChannelFilter(quarter=quarter)).set_index("distributor")["recruits"]
    assert result[result > 0].to_dict() == recruits


def test_health_applies_the_distributor_filter(channel):
    result = distributor_health(channel, ChannelFilter(quarter=LAST, distributors=("South",)))
    assert result["distributor"].tolist() == ["South"]
    assert result["partners"].tolist() == [2]


def test_health_refuses_a_meaningless_threshold(channel):
    flt = ChannelFilter(quarter=LAST)
    with pytest.raises(ValueError, match="threshold must be"):
        compute_distributor_health(distributor_partners(channel, flt), partner_changes(channel, flt),
                                   pd.DataFrame(), Q, 0, threshold=0)


def test_an_empty_store_gives_typed_empty_frames(store):
    assert distributor_tier_mix(store, ChannelFilter()).empty
    assert list(distributor_health(store, ChannelFilter()).columns) == HEALTH_COLUMNS


# -- the program's target ---------------------------------------------------------------------


def program_with(tmp_path: Path, extra: str) -> Path:
    text = PROGRAM_PATH.read_text()
    start = text.index("[distributors]")
    end = text.index("\n\n", start)
    path = tmp_path / "program.toml"
    path.write_text(text[:start] + extra + text[end:])
    return path


def test_the_shipped_program_sets_the_target():
    assert load_program().target_lower_tier_share == 0.5


@pytest.mark.parametrize(
    ("extra", "target"),
    [("[distributors]\ntarget_lower_tier_share = 0.65", 0.65), ("", 0.5), ("[distributors]", 0.5)],
    ids=["set", "no-table", "empty-table"],
)
def test_the_target_is_read_with_a_default(tmp_path, extra, target):
    assert load_program(program_with(tmp_path, extra)).target_lower_tier_share == target


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[distributors]\ntarget_lower_tier_share = 1.5", "target_lower_tier_share is a share between 0 and 1"),
        ("[distributors]\ntarget_lower_tier_share = 'half'", "distributors.target_lower_tier_share must be a number"),
        ("distributors = 3", r"\[distributors\] must be a table"),
    ],
    ids=["above-one", "text", "not-a-table"],
)
def test_a_bad_target_names_the_file_and_the_key(tmp_path, extra, message):
    path = program_with(tmp_path, extra)
    with pytest.raises(ValueError, match=message) as caught:
        load_program(path)
    assert str(path) in str(caught.value)


def test_saving_the_program_keeps_the_target(tmp_path):
    path = program_with(tmp_path, "[distributors]\ntarget_lower_tier_share = 0.4")
    save_program(load_program(path), path)
    assert load_program(path).target_lower_tier_share == 0.4


# -- charts -----------------------------------------------------------------------------------


def test_tier_bars_stack_the_tiers_of_the_quarter_per_distributor(channel):
    mix = distributor_tier_mix(channel, ChannelFilter(quarter=LAST))
    fig = charts.distributor_tier_bars(mix, LAST)
    assert [t.name for t in fig.data] == ["Gold", "Silver", "Bronze", "Authorized"]
    gold = fig.data[0]
    assert list(gold.x) == ["North", "South"] and list(gold.y) == [100.0, 80.0]
    assert LAST in fig.layout.title.text
    partners = charts.distributor_tier_bars(mix, LAST, "partners")
    assert list(partners.data[0].y) == [1, 1]
    with pytest.raises(ValueError, match="measure must be"):
        charts.distributor_tier_bars(mix, LAST, "deals")


def test_share_lines_draw_the_target_and_show_names_as_written():
    shares = pd.DataFrame(
        [("<b>Bold</b> Dist", "2025Q3", 10.0, 10.0, 0.5), ("<b>Bold</b> Dist", "2025Q4", 10.0, 30.0, 0.75)],
        columns=SHARE_COLUMNS,
    )
    fig = charts.lower_tier_share_lines(shares, 0.6)
    assert fig.data[0].name == "&lt;b&gt;Bold&lt;/b&gt; Dist"
    assert list(fig.data[0].y) == [50.0, 75.0]
    assert [s.y0 for s in fig.layout.shapes] == [60.0]
    assert "Program target 60%" in fig.layout.annotations[0].text


# -- the page ---------------------------------------------------------------------------------


def test_distributors_page_on_the_demo_with_the_distributor_filter(demo_db):
    at = open_page(demo_db, "views/pages/distributors.py")
    assert at.title[0].value == "Distributors"
    assert not at.error
    health = at.dataframe[1].value
    assert len(health) > 1 and health["share_at_risk"].notna().all()  # the demo stores scores
    assert any("program's target is 50%" in c.value for c in at.caption)

    at.multiselect(key="f_distributors").set_value(["Northbridge Distribution"]).run()
    assert not at.exception, at.exception
    assert at.dataframe[1].value["distributor"].tolist() == ["Northbridge Distribution"]
    assert set(at.dataframe[0].value["distributor"]) == {"Northbridge Distribution"}
    assert any("Northbridge Distribution" in c.value for c in at.caption)


def test_review_page_narrows_to_the_sidebar_distributor(demo_db):
    def reviewed(at) -> int:
        return sum(int(m.value.replace(",", "")) for m in at.metric if m.help.startswith("Review "))

    at = open_page(demo_db, "views/pages/review.py")
    everyone = reviewed(at)
    at.multiselect(key="f_distributors").set_value(["Northbridge Distribution"]).run()
    assert not at.exception, at.exception
    quarter = at.selectbox(key="f_quarter").value
    import streamlit as st

    st.cache_resource.clear()  # the app's cached connection must not hold the file for this one
    with Store(demo_db) as store:
        theirs = set(distributor_partners(
            store, ChannelFilter(quarter=quarter, distributors=("Northbridge Distribution",)))["partner_id"])
    assert 0 < reviewed(at) < everyone
    assert reviewed(at) <= len(theirs)
    assert any("Northbridge Distribution" in c.value for c in at.caption)


def test_distributors_page_without_stored_scores_says_so_and_shows_the_rest(tmp_path):
    (tmp_path / "channel.csv").write_text(CSV)
    with Store(tmp_path / "channel.duckdb") as store:
        load_extract(store, tmp_path / "channel.csv")  # a load alone stores no scores
    at = open_page(tmp_path / "channel.duckdb", "views/pages/distributors.py")
    assert any("No scores are stored for this data yet" in i.value for i in at.info)
    health = at.dataframe[1].value
    assert health["distributor"].tolist() == ["North", "South", NO_DISTRIBUTOR]
    assert health["share_at_risk"].isna().all() and health["recruits"].tolist() == [1, 1, 0]
    assert any("risk columns are empty" in c.value for c in at.caption)


def test_distributors_below_target_in_the_quarter():
    from analytics.analyses.distributors import distributors_below_target

    shares = pd.DataFrame({
        "distributor": ["Arrow", "Arrow", "Ingram", "TD", "Direct"],
        "quarter": ["2026Q2", "2026Q3", "2026Q3", "2026Q3", "2026Q3"],
        # Arrow was below in 2026Q2 only; Direct sold through neither group of tiers (NaN): counted, not below.
        "lower_tier_share": [0.10, 0.30, 0.29, 0.50, np.nan],
    })
    assert distributors_below_target(shares, "2026Q3", 0.30) == (1, 4)
    assert distributors_below_target(shares, "2026Q2", 0.30) == (1, 1)
    assert distributors_below_target(shares, "2025Q1", 0.30) == (0, 0)
    with pytest.raises(ValueError, match="lower_tier_share missing from the lower-tier shares"):
        distributors_below_target(shares.drop(columns=["lower_tier_share"]), "2026Q3", 0.3)
