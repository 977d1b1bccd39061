"""Every page as a regional reviewer (scoped to APAC in roles.toml) shows only APAC's partners; the board pack and the
review's export of that scope hold no other region's partner; the global chief sees every regional review.

The small demo channel (tests/conftest.py) has NA, EMEA, APAC and LATAM. Here APAC runs a program of its own in AUD
(a copy of the product's ANZ program moved onto APAC), with AUD at 0.65 USD in every quarter.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pytest
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from analytics.brief import board_pack_bytes
from analytics.export import people_csv
from analytics.filters import ChannelFilter
from analytics.program.regional_programs import load_programs
from analytics.review.decisions import review_decisions
from analytics.review.regional import regional_recommendations
from analytics.store.store import Store
from tests.apptest_helpers import run_verified as run_as
from tests.regional_channel import APAC_REVIEWER as SCOPED
from tests.regional_channel import GLOBAL_CHIEF as CHIEF

PAGES = ["views/pages/overview.py", "views/pages/tiers.py", "views/pages/dropoffs.py", "views/pages/engagement.py",
         "views/pages/recruits.py", "views/pages/distributors.py", "views/pages/risk.py", "views/pages/model.py",
         "views/pages/review.py", "views/pages/partner.py"]


def _regions_of_partners(db: Path) -> tuple[set[str], set[str]]:
    """Give the partners with any APAC row, and those with rows in other regions only."""
    with Store(db) as store:
        rows = store.query_df("SELECT partner_id, bool_or(region = 'APAC') AS apac FROM partner_quarter GROUP BY 1")
    return set(rows.loc[rows["apac"], "partner_id"]), set(rows.loc[~rows["apac"], "partner_id"])


def _shown_frames(at: AppTest) -> list[pd.DataFrame]:
    return [frame.value for frame in at.dataframe if isinstance(frame.value, pd.DataFrame)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).stem)
def test_every_page_as_a_regional_reviewer_shows_only_its_region(apac_db, page):
    apac, others = _regions_of_partners(apac_db)
    at = run_as(apac_db, SCOPED, page, **({"partner_id": sorted(apac)[0]} if page.endswith("partner.py") else {}))
    region_filter = next(w for w in at.sidebar.multiselect if w.label == "Region")
    assert list(region_filter.options) == ["APAC"]
    assert any("regions: **APAC** only" in c.value for c in at.sidebar.caption)
    checked = 0
    for frame in _shown_frames(at):
        for column in ("region", "Region"):
            if column in frame.columns:
                assert set(frame[column].dropna()) <= {"APAC"}, (page, column, set(frame[column]))
                checked += 1
        for column in ("partner_id", "Partner id"):
            if column in frame.columns:
                assert not set(frame[column].astype(str)) & others, page
                checked += 1
    if page.endswith(("review.py", "risk.py", "dropoffs.py")):
        assert checked, f"{page} showed no table with regions or partners to check"


def test_the_review_as_a_regional_reviewer_is_its_region_under_its_program(apac_db):
    at = run_as(apac_db, SCOPED, "views/pages/review.py")
    captions = " ".join(c.value for c in at.caption)
    assert "Your review: APAC only" in captions
    assert "ANZ program (AUD)" in captions and "Global program" not in captions
    assert "Regions" not in [t.label for t in at.tabs]  # the roll-up is the global chief's
    table = next(f for f in _shown_frames(at) if "program" in f.columns)
    assert set(table["program"]) == {"ANZ"} and set(table["region"]) == {"APAC"}


def test_a_partner_link_outside_the_scope_says_it_is_not_theirs(apac_db):
    _, others = _regions_of_partners(apac_db)
    outsider = sorted(others)[0]
    at = run_as(apac_db, SCOPED, "views/pages/partner.py", partner_id=outsider)
    assert any(f"Partner {outsider} is not one of yours" in w.value for w in at.warning)
    assert not at.metric  # nothing of that partner is shown


def test_the_global_chief_sees_every_region_and_the_regional_progress(apac_db):
    at = run_as(apac_db, CHIEF, "views/pages/review.py")
    assert "Regions" in [t.label for t in at.tabs]
    progress = next(f for f in _shown_frames(at) if "left" in f.columns)
    assert set(progress["region"]) == {"ANZ", "APAC", "EMEA", "LATAM", "NA"}
    assert set(progress.set_index("region").loc["APAC", ["program", "currency"]]) == {"ANZ", "AUD"}
    assert (progress["decided"] == 0).all()
    rollup = next(f for f in _shown_frames(at) if "tier_level" in f.columns)
    assert rollup["partners"].sum() == progress["partners"].sum()  # every partner once on the global ladder


def test_the_board_pack_and_the_review_export_of_a_scope_hold_no_other_regions_partner(apac_db):
    with Store(apac_db) as store:
        names = store.query_df(
            "SELECT partner_id, arg_max(partner_name, q_index) AS name, bool_or(region = 'APAC') AS apac "
            "FROM partner_quarter GROUP BY 1")
        flt = ChannelFilter(scope=("APAC",))
        deck = Presentation(io.BytesIO(board_pack_bytes(store, flt)))
        text = " ".join(shape.text_frame.text for slide in deck.slides for shape in slide.shapes
                        if shape.has_text_frame)
        text += " ".join(cell.text for slide in deck.slides for shape in slide.shapes if shape.has_table
                         for row in shape.table.rows for cell in row.cells)
        programs = load_programs(Path(os.environ["CHANNEL_RULES_DIR"]) / "program.toml")
        quarter = store.query_df("SELECT max(quarter) AS q FROM partner_quarter").iloc[0]["q"]
        recs = regional_recommendations(store, quarter, programs, scope=("APAC",))
    apac_names = set(names.loc[names["apac"], "name"])
    outsiders = {n for n in names.loc[~names["apac"], "name"] if n not in apac_names}
    shown_apac = [n for n in apac_names if n in text]
    assert shown_apac, "the board pack names no partner at all: nothing was checked"
    assert not [n for n in outsiders if n in text]
    exported = pd.read_csv(io.BytesIO(people_csv(review_decisions(recs, ChannelFilter(quarter), {}))),
                           encoding="utf-8-sig")
    assert set(exported["Region"]) == {"APAC"}
    assert not set(exported["Partner id"]) & set(names.loc[~names["apac"], "partner_id"])


def test_the_partner_page_of_a_partner_under_a_regional_program_names_it(apac_db):
    apac, _ = _regions_of_partners(apac_db)
    at = run_as(apac_db, SCOPED, "views/pages/partner.py", partner_id=sorted(apac)[0])
    text = " ".join(m.value for m in at.markdown)
    assert "(the ANZ program's minimums, revenue in AUD)" in text
    assert "**Program:** ANZ (AUD), the program of its region APAC" in text
