"""Time a quarterly extract of about 200,000 lines from upload in the browser to the load summary.

Run: .venv/bin/python bench/upload_e2e.py [--partners 14500]
Builds a demo channel with its last quarter held back, serves the real app on localhost, uploads the
held-back quarter's CSV through the page's file input in headless Chromium (Debian's /usr/bin/chromium),
and measures (a) file chosen -> preview shown (read + validate) and (b) Load pressed -> summary shown.
Writes the result to bench/results/upload.md.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "upload.md")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
