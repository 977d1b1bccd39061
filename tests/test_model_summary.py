"""The Model page's plain summary: sentences that follow the stored report's figures, and the page opening with it."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from analytics.formatting import markdown_literal
from analytics.model.fit import BTYD, BTYD_ALONE, MODEL, RULE_NAMES, Evaluation, ModelReport
from analytics.model.scoring import stored_report
from analytics.model.summary import SIMPLE_RULE, in_ten, plain_summary, top_tenth_catch
from analytics.store.store import Store
from tests.apptest_helpers import open_page


def evaluation(target: str, partners: int, rate: float, figures: dict[str, tuple[float, float]],
               unavailable: dict[str, str] | None = None, mean: float = float("nan")) -> Evaluation:
    """Give a backtest with known figures: candidate -> (ROC AUC, top-10 % share); `mean` predicted for each."""
    metrics = pd.DataFrame(
        [{"ROC AUC": auc, "ROC AUC low": auc - 0.02, "ROC AUC high": auc + 0.02, "PR AUC": 0.5, "Brier": 0.1,
          "mean predicted": mean, "top-10 % share": share, "top-10 % lift": share / rate}
         for auc, share in figures.values()], index=pd.Index(list(figures), name="candidate"))
    return Evaluation(target=target, train_quarters=("2024Q3",), test_quarters=("2025Q3",), train_examples=900,
                      test_examples=partners, test_positive_rate=rate, metrics=metrics,
                      reliability=pd.DataFrame(), chosen=str(metrics["ROC AUC"].idxmax()), seconds=1.0,
                      unavailable=unavailable or {})


def report(churn: Evaluation | None, chosen: str, turnaround: Evaluation | None = None,
           train_quarters: tuple[str, ...] = ("2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3")) -> ModelReport:
    return ModelReport(
        as_of="2026Q3", horizon=4, churn_share=0.2, evaluations={"churn": churn, "turnaround": turnaround},
        chosen={"churn": chosen, "turnaround": MODEL if turnaround else None},
        drivers=pd.DataFrame({"reason": ["year over year", "recency of orders", "tier", "region"],
                              "mean_effect": [0.2, 0.1, 0.05, 0.0], "partners_top_reason": [5, 3, 1, 0]}),
        train_quarters=train_quarters, train_examples={"churn": 900, "turnaround": 200}, notes=(),
        trained_at=datetime(2026, 12, 1, 14, 32), fit_seconds=3.0, data_version=7,
        data_quarters=("2023Q4", "2026Q3"), partners_scored=1234)


def text_of(points) -> dict[str, str]:
    return {p.topic: p.text for p in points}


# 1,000 test partners, 100 of them churned: the riskiest tenth is 100 partners, so a top-10 % share of 0.4
# holds 40 of the 100 churners (4 in 10) and the rule's 0.2 holds 20 (2 in 10).
@pytest.mark.parametrize(("auc", "share", "rule_share", "caught", "in_tens", "auc_words", "rule_words"), [
    (0.91, 0.40, 0.20, "held 40: about 4 in 10", "4 in 10", "9 times in 10", "held 20 of them: about 2 in 10"),
    (0.72, 0.65, 0.05, "held 65: about 7 in 10", "7 in 10", "7 times in 10", "held 5 of them: about 1 in 10"),
    (0.55, 0.10, 0.10, "held 10: about 1 in 10", "1 in 10", "6 times in 10", "held 10 of them: about 1 in 10"),
], ids=["strong", "rounds-half-up", "weak"])
def test_the_numbers_in_the_sentences_follow_the_report(auc, share, rule_share, caught, in_tens, auc_words,
                                                         rule_words):
    churn = evaluation("churn", 1000, 0.10, {MODEL: (auc, share), SIMPLE_RULE: (0.5, rule_share), BTYD: (0.6, 0.2)})
    points = plain_summary(report(churn, MODEL))
    assert [p.topic for p in points] == ["What it predicts", "Which model", "How good it is",
                                         "How to read a probability", "What moves a partner's risk most",
                                         "When it was trained"]
    said = text_of(points)
    assert said["How to read a probability"].startswith(
        'In whole percentages from 5 % to 95 %, and beyond them as "under 5 %" or "over 95 %"')
    good = said["How good it is"]
    assert f"Of the 100 that churned, the 100 it ranked most likely (the top tenth) {caught}" in good
    assert in_tens in good and f"ranks a partner that churned above one that stayed {auc_words}" in good
    assert f"a rule that flags the partners whose revenue fell most year over year {rule_words}" in good
    assert "1,000 partners of 2025Q3 did over 2025Q4–2026Q3" in good
    assert "1,234 partners" in said["What it predicts"] and "below 20% of the 4 quarters before" in said[
        "What it predicts"] and "2026Q4–2027Q3" in said["What it predicts"]
    assert said["Which model"].startswith("A gradient-boosting model")
    assert said["What moves a partner's risk most"].startswith("Year over year, recency of orders and tier:")
    assert said["When it was trained"].startswith("2026-12-01 at 14:32, on the data 2023Q4–2026Q3, from partners' "
                                                  "histories at the quarters 2024Q3–2025Q3")


def test_counts_come_from_the_test_size_not_a_round_thousand():
    # 606 partners, 15 % churned (91); the riskiest tenth is ceil(60.6) = 61 partners, 41 of them churners.
    churn = evaluation("churn", 606, 91 / 606, {MODEL: (0.81, 41 / 61), SIMPLE_RULE: (0.5, 9 / 61),
                                                BTYD: (0.84, 41 / 61)})
    assert top_tenth_catch(churn, BTYD) == (61, 41, 91)
    good = text_of(plain_summary(report(churn, BTYD)))["How good it is"]
    assert "Of the 91 that churned, the 61 it ranked most likely (the top tenth) held 41: about 5 in 10" in good
    assert "8 times in 10" in good  # the served BG/NBD model's 0.84, not the gradient boosting's 0.81


@pytest.mark.parametrize(("chosen", "start", "words"), [
    (BTYD, "The BG/NBD \"buy till you die\" model", "by more than the test's own noise"),
    ("baseline: days since last order", "A simple rule: the more days since a partner's last order",
     "logistic regression"),
], ids=["bgnbd-won", "rule-won"])
def test_a_baseline_served_says_so_in_words(chosen, start, words):
    assert chosen in (BTYD, *RULE_NAMES)
    churn = evaluation("churn", 1000, 0.1, {MODEL: (0.7, 0.3), chosen: (0.8, 0.4), SIMPLE_RULE: (0.5, 0.1)})
    said = text_of(plain_summary(report(churn, chosen)))
    assert said["Which model"].startswith(start) and words in said["Which model"]
    assert "held 40: about 4 in 10" in said["How good it is"] and "8 times in 10" in said["How good it is"]


def test_a_short_history_is_not_tested_and_says_so():
    said = text_of(plain_summary(report(None, BTYD_ALONE, train_quarters=())))
    assert said["Which model"].startswith("The BG/NBD \"buy till you die\" model alone")
    assert said["How good it is"].startswith("Not tested on this data") and "10 quarters" in said["How good it is"]
    assert "turn around" not in said["What it predicts"]  # turnaround is not scored at all
    assert said["When it was trained"] == ("2026-12-01 at 14:32, on the data 2023Q4–2026Q3. It is trained again "
                                           "after every load or rollback.")


def test_turnaround_is_told_in_the_same_words():
    churn = evaluation("churn", 1000, 0.1, {MODEL: (0.9, 0.4)})
    turnaround = evaluation("turnaround", 200, 0.25, {MODEL: (0.68, 0.5)})  # top 20 of 200, 10 of 50 turned around
    good = text_of(plain_summary(report(churn, MODEL, turnaround)))["How good it is"]
    assert ("Turnaround, among the 200 partners underperforming at 2025Q3: of the 50 that turned around, the 20 it "
            "ranked most likely (the top tenth) held 10: about 2 in 10, and it ranks a partner that turned around "
            "above one that did not 7 times in 10.") in good


def test_a_rule_the_backtest_could_not_score_is_named_with_why_and_never_quoted():
    why = "no partner at 2024Q3 has revenue a year earlier to compare with (it takes 6 quarters of history)"
    churn = evaluation("churn", 1000, 0.12, {MODEL: (0.86, 0.6), BTYD: (0.83, 0.5)}, unavailable={SIMPLE_RULE: why},
                       mean=0.131)
    good = text_of(plain_summary(report(churn, MODEL)))["How good it is"]
    assert f"revenue fell most year over year could not be tested: {why}." in good
    assert "held 75" not in good and good.count(" held ") == 1  # only the served model's catch is quoted
    assert "On average it gave those partners a 13 % chance of churning; 12 % did." in good


@pytest.mark.parametrize(("share", "expected"), [(0.0, 0), (0.049, 0), (0.05, 1), (0.45, 5), (0.449, 4), (1.0, 10)])
def test_in_ten_rounds_half_up(share, expected):
    assert in_ten(share) == expected


def test_model_page_opens_with_the_summary_of_the_stored_report(small_demo):
    with Store(small_demo) as store:
        stored = stored_report(store, "2026Q3", 4)
    at = open_page(small_demo, "views/pages/model.py")
    expected = plain_summary(stored)
    # The summary comes first: the page's first heading, then one paragraph per point, before "For analysts".
    assert at.subheader[0].value == "In short"
    assert [m.value for m in at.markdown[:len(expected)]] == [
        f"**{p.topic}.** {markdown_literal(p.text)}" for p in expected]
    assert [h.value for h in at.header] == ["For analysts"]
    evaluation = stored.evaluations["churn"]
    top, caught, outcomes = top_tenth_catch(evaluation, stored.chosen["churn"])
    shown = " ".join(m.value for m in at.markdown[:len(expected)])
    assert markdown_literal(f"Of the {outcomes:,} that churned, the {top:,} it ranked most likely (the top tenth) "
                            f"held {caught:,}") in shown
    auc = evaluation.metrics.loc[stored.chosen["churn"], "ROC AUC"]
    assert f"{in_ten(auc)} times in 10" in shown
    # The analysts' figures stay below it.
    assert len(at.dataframe) == 2 and "ROC AUC (95 % interval)" in at.dataframe[0].value.columns
    # Every ROC AUC shown with its interval, as "0.858, 0.84–0.88"; the served candidate marked.
    table = at.dataframe[0].value
    scored = table[table["ROC AUC (95 % interval)"] != ""]
    assert scored["ROC AUC (95 % interval)"].str.fullmatch(r"0\.\d{3}, 0\.\d{2}–[01]\.\d{2}").all()
    assert table.loc[table["note"] == "served", "candidate"].tolist() == [stored.chosen["churn"]]
