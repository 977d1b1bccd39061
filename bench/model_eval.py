"""The churn / turnaround model on a database: backtest against the baselines, fit time, scoring time.

Run: .venv/bin/python bench/model_eval.py [--db PATH] [--horizon 4] [--out bench/results/model.md]
Without --db it builds the demo channel in a temporary folder first (about 20 s). It also builds an
extract with nothing but partner, date and revenue of occasional buyers (analytics.demo.
occasional_buyers_extract, seeded, BG/NBD-style) and backtests on it with a 2-quarter horizon. Prints
the backtest tables (model vs baselines, the BG/NBD and days-since-last-order ones among them: ROC AUC,
PR AUC, Brier, top-10 % share and lift) and the timings, and writes them to the results file.
bench/run.py calls measure() at both sizes.
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

from analytics.model.features import DEFAULT_HORIZON, load_panel  # noqa: E402
from analytics.model.fit import TARGETS, backtest_text, fit_models, score_partners  # noqa: E402
from analytics.store.store import Store  # noqa: E402

# The horizon a channel of occasional buyers is reviewed on (the real history was scored with 2).
OCCASIONAL_HORIZON = 2


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
        "served": {t: (s.name if s is not None else None) for t, s in fitted.scorers.items()},
        "report": backtest_text(fitted),
    }


def churn_table(results: dict[str, dict]) -> str:
    """Give a markdown table of the churn backtest's ROC AUC and Brier per candidate, one column pair per data set."""
    names = list(results)
    candidates = list(dict.fromkeys(c for r in results.values() if "churn" in r["metrics"]
                                    for c in r["metrics"]["churn"].index))
    head = "| candidate | " + " | ".join(f"{n}: ROC AUC | {n}: Brier" for n in names) + " |"
    lines = [head, "|---" * (1 + 2 * len(names)) + "|"]
    for candidate in candidates:
        cells = []
        for name in names:
            metrics = results[name]["metrics"].get("churn")
            if metrics is None or candidate not in metrics.index:
                cells += ["", ""]
            else:
                cells += [f"{metrics.loc[candidate, 'ROC AUC']:.3f}", f"{metrics.loc[candidate, 'Brier']:.3f}"]
        lines.append(f"| {candidate} | " + " | ".join(cells) + " |")
    lines.append("| served | " + " | ".join(f"{results[n]['served'].get('churn')} | " for n in names) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="database to evaluate on (default: a fresh demo channel)")
    parser.add_argument("--horizon", type=int, default=DEFAULT_HORIZON)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "model.md")
    args = parser.parse_args()
    from analytics.demo import build_demo_channel, occasional_buyers_extract
    from analytics.ingest.load import load_extract

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            db = Path(tmp) / "demo.duckdb"
            with Store(db) as store:
                build_demo_channel(store)
        result = measure(db, args.horizon)
        occasional_csv = Path(tmp) / "occasional_buyers.csv"
        occasional_csv.write_text(occasional_buyers_extract())
        occasional_db = Path(tmp) / "occasional.duckdb"
        with Store(occasional_db) as store:
            load_extract(store, occasional_csv)
        occasional = measure(occasional_db, OCCASIONAL_HORIZON)
    demo_name = "demo" if args.db is None else args.db.name
    table = churn_table({f"{demo_name}, H={args.horizon}": result,
                         f"occasional buyers, H={OCCASIONAL_HORIZON}": occasional})
    text = "\n".join([
        f"# Model evaluation\n\nMeasured {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}; "
        f"command: `.venv/bin/python bench/model_eval.py{'' if args.db is None else ' --db ' + str(args.db)}`.\n",
        "Churn backtest, ROC AUC (higher ranks better) and Brier (lower is better) per candidate:\n",
        table,
        "",
        f"## {demo_name}, horizon {args.horizon}",
        "",
        "```",
        result["report"],
        "```",
        "",
        f"| step | seconds |\n|---|---|\n| read history (panel) | {result['panel_seconds']:.1f} |\n"
        f"| backtest (both targets, model and baselines) | {result['backtest_seconds']:.1f} |\n"
        f"| examples + backtest + final fit | {result['fit_seconds']:.1f} |\n"
        f"| score {result['partners_scored']:,} partners with reasons | {result['score_seconds']:.1f} |",
        "",
        f"## Occasional buyers (partner, date and revenue only; {occasional['partners_scored']:,} scored), "
        f"horizon {OCCASIONAL_HORIZON}",
        "",
        "```",
        occasional["report"],
        "```",
    ])
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
