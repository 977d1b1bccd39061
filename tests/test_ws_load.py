"""The browserless load test (bench/ws_load.py) against the real app, one session for a few seconds."""

from __future__ import annotations

import sys
from pathlib import Path

from analytics.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import ws_load  # noqa: E402


def test_visits_of_every_page_are_timed_and_a_load_half_way_is_seen(small_channel_db: Path, tmp_path: Path):
    out = tmp_path / "ws_load.md"
    code = ws_load.main(["--db", str(small_channel_db), "--sessions", "1", "--duration", "4", "--out", str(out)])
    table = out.read_text()
    row = next(line for line in table.splitlines() if line.startswith("| 1 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    visits = int(cells[1].split("(")[1].split()[0])
    assert visits >= 3, table
    assert cells[4] == "0", table  # errors
    assert cells[5] == "0" and cells[6] == "0", table  # no stale visit after the load, the session saw 2026Q1
    assert "command-line load of 2026Q1" in table and "exit code 0" in table, table
    assert code == 0
    with Store(small_channel_db) as store:  # the run loaded a copy, never the file given
        assert store.query_df("SELECT max(quarter) AS q FROM order_lines")["q"][0] == "2025Q4"


def test_a_page_that_raises_is_counted_as_an_error(small_channel_db: Path, tmp_path: Path):
    out = tmp_path / "ws_load.md"
    code = ws_load.main(["--db", str(small_channel_db), "--sessions", "1", "--duration", "2", "--no-load-during",
                         "--app", str(ROOT / "tests" / "fixtures" / "raising_app.py"), "--out", str(out)])
    table = out.read_text()
    row = next(line for line in table.splitlines() if line.startswith("| 1 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    visits, errors = int(cells[1].split("(")[1].split()[0]), int(cells[4])
    assert code == 1
    assert 0 < errors < visits, table  # the broken page's visits, and only those
    assert "Broken: exception: RuntimeError: this page raises on purpose" in table
