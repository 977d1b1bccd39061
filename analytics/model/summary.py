"""The Model page's summary for people who are not data scientists: what is predicted, by what, how well, when.

Every figure in the sentences comes from the stored report (analytics.model.fit.ModelReport) of the
scores the pages show: the served candidate's own backtest row, the year-over-year rule's row beside
it, the fit's quarters and time. Backtest figures become counts of partners ("held 41 of the 91
that churned, about 4 in 10") and ROC AUC a frequency ("ranks a partner that churned above one that
stayed 8 times in 10"), because a share of real partners is what a channel team can check. A
candidate the backtest could not score (Evaluation.unavailable) is never quoted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analytics.formatting import PROBABILITY_CEILING, PROBABILITY_FLOOR, probability_text
from analytics.model.fit import BTYD, BTYD_ALONE, MODEL, RULE_NAMES, Evaluation, ModelReport
from analytics.periods import quarter_span, quarters_to, span_after

__all__ = ["SIMPLE_RULE", "SummaryPoint", "plain_summary", "top_tenth_catch", "in_ten"]

# The rule a person would try first: flag the partners whose revenue fell year over year.
SIMPLE_RULE = RULE_NAMES[2]
_RULE_WORDS = {
    RULE_NAMES[0]: "the longer since a partner's last deal, the higher its risk",
    RULE_NAMES[1]: "the more days since a partner's last order, the higher its risk",
    SIMPLE_RULE: "the further a partner's revenue fell year over year, the higher its risk",
}


@dataclass(frozen=True)
class SummaryPoint:
    """One point of the summary: its topic ("How good it is") and plain sentences."""

    topic: str
    text: str


# How the pages write a probability (analytics.formatting.probability_text), and why.
_READING = (f"In whole percentages from {probability_text(PROBABILITY_FLOOR)} to "
            f"{probability_text(PROBABILITY_CEILING)}, and beyond them as "
            f"\"{probability_text(0.0)}\" or \"{probability_text(1.0)}\": no partner's future is certain, and "
            "the test above checks the scores on tenths of the partners, so it cannot tell a 96 % from a 99.7 %. "
            "The reasons beside a score are the partner's own figures, each with the quarters it covers.")


def in_ten(share: float) -> int:
    """Give a share as "n in 10", rounded half up (0.45 -> 5), within 0 to 10."""
    return max(0, min(10, math.floor(share * 10 + 0.5)))


def top_tenth_catch(evaluation: Evaluation, candidate: str) -> tuple[int, int, int]:
    """Give, for `candidate` in a backtest: partners in its riskiest tenth, the outcomes among them, all outcomes.

    From the stored figures: the riskiest tenth is ceil(10 % of the test partners), as the backtest
    counted it; the outcomes in it are its "top-10 % share" of them.
    """
    top = max(1, math.ceil(0.10 * evaluation.test_examples))
    caught = round(float(evaluation.metrics.loc[candidate, "top-10 % share"]) * top)
    outcomes = round(evaluation.test_positive_rate * evaluation.test_examples)
    return top, caught, outcomes


def _model_in_words(chosen: str | None, evaluation: Evaluation | None) -> str:
    """Give what the served candidate is, in words, and why it is the one served."""
    if chosen == MODEL:
        return ("A gradient-boosting model: many small decision trees, each correcting the ones before, weighing "
                "what is known about each partner's history (revenue level and trend, time since its last order, "
                "deals, customers, products, tier, region, its ordering pattern). Its scores are calibrated, so "
                "30 % means that about 3 in 10 such partners churn (checked on a later quarter than it learned from). "
                "In the test it ranked partners better than the BG/NBD model by more than the test's own noise.")
    if chosen == BTYD_ALONE:
        return ("The BG/NBD \"buy till you die\" model alone: from when and how often each partner ordered, the "
                "chance that it has stopped ordering. The data are too short to learn from what partners did "
                "later, so nothing else can be trained or tested yet.")
    if chosen == BTYD:
        why = ("The gradient-boosting model did not rank partners better than it by more than the test's own "
               "noise, so this simpler one is used." if evaluation is not None and MODEL in evaluation.metrics.index
               else "The data are too short to test a learned model, so this simpler one is used.")
        return ("The BG/NBD \"buy till you die\" model: from when and how often each partner ordered, how many "
                "orders to expect from it, turned into a probability by a logistic regression on what partners did "
                f"after an earlier quarter. {why}")
    if chosen in RULE_NAMES:
        return (f"A simple rule: {_RULE_WORDS.get(chosen, chosen)}, turned into a probability by a logistic "
                "regression on what partners did after an earlier quarter. Neither the gradient-boosting model nor "
                "the BG/NBD model could be used here, so its scores are the ones shown.")
    return "No model: nothing could be scored."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


_OUTCOME = {"churn": ("churned", "stayed"), "turnaround": ("turned around", "did not")}


def _caught(evaluation: Evaluation, candidate: str, target: str) -> str:
    """Give how many of the backtest's outcomes `candidate`'s riskiest tenth held, as counts and "n in 10"."""
    top, caught, outcomes = top_tenth_catch(evaluation, candidate)
    share = caught / outcomes if outcomes else 0.0
    return (f"of the {outcomes:,} that {_OUTCOME[target][0]}, the {top:,} it ranked most likely (the top tenth) "
            f"held {caught:,}: about {in_ten(share)} in 10")


def _ranks(evaluation: Evaluation, candidate: str, target: str) -> str:
    """Give ROC AUC in words: how often a partner with the outcome is ranked above one without it."""
    happened, not_happened = _OUTCOME[target]
    auc = float(evaluation.metrics.loc[candidate, "ROC AUC"])
    return f"it ranks a partner that {happened} above one that {not_happened} {in_ten(auc)} times in 10"


def _quality(evaluation: Evaluation, chosen: str, horizon: int) -> str:
    """Give how well the served churn candidate did in the backtest, against chance and the simplest rule."""
    test = evaluation.test_quarters[-1]
    text = (f"Tested as if it were {test}: trained only on what was known then, its scores were compared with what "
            f"the {evaluation.test_examples:,} partners of {test} did over {span_after(test, horizon)}. "
            f"{_capital(_caught(evaluation, chosen, 'churn'))} (a tenth picked "
            f"at random holds about 1 in 10), and {_ranks(evaluation, chosen, 'churn')} (a coin toss: 5 in 10).")
    row = evaluation.metrics.loc[chosen]
    if not math.isnan(float(row.get("mean predicted", math.nan))):
        text += (f" On average it gave those partners a {float(row['mean predicted']) * 100:.0f} % chance of "
                 f"churning; {evaluation.test_positive_rate * 100:.0f} % did.")
    # Only a rule the backtest could score is quoted; one that could not is named with why, never with a figure.
    if SIMPLE_RULE in evaluation.metrics.index and chosen != SIMPLE_RULE:
        _, rule_caught, outcomes = top_tenth_catch(evaluation, SIMPLE_RULE)
        text += (f" For comparison, a rule that flags the partners whose revenue fell most year over year held "
                 f"{rule_caught:,} of them: about {in_ten(rule_caught / outcomes if outcomes else 0.0)} in 10.")
    elif SIMPLE_RULE in getattr(evaluation, "unavailable", {}):
        text += (" A rule that flags the partners whose revenue fell most year over year could not be tested: "
                 f"{evaluation.unavailable[SIMPLE_RULE]}.")
    return text


def plain_summary(report: ModelReport) -> list[SummaryPoint]:
    """Give the Model page's plain summary of a stored report: what, which model, how good, when trained."""
    h, q = report.horizon, report.as_of
    ahead = span_after(q, h)
    predicts = (f"For each of the {report.partners_scored:,} partners with orders in the {quarters_to(q, h)}, the "
                f"chance that it churns: that its revenue over the next {h} quarters ({ahead}) falls below "
                f"{report.churn_share:.0%} of the {h} quarters before, or stops.")
    if report.chosen.get("turnaround"):
        predicts += (f" For partners underperforming at {q}, also the chance that they turn around: revenue over "
                     f"{ahead} back to where it was before the fall.")
    points = [SummaryPoint("What it predicts", predicts)]
    chosen = report.chosen.get("churn")
    churn = report.evaluations.get("churn")
    points.append(SummaryPoint("Which model", _model_in_words(chosen, churn)))
    if churn is not None and chosen in churn.metrics.index:
        quality = _quality(churn, chosen, h)
    else:
        quality = ("Not tested on this data (the notes for analysts below say why): a fair test trains on one "
                   f"part of the past and checks on a later part, which takes {2 * h + 2} quarters of data with enough "
                   f"partners churning; the data hold {quarter_span(*report.data_quarters)}. Read "
                   "the scores as a ranking, not as certainties.")
    turnaround = report.evaluations.get("turnaround")
    served = report.chosen.get("turnaround")
    if turnaround is not None and served in turnaround.metrics.index:
        quality += (f" Turnaround, among the {turnaround.test_examples:,} partners underperforming at "
                    f"{turnaround.test_quarters[-1]}: {_caught(turnaround, served, 'turnaround')}, and "
                    f"{_ranks(turnaround, served, 'turnaround')}.")
    points.append(SummaryPoint("How good it is", quality))
    points.append(SummaryPoint("How to read a probability", _READING))
    drivers = report.drivers[report.drivers["mean_effect"] > 0]["reason"].head(3).tolist()
    if drivers:
        named = drivers[0] if len(drivers) == 1 else f"{', '.join(drivers[:-1])} and {drivers[-1]}"
        points.append(SummaryPoint("What moves a partner's risk most",
                                   f"{_capital(named)}: where a partner stands on these moves its churn score "
                                   "furthest from a typical partner's."))
    cutoffs = report.train_quarters
    learned = (f" from partners' histories at the quarters {quarter_span(cutoffs[0], cutoffs[-1])}, "
               f"each followed by what they "
               f"did over the {h} quarters after" if cutoffs else "")
    points.append(SummaryPoint(
        "When it was trained",
        f"{report.trained_at:%Y-%m-%d at %H:%M}, on the data {quarter_span(*report.data_quarters)}"
        f"{',' if cutoffs else ''}{learned}. It is trained again after every load or rollback.",
    ))
    return points
