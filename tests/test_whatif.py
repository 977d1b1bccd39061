"""The review's what-if: who would move, amounts typed as money, new rules files, the rules each save was made under."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import duckdb
import numpy as np
import pandas as pd
import pytest

from analytics.access import AccessDenied, Actor
from analytics.program.rules import (
    PROGRAM_PATH,
    RULES_HISTORY,
    load_program,
    program_files,
    rules_file_stem,
    rules_from_json,
    rules_versions,
    save_program_as,
)
from analytics.review.decisions import recommend
from analytics.review.saved_reviews import list_reviews, review_saves, save_review
from analytics.review.whatif import MOVE_COLUMNS, outcome, parse_money, partners_who_move, rule_changes
from analytics.store.schema import MIGRATIONS
from analytics.store.store import Store
from tests.builders import HAND_MADE
from tests.builders import REVIEW_RULES as RULES

ADMIN = Actor("admin@example.com", "admin")
REVIEWER = Actor("chief@example.com", "reviewer")


def test_partners_who_move_names_each_partner_with_both_outcomes():
    program = recommend(HAND_MADE, RULES)
    # Gold from 1,000 to 1,100: "keep" (Gold, 1,000) falls to Silver; "up" (Silver, 1,000) is no longer promoted.
    what_if = recommend(HAND_MADE, RULES.with_minimums({"Gold": 1100}))
    moved = partners_who_move(program, what_if)
    assert list(moved.columns) == MOVE_COLUMNS
    expected = pd.DataFrame({
        "partner_id": ["up", "keep"],
        "tier": ["Silver", "Gold"],
        "revenue_trailing": [1000.0, 1000.0],
        "program_says": ["promote to Gold", "retain"],
        "what_if_says": ["retain", "demote to Silver"],
    })
    pd.testing.assert_frame_equal(moved[expected.columns], expected)
    assert moved.loc[1, "reasons"].startswith("short of Gold: revenue $1.00k < $1.10k")
    assert moved.loc[1, "program_reasons"].startswith("revenue $1.00k meets Gold's minimum $1.00k")


def test_a_lower_threshold_moves_only_the_partners_between_the_two_thresholds():
    program = recommend(HAND_MADE, RULES)  # threshold 0.4
    what_if = recommend(HAND_MADE, RULES, threshold=0.2)
    moved = partners_who_move(program, what_if).set_index("partner_id")
    # "down" (turnaround 0.2) and "out" (0.39) cross the lower threshold; "prov_down" (0.4) was provisional already.
    assert moved[["program_says", "what_if_says"]].to_dict("index") == {
        "down": {"program_says": "demote to Silver", "what_if_says": "provisional continuation"},
        "out": {"program_says": "terminate", "what_if_says": "provisional continuation"},
    }


def test_the_same_rules_move_nobody():
    program = recommend(HAND_MADE, RULES)
    assert partners_who_move(program, program.copy()).empty


def test_a_demotion_to_another_tier_is_a_move_although_the_action_is_the_same():
    frame = pd.DataFrame({"recommendation": ["demote", "promote", "retain"], "qualifies_for": ["none", "Gold", "Gold"],
                          "revenue_meets": ["Silver", "Gold", "Gold"]})
    assert outcome(frame).tolist() == ["demote to Silver", "promote to Gold", "retain"]
    program = recommend(HAND_MADE, RULES)
    what_if = recommend(HAND_MADE, RULES.with_minimums({"Silver": 700}))  # "down" (600) now meets Authorized only
    moved = partners_who_move(program, what_if).set_index("partner_id")
    assert moved.loc["down", ["program_says", "what_if_says"]].tolist() == ["demote to Silver",
                                                                             "demote to Authorized"]


def test_what_a_what_if_changes_is_said_in_words():
    what_if = replace(RULES.with_minimums({"Gold": 1100}, deals={"Silver": 3}), provisional_threshold=0.25)
    assert rule_changes(RULES, what_if) == [
        "Gold minimum revenue $1,000 → $1,100", "Silver minimum deals 2 → 3",
        "provisional continuation from a turnaround probability of 40% → 25%"]
    assert rule_changes(RULES, RULES) == []


def test_a_missing_column_is_named_with_its_frame():
    program = recommend(HAND_MADE, RULES)
    with pytest.raises(ValueError, match=r"revenue_meets missing from the what-if's recommendations"):
        partners_who_move(program, program.drop(columns="revenue_meets"))


@pytest.mark.parametrize("text, expected", [
    ("$650,000", 650_000.0), ("650000", 650_000.0), ("650 000", 650_000.0), ("$650,000.50", 650_000.5),
    ("650k", 650_000.0), ("$1.5M", 1_500_000.0), ("0", 0.0),
], ids=["dollars", "plain", "spaces", "cents", "thousands", "millions", "zero"])
def test_money_is_read_as_people_type_it(text, expected):
    assert parse_money(text, "Gold minimum revenue") == expected


@pytest.mark.parametrize("text", ["", "-5", "12x", "1,5,0.0.0", "€ 5"], ids=["empty", "negative", "letters",
                                                                             "two points", "euro"])
def test_text_that_is_no_amount_is_refused_naming_the_input(text):
    with pytest.raises(ValueError, match=r"^Gold minimum revenue: .* is not an amount of money"):
        parse_money(text, "Gold minimum revenue")


@pytest.fixture
def rules_dir(tmp_path):
    (tmp_path / "program.toml").write_bytes(PROGRAM_PATH.read_bytes())
    (tmp_path / "roles.toml").write_text('default_role = "viewer"\n')
    return tmp_path


def test_rules_saved_under_a_new_name_are_listed_and_every_version_is_kept(rules_dir):
    rules = load_program(rules_dir / "program.toml")
    stricter = rules.with_minimums({"Authorized": 20_000})
    path, version = save_program_as(stricter, "strict-2027", rules_dir, actor=ADMIN, based_on="what-if on program.toml")
    assert (path.name, version) == ("strict-2027.toml", 1)
    assert [p.name for p in program_files(rules_dir)] == ["program.toml", "strict-2027.toml"]
    assert load_program(path) == stricter
    first_line = path.read_text().splitlines()[0]
    assert "'strict-2027', version 1, saved by admin@example.com on " in first_line
    assert first_line.endswith("from what-if on program.toml.")
    # The same name again is version 2; version 1 stays in the history folder as it was.
    stricter_still = rules.with_minimums({"Authorized": 25_000})
    assert save_program_as(stricter_still, "strict-2027.toml", rules_dir, actor=ADMIN)[1] == 2
    assert load_program(path) == stricter_still
    versions = rules_versions("strict-2027", rules_dir)
    assert [(n, p.name) for n, p in versions] == [(1, "strict-2027.v1.toml"), (2, "strict-2027.v2.toml")]
    assert load_program(versions[0][1]) == stricter
    assert [p.name for p in program_files(rules_dir)] == ["program.toml", "strict-2027.toml"]  # history not listed


@pytest.mark.parametrize("name", ["program", "roles", "hand-made"], ids=["program", "other toml", "hand-written"])
def test_a_file_not_saved_from_the_what_if_is_never_replaced(rules_dir, name):
    (rules_dir / "hand-made.toml").write_bytes(PROGRAM_PATH.read_bytes())
    before = {p.name: p.read_bytes() for p in rules_dir.glob("*.toml")}
    with pytest.raises(ValueError, match=rf"^{name}.toml already exists and was not saved from the what-if"):
        save_program_as(load_program(rules_dir / "program.toml"), name, rules_dir, actor=ADMIN)
    assert {p.name: p.read_bytes() for p in rules_dir.glob("*.toml")} == before
    assert not (rules_dir / RULES_HISTORY).exists()


@pytest.mark.parametrize("name", ["../escape", ".hidden", "a/b", "strict 2027", "", "x" * 61, "c:d"],
                         ids=["parent", "hidden", "slash", "space", "empty", "too long", "colon"])
def test_names_that_are_not_safe_file_names_are_refused(rules_dir, name):
    with pytest.raises(ValueError, match="cannot be a file name|needs a name"):
        rules_file_stem(name)
    with pytest.raises(ValueError):
        save_program_as(load_program(rules_dir / "program.toml"), name, rules_dir, actor=ADMIN)
    assert sorted(p.name for p in rules_dir.rglob("*")) == ["program.toml", "roles.toml"]


def test_only_an_admin_saves_a_new_rules_file(rules_dir):
    with pytest.raises(AccessDenied):
        save_program_as(load_program(rules_dir / "program.toml"), "mine", rules_dir, actor=REVIEWER)
    assert not (rules_dir / "mine.toml").exists()


def test_each_save_of_a_review_keeps_the_rules_it_was_made_under(store):
    program = replace(RULES, source="/somewhere/data/program.toml")
    decisions = recommend(HAND_MADE, program).assign(decision=lambda f: f["recommendation"], note="")
    save_review(store, "FY2026", "2026Q3", program, decisions, actor=REVIEWER)
    what_if = replace(program.with_minimums({"Gold": 1100}), source="what-if on program.toml")
    save_review(store, "FY2026", "2026Q3", what_if, decisions, actor=ADMIN)
    saves = review_saves(store, "FY2026")
    assert saves[["saved_by", "rules_file"]].values.tolist() == [["admin@example.com", "what-if on program.toml"],
                                                                 ["chief@example.com", "program.toml"]]
    assert rules_from_json(saves["rules"].iloc[0]) == what_if
    assert rules_from_json(saves["rules"].iloc[1]) == program
    assert list_reviews(store)["rules_file"].tolist() == ["what-if on program.toml"]
    assert review_saves(store, "no such review").empty


def test_a_review_saved_before_the_history_keeps_its_one_known_save(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        for step in MIGRATIONS[:10]:
            con.execute(step)
        con.execute("INSERT INTO meta VALUES ('schema_version', '10')")
        con.execute("INSERT INTO reviews VALUES (1, 'FY2025', '2025Q3', ?, now(), 'ann', now(), 'bob')",
                    [json.dumps(asdict(RULES))])
    with Store(path) as store:
        saves = review_saves(store, "FY2025")
    assert saves[["saved_by"]].values.tolist() == [["bob"]] and saves["rules_file"].isna().all()
    assert rules_from_json(saves["rules"].iloc[0]) == RULES


def test_saved_rules_that_do_not_read_are_a_clear_error():
    with pytest.raises(ValueError, match="do not read as program rules"):
        rules_from_json('{"tiers": [{"name": "Gold"}]}')
    assert np.isclose(rules_from_json(json.dumps(asdict(RULES))).provisional_threshold, 0.4)
