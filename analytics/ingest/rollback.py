"""Rolling a load back: its rows go, the rows it replaced count again, nothing else changes.

A rollback that would leave a quarter without any row is refused unless confirmed (RollbackPlan names
what would go).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

import duckdb

from analytics.access import Actor, check
from analytics.ingest.plan import _dollars
from analytics.store.faults import StoreError
from analytics.store.store import ACTIVE_LINES, Store, bump_data_version, checkpoint, refresh_derived

__all__ = [
    "RollbackPlan",
    "rollback_plan",
    "RollbackRefused",
    "rollback_load",
]

class RollbackRefused(StoreError):
    """A rollback that would leave a quarter empty, asked for without the confirmation that names what goes."""

    def __init__(self, message: str, quarters: list[str]):
        self.quarters = quarters
        super().__init__(message)


@dataclass(frozen=True)
class RollbackPlan:
    """What rolling a load back would do: per quarter its rows that go, and those that would remain."""

    load_id: int
    file_name: str
    # (quarter, rows of the load that go, revenue that goes, active rows of other loads left)
    quarters: tuple[tuple[str, int, float, int], ...]

    @property
    def emptied(self) -> tuple[str, ...]:
        """Give the quarters the rollback would leave without any row (rows it replaced come back otherwise)."""
        return tuple(q for q, gone, _, left in self.quarters if gone and not left)

    @property
    def confirmation(self) -> str:
        """Give the words a person types to confirm a rollback that empties quarters."""
        return "remove " + " ".join(self.emptied)

    def warning(self) -> str:
        """Give the sentence naming the quarters the rollback removes entirely ('' when none)."""
        if not self.emptied:
            return ""
        gone = "; ".join(f"{q}: {n:,} rows ({_dollars(r)})" for q, n, r, left in self.quarters if n and not left)
        return (f"Rolling back load #{self.load_id} ({self.file_name}) removes "
                f"{', '.join(self.emptied)} entirely: {gone}. No page would show "
                f"{'that quarter' if len(self.emptied) == 1 else 'those quarters'} any more.")


def rollback_plan(store: Store, load_id: int) -> RollbackPlan:
    """Give what rolling back load `load_id` would do (see RollbackPlan); reads only."""
    with contextlib.closing(store.cursor()) as cur:
        return _rollback_plan(cur, load_id)


def _rollback_plan(cur: duckdb.DuckDBPyConnection, load_id: int) -> RollbackPlan:
    rows = cur.execute("SELECT status, quarters, file_name FROM loads WHERE load_id = ?", [load_id]).fetchall()
    if not rows:
        raise StoreError(f"There is no load #{load_id}.")
    status, quarters, file_name = rows[0]
    if status != "active":
        raise StoreError(f"Load #{load_id} ({file_name}) was already rolled back.")
    figures = cur.execute(
        f"""
        SELECT quarter,
               count(*) FILTER (WHERE load_id = ? AND {ACTIVE_LINES}),
               coalesce(sum(revenue) FILTER (WHERE load_id = ? AND {ACTIVE_LINES}), 0),
               count(*) FILTER (WHERE (load_id <> ? AND {ACTIVE_LINES}) OR replaced_by = ?)
        FROM order_lines WHERE list_contains(?, quarter) GROUP BY quarter ORDER BY quarter
        """,
        [load_id, load_id, load_id, load_id, list(quarters)],
    ).fetchall()
    return RollbackPlan(load_id, file_name, tuple((q, int(n), float(r), int(left)) for q, n, r, left in figures))


def rollback_load(
    store: Store, load_id: int, by: str | None = None, actor: Actor | None = None, force: bool = False
) -> list[str]:
    """Give the quarters a load touched, after undoing it: its rows go, rows it replaced come back.

    Raises AccessDenied when `actor` may not roll back, and RollbackRefused (nothing changed) when the
    rollback would leave a quarter without any row and `force` is not given; records `by`, else the
    actor's name.
    """
    check(actor, "roll back")
    by = by if by is not None else actor.who if actor is not None else None
    with store.transaction() as cur:
        plan = _rollback_plan(cur, load_id)
        if plan.emptied and not force:
            raise RollbackRefused(f"Not rolled back: {plan.warning()} Nothing was changed. To roll it back all the "
                                  "same, confirm it (on the command line: --force).", list(plan.emptied))
        quarters = cur.execute("SELECT quarters FROM loads WHERE load_id = ?", [load_id]).fetchall()[0][0]
        cur.execute("DELETE FROM order_lines WHERE load_id = ?", [load_id])
        cur.execute("UPDATE order_lines SET replaced_by = NULL WHERE replaced_by = ?", [load_id])
        checkpoint("rollback:deleted")
        cur.execute(
            "UPDATE loads SET status = 'rolled_back', rolled_back_at = ?, rolled_back_by = ? WHERE load_id = ?",
            [dt.datetime.now(), by, load_id],
        )
        refresh_derived(cur, quarters)
        bump_data_version(cur)
    return list(quarters)
