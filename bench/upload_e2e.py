"""Time a quarterly extract of about 200,000 lines from upload in the browser to the load summary.

Run: .venv/bin/python bench/upload_e2e.py [--partners 14500]
Builds a demo channel with its last quarter held back, serves the real app on localhost, uploads the
held-back quarter's CSV through the page's file input in headless Chromium (Debian's /usr/bin/chromium),
and measures (a) file chosen -> preview shown (read + validate) and (b) Load pressed -> summary shown.
Writes the result to bench/results/upload.md.

With --overview (at the demo size: --partners 6000), it then measures what a person waits for next:
the first Overview after the load, and after rolling that load back on the Upload page (typed
confirmation: the rollback empties the quarter), each from clicking "Overview" until its script has
finished, while the app brings the scores up to date in the background as it does after every change.
    .venv/bin/python bench/upload_e2e.py --partners 6000 --overview
Writes that result to bench/results/after_load.md.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.demo import DemoSpec, build_demo_channel  # noqa: E402
from analytics.store.store import Store  # noqa: E402
from tests.browser import app_server, browser_page, wait_for_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=14500, help="demo size; 14,500 gives ~200k lines a quarter")
    parser.add_argument("--out", type=Path, default=None,
                        help="result file (default bench/results/upload.md, with --overview after_load.md)")
    parser.add_argument("--overview", action="store_true",
                        help="also time the first Overview after the load and after its rollback")
    args = parser.parse_args()
    if args.out is None:
        args.out = ROOT / "bench" / "results" / ("after_load.md" if args.overview else "upload.md")
    spec = DemoSpec(partners=args.partners)
    held = spec.last_quarter
    with tempfile.TemporaryDirectory() as tmp:
        db, extracts = Path(tmp) / "db.duckdb", Path(tmp) / "extracts"
        with Store(db) as store:
            build_demo_channel(store, spec, extracts_dir=extracts, hold_back=(held,))
        csv = extracts / f"sales_{held}.csv"
        lines = sum(1 for _ in csv.open()) - 1
        size_mb = csv.stat().st_size / 1e6
        with app_server(db) as url, browser_page() as page:
            if args.overview:
                # As a person does: the app opens on the Overview, then they go to the Upload page.
                page.goto(url)
                page.get_by_role("heading", name="Channel overview").wait_for(timeout=600000)
                wait_for_app(page, 600000)
            page.goto(f"{url}/upload")
            wait_for_app(page)
            started = time.perf_counter()
            page.locator('input[type="file"]').set_input_files(str(csv))
            page.get_by_text("Preview: the first rows as they were understood").wait_for(timeout=600000)
            checked = time.perf_counter() - started
            started = time.perf_counter()
            page.get_by_role("button", name=f"Load {csv.name}").click()
            page.get_by_text("Loaded as load #").wait_for(timeout=600000)
            loaded = time.perf_counter() - started
            if args.overview:
                after_load = _first_overview(page)
                after_rollback = _rollback_then_overview(page, held)
    if args.overview:
        text = "\n".join([
            f"Measured {time.strftime('%Y-%m-%d %H:%M')}: the demo channel of {args.partners:,} partners opened on the "
            f"Overview, its last quarter ({held}, {lines:,} lines) uploaded and loaded in headless Chromium, then the "
            "Overview opened; "
            "then that load rolled back on the Upload page and the Overview opened again. The scores are being "
            "brought up to date in the background meanwhile (as after every load or rollback).",
            "",
            "| step | seconds |",
            "|---|---|",
            f"| Load pressed -> summary shown | {loaded:.1f} |",
            f"| first Overview after the load (click -> page complete) | {after_load:.1f} |",
            f"| first Overview after the rollback (click -> page complete) | {after_rollback:.1f} |",
            "",
            "Command: `.venv/bin/python bench/upload_e2e.py --partners 6000 --overview`",
        ])
        print(text)
        args.out.write_text(text + "\n")
        return
    text = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d %H:%M')}: a {lines:,}-line quarterly extract ({size_mb:.0f} MB)"
        f" uploaded in headless Chromium into a channel of {args.partners:,} partners.",
        "",
        "| step | seconds |",
        "|---|---|",
        f"| file chosen -> preview and report shown (upload, read, validate) | {checked:.1f} |",
        f"| Load pressed -> summary shown (write, derive, summary) | {loaded:.1f} |",
        f"| upload to summary | {checked + loaded:.1f} |",
    ])
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


_RUN_OVER = """() => { const a = document.querySelector('[data-testid="stApp"]');
                       return !!a && a.getAttribute('data-test-script-state') === 'notRunning'; }"""


def _first_overview(page) -> float:
    """Give the seconds from clicking Overview in the navigation until its page script has finished."""
    page.wait_for_function(_RUN_OVER, timeout=600000)
    started = time.perf_counter()
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("heading", name="Channel overview").wait_for(timeout=600000)
    page.wait_for_function(_RUN_OVER, timeout=600000)
    return time.perf_counter() - started


def _rollback_then_overview(page, quarter: str) -> float:
    """Roll the newest load back on the Upload page (typing the confirmation), then time the first Overview."""
    page.get_by_role("link", name="Upload extracts").click()
    page.get_by_role("heading", name="Upload extracts").wait_for(timeout=600000)
    page.wait_for_function(_RUN_OVER, timeout=600000)
    page.get_by_role("combobox", name="Roll back a load").click()
    page.get_by_role("option").first.click()
    page.get_by_role("button", name="Roll back…").click()
    page.get_by_label(re.compile("To go ahead, type")).fill(f"remove {quarter}")
    page.keyboard.press("Enter")
    page.wait_for_function(_RUN_OVER, timeout=600000)
    page.get_by_role("button", name="Yes, roll it back").click()
    page.get_by_text("Rolled back load #").wait_for(timeout=600000)
    return _first_overview(page)


if __name__ == "__main__":
    main()
