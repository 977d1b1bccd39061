"""Saved views: the engine on a real DuckDB file, and saving then opening a view in the app (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.saved_views import MAX_NAME, delete_view, list_views, save_view
from analytics.store.store import Store
from tests.apptest_helpers import open_page, run_as

ODD_NAMES = ["O'Brien; DROP TABLE saved_views; --", "**bold** $x$ <b>", "Vue « été » 🚀", "?", "a" * MAX_NAME]


def test_saving_again_updates_the_view_and_keeps_when_it_was_first_saved(store):
    assert save_view(store, "local", "Gold EMEA", "tiers", "quarter=2025Q4&tier=Gold") is True
    first = list_views(store, "local").iloc[0]
    assert save_view(store, "local", "  Gold EMEA ", "dropoffs", "quarter=2026Q1&tier=Gold&region=EMEA") is False
    views = list_views(store, "local")
    assert views[["name", "page", "query"]].values.tolist() == [
        ["Gold EMEA", "dropoffs", "quarter=2026Q1&tier=Gold&region=EMEA"]]
    assert views.iloc[0]["created_at"] == first["created_at"] and views.iloc[0]["saved_at"] >= first["saved_at"]


@pytest.mark.parametrize("name", ODD_NAMES, ids=["sql", "markup", "unicode", "question-mark", "longest"])
def test_odd_names_are_stored_as_typed(store, name):
    save_view(store, "local", name, "overview", "quarter=2025Q4")
    assert list_views(store, "local")["name"].tolist() == [name]
    assert delete_view(store, "local", name) is True
    assert list_views(store, "local").empty


def test_each_owner_sees_and_deletes_only_their_own_views(store):
    save_view(store, "exec@example.com", "Mine", "tiers", "tier=Gold")
    save_view(store, "local", "Mine", "overview", "tier=Silver")
    assert delete_view(store, "exec@example.com", "Mine") is True
    assert delete_view(store, "exec@example.com", "Mine") is False
    assert list_views(store, "exec@example.com").empty
    assert list_views(store, "local")["query"].tolist() == ["tier=Silver"]


@pytest.mark.parametrize(
    ("name", "message"), [("", "needs a name"), ("   ", "needs a name"), ("a" * (MAX_NAME + 1), "at most 100")],
    ids=["empty", "spaces", "too-long"],
)
def test_a_view_without_a_usable_name_is_refused(store, name, message):
    with pytest.raises(ValueError, match=message):
        save_view(store, "local", name, "overview", "")
    assert list_views(store, "local").empty


@pytest.fixture
def channel_db(periods_db: Path) -> Path:
    return periods_db


def test_a_saved_view_opens_its_page_with_its_filters_and_periods(channel_db):
    at = open_page(channel_db, "views/pages/dropoffs.py", quarter="2025Q2", tier="Silver", period_a="2024Q1-2024Q2",
                   period_b="2025Q1-2025Q2")
    at.text_input(key="view_name").input("Silver halves")
    at.button(key="view_save").click().run()
    assert [s.value for s in at.success] == ["Saved “Silver halves”."]
    # Somewhere else, with other filters:
    at.multiselect(key="f_tiers").set_value(["Gold"]).run()
    at.selectbox(key="f_quarter").set_value("2025Q4").run()
    at.switch_page("views/pages/tiers.py").run()
    at.selectbox(key="view_pick").set_value("Silver halves")
    at.button(key="view_open").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Revenue drop-offs"
    assert at.selectbox(key="f_quarter").value == "2025Q2"
    assert at.multiselect(key="f_tiers").value == ["Silver"]
    assert at.toggle(key="dropoff_custom").value is True
    assert at.select_slider(key="dropoff_period_b").value == ("2025Q1", "2025Q2")


@pytest.fixture
def viewer_role(tmp_path, monkeypatch):
    path = tmp_path / "roles.toml"
    path.write_text('[people]\n"exec@example.com" = "viewer"\n')
    monkeypatch.setenv("CHANNEL_ROLES", str(path))


def test_a_viewer_may_keep_views_of_their_own(channel_db, viewer_role):
    at = run_as(channel_db, "exec@example.com", "views/pages/tiers.py", email_verified=True)
    assert any("role: **viewer**" in c.value for c in at.sidebar.caption)
    at.text_input(key="view_name").input("Exec's view")
    at.button(key="view_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with Store(channel_db) as store:
        assert list_views(store, "exec@example.com")["page"].tolist() == ["tiers"]
        assert list_views(store, "local").empty
