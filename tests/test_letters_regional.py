"""Letters under each partner's program (issue 28): tier names, minimums, incentive plans and amounts in its currency,
revised goals converted back from the reporting currency at the review quarter's rate, and a regional reviewer's
letters limited to their regions by the engine.

The hand-made channel of tests/test_regions.py (as of 2026Q2): AU1 and MV1 under the ANZ program in AUD, US1 and
JP1 under the global program in USD. Here AUD is at 0.6537 USD in every quarter, so a dollar goal converted back
has cents.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from docx import Document

from analytics.access import AccessDenied, Actor
from analytics.filters import ChannelFilter
from analytics.ingest.load import load_extract
from analytics.program.regional_programs import load_programs
from analytics.review.actions import PROVISIONAL
from analytics.review.decisions import review_decisions
from analytics.review.letters import letter_programs, letters_zip, write_letters
from analytics.review.regional import MissingRates, money_exact_in, regional_recommendations
from analytics.review.saved_reviews import load_review, save_review
from analytics.store.store import Store
from tests.apptest_helpers import run_verified as run_as
from tests.regional_channel import APAC_REVIEWER as SCOPED
from tests.regional_channel import AS_OF, PROGRAM
from tests.regional_channel import GLOBAL_CHIEF as CHIEF
from tests.regional_channel import aud_rates as _rates
from tests.regional_channel import regional_lines as _lines

RATE = 0.6537
# The ANZ program's own incentive plans (the global program has none in this file).
ANZ_INCENTIVES = """
[programs.ANZ.incentives]
default = "ANZ standard plan"
default_terms = "The ANZ standard discount."

[[programs.ANZ.incentives.plans]]
name = "ANZ SMB growth"
segments = ["SMB"]
min_share = 0.40
terms = "An ANZ growth bonus on SMB sales."
"""


@pytest.fixture
def programs(tmp_path: Path):
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM + ANZ_INCENTIVES)
    return load_programs(path)


@pytest.fixture
def saved(tmp_path: Path, write_file, programs):
    """A review FY2026 saved with every partner on provisional continuation (each letter carries a revised goal)."""
    with Store(tmp_path / "letters.duckdb") as store:
        load_extract(store, write_file("regions.csv", _lines()))
        _rates(store, rate=RATE)
        recs = regional_recommendations(store, AS_OF, programs)
        decisions = review_decisions(recs, ChannelFilter(AS_OF), {})
        decisions["decision"] = PROVISIONAL
        decisions["revenue_goal"] = decisions["partner_id"].map(recs.set_index("partner_id")["default_revenue_goal"])
        decisions.loc[decisions["partner_id"] == "AU1", "revenue_goal"] = 100_000.0  # a goal typed in dollars
        save_review(store, "FY2026", AS_OF, programs.global_rules, decisions)
        yield store, recs.set_index("partner_id")


def _letter(data: bytes) -> tuple[str, str]:
    document = Document(io.BytesIO(data))
    return document.paragraphs[0].text, "\n".join(p.text for p in document.paragraphs[1:])


@pytest.mark.parametrize(("value", "currency", "cents", "text"), [
    (1_700_000, "AUD", False, "A$1,700,000"), (1_700_000, "INR", False, "1,700,000 INR"), (-5, "USD", False, "-$5"),
    (152_975.371, "AUD", True, "A$152,975.37"), (0.004, "AUD", True, "A$0.00"), (float("nan"), "AUD", False, "n/a"),
], ids=["aud", "no-sign", "negative", "cents", "rounds-to-zero", "missing"])
def test_an_exact_amount_in_a_currency(value, currency, cents, text):
    assert money_exact_in(value, currency, cents) == text


def test_revenue_in_the_reporting_currency_is_the_stored_dollars(saved):
    from analytics.review.regional import revenue_in_currency

    store, _ = saved
    # US1: 4 quarters of 2 lines of $20,000 in the review year.
    assert revenue_in_currency(store, ["US1", "NOBODY"], AS_OF, "USD") == {"US1": 160_000.0, "NOBODY": 0.0}
    assert revenue_in_currency(store, ["US1"], AS_OF, "AUD")["US1"] == pytest.approx(160_000 / RATE, abs=0.005)


def test_an_anz_letter_is_in_aud_under_the_anz_tiers_minimums_and_incentives(saved, programs, tmp_path):
    store, recs = saved
    assert write_letters(store, "FY2026", tmp_path / "out", programs=programs) == 4
    body = _letter((tmp_path / "out" / "AU1.docx").read_bytes())[1]
    # $160,000 in the review year (4 quarters of $40,000) is A$244,760.59 at 0.6537, set against ANZ Silver's minimum.
    revenue = recs.loc["AU1", "revenue_program"]
    assert money_exact_in(revenue, "AUD") == "A$244,761"
    assert "amounts in AUD" in body
    assert "your revenue with us was A$244,761 against the Silver minimum of A$300,000" in body
    assert "Your incentive plan: ANZ SMB growth. An ANZ growth bonus on SMB sales." in body
    # A global partner's letter keeps dollars and the global program's minimum for the same tier name.
    us = _letter((tmp_path / "out" / "US1.docx").read_bytes())[1]
    assert "amounts in USD" in us and "against the Silver minimum of $200,000" in us


def test_the_goal_in_a_letter_is_the_stored_goal_converted_back_at_the_review_quarters_rate(saved, programs):
    store, _ = saved
    stored = load_review(store, "FY2026").set_index("partner_id")
    with zipfile.ZipFile(io.BytesIO(letters_zip(store, "FY2026", programs=programs))) as archive:
        merge = {row["partner_id"]: row for row in
                 csv.DictReader(io.StringIO(archive.read("letters/mailmerge.csv").decode("utf-8-sig")))}
    for partner_id, currency, rate in (("AU1", "AUD", RATE), ("MV1", "AUD", RATE), ("US1", "USD", 1.0)):
        goal = stored.loc[partner_id, "revenue_goal"]
        assert goal > 0
        expected = round(goal / rate, 2)
        text = money_exact_in(expected, currency, cents=currency == "AUD")
        assert f"revenue of at least {text} and" in merge[partner_id]["letter"], partner_id
    # By hand: $100,000 / 0.6537 = A$152,975.371...; MV1's default goal, half of ANZ Gold's A$975,000, was stored
    # as $318,678.75 and comes back as A$487,500.00.
    assert "revenue of at least A$152,975.37 and" in merge["AU1"]["letter"]
    assert stored.loc["MV1", "revenue_goal"] == pytest.approx(318_678.75, abs=0.005)
    assert "revenue of at least A$487,500.00 and" in merge["MV1"]["letter"]


def test_letter_programs_choose_each_partners_program_and_the_as_of_rate(saved, programs):
    store, recs = saved
    decisions = load_review(store, "FY2026")
    chosen = letter_programs(store, AS_OF, programs.global_rules, decisions, programs)
    assert {pid: (p.name, p.currency, p.rate) for pid, p in chosen.items()} == {
        "AU1": ("ANZ", "AUD", RATE), "MV1": ("ANZ", "AUD", RATE), "US1": ("Global", "USD", 1.0),
        "JP1": ("Global", "USD", 1.0)}
    assert chosen["AU1"].revenue == pytest.approx(recs.loc["AU1", "revenue_program"], abs=0.005)


def test_a_regional_reviewer_gets_only_their_regions_letters_and_is_refused_another_region(saved, programs):
    store, _ = saved
    anz = Actor("anz@example.com", "reviewer", ("ANZ",))
    with zipfile.ZipFile(io.BytesIO(letters_zip(store, "FY2026", programs=programs, actor=anz))) as archive:
        assert sorted(archive.namelist()) == ["letters/AU1.docx", "letters/MV1.docx", "letters/mailmerge.csv"]
    with pytest.raises(AccessDenied, match="partners of NA are not theirs"):
        letters_zip(store, "FY2026", scope=("NA",), programs=programs, actor=anz)


def test_a_missing_rate_for_the_review_quarter_is_named_and_nothing_is_written(saved, programs, tmp_path):
    store, _ = saved
    with store.transaction() as cur:
        cur.execute("DELETE FROM exchange_rates WHERE quarter = ?", [AS_OF])
    with pytest.raises(MissingRates, match=f"No AUD exchange rate for {AS_OF}"):
        write_letters(store, "FY2026", tmp_path / "out", programs=programs)
    assert not (tmp_path / "out").exists()


# -- the page ------------------------------------------------------------------------------------------------------

def _save_demo_review(db: Path, as_of: str) -> None:
    programs = load_programs()  # $CHANNEL_RULES_DIR's, with APAC under the ANZ program
    with Store(db) as store:
        recs = regional_recommendations(store, as_of, programs)
        save_review(store, "FY-ANZ", as_of, programs.global_rules, review_decisions(recs, ChannelFilter(as_of), {}))


def test_the_letters_section_says_each_currencys_letters_in_the_persons_scope(apac_db):  # noqa: F811 (fixture)
    with Store(apac_db) as store:
        as_of = store.query_df("SELECT max(quarter) AS q FROM partner_quarter")["q"].iloc[0]
        apac = int(store.query_df("SELECT count(DISTINCT partner_id) AS n FROM partner_quarter WHERE region = 'APAC'")
                   ["n"].iloc[0])
    _save_demo_review(apac_db, as_of)
    with Store(apac_db) as store:
        saved = load_review(store, "FY-ANZ")
    anz = int((saved["region"] == "APAC").sum())
    assert 0 < anz <= apac
    at = run_as(apac_db, SCOPED, "views/pages/review.py")
    captions = " ".join(c.value for c in at.caption)
    assert f"amounts in its currency ({anz:,} in AUD)" in captions  # the APAC reviewer's letters only
    assert any(b.proto.id.endswith("-dl_letters") for b in at.get("download_button"))
    at = run_as(apac_db, CHIEF, "views/pages/review.py")
    captions = " ".join(c.value for c in at.caption)
    assert f"({anz:,} in AUD, {len(saved) - anz:,} in USD)" in captions


def test_a_missing_rate_is_said_on_the_page_not_a_trace(apac_db, monkeypatch):  # noqa: F811 (fixture)
    with Store(apac_db) as store:
        as_of = store.query_df("SELECT max(quarter) AS q FROM partner_quarter")["q"].iloc[0]
    _save_demo_review(apac_db, as_of)

    # The review page needs the same rates, so the letters' own look-up is the one made to miss here.
    def no_rate(store, currency, quarters, reporting="USD"):
        raise MissingRates(f"No {currency} exchange rate for {', '.join(quarters)} in exchange_rates")

    monkeypatch.setattr("analytics.review.letters.currency_rates", no_rate)
    at = run_as(apac_db, CHIEF, "views/pages/review.py")
    assert any(f"The letters cannot be written: No AUD exchange rate for {as_of}" in e.value.replace("\\", "")
               for e in at.error), [e.value for e in at.error]
    assert not any(b.proto.id.endswith("-dl_letters") for b in at.get("download_button"))
