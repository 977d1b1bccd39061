"""The candidates and their figures: rules ranked by their raw figure, calibration by time, bootstrap intervals,
selection beyond noise, unavailable candidates named with why (small inline frames, hand-computed expectations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analytics.model.candidates import BTYD, MODEL, RULES, TEXTBOOK, Learned, Split, Unavailable
from analytics.model.features import FEATURES, NUMERIC_FEATURES
from analytics.model.fit import _select, backtest_table
from analytics.model.metrics import interval, metrics_of, resample_weights, resampled_auc

QUARTERS_RULE, DAYS_RULE, YOY_RULE = RULES


def frame(quarter: str, **columns) -> pd.DataFrame:
    """Give a feature frame of one cutoff with the given columns, the others missing."""
    n = len(next(iter(columns.values())))
    data = {c: np.full(n, np.nan) for c in NUMERIC_FEATURES} | {"region": ["NA"] * n}
    data |= {"quarter": [quarter] * n, "cutoff": [0] * n} | columns
    return pd.DataFrame(data)


# -- the bootstrap ---------------------------------------------------------------------------------
def test_resampled_auc_with_every_partner_once_is_roc_auc_ties_counted_half():
    score = np.array([0.1, 0.4, 0.4, 0.4, 0.8, 0.9, 0.2])
    y = np.array([0, 0, 1, 0, 1, 1, 0])
    # By hand: 3 churners x 4 stayers = 12 pairs; 0.4 (churner) beats 0.1 and 0.2 and ties two 0.4s: 3;
    # 0.8 and 0.9 beat all four: 8. 11 / 12.
    assert resampled_auc(score, y, np.ones((1, 7)))[0] == pytest.approx(11 / 12)
    assert roc_auc_score(y, score) == pytest.approx(11 / 12)
    # Counting a partner twice is the same as listing it twice.
    twice = np.ones((1, 7))
    twice[0, 2] = 2
    listed = np.r_[score, 0.4], np.r_[y, 1]
    assert resampled_auc(score, y, twice)[0] == pytest.approx(roc_auc_score(listed[1], listed[0]))


def test_the_interval_holds_the_auc_and_narrows_with_more_partners():
    rng = np.random.default_rng(1)
    widths = []
    for n in (300, 3000):
        y = rng.random(n) < 0.2
        score = y + rng.normal(0, 1, n)
        low, high = interval(resampled_auc(score, y, resample_weights(n)))
        assert low < roc_auc_score(y, score) < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2  # about 1 / sqrt(10) as wide


def test_selection_serves_the_learned_model_only_beyond_noise():
    rng = np.random.default_rng(4)
    n = 2000
    y = (rng.random(n) < 0.15).astype(int)
    signal = y + rng.normal(0, 1, n)
    textbook = signal + rng.normal(0, 0.6, n)
    ranks = {
        BTYD: textbook,
        "as good": signal + rng.normal(0, 0.6, n),      # as noisy as the textbook, its own noise
        "clearly better": signal,                        # the textbook's noise removed
    }
    weights = resample_weights(n)
    metrics = {name: metrics_of(y, r, None, weights) for name, r in ranks.items()}
    for learned, served in (("as good", BTYD), ("clearly better", MODEL)):
        chosen, why = _select({MODEL: metrics[learned], BTYD: metrics[BTYD]}, {MODEL: ranks[learned], BTYD: textbook},
                              {MODEL, BTYD}, y, weights)
        assert chosen == served, why
        assert ("beyond the backtest's noise, so it is served" in why) == (served == MODEL)
    # Without the textbook model, the best calibrated rule is what the learned model must beat.
    chosen, why = _select({MODEL: metrics["as good"], DAYS_RULE.name: metrics[BTYD]},
                          {MODEL: ranks["as good"], DAYS_RULE.name: textbook}, {MODEL, DAYS_RULE.name}, y,
                          weights)
    assert chosen == DAYS_RULE.name and DAYS_RULE.name in why


# -- rules and calibration by time --------------------------------------------------------------------
def test_a_rule_ranks_by_its_raw_figure_without_any_fit():
    # Year-over-year change: the further down, the riskier. Nobody has it at the calibration cutoff.
    test = frame("2025Q3", yoy_change=[-0.9, -0.5, 0.0, 0.4, np.nan], churn=[1, 1, 0, 0, 0])
    calibration = frame("2024Q3", yoy_change=[np.nan] * 20, churn=[0, 1] * 10)
    scorer = YOY_RULE.fit(Split("churn", calibration.iloc[:0], calibration))
    assert not scorer.calibrated and "no partner at 2024Q3 has revenue a year earlier" in scorer.caveat
    with pytest.raises(Unavailable, match="gives no probabilities here"):
        scorer.predict(test)
    rank = scorer.rank(test)
    assert list(np.argsort(-rank)[:2]) == [0, 1]  # the two biggest falls first
    assert roc_auc_score(test["churn"], rank) == 1.0
    # For a turnaround, the same figure counts the other way round.
    assert np.argmax(YOY_RULE.fit(Split("turnaround", calibration.iloc[:0], calibration)).rank(test)) == 3


def test_a_rule_without_its_figure_at_the_test_cutoff_is_unavailable_with_why():
    test = frame("2024Q3", yoy_change=[np.nan] * 4)
    with pytest.raises(Unavailable, match=r"no partner at 2024Q3 has revenue a year earlier .*6 quarters"):
        YOY_RULE.check(test, "2024Q3")
    with pytest.raises(Unavailable, match="every partner at 2024Q3 has the same a quarter with an order"):
        QUARTERS_RULE.check(frame("2024Q3", quarters_since_deal=[0.0] * 4), "2024Q3")


def test_calibration_comes_from_the_later_cutoff_not_the_training_one():
    rng = np.random.default_rng(2)
    days = rng.exponential(60, 4000)
    risk = 1 / (1 + np.exp(-(np.log1p(days) - 5)))
    # Twice as much churn at the calibration cutoff as at the training one: the probabilities follow it.
    train = frame("2024Q1", days_since_order=days, churn=(rng.random(4000) < risk / 2).astype(int))
    later = frame("2024Q2", days_since_order=days, churn=(rng.random(4000) < risk).astype(int))
    scorer = DAYS_RULE.fit(Split("churn", train, later))
    assert scorer.calibrated
    # A logistic fit with an intercept gives back its data's rate on average.
    assert scorer.predict(later).mean() == pytest.approx(later["churn"].mean(), abs=0.005)
    assert scorer.predict(later).mean() > 1.5 * train["churn"].mean()


def test_the_learned_model_is_calibrated_on_the_later_cutoff_and_refuses_without_one():
    rng = np.random.default_rng(5)

    def cutoff(quarter: str, index: int, n: int = 1500, rate: float = 0.2) -> pd.DataFrame:
        days = rng.exponential(60, n)
        churn = (rng.random(n) < rate * 2 * days / (days + 60)).astype(int)
        return frame(quarter, days_since_order=days, quarters_since_deal=np.floor(days / 91), churn=churn
                     ).assign(cutoff=index)

    train, later = cutoff("2024Q1", 0, rate=0.1), cutoff("2024Q2", 1, rate=0.3)
    scorer = Learned().fit(Split("churn", train, later))
    assert scorer.predict(later).mean() == pytest.approx(later["churn"].mean(), abs=0.01)
    assert set(scorer.inputs) == set(FEATURES)
    with pytest.raises(Unavailable, match="no labelled cutoff before 2024Q2 to train on"):
        Learned().fit(Split("churn", train.iloc[:0], later))
    with pytest.raises(Unavailable, match="too few of each outcome at 2024Q2 to calibrate on"):
        Learned().fit(Split("churn", train, later.assign(churn=0)))


def test_the_textbook_model_ranks_by_expected_orders_and_is_calibrated():
    expected = np.array([0.05, 0.3, 1.0, 2.5, 6.0] * 40)
    churn = np.array([1, 1, 0, 0, 0] * 40)
    calibration = frame("2024Q2", btyd_expected_orders=expected, btyd_churn=1 - expected / 7, churn=churn)
    scorer = TEXTBOOK.fit(Split("churn", calibration.iloc[:0], calibration))
    assert scorer.calibrated and scorer.inputs == ["btyd_expected_orders"]
    p = scorer.predict(calibration)
    assert p[0] > p[1] > p[2] > p[3] > p[4]  # fewer orders expected: more likely to churn
    # Nothing to calibrate on: for churn its own chance of no order is shown as it is, and it says so.
    bare = TEXTBOOK.fit(Split("churn", calibration.iloc[:0], calibration.assign(churn=0)))
    assert bare.calibrated and "shown as it is" in bare.caveat
    assert bare.predict(calibration)[:5] == pytest.approx(0.001 + 0.998 * (1 - expected[:5] / 7))


def test_the_backtest_table_lists_unavailable_candidates_last_without_figures():
    from analytics.model.fit import Evaluation

    metrics = pd.DataFrame([{"ROC AUC": 0.8581, "ROC AUC low": 0.8412, "ROC AUC high": 0.8766, "PR AUC": 0.7,
                             "Brier": 0.063, "mean predicted": 0.131, "top-10 % share": 0.7, "top-10 % lift": 5.49}],
                           index=pd.Index([MODEL], name="candidate"))
    evaluation = Evaluation("churn", ("2024Q2",), ("2025Q3",), 100, 1000, 0.127, metrics, pd.DataFrame(), MODEL, 1.0,
                            "2024Q3", {YOY_RULE.name: "no partner at 2025Q3 has revenue a year earlier"})
    table = backtest_table(evaluation)
    assert table["candidate"].tolist() == [MODEL, YOY_RULE.name]
    assert table.iloc[0]["ROC AUC (95 % interval)"] == "0.858, 0.84–0.88"
    assert table.iloc[0]["mean predicted"] == "13.1%" and table.iloc[0]["note"] == "served"
    assert table.iloc[1]["ROC AUC (95 % interval)"] == "" and table.iloc[1]["Brier"] == ""
    assert table.iloc[1]["note"] == "unavailable: no partner at 2025Q3 has revenue a year earlier"
