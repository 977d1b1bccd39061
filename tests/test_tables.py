"""Partner tables (views/widgets.py): the first rows on screen in a stated order, every row in the download."""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from analytics.formatting import probability_text
from analytics.labels import COLUMNS, column
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
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"Partner id": str})


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
    assert rows["Partner id"].tolist() == [f"P{i:05d}" for i in range(1_234)]  # headers in words
    assert list(rows.columns) == ["Partner id", "Revenue"]  # the links are for the screen


def test_a_short_table_shows_every_row_without_a_caption(downloads):
    at = run_table(12)
    assert not at.caption
    assert len(at.dataframe[0].value) == 12
    assert len(csv_rows(downloads["partners_by_revenue.csv"]())) == 12


def test_the_dropoffs_page_downloads_every_partner_that_fell(demo_db, downloads):
    at = open_page(demo_db, "views/pages/dropoffs.py")
    fallen = int(metric(at, "Partners down 50 % or more").value.replace(",", ""))
    (name,) = [n for n in downloads if n.startswith("revenue_dropoffs_")]
    rows = csv_rows(downloads[name]())
    assert len(rows) == fallen
    lost = next(c for c in rows.columns if c.startswith("Revenue lost"))
    assert rows[lost].is_monotonic_decreasing  # the order the page states
    changes = [n for n in downloads if n.startswith("partner_changes_")]
    assert len(csv_rows(downloads[changes[0]]())) > 500  # more than the table shows
    assert any(c.value.startswith("Showing the first 500 of") for c in at.caption)


# --- every page's tables in words ---------------------------------------------------------------------------------

def headers(element) -> dict[str, dict]:
    """Give {engine column: its column config} for the columns a dataframe element shows (hidden ones left out)."""
    config = json.loads(element.proto.columns or "{}")
    shown = list(element.proto.column_order) or list(element.value.columns)
    return {c: config.get(c, {}) for c in shown if not config.get(c, {}).get("hidden")}


def table_problems(at: AppTest) -> list[str]:
    """Give what reads like raw data in the page's tables: engine names as headers, unformatted money or shares."""
    problems = []
    for element in at.dataframe:
        if element.proto.placeholder != "":
            problems.append(f"missing values show as {element.proto.placeholder!r}")
        for name, config in headers(element).items():
            label = config.get("label") or name
            if "_" in label or label in COLUMNS:
                problems.append(f"header {label!r} for {name}")
            kind = column(name).kind
            shown_as = (config.get("type_config") or {}).get("format")
            if kind in ("money", "share") and shown_as != {"money": "dollar", "share": "percent"}[kind]:
                problems.append(f"{label!r} ({kind}) formatted as {shown_as!r}")
        labels = [config.get("label") or name for name, config in headers(element).items()]
        if len(set(labels)) < len(labels):
            problems.append(f"a header twice in {labels}")
    return problems


@pytest.mark.parametrize(
    ("page", "params"),
    [("views/pages/overview.py", {}), ("views/pages/tiers.py", {}), ("views/pages/dropoffs.py", {}),
     ("views/pages/engagement.py", {}), ("views/pages/recruits.py", {}), ("views/pages/distributors.py", {}),
     ("views/pages/risk.py", {}), ("views/pages/model.py", {}), ("views/pages/review.py", {}),
     ("views/pages/partner.py", {"partner_id": "P00010"}), ("views/pages/upload.py", {})],
    ids=lambda v: v.removeprefix("views/pages/").removesuffix(".py") if isinstance(v, str) else "",
)
def test_every_table_on_a_page_reads_in_words_with_its_figures_formatted(demo_db, page, params):
    at = open_page(demo_db, page, **params)
    assert at.dataframe, "the page shows no table"
    assert table_problems(at) == []


def test_the_partner_id_shows_once_and_the_name_and_reasons_come_first(demo_db):
    at = open_page(demo_db, "views/pages/risk.py")
    order = list(at.dataframe[0].proto.column_order)
    # link, name, the probability in words and the rank to sort by, why
    assert order[:5] == ["partner", "partner_name", "churn_chance", "risk_rank", "churn_reasons"]
    assert "churn_probability" not in order  # the number is in the download, not on screen
    assert "partner_id" not in order  # the link column shows it
    assert headers(at.dataframe[0])["churn_reasons"]["width"] >= 300  # room for the reasons, wrapped
    assert at.dataframe[0].proto.row_height > 64  # Streamlit wraps text only in rows taller than 4rem
    # At the default horizon of 4 quarters the revenue at stake is the trailing year's: one column, not two.
    assert "revenue_trailing" not in headers(at.dataframe[0])
    moves = open_page(demo_db, "views/pages/tiers.py").dataframe[1]
    assert [c["label"] for c in headers(moves).values()].count("Partner") == 1 and "partner_id" not in headers(moves)


def test_saved_reviews_and_a_partners_decisions_read_in_words(demo_copy, downloads):
    at = open_page(demo_copy, "views/pages/review.py")
    at.button(key="save_review").click().run()
    assert not at.exception, at.exception
    assert table_problems(at) == []
    record = [e for e in at.dataframe if "decided_by" in e.value.columns]
    assert record and headers(record[0])["decided_by"]["label"] == "Decided by"
    partner = record[0].value["partner_id"].iloc[0]
    assert table_problems(open_page(demo_copy, "views/pages/partner.py", partner_id=partner)) == []


def test_the_review_export_reads_as_a_letter_would(demo_copy, downloads):
    open_page(demo_copy, "views/pages/review.py")
    (csv_name,) = [n for n in downloads if n.startswith("review_") and n.endswith(".csv")]
    (excel_name,) = [n for n in downloads if n.startswith("review_") and n.endswith(".xlsx")]
    rows = list(csv.reader(io.StringIO(downloads[csv_name]().decode("utf-8-sig"))))
    assert rows[0][:5] == ["Partner id", "Name", "Decision", "Note", "Development goals"]
    assert not [h for h in rows[0] if "_" in h]
    revenue = rows[0].index(next(h for h in rows[0] if h.startswith("Revenue 2")))
    assert all(re.fullmatch(r"-?\d+(\.\d{1,2})?", r[revenue]) for r in rows[1:])  # cents, no 29746.829999999998
    workbook = openpyxl.load_workbook(io.BytesIO(downloads[excel_name]()))
    # The workbook opens on its Summary; its decisions read as the CSV does, the model version in the summary only.
    assert workbook.sheetnames == ["Summary", "Decisions"]
    book = workbook["Decisions"]
    assert [c.value for c in book[1]] == [h for h in rows[0] if h != "Model version"]
    assert book.freeze_panes == "A2" and book.auto_filter.ref



def test_the_risk_download_keeps_probabilities_as_numbers_and_says_what_they_are(demo_db, downloads):
    at = open_page(demo_db, "views/pages/risk.py")
    shown = at.dataframe[0].value
    rows = csv_rows(downloads["partners_at_risk_2026Q3_4q.csv"]())
    assert len(rows) >= len(shown) > 0  # all of them; the screen shows the first rows
    header = "Churn probability 2026Q4–2027Q3 (0 to 1)"
    assert rows[header].between(0, 1).all() and rows[header].is_monotonic_decreasing
    assert rows["Risk rank"].tolist() == list(range(1, len(rows) + 1))
    assert "Churn probability, 2026Q4–2027Q3" not in rows.columns  # the words are for the screen
    assert shown["churn_chance"].iloc[0] == probability_text(rows[header].iloc[0])  # the same figure, in words
