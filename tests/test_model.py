"""The churn / turnaround model: time-ordered backtest, beats baselines on the demo, reasons, score command."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analytics import model as model_module
from analytics.cli import main
from analytics.features import NotEnoughHistory, load_panel
from analytics.ingest import load_extract
from analytics.model import BASELINES, MODEL, Scorer, fit_models, score_partners
from analytics.quarters import quarter_index, quarter_label
from analytics.store import Store


@pytest.fixture(scope="module")
def demo_fit(demo_db):
    with Store(demo_db) as store:
        panel = load_panel(store)
    yield None, panel, fit_models(panel)


def test_model_beats_both_baselines_on_the_demo_channel(demo_fit):
    _, _, fitted = demo_fit
    for target in ("churn", "turnaround"):
        metrics = fitted.evaluations[target].metrics
        for baseline in BASELINES:
            assert metrics.loc[MODEL, "ROC AUC"] > metrics.loc[baseline, "ROC AUC"], (target, metrics)
        assert fitted.evaluations[target].chosen == MODEL
    churn = fitted.evaluations["churn"].metrics.loc[MODEL]
    assert churn["top-10 % lift"] > 3  # the riskiest tenth holds several times the base rate of churners
    rate = fitted.evaluations["churn"].test_positive_rate
    assert churn["Brier"] < rate * (1 - rate)  # better than always saying the base rate


def test_backtest_never_trains_on_a_cutoff_at_or_after_the_test_cutoff(demo_db, monkeypatch):
    fits: list[tuple[str, list[int]]] = []
    original = Scorer.fit

    def recording_fit(self, examples):
        fits.append((self.target, sorted(examples["cutoff"].unique())))
        return original(self, examples)

    monkeypatch.setattr(Scorer, "fit", recording_fit)
    with Store(demo_db) as store:
        panel = load_panel(store)
    as_of = "2026Q2"
    fitted = fit_models(panel, as_of, horizon=4)
    for target in ("churn", "turnaround"):
        test = [quarter_index(q) for q in fitted.evaluations[target].test_quarters]
        backtest_fits = [cut for t, cut in fits if t == target and max(cut) < min(test)]
        assert len(backtest_fits) == 1 + len(BASELINES)  # model and each baseline, all before the test cutoff
        # Every fit, the final one too, only uses cutoffs whose four quarters ahead ended by the as-of quarter.
        assert all(max(cut) + 4 <= quarter_index(as_of) for t, cut in fits if t == target)
    assert max(quarter_index(q) for q in fitted.train_quarters) == quarter_index(as_of) - 4


def test_reasons_name_the_partners_real_figures(demo_fit):
    _, panel, fitted = demo_fit
    scores = score_partners(panel, fitted, with_effects=True)
    features = model_module.features_at(panel, fitted.as_of, fitted.horizon,
                                        fitted.rules.minimum_revenue()).set_index("partner_id")
    top = scores.head(300)
    assert (top["churn_reasons"] != "").all()
    checked = 0
    for row in top.itertuples():
        f = features.loc[row.partner_id]
        for reason in row.churn_reasons.split("; "):
            if m := re.fullmatch(r"no deal for (\d+) quarters?", reason):
                assert int(m.group(1)) == f["quarters_since_deal"]
                checked += 1
            elif m := re.fullmatch(r"revenue (down|up) (\d+) % year over year", reason):
                sign = -1 if m.group(1) == "down" else 1
                assert sign * int(m.group(2)) == pytest.approx(100 * f["yoy_change"], abs=0.5)
                checked += 1
            elif m := re.fullmatch(r"(\d+) deals? in the last 4 quarters", reason):
                assert int(m.group(1)) == f["deals_trailing"]
                checked += 1
    assert checked > 50
    # The reason given first is the one whose effect on the probability is largest.
    effects = scores.filter(like="effect: ").head(300)
    strongest = effects.idxmax(axis=1).str.removeprefix("effect: ")
    for group, row in zip(strongest, top.itertuples(), strict=True):
        first = row.churn_reasons.split("; ")[0]
        assert first == model_module.describe(group, features.loc[row.partner_id].to_dict() | {"tier": row.tier,
                                                                                                "region": row.region})




def test_score_command_writes_one_row_per_active_partner(demo_db, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["--db", str(demo_db), "score", "--as-of", "2026Q1", "--horizon", "4", "--out", str(out)]) == 0
    assert "scored" in capsys.readouterr().out
    scores = pd.read_csv(out, encoding="utf-8-sig")
    for column in ("partner_id", "churn_probability", "turnaround_probability", "churn_reasons", "revenue_last_4q"):
        assert column in scores.columns
    with Store(demo_db) as store:
        expected = store.query_df(
            "SELECT DISTINCT partner_id FROM partner_quarter WHERE q_index BETWEEN ? AND ?",
            [quarter_index("2026Q1") - 3, quarter_index("2026Q1")],
        )
        revenue = store.query_df(
            "SELECT sum(revenue) AS r FROM partner_quarter WHERE q_index BETWEEN ? AND ?",
            [quarter_index("2026Q1") - 3, quarter_index("2026Q1")],
        )["r"].iloc[0]
    assert set(scores["partner_id"]) == set(expected["partner_id"]) and scores["partner_id"].is_unique
    assert scores["revenue_last_4q"].sum() == pytest.approx(revenue)
    assert scores["churn_probability"].between(0, 1).all()
    assert scores["as_of"].eq("2026Q1").all()
    # Empty where the partner is not underperforming, a probability where it is.
    assert scores["turnaround_probability"].isna().sum() > len(scores) / 2
    assert scores["turnaround_probability"].dropna().between(0, 1).all()


def test_backtest_command_prints_model_and_baselines(demo_db, capsys):
    assert main(["--db", str(demo_db), "backtest"]) == 0
    printed = capsys.readouterr().out
    assert "ROC AUC" in printed and "Brier" in printed and "top-10 % lift" in printed
    for name in (MODEL, *BASELINES):
        assert printed.count(name) >= 2  # in the churn table and the turnaround table


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


def test_minimal_extract_from_years_ago_is_scored(store, write_file, tmp_path, capsys):
    load_extract(store, write_file("old.csv", minimal_extract("2013Q1", 10)))
    latest = quarter_label(quarter_index("2013Q1") + 9)
    out = tmp_path / "scores.csv"
    store.close()
    assert main(["--db", str(store.path), "score", "--as-of", latest, "--out", str(out)]) == 0
    scores = pd.read_csv(out, encoding="utf-8-sig")
    assert len(scores) > 100 and scores["churn_probability"].between(0, 1).all()
    assert (scores["tier"] == "Unknown").all()
    assert main(["--db", str(store.path), "backtest"]) == 0
    assert "ROC AUC" in capsys.readouterr().out


def test_too_short_a_history_says_how_much_is_needed(store, write_file, tmp_path, capsys):
    load_extract(store, write_file("short.csv", minimal_extract("2025Q1", 6)))
    store.close()
    code = main(["--db", str(store.path), "score", "--as-of", "2026Q2", "--out", str(tmp_path / "s.csv")])
    assert code == 1
    error = capsys.readouterr().err
    assert "6 quarter(s) of data" in error and "needs at least 8" in error
    with Store(store.path) as reopened, pytest.raises(NotEnoughHistory, match="needs at least 4"):
        fit_models(load_panel(reopened), "2025Q2", horizon=2)
