"""What storing an uploaded file asks of a person: nothing, a choice of replace or append, a typed confirmation.

The Upload page shows the question and the answer; the decision is taken here, once, from the file's
LoadPlan (analytics.ingest.load.load_plan) and the person's choice, so that the page holds no rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analytics.ingest.plan import LoadPlan

__all__ = ["CHOICES", "LoadStep", "load_step", "may_store", "columns_chosen_twice"]

# What a person may choose for a file whose rows could double rows already stored.
CHOICES = ("replace", "append", "cancel")


@dataclass(frozen=True)
class LoadStep:
    """What storing a file takes once it is read, checked and its exchange rates are there.

    `mode` is what store_prepared gets: "refuse" when nothing needs choosing (no quarter holds data, or
    every row has a transaction id, so rows stored already are skipped), else the person's "replace" or
    "append"; None while nothing is chosen or the person cancels. `ask`: the person must choose among
    CHOICES. `type_to_confirm`: a replace would remove most of some quarter, so the person types
    plan.replace_confirmation first; `force` is then what store_prepared needs to do it.
    """

    mode: str | None
    ask: bool
    type_to_confirm: bool
    force: bool


def load_step(plan: LoadPlan, chosen: str | None) -> LoadStep:
    """Give what storing the file of `plan` takes, with `chosen` the person's answer (None: none yet)."""
    if chosen is not None and chosen not in CHOICES:
        raise ValueError(f"Unknown choice {chosen!r} for loading {plan.file_name}: "
                         f"expected one of {', '.join(CHOICES)}")
    # Rows without transaction ids in quarters that hold data cannot be told apart from those stored:
    # appending could count them twice, replacing removes what is there, so a person decides.
    ask = bool(plan.held) and plan.needs_choice
    if not ask:
        return LoadStep(mode="refuse", ask=False, type_to_confirm=False, force=False)
    mode = None if chosen in (None, "cancel") else chosen
    removes_most = mode == "replace" and bool(plan.replace_removes_most)
    return LoadStep(mode=mode, ask=True, type_to_confirm=removes_most, force=removes_most)


def may_store(step: LoadStep, confirmed: bool, may_replace: bool) -> bool:
    """Tell whether the file may be stored now: a mode chosen, confirmed when it must be, and a replace allowed."""
    if step.mode is None:
        return False
    if step.type_to_confirm and not confirmed:
        return False
    return step.mode != "replace" or may_replace


def columns_chosen_twice(mapping: Mapping[str, str]) -> list[str]:
    """Give the file's columns chosen for more than one field in `mapping` (field: column), sorted; [] when none.

    A column holds one field only: the same column as both the order date and the quarter, say, would be
    read twice.
    """
    columns = list(mapping.values())
    return sorted({c for c in columns if columns.count(c) > 1})
