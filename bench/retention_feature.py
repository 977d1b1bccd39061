"""Does account retention help the churn and turnaround model? The honest backtest with and without it.

Run: .venv/bin/python bench/retention_feature.py [--db PATH | --quarters 20 --partners 6000] [--out FILE]
With --db it backtests on that database (a real channel's history). Otherwise it builds a demo channel
of `--quarters` quarters in a temporary folder: retention needs two years before a cutoff, so the
demo's default twelve quarters leave it missing at every training cutoff of a four-quarter backtest.
It backtests the model as analytics.model.fit does, once with its own features and once with account
retention added: of a partner's customers in the year before the trailing year, the share that
bought again in the trailing year (analytics.analyses.retention's definition, at each cutoff). Prints
ROC AUC, PR AUC and Brier of both and writes them to the results file. The product adds the feature
only if this shows it helps.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from analytics.demo import DemoSpec, build_demo_channel  # noqa: E402
from analytics.model import fit  # noqa: E402
from analytics.model.features import DEFAULT_CHURN_SHARE, build_examples, cutoffs, load_panel  # noqa: E402
from analytics.program.rules import load_program  # noqa: E402
from analytics.store.store import ACTIVE_LINES, Store  # noqa: E402

HORIZON = 4
YEAR = 4


def retention_at_cutoffs(store: Store, at: list[int]) -> pd.DataFrame:
    """Give partner_id, cutoff and account_retention (NaN without customers in the year before) per cutoff."""
    bought = store.query_df(
        f"""
        SELECT DISTINCT partner_id, customer_id,
               substr(quarter, 1, 4)::INTEGER * 4 + substr(quarter, 6, 1)::INTEGER - 1 AS q_index
        FROM order_lines WHERE {ACTIVE_LINES} AND revenue > 0 AND customer_id IS NOT NULL
        """
    )
    frames = []
    for cutoff in at:
        before = bought[bought["q_index"].between(cutoff - 2 * YEAR + 1, cutoff - YEAR)]
        after = bought[bought["q_index"].between(cutoff - YEAR + 1, cutoff)]
        accounts = before[["partner_id", "customer_id"]].drop_duplicates()
        kept = accounts.merge(after[["partner_id", "customer_id"]].drop_duplicates(), how="left", indicator=True)
        kept["again"] = kept["_merge"] == "both"
        share = kept.groupby("partner_id")["again"].mean().rename("account_retention").reset_index()
        frames.append(share.assign(cutoff=cutoff))
    return pd.concat(frames, ignore_index=True)


def backtest(examples: pd.DataFrame, test_cutoff: int, features: list[str]) -> dict[str, pd.Series]:
    """Give the model's test metrics per target when it learns from `features`."""
    with mock.patch.object(fit, "FEATURES", features):
        return {target: fit.evaluate(examples, target, [test_cutoff], HORIZON).metrics.loc[fit.MODEL]
                for target in fit.TARGETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a channel database to backtest on (default: build a demo)")
    parser.add_argument("--quarters", type=int, default=20)
    parser.add_argument("--partners", type=int, default=DemoSpec().partners)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "retention_feature.md")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M")
    with tempfile.TemporaryDirectory() as tmp, Store(args.db or Path(tmp) / "demo.duckdb") as store:
        if args.db is None:
            print(f"building a {args.quarters}-quarter demo of {args.partners:,} partners ...", flush=True)
            build_demo_channel(store, DemoSpec(partners=args.partners, quarters=args.quarters), score=False)
        panel = load_panel(store)
        labelled = cutoffs(panel, HORIZON, labelled=True, up_to=panel.last - HORIZON)
        examples = build_examples(panel, labelled, HORIZON, DEFAULT_CHURN_SHARE, load_program().minimum_revenue())
        retention = retention_at_cutoffs(store, labelled)
    examples = examples.merge(retention, on=["partner_id", "cutoff"], how="left")
    test_cutoff = labelled[-1]
    train = examples[examples["cutoff"] <= test_cutoff - HORIZON]
    known = train["account_retention"].notna().mean()
    without = backtest(examples, test_cutoff, list(fit.FEATURES))
    with_it = backtest(examples, test_cutoff, [*fit.FEATURES, "account_retention"])
    rows = []
    for target in fit.TARGETS:
        for name, metrics in (("without", without[target]), ("with account retention", with_it[target])):
            rows.append({"target": target, "model": name,
                         **{k: float(metrics[k]) for k in ("ROC AUC", "PR AUC", "Brier")}})
    table = pd.DataFrame(rows)
    text = "\n".join([
        "# Account retention as a model feature",
        "",
        f"Measured {started}; command: `.venv/bin/python bench/retention_feature.py "
        + (f"--db {args.db}`." if args.db else f"--quarters {args.quarters} --partners {args.partners}`. Demo of "
           f"{args.quarters} quarters,")
        + f" horizon {HORIZON}, tested on the latest "
        f"labelled cutoff, trained on cutoffs whose labels were observed by then; account retention known for "
        f"{known:.0%} of the training examples.",
        "",
        "| target | model | ROC AUC | PR AUC | Brier |",
        "|---|---|---|---|---|",
        *(f"| {r.target} | {r.model} | {r._3:.3f} | {r._4:.3f} | {r.Brier:.3f} |" for r in table.itertuples()),
    ])
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    gain = {t: with_it[t]["ROC AUC"] - without[t]["ROC AUC"] for t in fit.TARGETS}
    print("ROC AUC change with account retention: " + ", ".join(f"{t} {g:+.3f}" for t, g in gain.items()))


if __name__ == "__main__":
    main()
