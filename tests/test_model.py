"""The churn / turnaround model: honest time-ordered backtest, candidates (BG/NBD and rules among them) with their
intervals, selection beyond noise, calibration by time, short histories, smooth probabilities, reasons that match
each partner's history, score command."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analytics.cli import main
from analytics.demo import DemoSpec, build_demo_channel, occasional_buyers_extract
from analytics.ingest.load import load_extract
from analytics.model import fit as model_module
from analytics.model import reasons as reasons_module
from analytics.model.candidates import CANDIDATES, RULES, Learned, Rule, Split
from analytics.model.features import (
    NUMERIC_FEATURES,
    NotEnoughHistory,
    build_examples,
    cutoffs,
    load_panel,
    panel_from_frame,
)
from analytics.model.fit import BTYD, BTYD_ALONE, MODEL, fit_models, score_partners
from analytics.store.quarters import quarter_index, quarter_label
from analytics.store.store import Store
from tests.builders import minimal_extract


@pytest.fixture(scope="module")
def demo_fit(demo_db):
    with Store(demo_db) as store:
        panel = load_panel(store)
    yield None, panel, fit_models(panel)


def test_every_candidate_is_scored_with_its_interval_and_the_served_one_is_calibrated_on_the_demo(demo_fit):
    _, _, fitted = demo_fit
    for target in ("churn", "turnaround"):
        evaluation = fitted.evaluations[target]
        metrics = evaluation.metrics
        # Every rule ranks from its raw figure: none is a constant 0.500 row, none is left out.
        assert set(metrics.index) == {c.name for c in CANDIDATES} and not evaluation.unavailable
        assert (metrics["ROC AUC"] > 0.55).all(), metrics
        assert ((metrics["ROC AUC low"] < metrics["ROC AUC"]) & (metrics["ROC AUC"] < metrics["ROC AUC high"])).all()
        assert (metrics["ROC AUC high"] - metrics["ROC AUC low"]).between(0.01, 0.1).all()
        assert evaluation.chosen in (MODEL, BTYD) and fitted.scorers[target].name == evaluation.chosen
        assert "noise" in evaluation.selection
    churn = fitted.evaluations["churn"]
    served = churn.metrics.loc[churn.chosen]
    assert served["top-10 % lift"] > 3  # the riskiest tenth holds several times the base rate of churners
    rate = churn.test_positive_rate
    assert served["Brier"] < rate * (1 - rate)  # better than always saying the base rate
    assert abs(served["mean predicted"] - rate) < 0.03  # calibrated on an earlier cutoff, right on a later one
    # The year-over-year rule has no figure at the calibration cutoff (6 quarters of history needed): it ranks,
    # but gives no probability to judge.
    rule = RULES[2].name
    assert np.isnan(churn.metrics.loc[rule, "Brier"]) and "not calibrated" in churn.caveats[rule]


def test_backtest_fits_only_on_cutoffs_whose_labels_were_observed_by_the_test_cutoff(demo_db, monkeypatch):
    fits: list[tuple[str, list[int], int]] = []  # target, training cutoffs, calibration cutoff

    def recording(original):
        def fit(self, split: Split):
            fits.append((split.target, sorted(split.train["cutoff"].unique()), int(split.calibration["cutoff"].max())))
            return original(self, split)
        return fit

    monkeypatch.setattr(Rule, "fit", recording(Rule.fit))  # the textbook model's fit goes through it too
    monkeypatch.setattr(Learned, "fit", recording(Learned.fit))
    with Store(demo_db) as store:
        panel = load_panel(store)
    as_of = "2026Q3"
    fitted = fit_models(panel, as_of, horizon=4)
    for target in ("churn", "turnaround"):
        test = quarter_index(fitted.evaluations[target].test_quarters[-1])
        backtest_fits = [(train, calibrate) for t, train, calibrate in fits if t == target and calibrate < test - 1]
        assert len(backtest_fits) == len(CANDIDATES)  # each candidate once, all before the test cutoff
        for train, calibrate in backtest_fits:
            # Calibrated on the latest cutoff whose 4 labelled quarters end by the test cutoff; trained before it.
            assert calibrate == test - 4 and all(c < calibrate for c in train)
        assert fitted.evaluations[target].calibration_quarter == quarter_label(test - 4)
        assert [quarter_index(q) for q in fitted.evaluations[target].train_quarters] == [test - 7, test - 6, test - 5]
        # Every fit, the final one too, only uses cutoffs whose four quarters ahead ended by the as-of quarter.
        assert all(calibrate + 4 <= quarter_index(as_of) for t, _, calibrate in fits if t == target)
    assert max(quarter_index(q) for q in fitted.train_quarters) == quarter_index(as_of) - 4
    assert fitted.calibration_quarter == quarter_label(quarter_index(as_of) - 4)


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
            if m := re.fullmatch(r"no order in (\S+) after (\d+) quarters? with orders \(\S+\), averaging .*",
                                 reason):
                assert m.group(1).split("–")[-1] == fitted.as_of and f["quarters_since_deal"] >= 1
                assert int(m.group(2)) == f["quarters_with_orders"]
                checked += 1
            elif m := re.fullmatch(r"revenue (down|up) (\d+) % in \S+ against \S+", reason):
                sign = -1 if m.group(1) == "down" else 1
                assert sign * int(m.group(2)) == pytest.approx(100 * f["yoy_change"], abs=0.5) or \
                    sign * int(m.group(2)) == pytest.approx(100 * f["half_year_trend"], abs=0.5)
                checked += 1
            elif m := re.fullmatch(r"(\d+) deals? in \S+", reason):
                assert int(m.group(1)) == f["deals_trailing"]
                checked += 1
            elif m := re.fullmatch(r"last order (\d+) days? before the end of \S+", reason):
                assert int(m.group(1)) == f["days_since_order"]
                checked += 1
            elif m := re.fullmatch(r"orders on (\d+) days? in \S+(, none in the (\d+) days? to the end of \S+|"
                                   r", the latest on the last day of \S+)?", reason):
                assert int(m.group(1)) == f["order_days_trailing"]
                assert m.group(3) is None or int(m.group(3)) == f["days_since_order"]
                checked += 1
            assert "BG/NBD" not in reason and "model" not in reason, reason
    assert checked > 50
    # Reasons come strongest first: each raises the probability at least as much as the next one.
    effects = scores.filter(like="effect: ").head(300)
    for (_, effect), row in zip(effects.iterrows(), top.itertuples(), strict=True):
        figures = features.loc[row.partner_id].to_dict() | {"tier": row.tier, "region": row.region}
        said: dict[str, float] = {}
        for g in reasons_module.REASON_GROUPS:  # two groups may tell one fact in the same words: it is named once
            text = reasons_module.describe(g, figures)
            said[text] = max(said.get(text, -np.inf), effect[f"effect: {g}"])
        named = [said[reason] for reason in row.churn_reasons.split("; ") if reason in said]
        assert named == sorted(named, reverse=True) and all(e > 0 for e in named), row.churn_reasons




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
    assert "ROC AUC (95 % interval)" in printed and "Brier" in printed and "top-10 % lift" in printed
    for candidate in CANDIDATES:
        assert printed.count(candidate.name) >= 2  # in the churn table and the turnaround table
    # Every candidate's ROC AUC with its interval, none a constant 0.500 (a rule ranks by its raw figure).
    assert len(re.findall(r" 0\.\d{3}, 0\.\d{2}–[01]\.\d{2} ", printed)) == 2 * len(CANDIDATES)
    assert " 0.500" not in printed
    assert printed.count("beyond the backtest's noise") == 2 and "mean predicted" in printed
    assert re.search(r"Calibration of .* mean predicted \d+\.\d% against \d+\.\d% that happened", printed)
    assert printed.count("observed by the test cutoff") == 2
    assert f"model version {model_module.MODEL_VERSION}" in printed


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
    # 10 quarters: a 4-quarter backtest trains on the first, calibrates on the second (windows cut short), and
    # tests on the sixth.
    printed = capsys.readouterr().out
    assert "Churn: trained on cutoffs 2013Q1 " in printed and "calibrated on 2013Q2, tested on 2014Q2" in printed
    assert main(["--db", str(store.path), "backtest", "--horizon", "2"]) == 0
    assert "ROC AUC" in capsys.readouterr().out


def test_a_short_history_is_scored_by_the_bgnbd_model_and_the_notes_say_so(store, write_file, tmp_path, capsys):
    load_extract(store, write_file("short.csv", minimal_extract("2025Q1", 6)))
    store.close()
    out = tmp_path / "s.csv"
    assert main(["--db", str(store.path), "score", "--as-of", "2026Q2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # Six quarters at a 4-quarter horizon: too short to test, long enough to calibrate the BG/NBD model on its
    # second quarter (a window cut short) against what followed.
    assert "Churn not backtested" in printed and "(10 quarters of data; there are 6)" in printed
    assert "BG/NBD model alone" not in printed
    scores = pd.read_csv(out, encoding="utf-8-sig")
    assert len(scores) > 300 and scores["churn_probability"].between(0, 1, inclusive="neither").all()
    assert scores["turnaround_probability"].isna().all()
    with Store(store.path) as reopened:
        panel = load_panel(reopened)
    fitted = fit_models(panel, "2026Q2", horizon=4)
    assert fitted.scorers["churn"].name == BTYD and fitted.scorers["churn"].calibrated
    assert fitted.calibration_quarter == "2025Q2" and fitted.train_quarters == ("2025Q1", "2025Q2")
    # Down to a single quarter of history before the cutoff (and the cutoff quarter itself alone).
    for as_of in ("2025Q2", "2025Q1"):
        fitted = fit_models(panel, as_of, horizon=2)
        assert fitted.scorers["churn"].name == BTYD_ALONE and fitted.scorers["turnaround"] is None
        assert any("BG/NBD model alone" in note for note in fitted.notes)
        scored = score_partners(panel, fitted)
        assert len(scored) > 300 and scored["churn_probability"].notna().all()
    # Faders (fewer orders, the last ones longer ago) get higher probabilities than steady partners.
    scored = score_partners(panel, fit_models(panel, "2025Q4", horizon=4)).set_index("partner_id")
    assert scored["churn_probability"].nunique() > 50


def test_without_any_order_nothing_is_scored(store, write_file):
    load_extract(store, write_file("credits.csv", "partner_id,order_date,revenue\nP1,2025-02-01,-50\n"))
    with pytest.raises(NotEnoughHistory, match="No orders up to 2025Q1"):
        fit_models(load_panel(store))


def test_a_feature_constant_within_every_cutoff_is_not_used():
    # Every partner starts with the data, so tenure only tells the cutoffs apart (unknown, then "a year or more").
    rng = np.random.default_rng(3)
    stop = np.where(rng.random(300) < 0.4, rng.integers(2, 8, 300), 99)
    rows = [{"partner_id": f"P{p}", "q_index": quarter_index("2024Q1") + q, "revenue": rng.lognormal(8, 1)}
            for p in range(300) for q in range(8) if q < stop[p]]
    panel = panel_from_frame(pd.DataFrame(rows))
    examples = build_examples(panel, cutoffs(panel, 2), 2)
    assert examples.groupby("cutoff")["tenure_quarters"].nunique().max() <= 1
    assert examples["tenure_quarters"].isna().any() and examples["tenure_quarters"].nunique() == 1
    last = examples["cutoff"].max()
    scorer = Learned().fit(Split("churn", examples[examples["cutoff"] < last], examples[examples["cutoff"] == last]))
    assert "tenure_quarters" in scorer._blank and "days_since_order" not in scorer._blank


# -- reasons and probabilities over every scored partner -----------------------------------------
@pytest.fixture(scope="module")
def small_demo_scores(tmp_path_factory):
    """Every partner of a small demo channel (600 partners), scored at its latest quarter, with the fit."""
    path = tmp_path_factory.mktemp("small") / "small.duckdb"
    with Store(path) as store:
        build_demo_channel(store, DemoSpec(partners=600))
        panel = load_panel(store)
    fitted = fit_models(panel, horizon=4)
    return panel, fitted, score_partners(panel, fitted, with_effects=True)


@pytest.fixture(scope="module")
def occasional_scores(tmp_path_factory):
    """Every partner of an extract with only partner, date and revenue of occasional buyers, horizon 2."""
    folder = tmp_path_factory.mktemp("occasional")
    (folder / "occasional.csv").write_text(occasional_buyers_extract(partners=1500, seed=11))
    with Store(folder / "occasional.duckdb") as store:
        load_extract(store, folder / "occasional.csv")
        panel = load_panel(store)
    fitted = fit_models(panel, horizon=2)
    return panel, fitted, score_partners(panel, fitted, with_effects=True)


# Words that say a partner is not ordering: never a reason for less churn risk or for a turnaround.
_NOT_ORDERING = re.compile(r"^(0|1) deals? |^no order in |^net revenue .* credits outweigh|^no order day")


@pytest.mark.parametrize("scored", ["small_demo_scores", "occasional_scores"], ids=["demo", "occasional buyers"])
def test_reasons_match_every_partners_history(scored, request):
    panel, fitted, scores = request.getfixturevalue(scored)
    features = model_module.features_at(panel, fitted.as_of, fitted.horizon,
                                        fitted.rules.minimum_revenue()).set_index("partner_id")
    typical = features[NUMERIC_FEATURES].median()
    likely = scores[scores["churn_probability"] >= 0.5]
    assert len(likely) > 10 and (likely["churn_reasons"] != "").all()
    evidence = fitted.references["churn"]["region_evidence"]
    for row in scores.itertuples():
        f = features.loc[row.partner_id]
        for reason in filter(None, row.churn_reasons_against.split("; ") + row.turnaround_reasons.split("; ")):
            assert not _NOT_ORDERING.search(reason), (row.partner_id, reason)
        for reason in filter(None, row.churn_reasons.split("; ")):
            if m := re.fullmatch(r"(\d+) deals? in \S+", reason):
                assert int(m.group(1)) < typical["deals_trailing"], (row.partner_id, reason)
            if reason.startswith("region "):
                assert evidence.get(row.region) == 1, (row.partner_id, reason)
        for reason in filter(None, row.churn_reasons_against.split("; ")):
            if m := re.fullmatch(r"(\d+) deals? in \S+", reason):
                assert int(m.group(1)) > max(typical["deals_trailing"], 1), (row.partner_id, reason)
            if m := re.fullmatch(r"last order (\d+) days? before the end of \S+", reason):
                assert f["quarters_since_deal"] == 0 and int(m.group(1)) < typical["days_since_order"]
            if reason.startswith("region "):
                assert evidence.get(row.region) == -1, (row.partner_id, reason)
    # Turnaround reasons say what holds a partner back as well as what favours it.
    if fitted.scorers.get("turnaround") is not None and scored == "small_demo_scores":
        assert (scores["turnaround_reasons_against"] != "").sum() > 10


@pytest.mark.parametrize("scored", ["small_demo_scores", "occasional_scores", "demo_fit"],
                         ids=["small demo", "occasional buyers", "demo"])
def test_probabilities_are_smooth_never_0_or_1(scored, request):
    if scored == "demo_fit":
        _, panel, fitted = request.getfixturevalue(scored)
        scores = score_partners(panel, fitted)
    else:
        _, _, scores = request.getfixturevalue(scored)
    for column in ("churn_probability", "turnaround_probability"):
        p = scores[column].dropna()
        if p.empty:
            continue
        assert ((p > 0) & (p < 1)).all(), column
        assert p.nunique() > 0.5 * len(p), column  # no steps: many distinct values
        assert p.value_counts().iloc[0] <= max(10, 0.01 * len(p)), column  # no spike at any one value
