"""The upload's rules: when a person must choose replace or append, confirm by typing, and may store the file."""

import pytest

from analytics.ingest.load_choice import LoadStep, columns_chosen_twice, load_step, may_store
from analytics.ingest.plan import LoadPlan, QuarterPlan

NEW = QuarterPlan("2026Q4", file_rows=100, file_revenue=1000.0)
HELD = QuarterPlan("2026Q3", file_rows=100, file_revenue=1000.0, stored_rows=120, stored_revenue=1100.0, loads="#3")
# Replacing would leave 5 of 200 rows: "most" of the quarter goes.
MOSTLY_GONE = QuarterPlan("2026Q2", file_rows=5, file_revenue=50.0, stored_rows=200, stored_revenue=2000.0)


def _plan(*quarters: QuarterPlan, conflicts: tuple[str, ...] = ()) -> LoadPlan:
    return LoadPlan("sales.csv", tuple(quarters), conflicts)


@pytest.mark.parametrize(
    ("plan", "chosen", "expected"),
    [
        (_plan(NEW), None, LoadStep("refuse", ask=False, type_to_confirm=False, force=False)),
        # Held, but every row has a transaction id: stored rows are skipped, nothing to ask.
        (_plan(HELD), None, LoadStep("refuse", ask=False, type_to_confirm=False, force=False)),
        (_plan(HELD, conflicts=("2026Q3",)), None, LoadStep(None, ask=True, type_to_confirm=False, force=False)),
        (_plan(HELD, conflicts=("2026Q3",)), "append", LoadStep("append", ask=True, type_to_confirm=False,
                                                                force=False)),
        (_plan(HELD, conflicts=("2026Q3",)), "replace", LoadStep("replace", ask=True, type_to_confirm=False,
                                                                 force=False)),
        (_plan(HELD, conflicts=("2026Q3",)), "cancel", LoadStep(None, ask=True, type_to_confirm=False, force=False)),
        (_plan(MOSTLY_GONE, conflicts=("2026Q2",)), "replace",
         LoadStep("replace", ask=True, type_to_confirm=True, force=True)),
        # Appending removes nothing: no typed confirmation, however little the file brings.
        (_plan(MOSTLY_GONE, conflicts=("2026Q2",)), "append",
         LoadStep("append", ask=True, type_to_confirm=False, force=False)),
    ],
    ids=["new-quarter", "held-with-ids", "conflict-unanswered", "append", "replace", "cancel",
         "replace-removes-most", "append-small-file"],
)
def test_load_step(plan, chosen, expected):
    assert load_step(plan, chosen) == expected


def test_load_step_names_an_unknown_choice():
    with pytest.raises(ValueError, match="Unknown choice 'merge' for loading sales.csv"):
        load_step(_plan(HELD, conflicts=("2026Q3",)), "merge")


@pytest.mark.parametrize(
    ("step", "confirmed", "may_replace", "expected"),
    [
        (LoadStep("refuse", False, False, False), False, False, True),
        (LoadStep(None, True, False, False), True, True, False),
        (LoadStep("append", True, False, False), False, False, True),
        (LoadStep("replace", True, False, False), False, True, True),
        (LoadStep("replace", True, False, False), False, False, False),
        (LoadStep("replace", True, True, True), False, True, False),
        (LoadStep("replace", True, True, True), True, True, True),
    ],
    ids=["nothing-to-ask", "not-chosen", "append", "replace", "replace-not-allowed", "unconfirmed", "confirmed"],
)
def test_may_store(step, confirmed, may_replace, expected):
    assert may_store(step, confirmed, may_replace) is expected


def test_columns_chosen_twice():
    mapping = {"partner_id": "ID", "order_date": "When", "quarter": "When", "revenue": "Amt", "region": "ID"}
    assert columns_chosen_twice(mapping) == ["ID", "When"]
    assert columns_chosen_twice({"partner_id": "ID", "revenue": "Amt"}) == []
