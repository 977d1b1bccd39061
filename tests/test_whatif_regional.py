"""The what-if on a program of the person's choice (issue 28): a regional program's terms changed on their own, in
its currency, moving only its partners; a regional reviewer offered only the programs of their regions.

Engine tests use the hand-made channel of tests/test_regions.py (as of 2026Q2, AUD at 0.5 USD): AU1 (ANZ) holds
A$320,000 in the review year against the ANZ Silver minimum of A$300,000; US1 (NA) holds $160,000 under the global
program. The page tests use the small demo with APAC under the product's ANZ program (tests/test_regions_pages.py).
"""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal as ml
from analytics.ingest.load import load_extract
from analytics.program.regional_programs import GLOBAL, load_programs
from analytics.review.decisions import select_partners
from analytics.review.regional import regional_recommendations
from analytics.review.whatif import parse_money, partners_who_move, rule_changes
from analytics.store.store import Store
from tests.apptest_helpers import run_verified as run_as
from tests.regional_channel import APAC_REVIEWER as SCOPED
from tests.regional_channel import AS_OF, PROGRAM
from tests.regional_channel import GLOBAL_CHIEF as CHIEF
from tests.regional_channel import aud_rates as _rates
from tests.regional_channel import regional_lines as _lines


@pytest.fixture
def programs(tmp_path):
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM)
    return load_programs(path)


@pytest.fixture
def store(tmp_path, write_file):
    with Store(tmp_path / "regions.duckdb") as opened:
        load_extract(opened, write_file("regions.csv", _lines()))
        _rates(opened)
        yield opened


def test_with_program_rules_changes_that_program_only(programs):
    stricter = programs.named("ANZ").rules.with_minimums({"Silver": 350_000})
    changed = programs.with_program_rules("ANZ", stricter)
    assert changed.named("ANZ").rules.tiers[1].min_revenue == 350_000
    assert changed.global_rules == programs.global_rules
    assert changed.named("ANZ").currency == "AUD" and changed.named("ANZ").regions == ("ANZ",)
    assert programs.with_program_rules(GLOBAL, stricter) == programs.with_global_rules(stricter)
    with pytest.raises(ValueError, match="No program named 'EMEA'; the program file has Global, ANZ"):
        programs.with_program_rules("EMEA", stricter)


@pytest.mark.parametrize(("scope", "names"), [((), ["Global", "ANZ"]), (("ANZ",), ["ANZ"]),
                                              (("NA", "APAC"), ["Global"]), (("ANZ", "NA"), ["Global", "ANZ"])],
                         ids=["everyone", "anz", "global-regions", "both"])
def test_a_scope_is_offered_the_programs_of_its_regions(programs, scope, names):
    assert [p.name for p in programs.programs_of(scope)] == names


@pytest.mark.parametrize(("text", "amount"), [("A$975,000", 975_000), ("AUD 975000", 975_000), ("975k AUD", 975_000),
                                              ("a$1.5m", 1_500_000), ("650k", 650_000)],
                         ids=["sign", "code-first", "code-last", "lower", "bare"])
def test_an_amount_in_a_programs_currency_is_read(text, amount):
    assert parse_money(text, "Gold minimum revenue", "AUD") == amount


def test_an_amount_in_another_currency_is_named_with_an_example_in_the_programs():
    with pytest.raises(ValueError, match=r"Gold minimum revenue: 'NZ\$5' is not an amount .* \(like A\$650,000 or 65"):
        parse_money("NZ$5", "Gold minimum revenue", "AUD")


def test_rule_changes_are_in_the_programs_currency(programs):
    anz = programs.named("ANZ").rules
    assert rule_changes(anz, anz.with_minimums({"Silver": 350_000}), "AUD") == [
        "Silver minimum revenue A$300,000 → A$350,000"]


def test_a_what_if_on_anz_moves_only_anz_partners(store, programs):
    anz = programs.named("ANZ").rules
    flt = ChannelFilter(AS_OF)
    before = select_partners(regional_recommendations(store, AS_OF, programs), flt)
    # A$350,000 for Silver: AU1's A$320,000 no longer holds it. Global Silver stays at $200,000, so US1 is unmoved.
    what_if = programs.with_program_rules("ANZ", anz.with_minimums({"Silver": 350_000}))
    after = select_partners(regional_recommendations(store, AS_OF, what_if), flt)
    moved = partners_who_move(before, after)
    assert moved["partner_id"].tolist() == ["AU1"]
    assert moved.loc[0, "program_says"] == "retain" and moved.loc[0, "what_if_says"].startswith("demote")
    # The same minimum on the global program moves no ANZ partner.
    global_only = programs.with_global_rules(programs.global_rules.with_minimums({"Silver": 350_000}))
    moved_global = partners_who_move(before, select_partners(regional_recommendations(store, AS_OF, global_only), flt))
    assert "AU1" not in set(moved_global["partner_id"]) and "MV1" not in set(moved_global["partner_id"])


# -- the page ------------------------------------------------------------------------------------------------------

def _moved(at) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if "program_says" in d.value.columns]
    assert found, "no table of partners who would move"
    return found[0]


def test_the_chief_picks_the_anz_program_and_its_minimums_show_and_move_in_aud(apac_db):  # noqa: F811 (the fixture imported above)
    at = run_as(apac_db, CHIEF, "views/pages/review.py")
    picker = at.selectbox(key="whatif_program")
    assert list(picker.options) == ["Global (in USD)", "ANZ: APAC (in AUD)"] and picker.value == "Global"
    assert at.text_input(key="whatif_min_Gold").value == "$650,000"
    picker.select("ANZ").run()
    assert not at.exception, at.exception
    assert at.text_input(key="whatif_min_Gold").value == "A$975,000"
    assert at.text_input(key="whatif_min_Gold").label == "Gold minimum revenue, 4 quarters (AUD)"
    assert "Authorised" in [w.key.removeprefix("whatif_min_") for w in at.text_input if w.key.startswith("whatif_min_")]
    at.text_input(key="whatif_min_Gold").input("1.2m").run()
    assert not at.exception, at.exception
    assert at.text_input(key="whatif_min_Gold").value == "A$1,200,000"  # shown in the program's money once typed
    shown = _moved(at)
    programs = load_programs()
    with Store(apac_db) as store:
        q = store.query_df("SELECT max(quarter) AS q FROM partner_quarter")["q"].iloc[0]
        flt = ChannelFilter(quarter=q)
        before = regional_recommendations(store, q, programs)
        what_if = programs.with_program_rules("ANZ", programs.named("ANZ").rules.with_minimums({"Gold": 1_200_000}))
        expected = partners_who_move(select_partners(before, flt),
                                     select_partners(regional_recommendations(store, q, what_if), flt))
    assert not expected.empty
    assert sorted(shown["partner_id"]) == sorted(expected["partner_id"])
    apac = set(before.loc[before["program"] == "ANZ", "partner_id"])
    assert set(shown["partner_id"]) <= apac  # only the ANZ program's partners move
    # Used for the review: the note names the program and the change in AUD.
    at.button(key="whatif_apply").click().run()
    assert not at.exception, at.exception
    note = ml("the ANZ program's Gold minimum revenue A$975,000 → A$1,200,000")
    assert any(note in w.value for w in at.warning), [w.value for w in at.warning]


def test_a_regional_reviewer_is_offered_only_the_program_of_their_region(apac_db):  # noqa: F811 (the fixture imported above)
    at = run_as(apac_db, SCOPED, "views/pages/review.py")
    picker = at.selectbox(key="whatif_program")
    assert list(picker.options) == ["ANZ: APAC (in AUD)"] and picker.value == "ANZ"
    assert at.text_input(key="whatif_min_Silver").value == "A$300,000"


def test_a_rules_file_saved_from_an_anz_what_if_changes_anz_only(programs, tmp_path):
    from analytics.program.regional_programs import regional_toml
    from analytics.program.rules import save_program_as

    changed = programs.with_program_rules("ANZ", programs.named("ANZ").rules.with_minimums({"Gold": 1_200_000}))
    path, version = save_program_as(changed.global_rules, "anz-strict", tmp_path / "rules",
                                    based_on="the what-if, program ANZ", regional=regional_toml(changed))
    saved = load_programs(path)
    assert version == 1
    assert saved.named("ANZ").rules.tiers[0].min_revenue == 1_200_000 and saved.named("ANZ").currency == "AUD"
    assert [t.min_revenue for t in saved.global_rules.tiers] == [t.min_revenue for t in programs.global_rules.tiers]
