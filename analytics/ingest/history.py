"""The record of loads: what each load stored, who loaded it and when, and what it changed.
"""

from __future__ import annotations

import pandas as pd

from analytics.store.faults import StoreError
from analytics.store.quarters import shift_quarter
from analytics.store.store import ACTIVE_LINES, Store

__all__ = [
    "MODE_WORDS",
    "list_loads",
    "load_history",
    "load_rejects",
    "loaded_as",
    "quarters_holding_data",
    "load_summary",
]

# What each mode did, as the loads table says it ("refuse" is the engine's word for "refuse to touch a quarter
# that holds data"): a load that went through in that mode only added new quarters or new transactions.
MODE_WORDS = {"refuse": "new data only", "replace": "replaced its quarters", "append": "appended"}


def list_loads(store: Store) -> pd.DataFrame:
    """Give every recorded load, newest first, with its counts, quarters and status."""
    return store.query_df(
        """
        SELECT load_id, file_name, status, mode, rows_in_file, rows_added, rows_skipped, rows_replaced,
               coalesce(rows_set_aside, 0) AS rows_set_aside, array_to_string(quarters, ', ') AS quarters,
               loaded_at, loaded_by, rolled_back_at, rolled_back_by,
               content_hash
        FROM loads ORDER BY load_id DESC
        """
    )



def load_history(store: Store) -> pd.DataFrame:
    """Give every load, newest first, as people read it: who, when, file, rows, quarters, mode, status.

    The status says "in effect", or "rolled back" with when and by whom; empty `loaded_by` (loads
    recorded before it was kept) stays empty.
    """
    loads = list_loads(store)
    status = [
        "in effect" if state == "active"
        else " ".join(["rolled back", *([f"{at:%Y-%m-%d %H:%M}"] if pd.notna(at) else []),
                       *([f"by {by}"] if isinstance(by, str) and by else [])])
        for state, at, by in zip(loads["status"], loads["rolled_back_at"], loads["rolled_back_by"], strict=True)
    ]
    return pd.DataFrame({
        "load_id": loads["load_id"],
        "loaded_by": loads["loaded_by"],
        "loaded_at": loads["loaded_at"],
        "file_name": loads["file_name"],
        "rows_added": loads["rows_added"],
        "rows_skipped": loads["rows_skipped"],
        "rows_replaced": loads["rows_replaced"],
        "rows_set_aside": loads["rows_set_aside"],
        "quarters": loads["quarters"],
        "mode": loads["mode"].map(MODE_WORDS).fillna(loads["mode"]),
        "status": pd.Series(status, index=loads.index, dtype=object),
    })


def load_rejects(store: Store, load_id: int) -> bytes | None:
    """Give the rejects file of a load that set rows aside (CSV, as rejects.rejects_csv wrote it), else None."""
    frame = store.query_df("SELECT rejects_csv FROM load_rejects WHERE load_id = ?", [load_id])
    return None if frame.empty else frame.iloc[0]["rejects_csv"].encode("utf-8-sig")


def loaded_as(store: Store, content_hash: str) -> dict | None:
    """Give the load in effect that stored a file with this content (id, file, time), or None."""
    frame = store.query_df(
        "SELECT load_id, file_name, loaded_at FROM loads WHERE content_hash = ? AND status = 'active' "
        "ORDER BY load_id LIMIT 1",
        [content_hash],
    )
    return None if frame.empty else frame.iloc[0].to_dict()


def quarters_holding_data(store: Store, quarters: list[str]) -> pd.DataFrame:
    """Give, for those of `quarters` that already hold rows, the rows, the untracked rows and the loads."""
    return store.query_df(
        f"""
        SELECT o.quarter, count(*) AS rows, count(*) FILTER (WHERE o.transaction_id IS NULL) AS rows_without_id,
               string_agg(DISTINCT '#' || o.load_id || ' ' || l.file_name, ', ') AS loads
        FROM order_lines o JOIN loads l USING (load_id)
        WHERE o.{ACTIVE_LINES} AND list_contains(?, o.quarter)
        GROUP BY o.quarter ORDER BY o.quarter
        """,
        [list(quarters)],
    )


def load_summary(store: Store, load_id: int) -> tuple[dict, pd.DataFrame]:
    """Give what a load changed (rows, quarters, new partners) and the partners gone since the quarter before.

    New partners: partners in this load that no earlier load had. Gone: partners with orders in the
    quarter before the load's latest quarter and none in that latest quarter.
    """
    load = store.query_df(
        "SELECT load_id, file_name, rows_in_file, rows_added, rows_skipped, rows_replaced, "
        "coalesce(rows_set_aside, 0) AS rows_set_aside, quarters FROM loads WHERE load_id = ?",
        [load_id],
    )
    if load.empty:
        raise StoreError(f"There is no load #{load_id}.")
    summary = load.iloc[0].to_dict()
    summary["quarters"] = list(summary["quarters"])
    summary["new_partners"] = int(
        store.query_df(
            """
            SELECT count(DISTINCT partner_id) AS n FROM order_lines
            WHERE load_id = ? AND partner_id NOT IN (SELECT partner_id FROM order_lines WHERE load_id < ?)
            """,
            [load_id, load_id],
        ).iloc[0]["n"]
    )
    latest = max(summary["quarters"])
    before = shift_quarter(latest, -1)
    gone = store.query_df(
        """
        SELECT b.partner_id, b.partner_name, b.tier, b.region, b.revenue AS revenue_quarter_before
        FROM partner_quarter b
        WHERE b.quarter = ? AND NOT EXISTS (
            SELECT 1 FROM partner_quarter n WHERE n.partner_id = b.partner_id AND n.quarter = ?
        )
        ORDER BY b.revenue DESC
        """,
        [before, latest],
    )
    summary["latest_quarter"], summary["quarter_before"] = latest, before
    summary["partners_gone"] = len(gone)
    return summary, gone
