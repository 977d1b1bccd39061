"""The churn / turnaround model on a database: backtest against the baselines, fit time, scoring time.

Run: .venv/bin/python bench/model_eval.py [--db PATH] [--horizon 4] [--out bench/results/model.md]
Without --db it builds the demo channel in a temporary folder first (about 20 s). Prints the backtest
table (model vs baselines: ROC AUC, PR AUC, Brier, top-10 % share and lift) and the timings, and
writes them to the results file. bench/run.py calls measure() at both sizes.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.features import DEFAULT_HORIZON, load_panel  # noqa: E402
from analytics.model import TARGETS, backtest_text, fit_models, score_partners  # noqa: E402
from analytics.store import Store  # noqa: E402


def measure(db_path: Path, horizon: int = DEFAULT_HORIZON) -> dict:
    """Give the model's timings (seconds) and backtest on `db_path`, as of its latest quarter.

    panel: reading the history from the database; backtest: both targets, model and baselines,
    trained on earlier cutoffs and tested on the latest labelled one; fit: examples, backtest and
    the final fit together (what the app waits for once per data change); score: probabilities and
    reasons for every active partner.
    """
    with Store(db_path) as store:
        started = time.perf_counter()
        panel = load_panel(store)
        panel_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fitted = fit_models(panel, horizon=horizon)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scores = score_partners(panel, fitted)
    score_seconds = time.perf_counter() - started
    backtest_seconds = sum(e.seconds for e in fitted.evaluations.values() if e is not None)
    return {
        "partners_scored": len(scores),
        "as_of": fitted.as_of,
        "panel_seconds": panel_seconds,
        "backtest_seconds": backtest_seconds,
        "fit_seconds": fit_seconds,
        "score_seconds": score_seconds,
        "metrics": {t: fitted.evaluations[t].metrics for t in TARGETS if fitted.evaluations.get(t) is not None},
        "report": backtest_text(fitted),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="database to evaluate on (default: a fresh demo channel)")
    parser.add_argument("--horizon", type=int, default=DEFAULT_HORIZON)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "model.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from analytics.demo import build_demo_channel

            db = Path(tmp) / "demo.duckdb"
            with Store(db) as store:
                build_demo_channel(store)
        result = measure(db, args.horizon)
    text = "\n".join([
        f"# Model evaluation\n\nMeasured {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; command: "
        f"`.venv/bin/python bench/model_eval.py{'' if args.db is None else ' --db ' + str(args.db)}`.\n",
        "```",
        result["report"],
        "```",
        "",
        f"| step | seconds |\n|---|---|\n| read history (panel) | {result['panel_seconds']:.1f} |\n"
        f"| backtest (both targets, model and baselines) | {result['backtest_seconds']:.1f} |\n"
        f"| examples + backtest + final fit | {result['fit_seconds']:.1f} |\n"
        f"| score {result['partners_scored']:,} partners with reasons | {result['score_seconds']:.1f} |",
    ])
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
