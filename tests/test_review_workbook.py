"""The review as a workbook a chief sends: a Summary sheet, then the decisions set up to print."""

from __future__ import annotations

import io

import openpyxl
import pytest

from analytics.export import review_out_line, review_workbook
from analytics.filters import ChannelFilter
from analytics.review.decisions import recommend, review_decisions
from analytics.review.saved_reviews import DECISION_EXPORT_COLUMNS
from tests.builders import HAND_MADE
from tests.builders import REVIEW_RULES as RULES

FIRST = ["partner_id", "partner_name", "decision", "note", "development_goals", "revenue_goal", "deals_goal",
         "recommendation", "reasons"]


def decisions():
    edits = {"keep": {"decision": "terminate", "note": "=HYPERLINK(1) chief's call"}}
    return review_decisions(recommend(HAND_MADE, RULES), ChannelFilter("2026Q3"), edits)[DECISION_EXPORT_COLUMNS]


@pytest.fixture(scope="module")
def book():
    data = review_workbook(decisions(), "FY2026", "2026Q3", RULES, "strict.toml",
                           {"revenue_trailing": "Revenue 2025Q4–2026Q3"}, FIRST)
    return openpyxl.load_workbook(io.BytesIO(data))


def summary_rows(book, section: str = "Annual review FY2026") -> dict[str, list]:
    """Give the rows of one section of the Summary sheet (from its title to the next blank row) by their first cell."""
    rows, inside = {}, False
    for row in book["Summary"].iter_rows(values_only=True):
        if row[0] == section:
            inside = True
        elif inside and row[0] is None and rows:
            break
        elif inside and row[0] is not None:
            rows[row[0]] = list(row[1:])
    return rows


def test_the_summary_comes_first_and_names_the_review_its_quarter_rules_and_model(book):
    assert book.sheetnames == ["Summary", "Decisions"]
    rows = summary_rows(book)
    assert rows["Review"][0] == "FY2026"
    assert rows["As-of quarter"][0] == "2026Q3" and rows["Review year"][0] == "2025Q4–2026Q3"
    assert rows["Rules file"][0] == "strict.toml"
    assert rows["Model version"][0] == "gb-test-1"
    assert rows["Partners"][0] == len(HAND_MADE)
    assert rows["Decisions that differ from the recommendation"][0] == 1


def test_the_summary_counts_equal_the_engines(book):
    frame = decisions()
    rows = summary_rows(book, "Partners by decision")
    by_decision = frame["decision"].value_counts()
    for action in ("Promote", "Retain", "Demote", "Provisional continuation", "Terminate"):
        partners, share, revenue = rows[action][:3]
        chosen = frame[frame["decision"] == action.lower()]
        assert partners == by_decision.get(action.lower(), 0)
        assert share == pytest.approx(partners / len(frame))
        assert revenue == pytest.approx(chosen["revenue_trailing"].sum())
    # Gold as recorded: keep (terminated by the chief), down (demote), prov_down (provisional), deals_only (retain).
    rows = summary_rows(book, "Partners by recorded tier and decision")
    assert rows["Gold"][:6] == [0, 1, 1, 1, 1, 4]
    assert rows["Total"][:6] == [int(by_decision.get(a, 0)) for a in
                                 ("promote", "retain", "demote", "provisional continuation", "terminate")] + [11]
    # Terminations: out, nursery_done and the chief's keep, 3 of 11, against the program's 10 %.
    assert summary_rows(book)["Terminations against the review-out share"][0] == "3 (27.3 %) against 10 %"


def test_the_summary_states_the_rules_terms(book):
    rows = summary_rows(book, "Program rules (strict.toml)")
    assert rows["Silver"][:3] == [500, 2, 1]
    silver = next(r for r in book["Summary"].iter_rows() if r[0].value == "Silver" and r[1].value == 500)
    assert silver[1].number_format == '"$"#,##0.00'
    assert rows["Provisional continuation threshold"][0] == "a turnaround probability of 40%"
    assert rows["Review-out share"][0] == "10% of the partners at most"
    assert rows["Nursery"][0] == "the first 4 quarters: not demoted or terminated"


def test_the_decisions_sheet_prints_landscape_one_page_wide_with_the_header_on_every_page(book):
    sheet = book["Decisions"]
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    # Every column of the decisions but the model version (it is in the summary), every partner's row.
    last = openpyxl.utils.get_column_letter(len(DECISION_EXPORT_COLUMNS) - 1)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:{last}{len(HAND_MADE) + 1}"


def test_the_decisions_sheet_reads_without_the_model_version_per_row(book):
    sheet = book["Decisions"]
    headers = [c.value for c in sheet[1]]
    assert "Model version" not in headers
    assert headers[:4] == ["Partner id", "Name", "Decision", "Note"]
    widths = {c.value: sheet.column_dimensions[c.column_letter].width for c in sheet[1]}
    # Note and Reasons wide and wrapped, even when the notes are short.
    assert widths["Note"] >= 30 and widths["Reasons"] == 60
    column = {h: i for i, h in enumerate(headers, 1)}
    assert sheet.cell(row=2, column=column["Reasons"]).alignment.wrap_text
    assert sheet.cell(row=2, column=column["Note"]).alignment.wrap_text
    revenue = sheet.cell(row=2, column=column["Revenue 2025Q4–2026Q3"])
    assert revenue.number_format == '"$"#,##0.00' and revenue.value == 1000.0
    assert sheet.cell(row=2, column=column["Churn probability"]).number_format == "0.0%"
    # A row of long reasons is tall enough for them; a note that looks like a formula stays text.
    assert sheet.row_dimensions[2].height >= 30
    keep = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "keep")
    assert keep[column["Note"] - 1] == "=HYPERLINK(1) chief's call"
    assert sheet.cell(row=next(i for i, r in enumerate(sheet.iter_rows(values_only=True), 1) if r[0] == "keep"),
                      column=column["Note"]).data_type == "s"


@pytest.mark.parametrize("terminations, partners, share, expected", [
    (283, 5788, 0.10, "283 (4.9 %) against 10 %"), (0, 0, 0.15, "0 (0.0 %) against 15 %"),
], ids=["demo", "nobody"])
def test_terminations_read_against_the_review_out_share(terminations, partners, share, expected):
    assert review_out_line(terminations, partners, share) == expected


def test_decisions_without_a_needed_column_are_refused():
    with pytest.raises(ValueError, match="decision missing from the decisions"):
        review_workbook(decisions().drop(columns="decision"), "FY2026", "2026Q3", RULES, "strict.toml")
