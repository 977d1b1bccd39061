"""The browser benchmark (bench/browser_pages.py): its reading of Chromium's trace, and one real run (slow)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.browser import require_chromium

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import browser_pages  # noqa: E402

MAIN, OTHER = (10, 1), (10, 2)


def _thread(pid_tid: tuple[int, int], name: str) -> dict:
    return {"ph": "M", "name": "thread_name", "pid": pid_tid[0], "tid": pid_tid[1], "args": {"name": name}}


def _task(pid_tid: tuple[int, int], ts: int, dur: int, name: str = "ThreadControllerImpl::RunTask") -> dict:
    return {"ph": "X", "name": name, "pid": pid_tid[0], "tid": pid_tid[1], "ts": ts, "dur": dur}


def test_the_main_threads_busy_time_counts_nested_tasks_once_and_other_threads_not_at_all():
    trace = {"traceEvents": [
        _thread(MAIN, "CrRendererMain"), _thread(OTHER, "ThreadPoolForegroundWorker"),
        _task(MAIN, 0, 300_000),
        _task(MAIN, 100_000, 50_000),            # runs inside the first: not counted again
        _task(MAIN, 500_000, 200_000, "RunTask"),
        _task(MAIN, 800_000, 10_000, "Layout"),  # not a top-level task
        _task(OTHER, 0, 900_000),                # a worker thread, not the page's main thread
    ]}
    assert browser_pages.main_thread_busy(trace) == pytest.approx(0.5)


def test_a_trace_without_the_main_thread_gives_no_figure():
    assert browser_pages.main_thread_busy({"traceEvents": [_task(OTHER, 0, 1000)]}) is None


@pytest.mark.slow
def test_a_run_times_every_page_from_the_click_to_settled(small_channel_db: Path, tmp_path: Path):
    require_chromium()
    out = tmp_path / "browser_pages.md"
    assert browser_pages.main(["--db", str(small_channel_db), "--runs", "1", "--out", str(out)]) == 0
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in out.read_text().splitlines() if line.startswith("| ") and "---" not in line}
    assert {"first start (Overview)", "Overview", "Tiers", "Annual review"} <= set(rows)
    for page, cells in rows.items():
        if page == "page":
            continue
        assert float(cells[1]) > 0, (page, cells)  # click (or goto) to settled
        if page != "first start (Overview)":
            assert cells[7] != "unavailable", (page, cells)  # the traced round found the main thread
