"""Partner tables (views/widgets.py): the first rows on screen in a stated order, every row in the download."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import metric, open_page


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """Give {file name: the callable a download button runs on a click}, filled as pages draw their buttons.

    AppTest shows a download button but not a deferred file, which only a click in a browser makes;
    the callable is what that click runs.
    """
    made: dict = {}
    register = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return register(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return made


def csv_rows(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"partner_id": str})


def table_script(partners: int) -> None:
    """The script AppTest runs: a partner table of `partners` rows (a parameter of AppTest.from_function)."""
    import pandas as pd

    from views.widgets import partner_table

    frame = pd.DataFrame({"partner_id": [f"P{i:05d}" for i in range(partners)], "revenue": range(partners, 0, -1)})
    partner_table(frame, "partners by revenue", "dl_partners", "by revenue, largest first")


def run_table(partners: int) -> AppTest:
    at = AppTest.from_function(table_script, kwargs={"partners": partners}, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def test_a_long_table_shows_its_first_500_rows_and_says_so(downloads):
    at = run_table(1_234)
    assert [c.value for c in at.caption] == [
        "Showing the first 500 of 1,234 partners, by revenue, largest first; the download has all of them."
    ]
    shown = at.dataframe[0].value
    assert len(shown) == 500
    assert shown["partner_id"].tolist() == [f"P{i:05d}" for i in range(500)]
    assert shown["partner"].iloc[0] == "P00000"  # a click on it opens the Partner page (tests/test_links.py)
    assert at.get("download_button")[0].label == "Download partners by revenue (CSV, 1,234 rows)"


def test_the_download_holds_every_row_and_is_written_only_when_asked(downloads):
    run_table(1_234)
    write = downloads["partners_by_revenue.csv"]
    rows = csv_rows(write())
    assert len(rows) == 1_234
    assert rows["partner_id"].tolist() == [f"P{i:05d}" for i in range(1_234)]
    assert "partner" not in rows.columns  # the links are for the screen


def test_a_short_table_shows_every_row_without_a_caption(downloads):
    at = run_table(12)
    assert not at.caption
    assert len(at.dataframe[0].value) == 12
    assert len(csv_rows(downloads["partners_by_revenue.csv"]())) == 12


def test_the_dropoffs_page_downloads_every_partner_that_fell(demo_db, downloads):
    at = open_page(demo_db, "views/dropoffs.py")
    fallen = int(metric(at, "Partners down 50 % or more").value.replace(",", ""))
    (name,) = [n for n in downloads if n.startswith("revenue_dropoffs_")]
    rows = csv_rows(downloads[name]())
    assert len(rows) == fallen
    assert rows["revenue_lost"].is_monotonic_decreasing  # the order the page states
    changes = [n for n in downloads if n.startswith("partner_changes_")]
    assert len(csv_rows(downloads[changes[0]]())) > 500  # more than the table shows
    assert any(c.value.startswith("Showing the first 500 of") for c in at.caption)
