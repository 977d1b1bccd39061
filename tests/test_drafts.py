"""Review drafts: decisions in progress kept per person and review year in the database, restored on reload."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import streamlit as st

from analytics.access import AccessDenied, Actor, local_actor
from analytics.filters import ChannelFilter
from analytics.review.decisions import recommend, review_decisions
from analytics.review.drafts import clear_draft, describe_changes, draft_owner, load_draft, save_draft
from analytics.store.schema import MIGRATIONS, SCHEMA_VERSION
from analytics.store.store import Store
from tests.apptest_helpers import first_option_id, metric, open_page, run_as
from tests.builders import HAND_MADE
from tests.builders import REVIEW_RULES as RULES

CHIEF = Actor("chief@example.com", "reviewer")
ADMIN = Actor("admin@example.com", "admin")
VIEWER = Actor("exec@example.com", "viewer")
ODD = ["=1+1 'quoted' \"double\"", "line one\nline two\ttab", "**bold** <script>x</script> $x$ ![i](http://e.x/i.png)",
       "'); DROP TABLE review_drafts; --", "Ünïcödé ✓ 🚀", "back\\slash {\"json\": [1]}", ""]


# -- the engine ----------------------------------------------------------------------------------
def test_a_draft_is_saved_loaded_replaced_and_cleared(store):
    before = datetime.now()
    written = save_draft(store, "2026Q3", {"P1": {"decision": "terminate", "note": "late"}}, CHIEF)
    draft = load_draft(store, "2026Q3", CHIEF)
    assert draft.edits == {"P1": {"decision": "terminate", "note": "late"}} and draft.changes == 1
    assert draft.owner == "chief@example.com" and draft.review_key == "2026Q3"
    assert before <= draft.updated_at == written
    # Written again on the next change: one draft per person and review, the latest.
    save_draft(store, "2026Q3", {"P1": {"decision": "retain"}, "P2": {"revenue_goal": 5000.0, "deals_goal": 3}},
               CHIEF)
    assert load_draft(store, "2026Q3", CHIEF).edits == {"P1": {"decision": "retain"},
                                                        "P2": {"revenue_goal": 5000.0, "deals_goal": 3}}
    assert store.query_df("SELECT count(*) AS n FROM review_drafts")["n"].iloc[0] == 1
    assert clear_draft(store, "2026Q3", CHIEF) is True
    assert load_draft(store, "2026Q3", CHIEF) is None
    assert clear_draft(store, "2026Q3", CHIEF) is False


def test_two_peoples_drafts_and_two_review_years_are_kept_apart(store):
    save_draft(store, "2026Q3", {"P1": {"decision": "terminate"}}, CHIEF)
    save_draft(store, "2026Q3", {"P2": {"decision": "promote"}}, ADMIN)
    save_draft(store, "2025Q3", {"P3": {"note": "last year"}}, CHIEF)
    assert load_draft(store, "2026Q3", CHIEF).edits == {"P1": {"decision": "terminate"}}
    assert load_draft(store, "2026Q3", ADMIN).edits == {"P2": {"decision": "promote"}}
    assert load_draft(store, "2025Q3", CHIEF).edits == {"P3": {"note": "last year"}}
    assert load_draft(store, "2025Q3", ADMIN) is None
    clear_draft(store, "2026Q3", CHIEF)
    assert load_draft(store, "2026Q3", ADMIN).edits == {"P2": {"decision": "promote"}}
    # Without sign-in the local operator keeps a draft of their own.
    save_draft(store, "2026Q3", {"P4": {"decision": "demote"}})
    assert load_draft(store, "2026Q3", local_actor()).edits == {"P4": {"decision": "demote"}}
    assert draft_owner(None) == local_actor().who


def test_odd_text_and_numbers_come_back_as_written(store):
    edits = {f"P'{i}\"": {"decision": "retain", "note": note} for i, note in enumerate(ODD)}
    edits["P\nX"] = {"revenue_goal": np.float64(1234.5), "deals_goal": np.int64(3), "note": ODD[2]}
    edits["P-nan"] = {"revenue_goal": float("nan"), "deals_goal": None, "ignored": "not a field"}
    odd_owner = Actor("o'brien+\"x\"@example.com", "reviewer")
    save_draft(store, ODD[3], edits, odd_owner)
    back = load_draft(store, ODD[3], odd_owner).edits
    assert [back[f"P'{i}\""]["note"] for i in range(len(ODD))] == ODD
    assert back["P\nX"] == {"revenue_goal": 1234.5, "deals_goal": 3, "note": ODD[2]}
    assert back["P-nan"] == {"revenue_goal": None, "deals_goal": None}
    assert store.query_df("SELECT count(*) AS n FROM review_drafts")["n"].iloc[0] == 1


def test_a_viewer_keeps_no_draft_and_nothing_is_written(store):
    with pytest.raises(AccessDenied, match="exec@example.com signed in as viewer may not save review"):
        save_draft(store, "2026Q3", {"P1": {"decision": "terminate"}}, VIEWER)
    assert store.query_df("SELECT count(*) AS n FROM review_drafts")["n"].iloc[0] == 0
    assert load_draft(store, "2026Q3", VIEWER) is None


@pytest.mark.parametrize(("payload", "says"), [
    ("{not json", "cannot be read"),
    ('["a list"]', "is not a draft of review decisions"),
    ('{"edits": {"P1": {"decision": "fire"}}}', "decision 'fire' of partner P1 is not one of promote"),
], ids=["garbled", "not-a-draft", "unknown-decision"])
def test_a_damaged_draft_is_named_not_guessed(store, payload, says):
    with store.transaction() as cur:
        cur.execute("INSERT INTO review_drafts VALUES (?, '2026Q3', ?, now())", [CHIEF.who, payload])
    with pytest.raises(ValueError, match=f"The review draft of chief@example.com for 2026Q3.*{says}"):
        load_draft(store, "2026Q3", CHIEF)


def test_an_older_database_gets_the_drafts_table_on_open(tmp_path):
    path = tmp_path / "old.duckdb"
    # The file as the release before the drafts table left it (later migrations run again: they are idempotent).
    before_drafts = next(i for i, step in enumerate(MIGRATIONS) if "review_drafts" in step)
    with Store(path) as store, store.transaction() as cur:
        cur.execute("DROP TABLE review_drafts")
        cur.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(before_drafts)])
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        save_draft(store, "2026Q3", {"P1": {"decision": "retain"}})
        assert load_draft(store, "2026Q3").changes == 1


def test_the_changes_are_told_in_words():
    recs = recommend(HAND_MADE, RULES)
    everyone = ChannelFilter()
    before = review_decisions(recs, everyone, {})
    rec = before.set_index("partner_id")["recommendation"]
    edits = {"keep": {"decision": "terminate"}, "up": {"decision": "demote", "note": "chief's call"},
             "out": {"note": "spoke to them"}}
    said = describe_changes(before, review_decisions(recs, everyone, edits))
    assert said == (f"2 decisions changed: up {rec['up']} → demote (note), keep {rec['keep']} → terminate, "
                    "out note changed")
    assert describe_changes(before, before) == "Nothing changed: the decision and note were already so."
    granted = review_decisions(recs, everyone, {"down": {"decision": "provisional continuation"}})
    assert describe_changes(before, granted) == (f"1 decision changed: down {rec['down']} → provisional "
                                                 "continuation (revenue goal, deals goal)")


# -- the page ------------------------------------------------------------------------------------
def _edit_in_table(at):
    """Turn on editing in the review's table (browsing is the default)."""
    if not at.toggle(key="review_edit_in_table").value:
        at.toggle(key="review_edit_in_table").set_value(True).run()
        assert not at.exception


def _edit_first_row(at, change: dict):
    _edit_in_table(at)
    generation = at.session_state["review_editor_generation"]
    table = at.data_editor(key=f"review_editor_{generation}").value.reset_index(drop=True)
    at.session_state[f"review_editor_{generation}"] = {"edited_rows": {0: change}, "added_rows": [],
                                                       "deleted_rows": []}
    at.run()
    assert not at.exception
    return table.loc[0, "partner_id"], table.loc[0, "recommendation"]


def _decisions(at):
    _edit_in_table(at)
    generation = at.session_state["review_editor_generation"]
    return at.data_editor(key=f"review_editor_{generation}").value.set_index("partner_id")


def _draft(db: Path, actor: Actor | None = None):
    st.cache_resource.clear()  # let the test open the file
    with Store(db) as store:
        return load_draft(store, "2026Q3", actor)


def test_a_table_edit_is_kept_as_a_draft_and_restored_in_a_new_session(review_db):
    at = open_page(review_db, "views/pages/review.py")
    assert not [i for i in at.info if i.value.startswith("Draft restored")]
    partner_id, recommended = _edit_first_row(at, {"decision": "terminate", "note": "**chief's** call"})
    assert _draft(review_db).edits == {partner_id: {"decision": "terminate", "note": "**chief's** call"}}

    again = open_page(review_db, "views/pages/review.py")  # a reload: a new session of the same person
    note = [i.value for i in again.info if i.value.startswith("Draft restored")]
    assert len(note) == 1 and f"Draft restored from {datetime.now():%H}:" in note[0] and "(1 change)" in note[0]
    assert _decisions(again).loc[partner_id, ["decision", "note"]].tolist() == ["terminate", "**chief's** call"]
    assert metric(again, "Differ from the recommendation").value == ("1" if recommended != "terminate" else "0")

    again.button(key="review_discard_draft").click().run()
    assert not again.exception
    assert not [i for i in again.info if i.value.startswith("Draft restored")]
    decisions = _decisions(again)
    assert (decisions["decision"] == decisions["recommendation"]).all() and (decisions["note"] == "").all()
    assert _draft(review_db) is None
    assert not [i for i in open_page(review_db, "views/pages/review.py").info if i.value.startswith("Draft restored")]


def test_apply_says_what_changed_clears_the_form_and_keeps_a_draft(review_db):
    at = open_page(review_db, "views/pages/review.py")
    partner_id = first_option_id(at.selectbox(key="review_override_partner"))
    at.selectbox(key="review_override_partner").set_value(partner_id).run()
    recommended = _decisions(at).loc[partner_id, "recommendation"]
    # Picking a partner starts the form from its decision as it stands, its reasons in full beside it.
    assert at.selectbox(key="review_override_decision").value == recommended
    assert any(t.value.startswith("Reasons: ") for t in at.text)
    new = "provisional continuation" if recommended != "provisional continuation" else "terminate"
    at.selectbox(key="review_override_decision").set_value(new)
    at.text_input(key="review_override_note").set_value("call them")
    at.button(key="review_override_apply").click().run()
    assert not at.exception
    said = [s.value.replace("\\", "") for s in at.success]  # shown literally: Markdown's escapes aside
    assert said and said[0].startswith(f"1 decision changed: {partner_id} {recommended} → {new} (note")
    assert at.selectbox(key="review_override_partner").value is None  # the form starts afresh
    at.selectbox(key="review_override_partner").set_value(partner_id).run()  # and shows the change when picked
    assert at.selectbox(key="review_override_decision").value == new
    assert at.text_input(key="review_override_note").value == "call them"
    assert _decisions(at).loc[partner_id, ["decision", "note"]].tolist() == [new, "call them"]
    assert _draft(review_db).edits[partner_id] == {"decision": new, "note": "call them"}


def test_saving_the_review_clears_the_draft(review_db):
    at = open_page(review_db, "views/pages/review.py")
    partner_id, _ = _edit_first_row(at, {"note": "keep an eye"})
    assert _draft(review_db).changes == 1
    at.button(key="save_review").click().run()
    assert not at.exception and "Saved review FY2026" in at.success[0].value
    assert _draft(review_db) is None
    at.run()  # a rerun after saving writes no draft again
    assert _draft(review_db) is None
    reloaded = open_page(review_db, "views/pages/review.py")
    assert not [i for i in reloaded.info if i.value.startswith("Draft restored")]


@pytest.fixture
def roles(tmp_path, monkeypatch):
    path = tmp_path / "roles.toml"
    path.write_text('[people]\n"exec@example.com" = "viewer"\n"chief@example.com" = "reviewer"\n'
                    '"admin@example.com" = "admin"\n')
    monkeypatch.setenv("CHANNEL_ROLES", str(path))


def test_each_person_gets_their_own_draft_and_a_viewer_none(review_db, roles):
    at = run_as(review_db, "chief@example.com", "views/pages/review.py", email_verified=True)
    partner_id, _ = _edit_first_row(at, {"decision": "terminate"})
    assert _draft(review_db, CHIEF).edits == {partner_id: {"decision": "terminate"}}
    chief = run_as(review_db, "chief@example.com", "views/pages/review.py", email_verified=True)
    assert [i for i in chief.info if i.value.startswith("Draft restored")]
    admin = run_as(review_db, "admin@example.com", "views/pages/review.py", email_verified=True)
    assert not [i for i in admin.info if i.value.startswith("Draft restored")]
    assert (_decisions(admin)["decision"] == _decisions(admin)["recommendation"]).all()
    viewer = run_as(review_db, "exec@example.com", "views/pages/review.py", email_verified=True)
    assert not [i for i in viewer.info if i.value.startswith("Draft restored")]
    st.cache_resource.clear()
    with Store(review_db) as store:
        owners = store.query_df("SELECT owner FROM review_drafts")["owner"].tolist()
    assert owners == ["chief@example.com"]


@pytest.mark.browser
def test_in_the_browser_a_decision_edited_survives_a_reload(review_db):
    import pandas as pd

    from tests.browser import app_server, browser_page, edit_in_review_table, require_chromium, screenshot, wait_for_app
    from tests.browser import edit_review_cell as _edit_review_cell

    require_chromium()
    # Wide enough for every column: moving to a cell off screen would scroll the table sideways.
    with app_server(review_db) as url, browser_page(4000, 1100) as page:
        page.goto(f"{url}/review")
        wait_for_app(page, 180000)
        page.get_by_text("Changed in this session: 0 partners").wait_for(timeout=180000)
        edit_in_review_table(page)
        box = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        _edit_review_cell(page, box, row=0, column=2, text="terminate")  # name, decision, note lead
        page.get_by_text("Changed in this session: 1 partner").wait_for(timeout=60000)
        page.wait_for_timeout(1000)  # the table drawn anew, lower now: the headline counts show the change
        box = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        _edit_review_cell(page, box, row=0, column=3, text="kept across reload")
        wait_for_app(page)

        page.reload()
        wait_for_app(page, 180000)
        page.get_by_text("Changed in this session: 1 partner").wait_for(timeout=60000)
        restored = page.get_by_text("Draft restored from")
        assert "(1 change)" in restored.inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "review_draft_restored")
        # The decisions the page would save after the reload (its CSV download) hold the edit.
        with page.expect_download() as download:
            page.locator('[data-testid="stDownloadButton"]').filter(has_text="Download decisions (CSV)").click()
        decisions = pd.read_csv(download.value.path(), encoding="utf-8-sig", keep_default_na=False)
        noted = decisions[decisions["Note"] != ""]
        assert noted[["Decision", "Note"]].values.tolist() == [["terminate", "kept across reload"]]
