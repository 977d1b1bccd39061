"""Programs per region and regional scopes (issue 28): the program file, each partner judged under its own program
in its currency, a region's review, the scope every query takes, and who may decide for whom.

The hand-made channel (as of 2026Q2; AUD at 0.5 USD in every quarter, so AUD amounts are twice the dollars):
- AU1 (ANZ, AU), Silver: $40,000 a quarter, $160,000 in the review year = A$320,000, which meets the ANZ
  program's Silver (A$300,000): retained. Under the global program $160,000 is short of Silver ($200,000).
- US1 (NA, US), Silver: the same dollars under the global program: demoted (meets Bronze's $60,000).
- MV1, Gold: APAC (JP) to 2025Q4, ANZ (AU) from 2026Q1: judged under ANZ, and its reasons say it moved.
- JP1 (APAC, JP), Bronze: $20,000 a quarter under the global program: retained.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from analytics.access import AccessDenied, Actor, check_scope, load_roles
from analytics.cli import main
from analytics.filters import ChannelFilter
from analytics.ingest.load import load_extract
from analytics.program.regional_programs import GLOBAL, load_programs
from analytics.program.rules import PROGRAM_PATH, load_program
from analytics.review.decisions import review_decisions
from analytics.review.regional import (
    MissingRates,
    currency_rates,
    decisions_by_region,
    money_in,
    regional_progress,
    regional_recommendations,
    rollup_by_region_tier,
)
from analytics.review.saved_reviews import save_review
from analytics.store.store import Store
from tests.regional_channel import AS_OF, PROGRAM, QUARTERS
from tests.regional_channel import aud_rates as _rates
from tests.regional_channel import regional_lines as _lines


@pytest.fixture
def program_file(tmp_path: Path) -> Path:
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM)
    return path


@pytest.fixture
def regions_store(tmp_path: Path, write_file):
    with Store(tmp_path / "regions.duckdb") as store:
        load_extract(store, write_file("regions.csv", _lines()))
        _rates(store)
        yield store


# -- the program file ----------------------------------------------------------------------------------------------
def test_the_product_program_file_has_the_global_program_and_anz_in_aud():
    programs = load_programs(PROGRAM_PATH)
    assert programs.reporting_currency == "USD"
    assert programs.global_rules == load_program(PROGRAM_PATH)  # today's callers read the same global rules
    anz = programs.named("ANZ")
    assert anz.currency == "AUD" and anz.regions == ("ANZ",)
    assert anz.rules.tier_names == ("Platinum", "Gold", "Silver", "Authorised")
    assert anz.global_tier("Authorised") == programs.global_rules.tier_names[-1]  # the entry level
    # About one and a half times the global dollars, tier by tier.
    for tier in ("Platinum", "Gold", "Silver"):
        ratio = anz.rules.minimum_revenue()[tier] / programs.global_rules.minimum_revenue()[tier]
        assert ratio == pytest.approx(1.5)
    assert anz.rules.incentive_plans[0].segments == ("SMB",)  # its SMB focus
    assert programs.program_for("EMEA").name == GLOBAL


def test_a_country_program_wins_over_the_region_and_an_unknown_region_is_global(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(PROGRAM.replace('regions = ["ANZ"]', 'regions = ["ANZ"]\ncountries = ["NZ"]')
                    + '\n[programs.AUonly]\ncountries = ["AU"]\ncurrency = "AUD"\n[programs.AUonly.tier_levels]\n'
                      'Only = "Bronze"\n[programs.AUonly.tiers.Only]\nmin_revenue = 1\nmin_deals = 1\n'
                      'min_customers = 1\n')
    programs = load_programs(path)
    assert programs.program_for("APAC", "AU").name == "AUonly"
    assert programs.program_for("ANZ", "AU").name == "AUonly"  # the country is the narrower choice
    assert programs.program_for("APAC", "NZ").name == "ANZ"
    assert programs.program_for("ANZ", None).name == "ANZ"
    assert programs.program_for("Mars", "XX").name == GLOBAL


@pytest.mark.parametrize(("change", "message"), [
    (('Authorised = "Authorized"\n', ""), r"programs\.ANZ\.tier_levels lacks Authorised"),
    (('Authorised = "Authorized"', 'Authorised = "Copper"'), r"tier_levels: Authorised = 'Copper' is no global tier"),
    (('currency = "AUD"', 'currency = "dollars"'), r"programs\.ANZ\.currency must be an ISO 4217 code"),
    (('regions = ["ANZ"]', 'regions = []'), r"programs\.ANZ applies to nothing"),
    (('[programs.ANZ.tiers.Silver]\nmin_revenue = 300_000', '[programs.ANZ.tiers.Silver]\nmin_revenue = 3_000_000'),
     r"programs\.ANZ: .*must fall from the highest tier"),
], ids=["level-missing", "level-unknown", "currency", "applies-to-nothing", "minimums-order"])
def test_a_bad_regional_program_is_refused_naming_the_file_and_the_key(tmp_path, change, message):
    path = tmp_path / "bad.toml"
    path.write_text(PROGRAM.replace(*change))
    with pytest.raises(ValueError, match=message) as raised:
        load_programs(path)
    assert str(path) in str(raised.value)


def test_a_region_under_two_programs_is_refused(tmp_path):
    path = tmp_path / "twice.toml"
    path.write_text(PROGRAM + '\n[programs.Other]\nregions = ["ANZ"]\n[programs.Other.tier_levels]\nA = "Gold"\n'
                              '[programs.Other.tiers.A]\nmin_revenue = 1\nmin_deals = 1\nmin_customers = 1\n')
    with pytest.raises(ValueError, match=r"programs\.Other: region 'ANZ' is already under programs\.ANZ"):
        load_programs(path)


# -- currency -----------------------------------------------------------------------------------------------------
def test_a_quarter_without_a_rate_is_named_never_taken_as_dollars(tmp_path, write_file, program_file):
    with Store(tmp_path / "gap.duckdb") as store:
        load_extract(store, write_file("r.csv", _lines()))
        _rates(store, [q for q in QUARTERS if q != "2026Q1"])
        with pytest.raises(MissingRates, match=r"No AUD exchange rate for 2026Q1 in exchange_rates"):
            regional_recommendations(store, AS_OF, load_programs(program_file))
        assert currency_rates(store, "USD", ["2026Q1"]) == {"2026Q1": 1.0}


def test_no_rates_at_all_names_every_quarter(tmp_path, write_file, program_file):
    with Store(tmp_path / "norates.duckdb") as store:
        load_extract(store, write_file("r.csv", _lines()))
        with pytest.raises(MissingRates, match=r"No AUD exchange rate for .*2026Q1.* load those rates first"):
            regional_recommendations(store, AS_OF, load_programs(program_file))


@pytest.mark.parametrize(("value", "currency", "text"), [
    (320_000, "AUD", "A$320.00k"), (320_000, "USD", "$320.00k"), (1_500, "INR", "1.50k INR"), (None, "AUD", "n/a"),
], ids=["aud", "usd", "no-symbol", "missing"])
def test_money_in_a_currency(value, currency, text):
    assert money_in(value, currency) == text


# -- each partner under its program -------------------------------------------------------------------------------
def test_each_partner_is_judged_under_its_own_program_in_its_currency(regions_store, program_file):
    recs = regional_recommendations(regions_store, AS_OF, load_programs(program_file)).set_index("partner_id")
    assert recs.loc["AU1", "program"] == "ANZ" and recs.loc["AU1", "currency"] == "AUD"
    assert recs.loc["AU1", "revenue_trailing"] == pytest.approx(160_000)  # the reporting currency, as stored
    assert recs.loc["AU1", "revenue_program"] == pytest.approx(320_000)  # / 0.5, quarter by quarter
    assert recs.loc["AU1", "recommendation"] == "retain"
    assert "revenue A$320.00k meets Silver's minimum A$300.00k" in recs.loc["AU1", "reasons"]
    # The same dollars under the global program fall short of its Silver.
    assert recs.loc["US1", ["program", "currency", "recommendation"]].tolist() == [GLOBAL, "USD", "demote"]
    assert "revenue $160.00k < $200.00k" in recs.loc["US1", "reasons"]
    assert recs.loc["JP1", "program"] == GLOBAL and recs.loc["JP1", "recommendation"] == "retain"


def test_a_partner_that_moved_region_is_judged_under_its_new_program_and_its_reasons_say_so(regions_store,
                                                                                              program_file):
    recs = regional_recommendations(regions_store, AS_OF, load_programs(program_file)).set_index("partner_id")
    assert recs.loc["MV1", ["region", "program", "moved_from", "moved_in"]].tolist() == ["ANZ", "ANZ", "APAC", "2026Q1"]
    assert recs.loc["MV1", "reasons"].startswith("moved from region APAC to ANZ in 2026Q1: judged under the ANZ "
                                                 "program; ")
    assert recs.loc["AU1", "moved_from"] is None


def test_a_scope_keeps_only_its_regions_partners(regions_store, program_file):
    recs = regional_recommendations(regions_store, AS_OF, load_programs(program_file), scope=("ANZ",))
    assert sorted(recs["partner_id"]) == ["AU1", "MV1"]
    assert review_decisions(recs, ChannelFilter(AS_OF, scope=("APAC",)), {}).empty  # a scope never widens


def test_the_rollup_counts_every_region_on_the_global_ladder(regions_store, tmp_path):
    # AU1 recorded as ANZ "Authorised": it counts at the global entry level, Authorized.
    path = tmp_path / "p.toml"
    path.write_text(PROGRAM)
    recs = regional_recommendations(regions_store, AS_OF, load_programs(path))
    recs.loc[recs["partner_id"] == "AU1", "tier_level"] = load_programs(path).named("ANZ").global_tier("Authorised")
    rollup = rollup_by_region_tier(recs)
    expected = pd.DataFrame({"region": ["ANZ", "ANZ", "APAC", "NA"], "tier_level": ["Authorized", "Gold", "Bronze",
                                                                                     "Silver"],
                             "partners": [1, 1, 1, 1], "revenue_trailing": [160_000.0, 40_000.0, 80_000.0, 160_000.0]})
    pd.testing.assert_frame_equal(rollup, expected, check_dtype=False)
    by_region = decisions_by_region(recs, "recommendation").set_index("region")
    # MV1's A$80,000 (Gold's minimum is A$975,000) meets only Authorised: demoted.
    assert by_region.loc["ANZ", ["retain", "demote"]].tolist() == [1, 1] and by_region.loc["NA", "demote"] == 1
    assert by_region["partners"].sum() == 4


# -- who decides for whom -----------------------------------------------------------------------------------------
def test_a_regional_reviewer_cannot_record_another_regions_decisions(regions_store, program_file):
    anz = Actor("anz@example.com", "reviewer", ("ANZ",))
    recs = regional_recommendations(regions_store, AS_OF, load_programs(program_file))
    everyone = review_decisions(recs, ChannelFilter(AS_OF), {})
    with pytest.raises(AccessDenied, match=r"anz@example.com reviews ANZ only; partners of APAC, NA are not theirs"):
        save_review(regions_store, "FY2026", AS_OF, load_programs(program_file).global_rules, everyone, actor=anz)
    assert regions_store.query_df("SELECT count(*) AS n FROM review_decisions").iloc[0]["n"] == 0
    mine = review_decisions(recs, ChannelFilter(AS_OF, scope=anz.regions), {})
    saved = save_review(regions_store, "FY2026", AS_OF, load_programs(program_file).global_rules, mine, actor=anz)
    assert saved["added"] == 2
    check_scope(Actor("chief@example.com", "reviewer"), ["NA", "ANZ"])  # the unscoped chief decides for all


def test_the_chief_sees_each_regions_progress(regions_store, program_file):
    recs = regional_recommendations(regions_store, AS_OF, load_programs(program_file))
    anz = Actor("anz@example.com", "reviewer", ("ANZ",))
    save_review(regions_store, "FY2026", AS_OF, load_programs(program_file).global_rules,
                review_decisions(recs, ChannelFilter(AS_OF, scope=("ANZ",)), {}), actor=anz)
    progress = regional_progress(regions_store, "FY2026", recs).set_index("region")
    assert progress.loc["ANZ", ["partners", "decided", "left", "last_saved_by"]].tolist() == [2, 2, 0,
                                                                                            "anz@example.com"]
    assert progress.loc["NA", ["partners", "decided", "left"]].tolist() == [1, 0, 1]
    assert pd.isna(progress.loc["NA", "last_saved_at"])
    assert progress.loc["ANZ", "program"] == "ANZ" and progress.loc["ANZ", "currency"] == "AUD"


def test_roles_scope_a_person_or_a_domain_to_regions(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text('[people]\n"anz@example.com" = { role = "reviewer", regions = ["ANZ"] }\n'
                    '"chief@example.com" = "reviewer"\n[domains]\n"emea.example.com" = { role = "viewer", '
                    'regions = ["EMEA"] }\n')
    roles = load_roles(path)
    assert (roles.role_of("ANZ@example.com"), roles.regions_of("ANZ@example.com")) == ("reviewer", ("ANZ",))
    assert roles.regions_of("chief@example.com") == ()
    assert (roles.role_of("x@emea.example.com"), roles.regions_of("x@emea.example.com")) == ("viewer", ("EMEA",))


@pytest.mark.parametrize(("entry", "message"), [
    ('{ role = "reviewer" }', r'people\.a@x\.com\.regions must be a list of region names'),
    ('{ role = "boss", regions = ["ANZ"] }', r"people\.a@x\.com\.role must be one of"),
    ('{ role = "viewer", regions = ["ANZ"], country = "AU" }', r"people\.a@x\.com has country"),
], ids=["no-regions", "bad-role", "unknown-key"])
def test_a_bad_scoped_entry_is_refused_naming_it(tmp_path, entry, message):
    path = tmp_path / "roles.toml"
    path.write_text(f'[people]\n"a@x.com" = {entry}\n')
    with pytest.raises(ValueError, match=message):
        load_roles(path)


# -- the scope in every query -------------------------------------------------------------------------------------
def test_the_scope_limits_a_query_and_a_region_choice_cannot_widen_it(regions_store):
    from analytics.analyses.queries import filter_options, overview

    anz = ChannelFilter(AS_OF, scope=("ANZ",))
    assert overview(regions_store, anz).revenue_quarter == pytest.approx(40_000 + 10_000)
    widened = ChannelFilter(AS_OF, regions=("NA",), scope=("ANZ",))
    assert overview(regions_store, widened) is None or overview(regions_store, widened).revenue_quarter == 0
    assert filter_options(regions_store, ("ANZ",)).regions == ("ANZ",)
    assert filter_options(regions_store, ("ANZ",)).countries == ("AU",)
    assert filter_options(regions_store).countries == ("AU", "JP", "US")
    japan = ChannelFilter(AS_OF, countries=("JP",))
    assert overview(regions_store, japan).revenue_quarter == pytest.approx(20_000)


# -- the command line ---------------------------------------------------------------------------------------------
def test_review_of_one_region_writes_its_programs_currency_and_the_reporting_one(regions_store, program_file,
                                                                                  tmp_path):
    db = regions_store.path
    regions_store.close()
    out = tmp_path / "anz.csv"
    code = main(["--db", str(db), "review", "--as-of", AS_OF, "--region", "ANZ", "--program", str(program_file),
                 "--out", str(out)])
    assert code == 0
    rows = pd.read_csv(out, encoding="utf-8-sig").set_index("partner_id")
    assert sorted(rows.index) == ["AU1", "MV1"]  # no other region's partner
    assert {"revenue_AUD", "revenue_USD", "program"} <= set(rows.columns) and "revenue" not in rows.columns
    assert rows.loc["AU1", ["revenue_AUD", "revenue_USD"]].tolist() == [320_000, 160_000]
    assert rows.loc["AU1", "recommendation"] == "retain"


def test_review_of_a_region_without_partners_says_so(regions_store, program_file, tmp_path, capsys):
    db = regions_store.path
    regions_store.close()
    code = main(["--db", str(db), "review", "--as-of", AS_OF, "--region", "Mars", "--program", str(program_file),
                 "--out", str(tmp_path / "x.csv")])
    assert code == 1
    assert "No partner of region 'Mars' is in the review to 2026Q2" in capsys.readouterr().err


def test_partners_per_tier_count_a_regional_tier_at_its_global_level(tmp_path, write_file, program_file):
    from analytics.analyses.queries import partners_by_tier
    from analytics.analyses.tiers import tier_distribution

    lines = ("partner_id,order_date,revenue,tier,region,country\n"
             "AU2,2026-05-10,100,Authorised,ANZ,AU\nUS2,2026-05-10,300,Authorized,NA,US\n"
             "US3,2026-05-11,1000,Gold,NA,US\n")
    with Store(tmp_path / "ladder.duckdb") as store:
        load_extract(store, write_file("ladder.csv", lines))
        flt = ChannelFilter("2026Q2")
        programs = load_programs(program_file)
        recorded = partners_by_tier(store, flt, "2026Q2")
        assert sorted(recorded["tier"]) == ["Authorised", "Authorized", "Gold"]
        ladder = partners_by_tier(store, flt, "2026Q2", programs).set_index("tier")
        assert ladder.loc["Authorized", ["partners", "revenue_trailing"]].tolist() == [2, 400]
        assert list(ladder.index) == ["Gold", "Authorized"]  # highest first, one ladder
        shares = tier_distribution(store, flt, programs).set_index("tier")
        assert shares.loc["Authorized", "partners"] == 2
        assert shares.loc["Authorized", "partner_share"] == pytest.approx(2 / 3)
        assert programs.ladder_words() == "ANZ: Authorised → Authorized"


def test_the_nursery_pipeline_judges_a_recruit_under_its_programs_tiers_and_currency(tmp_path, write_file,
                                                                                     program_file):
    from analytics.analyses.recruits import recruits_report

    # AU3 joined in 2026Q1 as ANZ Authorised: $60,000 a quarter = A$120,000; its pace A$480,000 reaches ANZ Silver's
    # A$300,000 (its next tier), and its trailing A$240,000 lacks A$60,000 = $30,000 at 0.5.
    lines = "partner_id,order_date,revenue,tier,region,country,customer_id\n" + "".join(
        f"AU3,{day},30000,Authorised,ANZ,AU,C{n}\n"
        for n, day in enumerate(["2026-02-10", "2026-02-11", "2026-05-10", "2026-05-11"]))
    lines += "OLD,2025-02-10,10,Gold,NA,US,X\n"
    with Store(tmp_path / "nursery.duckdb") as store:
        load_extract(store, write_file("nursery.csv", lines))
        _rates(store, ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2"])
        programs = load_programs(program_file)
        without = recruits_report(store, ChannelFilter("2026Q2"), programs.global_rules)
        assert without.pipeline.empty  # "Authorised" is no tier of the global program
        report = recruits_report(store, ChannelFilter("2026Q2"), programs.global_rules, programs)
    row = report.pipeline.set_index("partner_id").loc["AU3"]
    assert row[["program", "tier", "next_tier"]].tolist() == ["ANZ", "Authorised", "Silver"]
    assert row["revenue_trailing"] == pytest.approx(120_000)  # in the reporting currency, as stored
    assert row["revenue_gap"] == pytest.approx(30_000)
    assert report.nursery_active == 1


def test_what_changed_judges_qualifies_higher_under_each_partners_program(tmp_path, write_file, program_file):
    from analytics.analyses.changes import load_changes

    # Two Silver partners at $40,000 a quarter (two deals, two customers) through 2026Q1; a 2026Q2 load brings
    # $10,000 more each. Before the load (the year to 2026Q1: $160,000): NA's meets Bronze (global), ANZ's
    # A$320,000 meets Silver. After it (to 2026Q2: $130,000): NA's still Bronze; ANZ's A$260,000 < A$300,000
    # meets Authorised only. So ANZ's qualifies lower and NA's does not move.
    first = "partner_id,order_date,revenue,tier,region,country,customer_id\n" + "".join(
        f"{pid},{day}-{10 + half},20000,Silver,{region},{country},C{n}{half}\n"
        for pid, region, country in (("AUX", "ANZ", "AU"), ("USX", "NA", "US"))
        for n, day in enumerate(["2025-05", "2025-08", "2025-11", "2026-02"]) for half in (0, 1))
    second = "partner_id,order_date,revenue,tier,region,country,customer_id\n" \
             "AUX,2026-05-10,10000,Silver,ANZ,AU,C9\nUSX,2026-05-10,10000,Silver,NA,US,C9\n"
    with Store(tmp_path / "changes.duckdb") as store:
        load_extract(store, write_file("first.csv", first))
        load_extract(store, write_file("second.csv", second))
        _rates(store, ["2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2"])
        programs = load_programs(program_file)
        changes = load_changes(store, programs.global_rules, programs=programs)
        scoped = load_changes(store, programs.global_rules, scope=("NA",), programs=programs)
    moved = changes.rows.set_index("partner_id")
    assert moved.loc["AUX", "change"] == "qualifies lower"
    assert moved.loc["AUX", "what_changed"] == "fell below the Silver minimums; now meets Authorised"
    assert "USX" not in moved.index or moved.loc["USX", "change"] != "qualifies lower"
    assert "AUX" not in set(scoped.rows["partner_id"]) and scoped.counts["qualifies lower"] == 0


def test_a_rules_file_saved_from_the_what_if_keeps_the_regional_programs(tmp_path):
    from analytics.program.regional_programs import regional_toml
    from analytics.program.rules import save_program_as

    programs = load_programs(PROGRAM_PATH)
    stricter = programs.global_rules.with_minimums({"Gold": 700_000})
    path, version = save_program_as(stricter, "strict", tmp_path, regional=regional_toml(programs))
    saved = load_programs(path)
    assert version == 1 and saved.global_rules.minimum_revenue()["Gold"] == 700_000
    assert saved.regional == programs.regional  # every setting of ANZ, its levels, currency and regions
    assert saved.reporting_currency == "USD"


def test_a_saved_review_its_follow_up_and_its_letters_of_a_scope_hold_its_regions_partners_only(regions_store,
                                                                                                  program_file):
    import zipfile

    from analytics.review.letters import letters_zip
    from analytics.review.saved_reviews import list_reviews, load_review, provisional_follow_up

    programs = load_programs(program_file)
    recs = regional_recommendations(regions_store, AS_OF, programs)
    decisions = review_decisions(recs, ChannelFilter(AS_OF), {})
    decisions["decision"] = "provisional continuation"  # every partner with revised goals: a follow-up for each
    save_review(regions_store, "FY2026", AS_OF, programs.global_rules, decisions)
    assert sorted(load_review(regions_store, "FY2026", ("ANZ",))["partner_id"]) == ["AU1", "MV1"]
    assert len(load_review(regions_store, "FY2026")) == 4
    assert list_reviews(regions_store, ("NA",))["partners"].tolist() == [1]
    assert sorted(provisional_follow_up(regions_store, "FY2026", ("ANZ",))["partner_id"]) == ["AU1", "MV1"]
    with zipfile.ZipFile(io.BytesIO(letters_zip(regions_store, "FY2026", scope=("ANZ",)))) as archive:
        assert sorted(archive.namelist()) == ["letters/AU1.docx", "letters/MV1.docx", "letters/mailmerge.csv"]
