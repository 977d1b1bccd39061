"""After the review: goals followed quarter by quarter, next year's review reading them, incentives, letters."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from docx import Document

from analytics.cli import main
from analytics.filters import ChannelFilter
from analytics.ingest.load import load_extract
from analytics.program.rules import IncentivePlan, ProgramRules, TierRule, load_program
from analytics.review.actions import BEHIND, MET, MISSED, ON_TRACK, PROVISIONAL
from analytics.review.decisions import recommend, review_decisions
from analytics.review.incentives import recommended_incentives
from analytics.review.inputs import review_inputs
from analytics.review.letters import (
    PLACEHOLDERS,
    TEMPLATE_FILES,
    letters_zip,
    load_templates,
    write_letters,
)
from analytics.review.saved_reviews import load_review, provisional_follow_up, save_review
from analytics.store.store import Store
from tests.builders import minimal_extract

RULES = ProgramRules(
    tiers=(TierRule("Gold", 1000, 1, 0), TierRule("Silver", 500, 1, 0), TierRule("Authorized", 100, 1, 0)),
    nursery_quarters=0, provisional_threshold=0.3,
    incentive_plans=(IncentivePlan("SMB growth", ("SMB", "Mid-market"), 0.6, "Growth bonus."),
                     IncentivePlan("Enterprise rebate", ("Enterprise",), 0.6, "Flat rebate.")),
    default_incentive="Standard", default_incentive_terms="Standard discount.",
)
DAYS = {"2024Q1": "2024-01-15", "2024Q2": "2024-04-15", "2024Q3": "2024-07-15", "2024Q4": "2024-10-15",
        "2025Q1": "2025-01-15", "2025Q2": "2025-04-15", "2025Q3": "2025-07-15", "2025Q4": "2025-10-15"}
# Revenue per quarter (one order each): MISS and MEET are put on provisional continuation in FY2024 (as of 2024Q4,
# goals for 2025Q1–2025Q2: half Silver's yearly minimum, $250, and 1 deal); GONE is terminated in FY2024.
ORDERS = {
    "MISS": [100, 100, 100, 100, 50, 50, 300, 300],   # $100 of $250 in the goal quarters; its year then holds Silver
    "MEET": [100, 100, 100, 100, 200, 200, 0, 0],     # $400 of $250; its review year falls short of Silver
    "GONE": [80, 80, 80, 80, 60, 60, 60, 60],         # terminated, and still ordering
    "KEEP": [400, 400, 400, 400, 400, 400, 400, 400],  # Gold all along
}


def _extract(quarters: list[str]) -> str:
    lines = ["partner_id,partner_name,order_date,revenue,tier,customer_id,customer_segment"]
    for pid, revenue in ORDERS.items():
        for q, amount in zip(DAYS, revenue, strict=True):
            if q in quarters and amount:
                tier = "Gold" if pid == "KEEP" else "Silver"
                segment = "Enterprise" if pid == "KEEP" else "SMB"
                name = f"{pid.title()} & Co, $revenue {{x}}"
                lines.append(f"{pid},\"{name}\",{DAYS[q]},{amount},{tier},C-{pid},{segment}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def reviewed(tmp_path) -> Store:
    """Give a store with 2024 loaded and review FY2024 saved: MISS and MEET provisional, GONE terminated."""
    (tmp_path / "2024.csv").write_text(_extract(["2024Q1", "2024Q2", "2024Q3", "2024Q4"]))
    with Store(tmp_path / "channel.duckdb") as store:
        load_extract(store, tmp_path / "2024.csv")
        recs = recommend(review_inputs(store, "2024Q4"), RULES)
        edits = {"MISS": {"decision": PROVISIONAL, "note": "Call them in March"}, "MEET": {"decision": PROVISIONAL},
                 "GONE": {"decision": "terminate"}}
        save_review(store, "FY2024", "2024Q4", RULES, review_decisions(recs, ChannelFilter("2024Q4"), edits),
                    user="chief")
        yield store


def _load(store: Store, tmp_path: Path, quarters: list[str]) -> None:
    path = tmp_path / f"{quarters[0]}.csv"
    path.write_text(_extract(quarters))
    load_extract(store, path)


def test_goals_are_followed_pro_rata_quarter_by_quarter(reviewed, tmp_path):
    follow = provisional_follow_up(reviewed, "FY2024").set_index("partner_id")
    assert set(follow.index) == {"MISS", "MEET"} and (follow["status"] == "not yet known").all()
    _load(reviewed, tmp_path, ["2025Q1"])
    follow = provisional_follow_up(reviewed, "FY2024").set_index("partner_id")
    # After one of two goal quarters: half of each goal, $125 and 0.5 deals.
    assert follow.loc["MISS", ["revenue", "revenue_goal_so_far", "status"]].tolist() == [50.0, 125.0, BEHIND]
    assert follow.loc["MEET", ["revenue", "status"]].tolist() == [200.0, ON_TRACK]
    assert follow["quarters_loaded"].iloc[0] == "2025Q1"
    _load(reviewed, tmp_path, ["2025Q2"])
    follow = provisional_follow_up(reviewed, "FY2024").set_index("partner_id")
    assert follow.loc["MISS", ["revenue", "status"]].tolist() == [100.0, MISSED]
    assert follow.loc["MEET", ["revenue", "status"]].tolist() == [400.0, MET]


def test_next_years_review_reads_last_years_goals_and_terminations(reviewed, tmp_path):
    _load(reviewed, tmp_path, ["2025Q1", "2025Q2", "2025Q3", "2025Q4"])
    recs = recommend(review_inputs(reviewed, "2025Q4"), RULES).set_index("partner_id")
    # MISS's revenue ($700) holds Silver, but it missed its revised goals: not simply kept, one tier down.
    assert recs.loc["MISS", ["recommendation", "tier_down"]].tolist() == ["demote", "Authorized"]
    assert recs.loc["MISS", "reasons"].startswith(
        "missed the revised goals of review FY2024 (as of 2024Q4): revenue $100 of $250 and 2 of 1 deals in "
        "2025Q1–2025Q2")
    # MEET's year ($400) falls short of Silver, but it met its goals: kept in its tier, and the reasons say so.
    assert recs.loc["MEET", "recommendation"] == "retain"
    assert "met the revised goals of review FY2024 (as of 2024Q4): revenue $400 of $250" in recs.loc["MEET", "reasons"]
    assert "(kept in its tier)" in recs.loc["MEET", "reasons"]
    assert bool(recs.loc["GONE", "terminated_before"]) and not recs.loc[["MISS", "MEET", "KEEP"],
                                                                          "terminated_before"].any()
    assert "terminated in review FY2024 (as of 2024Q4) and still ordering: $240 in the review year" in \
        recs.loc["GONE", "reasons"]
    assert recs.loc["KEEP", "recommendation"] == "retain" and "revised goals" not in recs.loc["KEEP", "reasons"]


def test_the_previous_review_missed_goals_end_in_termination_when_no_tier_is_held(reviewed, tmp_path):
    _load(reviewed, tmp_path, ["2025Q1", "2025Q2", "2025Q3", "2025Q4"])
    inputs = review_inputs(reviewed, "2025Q4")
    inputs.loc[inputs["partner_id"] == "MISS", "revenue_trailing"] = 50.0  # below every tier
    recs = recommend(inputs, RULES).set_index("partner_id")
    assert recs.loc["MISS", "recommendation"] == "terminate"


@pytest.mark.parametrize(("smb", "mid", "enterprise", "plan"), [
    (0.6, 0.0, 0.4, "SMB growth"),
    (0.3, 0.2999, 0.4001, "Standard"),      # SMB and mid-market a hair under 60 %
    (0.2, 0.2, 0.6, "Enterprise rebate"),
    (0.0, 0.0, 0.0, ""),                    # no segment data: no plan
    (0.5, 0.1, 0.4, "SMB growth"),
], ids=["smb-at-edge", "smb-under", "enterprise-at-edge", "no-segments", "smb-with-mid"])
def test_the_incentive_plan_follows_the_segment_focus_at_the_rules_edges(smb, mid, enterprise, plan):
    frame = pd.DataFrame({"revenue_smb": [smb * 1000], "revenue_mid_market": [mid * 1000],
                          "revenue_enterprise": [enterprise * 1000]})
    assert recommended_incentives(frame, RULES).tolist() == [plan]


def test_the_program_files_incentives_read_back_and_refuse_an_unknown_segment(tmp_path):
    rules = load_program()
    assert [p.name for p in rules.incentive_plans] == ["SMB growth incentive", "Enterprise flat rebate"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[tiers.Gold]\nmin_revenue = 1\nmin_deals = 1\nmin_customers = 1\n'
                   '[[incentives.plans]]\nname = "X"\nsegments = ["Consumers"]\nmin_share = 0.5\n')
    with pytest.raises(ValueError, match="incentive plan 'X': segments must be some of SMB, Mid-market, Enterprise"):
        load_program(bad)


def _letter(path: Path) -> tuple[str, str]:
    document = Document(path)
    return document.paragraphs[0].text, "\n".join(p.text for p in document.paragraphs[1:])


def test_every_kind_of_letter_reads_back_with_its_partner_decision_goals_and_plan(reviewed, tmp_path):
    out = tmp_path / "letters"
    assert write_letters(reviewed, "FY2024", out, include_notes=True) == 4
    saved = load_review(reviewed, "FY2024").set_index("partner_id")
    name = "Miss & Co, $revenue {x}"  # a name holding template syntax stays as written
    subject, body = _letter(out / "MISS.docx")
    assert subject == "Your partner status from 2025Q1: Silver, provisional continuation with revised goals"
    assert body.startswith(f"Dear {name},") and "revised goals for 2025Q1–2025Q2 are revenue of at least $250 " \
                                                  "and at least 1 deals" in body
    assert "your revenue with us was $400 against the Silver minimum of $500, with 4 deals and 1 customers" in body
    assert "Your incentive plan: SMB growth. Growth bonus." in body
    assert "A note from the channel chief: Call them in March" in body
    subject, body = _letter(out / "GONE.docx")
    assert subject == "Your partner agreement ends at the close of 2024Q4" and "from 2025Q1 you are no longer" in body
    subject, body = _letter(out / "KEEP.docx")
    assert saved.loc["KEEP", "decision"] == "promote" or subject.endswith("Gold")
    assert "Your incentive plan: Enterprise rebate. Flat rebate." in body
    with open(out / "mailmerge.csv", encoding="utf-8-sig", newline="") as handle:
        merge = list(csv.DictReader(handle))
    assert [row["partner_id"] for row in merge] == sorted(ORDERS)
    assert merge[0].keys() == {"partner_id", "partner_name", "contact_email", "decision", "subject", "letter"}
    gone = next(row for row in merge if row["partner_id"] == "GONE")
    assert gone["decision"] == "terminate" and "\n\nWe have therefore decided" in gone["letter"]
    # Without --with-notes the chief's note stays out of the letter.
    write_letters(reviewed, "FY2024", tmp_path / "plain")
    assert "Call them in March" not in _letter(tmp_path / "plain" / "MISS.docx")[1]


def test_a_template_with_an_unknown_placeholder_is_refused_by_name_and_file(tmp_path):
    for decision, name in TEMPLATE_FILES.items():
        (tmp_path / name).write_text(f"Subject: About $partner_name\n\nDear $partner_name, {decision}.\n")
    assert set(load_templates(tmp_path)) == set(TEMPLATE_FILES)
    (tmp_path / "demote.txt").write_text("Subject: Hi\n\nYour $tier_before and ${revenu} here.\n")
    with pytest.raises(ValueError, match=r"demote\.txt names unknown placeholder\(s\) \$tier_before, \$revenu"):
        load_templates(tmp_path)
    (tmp_path / "demote.txt").write_text("Subject: Hi\n\nA price of $ 5.\n")
    with pytest.raises(ValueError, match=r"demote\.txt, line 3: a \$ that starts no placeholder"):
        load_templates(tmp_path)
    assert "partner_name" in PLACEHOLDERS


def test_the_letters_zip_holds_a_letter_per_partner_and_the_mail_merge(reviewed):
    with zipfile.ZipFile(io.BytesIO(letters_zip(reviewed, "FY2024"))) as archive:
        names = sorted(archive.namelist())
        assert names == sorted([f"letters/{pid}.docx" for pid in ORDERS] + ["letters/mailmerge.csv"])
        assert Document(io.BytesIO(archive.read("letters/MEET.docx"))).paragraphs[0].text.startswith(
            "Your partner status from 2025Q1")
    with pytest.raises(ValueError, match="No saved review is named 'FY1999'"):
        letters_zip(reviewed, "FY1999")


def test_the_command_line_saves_a_review_and_writes_its_letters(tmp_path, capsys):

    db = tmp_path / "cli.duckdb"
    (tmp_path / "history.csv").write_text(minimal_extract("2024Q1", 8))
    with Store(db) as store:
        load_extract(store, tmp_path / "history.csv")
    assert main(["--db", str(db), "review", "--as-of", "2025Q4", "--save", "FY2025"]) == 0
    assert "Saved review FY2025 as of 2025Q4" in capsys.readouterr().out
    assert main(["--db", str(db), "review", "--as-of", "2025Q4", "--save", "FY2025"]) == 0  # again: unchanged
    assert ", 0 changed," in capsys.readouterr().out
    with Store(db) as store:
        saved = load_review(store, "FY2025")
        assert len(saved) > 0 and saved["decided_by"].str.fullmatch(r"command line \(.+\)").all()
        assert (saved["decision"] == saved["recommendation"]).all()
        assert saved["incentive_plan"].notna().all() and np.isin(saved["tier_after"].iloc[:1], ["", *[
            t.name for t in load_program().tiers]]).all()
    assert main(["--db", str(db), "letters", "--review", "FY2025", "--out", str(tmp_path / "out")]) == 0
    assert len(list((tmp_path / "out").glob("*.docx"))) == len(saved)
    assert main(["--db", str(db), "letters", "--review", "nope", "--out", str(tmp_path / "x")]) == 1
    assert "No saved review is named 'nope'" in capsys.readouterr().err


def test_what_changed_names_the_provisional_partners_that_fell_behind_with_the_load(reviewed, tmp_path):
    from analytics.analyses.changes import load_changes

    _load(reviewed, tmp_path, ["2025Q1"])
    changes = load_changes(reviewed, RULES)
    behind = changes.rows[changes.rows["change"] == "behind goals"]
    assert behind["partner_id"].tolist() == ["MISS"] and changes.counts["behind goals"] == 1
    assert behind["what_changed"].iloc[0] == ("behind its revised goals of review FY2024: revenue $50 of $125 in "
                                              "2025Q1 (goal $250 for 2025Q1–2025Q2)")
    _load(reviewed, tmp_path, ["2025Q2"])
    assert load_changes(reviewed, RULES).rows.query("change == 'behind goals'")["what_changed"].iloc[0].startswith(
        "missed its revised goals of review FY2024: revenue $100 of $250 in 2025Q1–2025Q2")


def test_the_partner_page_shows_its_revised_goals_so_far(reviewed, tmp_path):
    import streamlit as st

    from tests.apptest_helpers import open_page

    _load(reviewed, tmp_path, ["2025Q1"])
    path = reviewed.path
    reviewed.close()
    st.cache_resource.clear()
    at = open_page(path, "views/pages/partner.py", partner_id="MISS")
    assert not at.exception
    said = [m.value for m in at.markdown if "Revised goals of review" in m.value]
    assert len(said) == 1 and "behind: revenue $50 of $250 and 1 of 1 deals in 2025Q1" in said[0]


def test_the_board_pack_says_how_the_provisional_partners_do(reviewed, tmp_path):
    from analytics.brief import board_pack

    _load(reviewed, tmp_path, ["2025Q1"])
    deck = board_pack(reviewed)
    texts = [shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame]
    said = [t for t in texts if t.startswith("Provisional partners against their revised goals")]
    assert said == ["Provisional partners against their revised goals (2025Q1–2025Q2; loaded: 2025Q1): 1 on track, "
                    "1 behind"]


def test_a_contact_email_column_is_recognised_and_goes_into_the_mail_merge(reviewed, tmp_path):
    extra = tmp_path / "contacts.csv"
    extra.write_text("Partner ID,Booking Date,Amount,E-mail address\nMISS,2025-01-20,10,ap@miss.example\n"
                     "GONE,2025-01-21,5,\n")
    from analytics.ingest.extract import prepare_extract

    assert prepare_extract(extra).report.mapping["contact_email"] == "E-mail address"
    assert load_extract(reviewed, extra, mode="append").status == "loaded"
    write_letters(reviewed, "FY2024", tmp_path / "out")
    with open(tmp_path / "out" / "mailmerge.csv", encoding="utf-8-sig", newline="") as handle:
        emails = {row["partner_id"]: row["contact_email"] for row in csv.DictReader(handle)}
    assert emails == {"GONE": "", "KEEP": "", "MEET": "", "MISS": "ap@miss.example"}


@pytest.mark.parametrize(("decision", "subject", "words"), [
    ("promote", "Your partner status from 2025Q1: Gold", "from 2025Q1 you are a Gold partner (until now Silver)"),
    ("retain", "Your partner status from 2025Q1: Silver", "You keep your Silver status from 2025Q1."),
    ("demote", "Your partner status from 2025Q1: Authorized", "From 2025Q1 your status is therefore Authorized"),
    (PROVISIONAL, "Your partner status from 2025Q1: Silver, provisional continuation with revised goals",
     "Your revised goals for 2025Q1–2025Q2 are revenue of at least $250 and at least 1 deals."),
    ("terminate", "Your partner agreement ends at the close of 2024Q4", "end your partner agreement at the close of"),
], ids=["promote", "retain", "demote", "provisional", "terminate"])
def test_each_decision_has_its_letter(tmp_path, decision, subject, words):
    (tmp_path / "2024.csv").write_text(_extract(["2024Q1", "2024Q2", "2024Q3", "2024Q4"]))
    with Store(tmp_path / "channel.duckdb") as store:
        load_extract(store, tmp_path / "2024.csv")
        recs = recommend(review_inputs(store, "2024Q4"), RULES)
        save_review(store, "FY2024", "2024Q4", RULES,
                    review_decisions(recs, ChannelFilter("2024Q4"), {"MEET": {"decision": decision}}), user="chief")
        write_letters(store, "FY2024", tmp_path / "out")
    first, body = _letter(tmp_path / "out" / "MEET.docx")
    assert first == subject and words in body and body.startswith("Dear Meet & Co, $revenue {x},")
