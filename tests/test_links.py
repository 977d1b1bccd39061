"""Partner links keep the view, and links (shared, Back, saved) set the filters, saying what they asked for in vain.

AppTests of the real app on a tiny channel; tests/test_browser_links.py clicks in a real browser.
"""

from __future__ import annotations

from analytics.formatting import money
from analytics.ingest.load import load_extract
from analytics.store.store import Store
from tests.apptest_helpers import metric, open_page, url_values
from tests.builders import TINY


def test_a_click_on_a_partner_opens_it_as_of_the_quarter_with_the_filters(tiny_db):
    at = open_page(tiny_db, "views/pages/dropoffs.py", quarter="2025Q4", tier=["Gold", "Silver"])
    table = next(df.value for df in at.dataframe if "revenue_t4" in df.value and "cumulative_share" not in df.value)
    row = table["partner_id"].tolist().index("P2")
    at.session_state["dl_changes_table"] = {"selection": {"cells": [[row, "partner"]]}}  # what a click sends
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Partner"
    assert at.selectbox(key="partner_pick").value == "P2"
    assert at.selectbox(key="f_quarter").value == "2025Q4"
    assert at.multiselect(key="f_tiers").value == ["Gold", "Silver"]
    assert url_values(at, "quarter") == ["2025Q4"] and url_values(at, "tier") == ["Gold", "Silver"]
    # As of 2025Q4, not the latest quarter: 250 in 2025Q1 and 100 in each of the three after.
    assert metric(at, "Revenue, 2025Q1–2025Q4").value == money(550)
    assert [link.proto.label for link in at.get("page_link")] == ["← Back to Revenue drop-offs"]


def test_a_click_on_a_partner_name_opens_it_and_other_cells_do_not(tiny_db):
    at = open_page(tiny_db, "views/pages/dropoffs.py")
    table = next(df.value for df in at.dataframe if "revenue_t4" in df.value and "cumulative_share" not in df.value)
    at.session_state["dl_changes_table"] = {"selection": {"cells": [[0, "revenue_t4"]]}}
    at.run()
    assert at.title[0].value == "Revenue drop-offs"
    at.session_state["dl_changes_table"] = {"selection": {"cells": [[0, "partner_name"]]}}
    at.run()
    assert at.title[0].value == "Partner"
    assert at.selectbox(key="partner_pick").value == table["partner_id"].iloc[0]


def test_links_in_edited_tables_carry_the_view():
    from streamlit.testing.v1 import AppTest

    def script():
        import pandas as pd
        import streamlit as st

        from views.widgets import partner_links

        st.session_state["_url_written"] = {"quarter": ["2025Q4"], "tier": ["Gold", "A&B"]}
        st.dataframe(partner_links(pd.DataFrame({"partner_id": ["P 1&2"]})))

    at = AppTest.from_function(script).run()
    assert at.dataframe[0].value["partner"].tolist() == [
        "partner?partner_id=P%201%262&quarter=2025Q4&tier=Gold&tier=A%26B"]


def test_a_link_followed_in_a_running_session_sets_the_filters(tiny_db):
    at = open_page(tiny_db, "views/pages/overview.py", quarter="2025Q4", tier="Gold")
    at.query_params.clear()
    at.query_params["quarter"] = "2025Q2"
    at.query_params["region"] = "NA"
    at.run()
    assert at.selectbox(key="f_quarter").value == "2025Q2"
    assert at.multiselect(key="f_regions").value == ["NA"]
    assert at.multiselect(key="f_tiers").value == []  # a link names the whole view: no tier is all tiers
    # A page change through the menu (no parameters) keeps the session's choice.
    at.query_params.clear()
    at.switch_page("views/pages/tiers.py").run()
    assert at.selectbox(key="f_quarter").value == "2025Q2" and url_values(at, "region") == ["NA"]


def test_a_link_to_a_quarter_or_value_no_longer_loaded_says_so(tiny_db):
    at = open_page(tiny_db, "views/pages/overview.py", quarter="2026Q3", tier=["Gold", "Diamond"], region="**Mars**")
    warnings = [w.value for w in at.warning]
    assert "The link asked for 2026Q3, which is no longer loaded; showing 2026Q2." in warnings
    assert "The link asked for tier “Diamond”, which is not in the loaded data; showing the other tiers asked for." \
        in warnings
    assert r"The link asked for region “\*\*Mars\*\*”, which is not in the loaded data; showing all regions." \
        in warnings
    assert at.selectbox(key="f_quarter").value == "2026Q2"
    assert at.multiselect(key="f_tiers").value == ["Gold"]
    at.switch_page("views/pages/tiers.py").run()
    assert at.multiselect(key="f_tiers").value == ["Gold"]
    assert not at.warning  # what the link asked for is said on the page it opened
    at = open_page(tiny_db, "views/pages/overview.py", quarter="2026Q3")
    at.multiselect(key="f_tiers").set_value(["Silver"]).run()  # the person's own choice answers the link
    assert not at.warning


def test_back_gives_the_page_its_own_choices_and_the_filters_as_they_are_now(tiny_db):
    at = open_page(tiny_db, "views/pages/dropoffs.py", quarter="2026Q2", period_a="2024Q3-2024Q4",
                   period_b="2025Q3-2025Q4")
    at.session_state["dl_changes_table"] = {"selection": {"cells": [[0, "partner"]]}}
    at.run()
    assert at.title[0].value == "Partner"
    at.switch_page("views/pages/partner.py")  # AppTest's own next run would go back to the page it last switched to
    at.multiselect(key="f_regions").set_value(["NA"]).run()  # changed on the Partner page
    assert at.title[0].value == "Partner", [t.value for t in at.title]
    (back,) = at.get("page_link")
    assert back.proto.label == "← Back to Revenue drop-offs"
    query = back.proto.query_string
    for part in ("period_a=2024Q3-2024Q4", "period_b=2025Q3-2025Q4", "quarter=2026Q2", "region=NA"):
        assert part in query, query
    assert "partner_id" not in query


def test_a_chosen_quarter_rolled_back_in_the_session_is_named(tmp_path):
    from analytics.ingest.rollback import rollback_load

    lines = TINY.splitlines(keepends=True)
    early, late = tmp_path / "early.csv", tmp_path / "late.csv"
    early.write_text("".join(line for line in lines if "2026-04" not in line))
    late.write_text(lines[0] + "".join(line for line in lines if "2026-04" in line))
    db = tmp_path / "two.duckdb"
    with Store(db) as store:
        load_extract(store, early)
        load_extract(store, late)
    at = open_page(db, "views/pages/overview.py")
    at.selectbox(key="f_quarter").set_value("2026Q1").run()
    at.selectbox(key="f_quarter").set_value("2026Q2").run()  # chosen, not just the latest
    import streamlit as st

    st.cache_resource.clear()
    with Store(db) as store:
        rollback_load(store, 2, force=True)
    at.run()
    assert "The quarter chosen, 2026Q2, is no longer loaded; showing 2026Q1." in [w.value for w in at.warning]
    assert at.selectbox(key="f_quarter").value == "2026Q1"
