"""The candidates for scoring churn and turnaround: objects with a name, a scorer, and whether they could be fitted.

Three kinds compete (analytics.model.fit compares them in a backtest and serves one):
- the learned model: gradient boosting on every feature of analytics.model.features;
- the textbook model: BG/NBD's expected order days over the horizon (E[x*]), which on occasional
  buyers ranks who buys again better than its chance of no order does;
- rules: one raw figure each (quarters since the last deal, days since the last order, the year-over-
  year change). A rule needs no fit to rank: its figure, in the direction that means risk, is its score.

Every fitted candidate (a Scorer) gives a rank score (higher: the outcome more likely) and, where it
could be calibrated, probabilities. Calibration is by time: a one-variable logistic (Platt) map from the
rank score to the outcome, fitted on the examples of a *later* cutoff than the learned model was trained
on, never on folds shuffled across cutoffs (where one partner sits on both sides). A candidate that
cannot be scored raises Unavailable, with why; one that ranks but has nothing to be calibrated on says so
in its caveat and gives no probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analytics.model.features import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES
from analytics.model.reasons import MIN_CLASS_EXAMPLES

__all__ = [
    "MODEL",
    "BTYD",
    "BTYD_ALONE",
    "LEARNED",
    "TEXTBOOK",
    "RULES",
    "CANDIDATES",
    "Unavailable",
    "Split",
    "Scorer",
    "Candidate",
    "Learned",
    "Rule",
    "Textbook",
    "BtydAlone",
    "candidate_named",
]

MODEL = "gradient boosting (calibrated)"
BTYD = "BG/NBD expected orders (textbook)"
# The BG/NBD probability of no order in the horizon as it is, where no label exists to calibrate it on.
BTYD_ALONE = "BG/NBD (no labelled history to learn from)"
# Served probabilities are squeezed affinely into this range: no partner is certain to churn or to stay,
# and (unlike clipping) partners the sigmoid nearly saturates keep their order instead of piling up at a bound.
_PROBABILITY_RANGE = (0.001, 0.999)
# A figure that raises churn risk lowers the chance of a turnaround.
_OUTCOME_SIDE = {"churn": +1, "turnaround": -1}
# The frames are small: one OpenMP thread is as fast, and it does not spin against DuckDB, other
# sessions of the app or a busy machine (several times slower with two threads on two busy cores).
_ONE_THREAD = {"limits": 1, "user_api": "openmp"}


class Unavailable(ValueError):
    """A candidate that cannot be scored on these data; the message says why."""


@dataclass(frozen=True)
class Split:
    """What a candidate is fitted on: training examples, and a later cutoff's examples to calibrate on."""

    target: str
    train: pd.DataFrame
    calibration: pd.DataFrame
    # Why the calibration cutoff cannot calibrate anything, if so (it is the data's first quarter).
    uncalibratable: str = ""

    @property
    def calibration_quarter(self) -> str:
        return str(self.calibration["quarter"].iloc[0]) if len(self.calibration) else ""


def _squeeze(p: np.ndarray) -> np.ndarray:
    low, high = _PROBABILITY_RANGE
    return low + (high - low) * np.clip(p, 0.0, 1.0)


def _classes(frame: pd.DataFrame, target: str) -> tuple[int, int]:
    y = frame[target].to_numpy().astype(int) if len(frame) else np.zeros(0, int)
    counts = np.bincount(y, minlength=2)
    return int(counts[1]), int(counts[0])


def _enough_classes(frame: pd.DataFrame, target: str) -> bool:
    return min(_classes(frame, target)) >= MIN_CLASS_EXAMPLES


@dataclass(frozen=True)
class _Platt:
    """A monotone map from a rank score to a probability: logistic in the score, never reversing its order."""

    slope: float
    intercept: float

    @classmethod
    def fit(cls, score: np.ndarray, y: np.ndarray) -> _Platt:
        from sklearn.linear_model import LogisticRegression  # imported here for the reason in Learned.fit

        model = LogisticRegression(C=1e4).fit(score[:, None], y)
        slope, intercept = float(model.coef_[0, 0]), float(model.intercept_[0])
        if slope <= 0:
            # The score ranked the calibration cutoff the wrong way round: the honest probability is the rate.
            rate = (y.sum() + 1) / (len(y) + 2)
            return cls(0.0, float(np.log(rate / (1 - rate))))
        return cls(slope, intercept)

    def __call__(self, score: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.slope * score + self.intercept)))


class Scorer:
    """A fitted candidate: rank() orders partners (higher: the outcome more likely), predict() gives probabilities.

    `calibrated` is False when nothing could calibrate it (its caveat says why): it then ranks, and
    predict() raises, so that no probability it cannot stand behind is shown.
    """

    name: str
    kind: str
    target: str
    inputs: list[str]
    calibrated: bool = False
    caveat: str = ""

    def rank(self, frame: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def _probability(self, frame: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.calibrated:
            raise Unavailable(f"{self.name} gives no probabilities here: {self.caveat}")
        return _squeeze(self._probability(frame))


class Candidate:
    """A way to score partners: fit() gives its Scorer for a Split, or raises Unavailable with why."""

    name: str
    kind: str  # "learned", "textbook" or "rule"

    def fit(self, split: Split) -> Scorer:
        raise NotImplementedError


# -- rules and the textbook model: one figure each ------------------------------------------------
def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


class _FigureScorer(Scorer):
    def __init__(self, candidate: Rule, target: str):
        self.candidate = candidate
        self.name, self.kind, self.target = candidate.name, candidate.kind, target
        self.inputs = [candidate.figure]
        self._platt: _Platt | None = None
        self._fill = 0.0

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        return _OUTCOME_SIDE[self.target] * self.candidate.risk * _signed_log(
            frame[self.candidate.figure].to_numpy(dtype=float))

    def rank(self, frame: pd.DataFrame) -> np.ndarray:
        # A partner without the figure (no revenue a year earlier) stands at the typical partner's value of
        # the calibration cutoff: neither risky nor safe.
        raw = self._raw(frame)
        return np.where(np.isnan(raw), self._fill, raw)

    def _probability(self, frame: pd.DataFrame) -> np.ndarray:
        return self._platt(self.rank(frame))


@dataclass(frozen=True)
class Rule(Candidate):
    """A rule: partners ranked by one raw figure, `risk` +1 where a higher figure means more churn risk."""

    name: str
    figure: str
    risk: int
    words: str  # the figure in words, for saying it is missing
    kind: str = "rule"

    def fit(self, split: Split) -> Scorer:
        scorer = self._scorer(split.target)
        raw = scorer._raw(split.calibration)
        known = ~np.isnan(raw)
        if split.uncalibratable:
            scorer.caveat = f"not calibrated: {split.uncalibratable}"
            return scorer
        if not known.any():
            scorer.caveat = f"not calibrated: no partner at {split.calibration_quarter} has {self.words}"
            return scorer
        scorer._fill = float(np.median(raw[known]))
        if not _enough_classes(split.calibration, split.target):
            scorer.caveat = f"not calibrated: too few of each outcome at {split.calibration_quarter}"
            return scorer
        y = split.calibration[split.target].to_numpy().astype(int)
        scorer._platt = _Platt.fit(scorer.rank(split.calibration), y)
        scorer.calibrated = True
        return scorer

    def _scorer(self, target: str) -> _FigureScorer:
        return _FigureScorer(self, target)

    def check(self, frame: pd.DataFrame, quarter: str) -> None:
        """Raise Unavailable when the rule cannot rank `frame` (its figure missing or the same for all)."""
        values = frame[self.figure].to_numpy(dtype=float)
        known = values[~np.isnan(values)]
        if not len(known):
            raise Unavailable(f"no partner at {quarter} has {self.words}")
        if np.all(known == known[0]) and len(known) == len(values):
            raise Unavailable(f"every partner at {quarter} has the same {self.words}")


class _TextbookScorer(_FigureScorer):
    def _probability(self, frame: pd.DataFrame) -> np.ndarray:
        if self._platt is not None:
            return self._platt(self.rank(frame))
        return frame["btyd_churn"].fillna(frame["btyd_churn"].mean()).fillna(0.5).to_numpy(dtype=float)


@dataclass(frozen=True)
class Textbook(Rule):
    """The BG/NBD model fitted at each cutoff: partners ranked by expected order days over the horizon.

    Calibrated like a rule; for churn without anything to calibrate on, its own chance of no order is
    the probability (the caveat says it is not calibrated).
    """

    kind: str = "textbook"

    def fit(self, split: Split) -> Scorer:
        scorer = super().fit(split)
        if not scorer.calibrated and split.target == "churn":
            scorer.calibrated = True  # the model's own chance of no order, as it is
            scorer.caveat = f"{scorer.caveat}; its chance of no order is shown as it is"
        return scorer

    def _scorer(self, target: str) -> _FigureScorer:
        return _TextbookScorer(self, target)


class BtydAlone(Scorer):
    """The BG/NBD chance of no order in the horizon, as it is: for data without any labelled cutoff."""

    def __init__(self, target: str = "churn"):
        self.name, self.kind, self.target = BTYD_ALONE, "textbook", target
        self.inputs = ["btyd_churn"]
        self.calibrated = True
        self.caveat = "not calibrated: no labelled history"

    def rank(self, frame: pd.DataFrame) -> np.ndarray:
        return self._probability(frame)

    def _probability(self, frame: pd.DataFrame) -> np.ndarray:
        score = frame["btyd_churn"].to_numpy(dtype=float)
        known = ~np.isnan(score)
        return np.where(known, score, float(np.nanmean(score)) if known.any() else 0.5)


# -- the learned model ---------------------------------------------------------------------------------
def _constant_within_cutoffs(examples: pd.DataFrame) -> list[str]:
    """Give the numeric features that take at most one value at every cutoff (missing counts as none).

    Such a feature only tells the cutoffs apart (tenure when every partner started with the data), and
    a model would learn the cutoff's churn rate from it, not anything about a partner.
    """
    if "cutoff" not in examples:
        return [c for c in NUMERIC_FEATURES if examples[c].nunique() <= 1]
    distinct = examples.groupby("cutoff")[NUMERIC_FEATURES].nunique()
    return [c for c in NUMERIC_FEATURES if (distinct[c] <= 1).all()]


class _LearnedScorer(Scorer):
    def __init__(self, target: str):
        self.name, self.kind, self.target = MODEL, "learned", target
        self.inputs = list(FEATURES)
        self._blank: list[str] = []
        self._fitted = None
        self._platt: _Platt | None = None

    def _inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        inputs = frame[FEATURES]
        return inputs.assign(**{c: 0.0 for c in self._blank}) if self._blank else inputs

    def _logit(self, frame: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(**_ONE_THREAD):
            p = self._fitted.predict_proba(self._inputs(frame))[:, 1]
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    def rank(self, frame: pd.DataFrame) -> np.ndarray:
        return self._logit(frame)

    def _probability(self, frame: pd.DataFrame) -> np.ndarray:
        return self._platt(self._logit(frame))


class Learned(Candidate):
    """Gradient boosting on every feature, trained on the split's training cutoffs, calibrated on its later one."""

    name = MODEL
    kind = "learned"

    def fit(self, split: Split) -> Scorer:
        target, train = split.target, split.train
        if not len(train):
            raise Unavailable(f"no labelled cutoff before {split.calibration_quarter} to train on "
                              f"(its probabilities are calibrated on {split.calibration_quarter})")
        positives, negatives = _classes(train, target)
        if min(positives, negatives) < MIN_CLASS_EXAMPLES:
            raise Unavailable(f"too few {target} examples to train on ({positives} {target}, {negatives} not; "
                              f"at least {MIN_CLASS_EXAMPLES} of each are needed)")
        if split.uncalibratable:
            raise Unavailable(split.uncalibratable)
        if not _enough_classes(split.calibration, target):
            raise Unavailable(f"too few of each outcome at {split.calibration_quarter} to calibrate on")
        # scikit-learn is imported when a model is fitted: it costs over a second, which every page's first run
        # paid through the scores' module (the stored scores are read without it).
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OrdinalEncoder

        encode = ColumnTransformer(
            [("region", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                       encoded_missing_value=np.nan), CATEGORICAL_FEATURES)],
            remainder="passthrough",
        )
        boosted = HistGradientBoostingClassifier(
            learning_rate=0.08, max_iter=150, max_leaf_nodes=15, min_samples_leaf=40,
            l2_regularization=1.0, categorical_features=[0], random_state=0,
        )
        scorer = _LearnedScorer(target)
        # A figure that is missing or constant at every training cutoff carries nothing to learn (year-
        # over-year change with under a year and a half of history); a constant stands in for it.
        scorer._blank = _constant_within_cutoffs(train)
        scorer._fitted = make_pipeline(encode, boosted)
        with threadpool_limits(**_ONE_THREAD):
            scorer._fitted.fit(scorer._inputs(train), train[target].to_numpy().astype(int))
        # Sigmoid (Platt), not isotonic: isotonic regression on one cutoff gives steps, with many partners at
        # exactly 0 or 1. Fitted on the later cutoff's predictions: the model never saw those partners then.
        y = split.calibration[target].to_numpy().astype(int)
        scorer._platt = _Platt.fit(scorer._logit(split.calibration), y)
        scorer.calibrated = True
        return scorer


LEARNED = Learned()
TEXTBOOK = Textbook(BTYD, "btyd_expected_orders", -1, "an order day to read a pattern from")
RULES = (
    Rule("baseline: quarters since last deal", "quarters_since_deal", +1, "a quarter with an order"),
    Rule("baseline: days since last order", "days_since_order", +1, "an order day"),
    Rule("baseline: year-over-year fall", "yoy_change", -1,
         "revenue a year earlier to compare with (it takes 6 quarters of history)"),
)
CANDIDATES: tuple[Candidate, ...] = (LEARNED, *RULES, TEXTBOOK)


def candidate_named(name: str) -> Candidate:
    """Give the candidate called `name` (one of CANDIDATES)."""
    for candidate in CANDIDATES:
        if candidate.name == name:
            return candidate
    raise ValueError(f"No candidate called {name!r}")
