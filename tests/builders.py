"""Shared builders of test data: extracts, hand-made channels and databases built once and handed out as copies.

Test modules import what they share from here (or from apptest_helpers.py / browser.py), never from each other.
A database is built once per test session (per worker under pytest-xdist) by `DatabaseCache` and each test gets
its own copy of the file: copying a DuckDB file takes milliseconds, building one takes a second or more, and a
test that writes into its copy changes nothing another test sees.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analytics.program.rules import ProgramRules, TierRule
from analytics.store.quarters import quarter_index
from analytics.store.schema import MIGRATIONS

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["DatabaseCache", "reviewed_channel", "cli_without_wait", "quarter_file", "minimal_extract", "TINY",
           "PERIODS_CSV", "REVIEW_RULES", "partner", "HAND_MADE", "per_tier", "bridge", "encrypted_workbook", "PNG",
           "make_v1_file"]


class DatabaseCache:
    """Databases built once, on first use, in one folder; `copy` gives a test its own copy of one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[str, Path] = {}

    def original(self, name: str, build: Callable[[Path, Path], None]) -> Path:
        """Give the built file `name` (build(db_path, work_folder) writes it the first time; tests only read it)."""
        if name not in self.built:
            work = self.folder / name
            work.mkdir(parents=True)
            build(work / "channel.duckdb", work)
            self.built[name] = work / "channel.duckdb"
        return self.built[name]

    def copy(self, name: str, build: Callable[[Path, Path], None], to: Path) -> Path:
        """Give a copy of the database `name` at `to` (its folder made), for a test that may change it."""
        to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.original(name, build), to)
        return to


def quarter_file(path: Path, quarter_month: str, partners: int = 40, lines: int = 4000, scale: int = 1) -> Path:
    """Write an extract of `lines` order lines in the month `quarter_month` (like 2025-07)."""
    rows = ["partner_id,partner_name,customer_id,order_date,revenue,tier"]
    for i in range(lines):
        rows.append(f"P{i % partners},Partner {i % partners},C{i % 97},{quarter_month}-{1 + i % 28:02d},"
                    f"{(i % 50 + 1) * scale},Gold")
    path.write_text("\n".join(rows) + "\n")
    return path


def reviewed_channel(db: Path, folder: Path) -> None:
    """Build a database with two loads (2025Q3 and 2025Q4) and a saved review of 40 partners."""
    from analytics.ingest.load import load_extract
    from analytics.program.rules import load_program
    from analytics.review.saved_reviews import DECISION_COLUMNS, save_review
    from analytics.store.store import Store

    rows = [{c: None for c in DECISION_COLUMNS} | {"partner_id": f"P{i}", "recommendation": "retain",
            "decision": "retain" if i % 5 else "demote", "note": f"note {i}"} for i in range(40)]
    with Store(db) as store:
        load_extract(store, quarter_file(folder / "q3.csv", "2025-07"))
        load_extract(store, quarter_file(folder / "q4.csv", "2025-10"))
        save_review(store, "FY2026", "2025Q4", load_program(), pd.DataFrame(rows)[DECISION_COLUMNS], user="chief")


def cli_without_wait(db: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the command line on `db` in a new process, with --wait 0 unless `args` give their own."""
    # Nothing else holds the file, so waiting would hide a bug.
    wait = [] if "--wait" in args else ["--wait", "0"]
    return subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), *wait, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def minimal_extract(first: str, quarters: int, partners: int = 400, seed: int = 7) -> str:
    """Give an extract with nothing but partner, date and revenue: fading partners churn, others persist."""
    rng = np.random.default_rng(seed)
    start = quarter_index(first)
    level = rng.lognormal(8, 1, partners)
    fade_at = np.where(rng.random(partners) < 0.35, rng.integers(2, quarters, partners), quarters + 10)
    lines = ["Reseller,Booking Date,Amount (USD)"]
    for q in range(start, start + quarters):
        t = q - start
        for p in range(partners):
            fading = t >= fade_at[p]
            scale = 0.25 ** (t - fade_at[p] + 1) if fading else 1.0
            if rng.random() < (0.3 if fading else 0.9) and scale > 0.01:
                day = f"{q // 4}-{(q % 4) * 3 + 1:02d}-{rng.integers(1, 28):02d}"
                lines.append(f"R{p:04d},{day},{level[p] * scale * rng.lognormal(0, 0.3):.2f}")
    return "\n".join(lines) + "\n"


# Three partners over nine quarters: P1 steady Gold, P2 falls 60 % and is demoted, P3 new in 2025Q3,
# P4 lapses after 2024Q4.
TINY = "partner_id,partner_name,order_date,revenue,tier,region,customer_id,customer_segment,product\n" + "".join(
    f"{pid},{name},{day},{rev},{tier},{region},{cust},{seg},{product}\n"
    for pid, name, day, rev, tier, region, cust, seg, product in [
        *[("P1", "Steady Ltd", f"{y}-{m:02d}-10", 100, "Gold", "EMEA", "C1", "SMB", "Core")
          for y, m in [(2024, 4), (2024, 7), (2024, 10), (2025, 1), (2025, 4), (2025, 7), (2025, 10), (2026, 1),
                       (2026, 4)]],
        *[("P2", "Falling Inc", f"{y}-{m:02d}-10", 250, "Gold", "NA", "C2", "Enterprise", "Enterprise Platform")
          for y, m in [(2024, 4), (2024, 7), (2024, 10), (2025, 1)]],
        *[("P2", "Falling Inc", f"{y}-{m:02d}-10", 100, "Silver", "NA", "C3", "SMB", "Enterprise Platform")
          for y, m in [(2025, 4), (2025, 7), (2025, 10), (2026, 1), (2026, 4)]],
        ("P3", "Newcomer SA", "2025-08-01", 40, "Authorized", "EMEA", "C4", "SMB", "Core"),
        ("P4", "Gone GmbH", "2024-11-01", 70, "Bronze", "NA", "C5", "Mid-market", "Core"),
    ]
)

# FELL: 200 in 2024Q1-Q2, 50 in 2025Q1-Q2 (a Gold partner moved down to Silver); GREW 50 -> 80; GAP orders
# only in 2024Q3, between the periods; NEW only in 2025Q1; LAPSED only in 2024Q2; LATE only in 2025Q4, after.
PERIODS_CSV = """partner_id,partner_name,quarter,revenue,tier
FELL,Fell Ltd,2024Q1,100,Gold
FELL,Fell Ltd,2024Q2,100,Gold
FELL,Fell Ltd,2025Q1,30,Silver
FELL,Fell Ltd,2025Q2,20,Silver
GREW,Grew Ltd,2024Q1,50,Gold
GREW,Grew Ltd,2025Q2,80,Gold
GAP,Gap Ltd,2024Q3,500,Gold
NEW,New Ltd,2025Q1,40,Silver
LAPSED,Lapsed Ltd,2024Q2,60,Bronze
LATE,Late Ltd,2025Q4,70,Gold
"""

# The review's hand-made program: three tiers, a nursery of four quarters.
REVIEW_RULES = ProgramRules(
    tiers=(TierRule("Gold", 1000, 4, 2), TierRule("Silver", 500, 2, 1), TierRule("Authorized", 100, 1, 1)),
    nursery_quarters=4, review_out_share=0.1, provisional_threshold=0.4,
)


def partner(pid, tier, revenue, deals=4, customers=2, tenure=8, turnaround=np.nan, churn=0.1, yoy=0.0,
            latest=None, active_before=3, distributor="Ingram"):
    """Give one partner's row of review inputs (the review engine's columns), scored by a stand-in model."""
    return {"partner_id": pid, "partner_name": pid.title(), "tier": tier, "region": "EMEA",
            "distributor": distributor, "revenue_trailing": revenue,
            "revenue_latest": revenue / 4 if latest is None else latest, "active_before_latest": active_before,
            "deals_trailing": deals, "customers_trailing": customers, "tenure_full": tenure, "yoy_change": yoy,
            "churn_probability": churn, "turnaround_probability": turnaround, "churn_reasons": "",
            "model_version": "gb-test-1"}


HAND_MADE = pd.DataFrame([
    partner("up", "Silver", 1000),                       # meets Gold exactly
    partner("just_short", "Silver", 999.99),             # a cent short of Gold
    partner("keep", "Gold", 1000),
    partner("down", "Gold", 600, deals=3, turnaround=0.2),
    partner("prov_down", "Gold", 600, deals=3, turnaround=0.4),  # exactly at the threshold
    partner("out", "Authorized", 50, turnaround=0.39),
    partner("prov_out", "Authorized", 50, turnaround=0.9),
    partner("nursery", "Authorized", 50, tenure=3, turnaround=0.1),
    partner("nursery_done", "Authorized", 50, tenure=4, turnaround=0.1),
    partner("deals_only", "Gold", 2000, deals=1, customers=5),  # revenue holds Gold: kept, with development goals
    partner("no_tier", None, 600, deals=2, customers=1),
])


def per_tier(counts: dict[str, int], revenue: float = 0.0) -> pd.DataFrame:
    """Give partners and trailing revenue per tier, as the tier messages take them."""
    return pd.DataFrame({"tier": list(counts), "partners": list(counts.values()),
                         "revenue_trailing": [revenue] * len(counts)})


def bridge(before: float, growing: float, declining: float, new: float, lapsed: float) -> pd.DataFrame:
    """Give a revenue bridge frame from its parts, its last row their sum."""
    now = before + growing + declining + new + lapsed
    return pd.DataFrame({"component": ["Previous 4 quarters", "New partners", "Growing", "Declining", "Lapsed",
                                       "Last 4 quarters"],
                         "amount": [before, new, growing, declining, lapsed, now]})


def encrypted_workbook() -> bytes:
    """Give a real password-protected .xlsx, as Excel writes one (an OLE file holding the encrypted package)."""
    msoffcrypto = pytest.importorskip("msoffcrypto")
    plain, encrypted = io.BytesIO(), io.BytesIO()
    pd.DataFrame({"partner_id": ["P1"], "revenue": [1], "order_date": ["2025-07-01"]}).to_excel(plain, index=False)
    plain.seek(0)
    msoffcrypto.OfficeFile(plain).encrypt("secret", encrypted)
    return encrypted.getvalue()


# A file that is no extract: the first bytes of a PNG image.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa" * 40


def make_v1_file(path) -> None:
    """Write a database as version 1 of the product left it, with one load of two lines."""
    con = duckdb.connect(str(path))
    for statement in filter(str.strip, MIGRATIONS[0].split(";")):
        con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('data_version', '3')")
    con.execute(
        "INSERT INTO loads VALUES"
        " (1, 'old.csv', 'abc', 2, 2, 0, ['2025Q3'], 'refuse', TIMESTAMP '2025-10-01', 'active', NULL)"
    )
    con.execute(
        """
        INSERT INTO order_lines (load_id, row_no, partner_id, customer_id, order_date, quarter, revenue, tier)
        VALUES (1, 2, 'P1', 'C1', DATE '2025-07-01', '2025Q3', 100, 'Gold'),
               (1, 3, 'P1', 'C1', DATE '2025-08-01', '2025Q3', 20, 'Gold')
        """
    )
    con.execute(
        """
        INSERT INTO partner_quarter VALUES ('P1', '2025Q3', 8102, 120, 2, 1, 0, 0, 0, 0, NULL, 'Gold', NULL)
        """
    )
    con.close()
