"""Each page's render time, cold and warm, under Streamlit's AppTest, and the peak memory of doing so.

Run on its own (the benchmark runner does this in a fresh process, so the peak memory is the app's):
    .venv/bin/python bench/pages.py DB [--warm-runs 3] [--json OUT]
Pages are found in app.py's st.navigation, so a page added there is measured without changing this file.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"


@dataclass
class PageTime:
    """One page's figures: seconds cold and warm, the app's peak memory so far, or the error it raised."""

    page: str
    title: str
    cold: float | None = None
    warm: float | None = None
    peak_rss_mb: float | None = None
    error: str | None = None


@dataclass
class PagesRun:
    """A run over every page: the pages, first start, memory, and view scripts not in the navigation."""

    pages: list[PageTime] = field(default_factory=list)
    start: float | None = None
    rss_before_mb: float | None = None
    peak_rss_mb: float | None = None
    not_in_navigation: list[str] = field(default_factory=list)


def discover_pages(app: Path = APP) -> list[tuple[str, str]]:
    """Give (script path, title) of every st.Page in the app's entry point, in navigation order."""
    pages = []
    for node in ast.walk(ast.parse(app.read_text())):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page" and node.args):
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            titles = [k.value.value for k in node.keywords if k.arg == "title" and isinstance(k.value, ast.Constant)]
            title = titles[0] if titles else Path(first.value).stem
            pages.append((first.value, title))
    return pages


def unlisted_views(pages: list[tuple[str, str]]) -> list[str]:
    """Give the page scripts in views/pages/ that app.py does not navigate to."""
    listed = {p for p, _ in pages}
    return sorted(f"views/pages/{p.name}" for p in (ROOT / "views" / "pages").glob("*.py")
                  if f"views/pages/{p.name}" not in listed)


def _rss_mb() -> float:
    """Give this process's peak resident memory so far, in MB.

    VmHWM from /proc, not getrusage: Linux keeps ru_maxrss across exec, so a child started by a
    large parent would report the parent's peak.
    """
    try:
        status = Path("/proc/self/status").read_text().splitlines()
        return next(int(x.split()[1]) for x in status if x.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def page_times(db: Path, warm_runs: int = 3, partner_id: str = "P000001") -> PagesRun:
    """Give each page's cold and warm time (median of `warm_runs` reruns) under AppTest on `db`.

    Cold: query results not cached, the database already open. Warm: reruns with results cached.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["CHANNEL_DB"] = str(db)
    pages = discover_pages()
    run = PagesRun(rss_before_mb=_rss_mb(), not_in_navigation=unlisted_views(pages))
    for i, (page, title) in enumerate(pages):
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(APP), default_timeout=900)
        at.query_params["partner_id"] = partner_id
        started = time.perf_counter()
        at.run()  # opens the database and draws the default page; not counted for the page
        if i == 0:
            run.start = time.perf_counter() - started
        st.cache_data.clear()
        result = PageTime(page, title)
        try:
            started = time.perf_counter()
            at.switch_page(page).run()
            result.cold = time.perf_counter() - started
            if at.exception:
                raise RuntimeError("; ".join(e.message for e in at.exception))
            warm = []
            for _ in range(warm_runs):
                started = time.perf_counter()
                at.run()
                warm.append(time.perf_counter() - started)
            result.warm = statistics.median(warm)
        except Exception as exc:  # a broken page is reported in the table, the others still measured
            result.error = f"{type(exc).__name__}: {exc}"[:300]
        result.peak_rss_mb = _rss_mb()
        run.pages.append(result)
    run.peak_rss_mb = _rss_mb()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--partner-id", default="P000001")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    run = page_times(args.db, args.warm_runs, args.partner_id)
    text = json.dumps(asdict(run), indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
