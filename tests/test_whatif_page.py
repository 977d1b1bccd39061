"""The Annual review's What if tab on the demo: who would move, rules used for the review, a new rules file, roles."""

from __future__ import annotations

import shutil

import pytest
import streamlit as st

from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal as ml
from analytics.program.regional_programs import load_programs
from analytics.program.rules import PROGRAM_PATH, load_program
from analytics.review.decisions import action_counts, recommendations, select_partners
from analytics.review.regional import regional_recommendations
from analytics.review.saved_reviews import load_review, review_saves
from analytics.review.whatif import partners_who_move
from analytics.store.store import Store
from tests.apptest_helpers import metric, open_page, run_as

REVIEW = "views/pages/review.py"
GOLD_UP = "$700,000"  # Gold's minimum is $650,000 in program.toml


@pytest.fixture
def rules_dir(tmp_path, monkeypatch):
    """Give a rules folder holding a copy of program.toml, the one the page lists and saves into."""
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(PROGRAM_PATH, folder / "program.toml")
    monkeypatch.setenv("CHANNEL_RULES_DIR", str(folder))
    return folder


def moved_table(at):
    found = [d.value for d in at.dataframe if "program_says" in d.value.columns]
    assert found, "no table of partners who would move"
    return found[0]


def test_the_what_if_lists_the_partners_who_would_move(demo_db, rules_dir):
    at = open_page(demo_db, REVIEW)
    assert any(s.value == "0 partners would move" for s in at.subheader)
    at.text_input(key="whatif_min_Gold").input("700k").run()
    assert not at.exception
    assert at.text_input(key="whatif_min_Gold").value == GOLD_UP  # shown as money once typed
    shown = moved_table(at)
    # Each partner under its own program, as the review judges it; the what-if changes the global one only.
    programs = load_programs(rules_dir / "program.toml")
    changed = programs.with_global_rules(programs.global_rules.with_minimums({"Gold": 700_000}))
    with Store(demo_db) as store:
        q = store.query_df("SELECT max(quarter) AS q FROM partner_quarter")["q"].iloc[0]
        program = select_partners(regional_recommendations(store, q, programs), ChannelFilter(quarter=q))
        what_if = select_partners(regional_recommendations(store, q, changed), ChannelFilter(quarter=q))
    expected = partners_who_move(program, what_if)
    assert not expected.empty
    assert any(s.value == f"{len(expected):,} partners would move" for s in at.subheader)
    assert shown["partner_id"].head(len(shown)).tolist() == expected["partner_id"].head(len(shown)).tolist()
    # A Gold partner whose revenue holds $650,000 but not $700,000 is no longer retained in Gold.
    gold = shown[(shown["tier"] == "Gold") & shown["revenue_trailing"].between(650_000, 700_000, inclusive="left")]
    assert not gold.empty and (gold["program_says"] == "retain").all()
    assert not gold["what_if_says"].str.startswith("retain").any()
    # Text that is no amount is named, not a trace.
    at.text_input(key="whatif_min_Gold").input("lots").run()
    assert not at.exception and "'lots' is not an amount of money" in at.error[0].value


def test_using_the_what_if_rules_changes_the_reviews_counts_until_the_chief_goes_back(demo_copy, rules_dir):
    at = open_page(demo_copy, REVIEW)
    demoted = int(metric(at, "Demote").value.replace(",", ""))
    assert at.button(key="whatif_apply").disabled  # nothing to use before a figure changes
    at.text_input(key="whatif_min_Gold").input(GOLD_UP).run()
    moving = moved_table(at)
    at.button(key="whatif_apply").click().run()
    assert not at.exception
    assert f"This review uses the what-if's rules, not {ml('program.toml')}'s" in at.warning[0].value
    assert ml("Gold minimum revenue $650,000 → $700,000") in at.warning[0].value
    with Store(demo_copy) as store:
        q = store.query_df("SELECT max(quarter) AS q FROM partner_quarter")["q"].iloc[0]
        counts = action_counts(select_partners(recommendations(
            store, q, load_program(rules_dir / "program.toml").with_minimums({"Gold": 700_000})),
            ChannelFilter(quarter=q))).set_index("action")
    assert int(metric(at, "Demote").value.replace(",", "")) == counts.loc["demote", "partners"] != demoted
    assert counts.loc["demote", "partners"] - demoted == (moving["what_if_says"].str.startswith("demote").sum()
                                                          - moving["program_says"].str.startswith("demote").sum())
    # Saved now, the review keeps the rules it was made under.
    at.button(key="save_review").click().run()
    assert not at.exception
    st.cache_resource.clear()  # let this test open the file
    with Store(demo_copy) as store:
        saves = review_saves(store, "FY2026")
        assert saves["rules_file"].tolist() == ["what-if on program.toml"]
        assert '"min_revenue": 700000.0' in saves["rules"].iloc[0]
        assert not load_review(store, "FY2026").empty
    assert any(f"was last saved under the rules of **{ml('what-if on program.toml')}**" in m.value for m in at.markdown)
    at.button(key="whatif_unapply").click().run()
    assert not at.exception and not [w for w in at.warning if "what-if's rules" in w.value]
    assert int(metric(at, "Demote").value.replace(",", "")) == demoted


def test_an_admin_saves_the_what_if_as_a_new_rules_file_the_picker_then_lists(demo_db, rules_dir):
    at = open_page(demo_db, REVIEW)  # local single-user mode: admin
    assert at.selectbox(key="review_rules_file").options == ["program.toml"]
    at.text_input(key="whatif_min_Gold").input(GOLD_UP).run()
    at.text_input(key="whatif_rules_name").input("../program").run()
    at.button(key="whatif_save_rules").click().run()
    assert not at.exception and "cannot be a file name" in at.error[0].value
    at.text_input(key="whatif_rules_name").input("program").run()
    at.button(key="whatif_save_rules").click().run()
    assert ml("program.toml already exists") in at.error[0].value
    at.text_input(key="whatif_rules_name").input("gold-700k").run()
    at.button(key="whatif_save_rules").click().run()
    assert not at.exception
    assert any(f"Saved {ml('gold-700k.toml')} (version 1)" in s.value for s in at.success)
    assert at.selectbox(key="review_rules_file").options == ["gold-700k.toml", "program.toml"]
    assert load_program(rules_dir / "gold-700k.toml").minimum_revenue()["Gold"] == 700_000
    assert load_program(rules_dir / "program.toml") == load_program(PROGRAM_PATH)  # left as it was
    at.selectbox(key="review_rules_file").set_value(rules_dir / "gold-700k.toml").run()
    assert not at.exception and any(s.value == "0 partners would move" for s in at.subheader)
    # Back on program.toml the what-if starts again from its terms, not from the figures typed before.
    at.text_input(key="whatif_min_Silver").input("$250,000").run()
    at.selectbox(key="review_rules_file").set_value(rules_dir / "program.toml").run()
    assert not at.exception
    assert [at.text_input(key=f"whatif_min_{t}").value for t in ("Gold", "Silver")] == ["$650,000", "$200,000"]
    assert any(s.value == "0 partners would move" for s in at.subheader)


@pytest.fixture
def viewer_roles(tmp_path, monkeypatch):
    path = tmp_path / "roles.toml"
    path.write_text('[people]\n"exec@example.com" = "viewer"\n')
    monkeypatch.setenv("CHANNEL_ROLES", str(path))


def test_a_viewer_sees_who_would_move_but_can_neither_use_nor_save_the_rules(demo_db, rules_dir, viewer_roles):
    at = run_as(demo_db, "exec@example.com", REVIEW)
    at.text_input(key="whatif_min_Gold").input(GOLD_UP).run()
    assert not at.exception
    assert not moved_table(at).empty
    keys = {b.key for b in at.button}
    assert "whatif_apply" not in keys and "whatif_save_rules" not in keys
    assert any("takes the reviewer or admin role" in c.value for c in at.caption)
    assert [p.name for p in rules_dir.iterdir()] == ["program.toml"]
