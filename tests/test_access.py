"""Who may do what: the roles file, the engine's checks on every write, and the pages each role is offered."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.access import (
    ACTIONS,
    ROLES,
    UNVERIFIED_EMAIL_NOTE,
    AccessDenied,
    Actor,
    RoleMap,
    actor_from_claims,
    check,
    load_roles,
    permitted,
)
from analytics.formatting import markdown_literal
from analytics.ingest.history import list_loads
from analytics.ingest.load import load_extract
from analytics.ingest.mappings import remember_mapping, remembered_mapping
from analytics.ingest.rollback import rollback_load
from analytics.program.rules import load_program, save_program
from analytics.review.saved_reviews import DECISION_COLUMNS, list_reviews, load_review, save_review
from tests.apptest_helpers import APP, run_as

VIEWER = Actor("exec@example.com", "viewer")
OPERATOR = Actor("ops@example.com", "operator")
REVIEWER = Actor("chief@example.com", "reviewer")
ADMIN = Actor("admin@example.com", "admin")

# The whole matrix, written out rather than derived from the code under test.
EXPECTED = {
    "viewer": set(),
    "operator": {"load", "replace", "roll back"},
    "reviewer": {"save review"},
    "admin": set(ACTIONS),
}

LINES = "partner_id,partner_name,order_date,revenue\nP1,Acme,2025-07-01,100\nP2,Bolt,2025-08-01,50\n"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_exactly_its_actions(role):
    for action in ACTIONS:
        assert permitted(role, action) == (action in EXPECTED[role]), (role, action)
        if action in EXPECTED[role]:
            check(Actor("someone", role), action)
        else:
            with pytest.raises(AccessDenied, match=f"someone signed in as {role} may not {action}"):
                check(Actor("someone", role), action)


def test_the_local_operator_may_do_everything_but_unknown_actions_are_refused():
    for action in ACTIONS:
        check(None, action)
    with pytest.raises(ValueError, match="Unknown action"):
        check(None, "drop the database")
    with pytest.raises(ValueError, match="Unknown role"):
        Actor("x", "superuser")


def test_roles_file_maps_addresses_then_domains_then_the_default(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text(
        'default_role = "viewer"\n[people]\n"Chief@Example.com" = "reviewer"\n'
        '[domains]\n"ops.example.com" = "operator"\n"example.com" = "viewer"\n"@admins.org" = "admin"\n'
    )
    roles = load_roles(path)
    assert roles.role_of("chief@example.com") == "reviewer"  # the address wins over its domain, any case
    assert roles.role_of("ann@ops.example.com") == "operator"
    assert roles.role_of("bob@night.ops.example.com") == "operator"  # a domain covers its subdomains
    assert roles.role_of("eve@example.com") == "viewer"
    assert roles.role_of("root@admins.org") == "admin"
    assert roles.role_of("stranger@elsewhere.net") == "viewer"
    assert roles.role_of(None) == "viewer"
    assert load_roles(tmp_path / "missing.toml").role_of("anyone@x.com") == "viewer"


def test_a_bad_roles_file_names_the_file_and_the_entry(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text('[people]\n"a@b.com" = "boss"\n')
    with pytest.raises(ValueError, match=r"roles.toml: people.a@b.com must be one of viewer, operator"):
        load_roles(path)
    path.write_text("[people\n")
    with pytest.raises(ValueError, match="roles.toml is not valid TOML"):
        load_roles(path)


def test_the_shipped_roles_file_reads():
    roles = load_roles()
    assert roles.role_of("channel.chief@example.com") == "reviewer"


@pytest.mark.parametrize("actor", [VIEWER, REVIEWER])
def test_loading_is_refused_to_viewers_and_reviewers_and_writes_nothing(store, write_file, actor):
    path = write_file("q3.csv", LINES)
    with pytest.raises(AccessDenied, match="takes the operator or admin role"):
        load_extract(store, path, actor=actor)
    assert list_loads(store).empty
    assert store.query_df("SELECT count(*) AS n FROM order_lines")["n"].iloc[0] == 0


def test_an_operator_loads_replaces_and_rolls_back_and_is_recorded(store, write_file):
    first = load_extract(store, write_file("q3.csv", LINES), actor=OPERATOR)
    again = write_file("q3b.csv", LINES.replace("100", "120"))
    with pytest.raises(AccessDenied, match="may not replace"):
        load_extract(store, again, mode="replace", actor=REVIEWER, force=True)
    second = load_extract(store, again, mode="replace", actor=OPERATOR, force=True)
    with pytest.raises(AccessDenied, match="may not roll back"):
        rollback_load(store, second.load_id, actor=VIEWER, force=True)
    rollback_load(store, second.load_id, actor=ADMIN, force=True)
    loads = list_loads(store).set_index("load_id")
    assert loads.loc[first.load_id, "loaded_by"] == "ops@example.com"
    assert loads.loc[second.load_id, "loaded_by"] == "ops@example.com"
    assert loads.loc[second.load_id, "status"] == "rolled_back"
    assert loads.loc[second.load_id, "rolled_back_by"] == "admin@example.com"
    # The refused rollback changed nothing: the admin's was the one that counted.
    assert store.query_df("SELECT sum(revenue) AS r FROM partner_quarter")["r"].iloc[0] == 150


ODD_HEADERS = ["Acct", "When", "Amt"]
ODD_MAPPING = {"partner_id": "Acct", "order_date": "When", "revenue": "Amt"}


@pytest.mark.parametrize("actor", [VIEWER, REVIEWER], ids=["viewer", "reviewer"])
def test_remembering_a_column_mapping_is_refused_to_roles_that_may_not_load(store, actor):
    with pytest.raises(AccessDenied, match=f"{actor.who} signed in as {actor.role} may not load"):
        remember_mapping(store, ODD_HEADERS, ODD_MAPPING, actor=actor)
    assert remembered_mapping(store, ODD_HEADERS) is None


@pytest.mark.parametrize("actor, recorded", [(OPERATOR, "ops@example.com"), (ADMIN, "admin@example.com"),
                                             (None, None)], ids=["operator", "admin", "local"])
def test_operators_admins_and_the_local_user_remember_a_column_mapping(store, actor, recorded):
    remember_mapping(store, ODD_HEADERS, ODD_MAPPING, actor=actor)
    assert remembered_mapping(store, ODD_HEADERS) == ODD_MAPPING
    saved = store.query_df("SELECT confirmed_by FROM column_mappings")
    assert saved["confirmed_by"].tolist() == [recorded]


def _decisions() -> pd.DataFrame:
    row = {column: None for column in DECISION_COLUMNS}
    row.update(partner_id="P1", recommendation="retain", decision="terminate", note="no deals")
    return pd.DataFrame([row])[DECISION_COLUMNS]


def test_only_reviewers_and_admins_save_decisions_and_the_decider_is_recorded(store, write_file):
    load_extract(store, write_file("q3.csv", LINES))
    rules = load_program()
    for actor in (VIEWER, OPERATOR):
        with pytest.raises(AccessDenied, match="may not save review"):
            save_review(store, "FY2026", "2025Q3", rules, _decisions(), actor=actor)
    assert list_reviews(store).empty
    save_review(store, "FY2026", "2025Q3", rules, _decisions(), actor=REVIEWER)
    saved = load_review(store, "FY2026")
    assert saved["decision"].tolist() == ["terminate"]
    assert saved["decided_by"].tolist() == ["chief@example.com"]


def test_only_admins_change_the_program_rules(tmp_path):
    rules = load_program()
    path = tmp_path / "program.toml"
    for actor in (VIEWER, OPERATOR, REVIEWER):
        with pytest.raises(AccessDenied, match="may not change program rules"):
            save_program(rules, path, actor=actor)
    assert not path.exists()
    changed = rules.with_minimums({rules.tiers[0].name: rules.tiers[0].min_revenue + 1})
    save_program(changed, path, actor=ADMIN)
    assert load_program(path) == changed
    assert "admin@example.com" in path.read_text().splitlines()[0]


# -- the pages each role is offered --------------------------------------------------------------
@pytest.fixture
def roles_file(tmp_path, monkeypatch):
    path = tmp_path / "roles.toml"
    path.write_text('[people]\n"exec@example.com" = "viewer"\n"ops@example.com" = "operator"\n'
                    '"chief@example.com" = "reviewer"\n"admin@example.com" = "admin"\n')
    monkeypatch.setenv("CHANNEL_ROLES", str(path))
    return path


def _small(db, folder):
    from analytics.store.store import Store

    (folder / "q3.csv").write_text(LINES)
    with Store(db) as store:
        load_extract(store, folder / "q3.csv")


@pytest.fixture
def small_db(databases, tmp_path):
    return databases.copy("access_small", _small, tmp_path / "small.duckdb")


def test_without_sign_in_the_app_says_it_runs_in_local_single_user_mode(small_db):
    os_env = __import__("os").environ
    os_env["CHANNEL_DB"] = str(small_db)
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception
    assert any("Local single-user mode" in c.value for c in at.sidebar.caption)
    at.switch_page("views/pages/upload.py").run()
    assert not at.exception
    assert at.title[0].value == "Upload extracts"
    assert at.file_uploader(key="uploads") is not None


def test_with_sign_in_configured_nobody_signed_in_sees_only_the_way_in(small_db, roles_file):
    at = run_as(small_db, None)
    assert [t.value for t in at.title] == ["Channel Health"]
    assert at.button(key="sign_in").label == "Sign in"
    assert not at.metric
    # AppTest's secrets do not reach st.login, which then finds no provider: the page says so, no trace.
    at.button(key="sign_in").click().run()
    assert not at.exception
    assert "Sign-in is set up in .streamlit/secrets.toml but cannot be used" in at.error[0].value


@pytest.mark.parametrize("email, role", [("exec@example.com", "viewer"), ("ops@example.com", "operator"),
                                         ("chief@example.com", "reviewer"), ("admin@example.com", "admin")])
def test_each_signed_in_role_sees_its_role_and_every_chart(small_db, roles_file, email, role):
    at = run_as(small_db, email)
    assert any(f"Signed in as {markdown_literal(email)}" in c.value and role in c.value for c in at.sidebar.caption)
    assert at.metric, "the overview shows its figures to every role"
    assert not at.sidebar.warning


ROLE_MAP = RoleMap(people={"admin@example.com": "admin", "ops@example.com": "operator"})


@pytest.mark.parametrize(
    "claims, role, note",
    [
        ({"email_verified": True}, "admin", None),
        ({"email_verified": "true"}, "admin", None),  # Cognito and some Okta set-ups send a string
        ({}, "admin", None),  # no claim at all (Entra ID): the mapped role stands, see docs/running.md
        ({"email_verified": None}, "admin", None),
        ({"email_verified": False}, "viewer", UNVERIFIED_EMAIL_NOTE),
        ({"email_verified": "false"}, "viewer", UNVERIFIED_EMAIL_NOTE),
        ({"email_verified": 0}, "viewer", UNVERIFIED_EMAIL_NOTE),
    ],
    ids=["verified", "verified-string", "no-claim", "null-claim", "unverified", "unverified-string", "zero"],
)
def test_an_unverified_email_address_gives_the_viewer_role_at_most(claims, role, note):
    actor, why = actor_from_claims({"email": "admin@example.com", **claims}, ROLE_MAP)
    assert actor == Actor("admin@example.com", role)
    assert why == note


def test_the_claims_name_the_person_when_there_is_no_address():
    assert actor_from_claims({"name": "Ann Lee"}, ROLE_MAP) == (Actor("Ann Lee", "viewer"), None)
    assert actor_from_claims({"email": "ops@example.com", "email_verified": False}, ROLE_MAP) == (
        Actor("ops@example.com", "viewer"), UNVERIFIED_EMAIL_NOTE)


def test_a_verified_admin_is_admin_in_the_app(small_db, roles_file):
    at = run_as(small_db, "admin@example.com", email_verified=True)
    assert any("role: **admin**" in c.value for c in at.sidebar.caption)
    assert not at.sidebar.warning
    at.switch_page("views/pages/upload.py").run()
    assert not at.exception and at.title[0].value == "Upload extracts"


def test_an_unverified_admin_is_a_viewer_and_the_sidebar_says_why(small_db, roles_file):
    at = run_as(small_db, "admin@example.com", email_verified=False)
    assert any("role: **viewer**" in c.value for c in at.sidebar.caption)
    assert [w.value for w in at.sidebar.warning] == [UNVERIFIED_EMAIL_NOTE]
    assert "not verified by the provider, so you can only view" in UNVERIFIED_EMAIL_NOTE
    with pytest.raises(ValueError, match="Could not find a navigation page for '.*upload.py'"):
        at.switch_page("views/pages/upload.py").run()


@pytest.mark.parametrize("email, may_load", [("exec@example.com", False), ("ops@example.com", True),
                                             ("chief@example.com", False), ("admin@example.com", True)])
def test_the_upload_page_is_offered_only_to_operators_and_admins(small_db, roles_file, email, may_load):
    if not may_load:
        # Not in the navigation at all: no link to it, and no way to switch to it.
        with pytest.raises(ValueError, match="Could not find a navigation page for '.*upload.py'"):
            run_as(small_db, email, "views/pages/upload.py")
        return
    at = run_as(small_db, email, "views/pages/upload.py")
    assert at.title[0].value == "Upload extracts"
    assert at.file_uploader(key="uploads") is not None
    assert at.selectbox(key="rollback_pick") is not None


def test_the_upload_page_remembers_an_operators_column_mapping(small_db, roles_file):
    import streamlit as st

    from analytics.store.store import Store

    at = run_as(small_db, "ops@example.com", "views/pages/upload.py")
    at.file_uploader(key="uploads").upload("odd.csv", b"Acct;When;Amt\nP9;2025-10-01;100\n", "text/csv").run()
    for canonical, header in ODD_MAPPING.items():
        at.selectbox(key=f"map_0_{canonical}").set_value(header)
    at.run()
    at.button(key="map_0_apply").click().run()
    assert not at.exception, at.exception
    assert not at.error
    st.cache_resource.clear()  # let go of the app's connection before opening the file here
    with Store(small_db) as store:
        assert remembered_mapping(store, ODD_HEADERS) == ODD_MAPPING
        assert store.query_df("SELECT confirmed_by FROM column_mappings")["confirmed_by"].tolist() == [
            "ops@example.com"]


@pytest.mark.parametrize("email, may_save", [("exec@example.com", False), ("ops@example.com", False),
                                             ("chief@example.com", True), ("admin@example.com", True)])
def test_review_decisions_can_be_changed_only_by_reviewers_and_admins(demo_db, roles_file, email, may_save):
    at = run_as(demo_db, email, "views/pages/review.py")
    assert at.title[0].value == "Annual review"
    assert at.metric, "every role sees the recommendations"
    keys = {b.key for b in at.button}
    assert ("save_review" in keys) == may_save
    # Editing in the table (and changing a partner in the one-partner panel) is there only for those who decide.
    assert ("review_edit_in_table" in {t.key for t in at.toggle}) == may_save
    # Those who record decisions may use the what-if's rules for the review; only an admin may keep them as a file.
    assert ("whatif_apply" in keys) == may_save
    assert ("whatif_save_rules" in keys) == (email == "admin@example.com")


def test_an_empty_database_offers_the_way_in_only_to_those_who_may_load(tmp_path, roles_file):
    from analytics.demo import build_demo_channel
    from analytics.store.store import Store

    db = tmp_path / "empty.duckdb"
    Store(db).close()
    viewer = run_as(db, "exec@example.com")
    assert "Loading data takes the operator or admin role" in viewer.info[0].value
    assert not [b for b in viewer.button if b.key == "build_demo"]
    operator = run_as(db, "ops@example.com")
    assert operator.button(key="build_demo") is not None
    with Store(db) as store, pytest.raises(AccessDenied, match="may not load"):
        build_demo_channel(store, actor=VIEWER)
