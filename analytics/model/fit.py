"""The churn and turnaround model: time-ordered backtest against baselines, calibrated fit, scores and reasons.

Two targets (analytics.model.features.labels_at): churn for every active partner, turnaround for the
partners underperforming at the cutoff. For each, a gradient-boosted classifier with sigmoid (Platt)
calibrated probabilities competes with one-feature baselines: quarters since the last deal, days
since the last order, the year-over-year fall, and the BG/NBD "buy till you die" model fitted on
order days at each cutoff (analytics.model.btyd). Each baseline's figure is mapped to a probability by a
one-variable logistic regression on the same training data.

The backtest only uses what was known at the as-of quarter. The latest cutoff whose H-quarter future
ended by then is the test cutoff L; training uses only cutoffs up to L - H, whose labels were fully
observed by L (a cutoff between them would carry labels that run into the test period). Nothing is
shuffled across time. The candidate with the best test ROC AUC is served (a baseline if it wins; the
report says so), refitted on every labelled cutoff. Without a backtest (fewer than 2H + 1 quarters)
the calibrated BG/NBD baseline is served; without any labelled cutoff (fewer than 2H quarters, down
to a single quarter) the BG/NBD model alone scores churn, and the notes say so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from analytics.formatting import money, probability_text
from analytics.model.features import (
    CATEGORICAL_FEATURES,
    DEFAULT_CHURN_SHARE,
    DEFAULT_HORIZON,
    FEATURES,
    NUMERIC_FEATURES,
    YEAR,
    NotEnoughHistory,
    Panel,
    build_examples,
    cutoffs,
    features_at,
)
from analytics.review.program import ProgramRules, load_program
from analytics.store.quarters import quarter_index, quarter_label, shift_quarter

__all__ = [
    "MODEL_VERSION",
    "TARGETS",
    "MODEL",
    "BTYD",
    "BTYD_ALONE",
    "BASELINES",
    "REASON_GROUPS",
    "Scorer",
    "Evaluation",
    "FittedModels",
    "evaluate",
    "fit_models",
    "score_partners",
    "ModelReport",
    "SCORE_COLUMNS",
    "backtest_text",
    "report_from",
    "NotEnoughHistory",
]

# Changes whenever the model's code changes what it scores: stored scores carry it.
MODEL_VERSION = "2026.12-btyd1-history-reasons"
TARGETS = ("churn", "turnaround")
MODEL = "gradient boosting (calibrated)"
BTYD = "baseline: BG/NBD (BTYD)"
# The BG/NBD probability of no order in the horizon as it is, where no label exists to calibrate it on.
BTYD_ALONE = "BG/NBD (no labelled history to learn from)"
# Baseline name -> the one feature it ranks by. The logistic regression picks the direction itself.
BASELINES = {
    "baseline: quarters since last deal": "quarters_since_deal",
    "baseline: days since last order": "days_since_order",
    "baseline: year-over-year fall": "yoy_change",
    BTYD: "btyd_churn",
}
# Too few examples of a class and a classifier learns nothing worth showing.
MIN_CLASS_EXAMPLES = 10
# Served probabilities are squeezed affinely into this range: no partner is certain to churn or to stay,
# and (unlike clipping) partners the sigmoid nearly saturates keep their order instead of piling up at a bound.
_PROBABILITY_RANGE = (0.001, 0.999)
Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    return None


# The frames are small: one OpenMP thread is as fast, and it does not spin against DuckDB, other
# sessions of the app or a busy machine (several times slower with two threads on two busy cores).
_ONE_THREAD = {"limits": 1, "user_api": "openmp"}


def _baseline_scale(name: str, values: np.ndarray) -> np.ndarray:
    """Give a baseline's figure on the scale its logistic regression fits best (same order, so same ranking)."""
    if BASELINES.get(name) == "btyd_churn":
        p = np.clip(values, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))
    return np.sign(values) * np.log1p(np.abs(values))


def _constant_within_cutoffs(examples: pd.DataFrame) -> list[str]:
    """Give the numeric features that take at most one value at every cutoff (missing counts as none).

    Such a feature only tells the cutoffs apart (tenure when every partner started with the data), and
    a model would learn the cutoff's churn rate from it, not anything about a partner.
    """
    if "cutoff" not in examples:
        return [c for c in NUMERIC_FEATURES if examples[c].nunique() <= 1]
    distinct = examples.groupby("cutoff")[NUMERIC_FEATURES].nunique()
    return [c for c in NUMERIC_FEATURES if (distinct[c] <= 1).all()]


class Scorer:
    """A fitted candidate: predict() gives a probability per row of a feature frame."""

    def __init__(self, name: str, target: str):
        self.name = name
        self.target = target
        self.inputs = FEATURES if name == MODEL else [BASELINES.get(name, "btyd_churn")]
        self._fitted = None
        self._missing_rate = 0.5
        self._blank: list[str] = []

    def _inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        inputs = frame[FEATURES]
        return inputs.assign(**{c: 0.0 for c in self._blank}) if self._blank else inputs

    def fit(self, examples: pd.DataFrame) -> Scorer:
        if self.name == BTYD_ALONE:
            return self  # nothing to learn: the BG/NBD model was fitted on the order days at the cutoff
        y = examples[self.target].to_numpy().astype(int)
        if self.name == MODEL:
            encode = ColumnTransformer(
                [("region", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                           encoded_missing_value=np.nan), CATEGORICAL_FEATURES)],
                remainder="passthrough",
            )
            boosted = HistGradientBoostingClassifier(
                learning_rate=0.08, max_iter=150, max_leaf_nodes=15, min_samples_leaf=40,
                l2_regularization=1.0, categorical_features=[0], random_state=0,
            )
            # Calibrated on held-out folds of the training cutoffs, never on the test cutoff. The folds
            # are shuffled within the training data so that each one sees every training cutoff.
            folds = StratifiedKFold(max(2, min(3, int(min(np.bincount(y, minlength=2))))), shuffle=True, random_state=0)
            # Sigmoid (Platt), not isotonic: isotonic regression on a few cutoffs gives steps, with many
            # partners at exactly 0 or 1. ensemble=False: one model on all the training data, calibrated
            # by the folds' held-out predictions; scoring then runs one model, not one per fold.
            self._fitted = CalibratedClassifierCV(make_pipeline(encode, boosted), method="sigmoid", cv=folds,
                                                  ensemble=False)
            # A figure that is missing or constant at every training cutoff carries nothing to learn (year-
            # over-year change with under a year and a half of history); a constant stands in for it.
            self._blank = _constant_within_cutoffs(examples)
            with threadpool_limits(**_ONE_THREAD):
                self._fitted.fit(self._inputs(examples), y)
        else:
            score = examples[self.inputs[0]].to_numpy(dtype=float)
            known = ~np.isnan(score)
            if known.sum() >= 2 and len(np.unique(y[known])) == 2:
                self._fitted = LogisticRegression(C=1e4).fit(_baseline_scale(self.name, score[known])[:, None],
                                                              y[known])
            # A partner without the baseline's figure (no year-earlier revenue) gets the rate of such partners,
            # smoothed so that a handful of them never gives 0 or 1; without any, the overall rate.
            missing = y[~known] if (~known).any() else y
            self._missing_rate = float((missing.sum() + 1) / (len(missing) + 2))
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self.name == MODEL:
            with threadpool_limits(**_ONE_THREAD):
                p = self._fitted.predict_proba(self._inputs(frame))[:, 1]
        else:
            score = frame[self.inputs[0]].to_numpy(dtype=float)
            known = ~np.isnan(score)
            p = np.full(len(frame), self._missing_rate)
            if self.name == BTYD_ALONE:
                p = np.where(known, score, float(np.nanmean(score)) if known.any() else 0.5)
            elif known.any() and self._fitted is not None:
                p[known] = self._fitted.predict_proba(_baseline_scale(self.name, score[known])[:, None])[:, 1]
        low, high = _PROBABILITY_RANGE
        return low + (high - low) * np.clip(p, 0.0, 1.0)


def _trainable(examples: pd.DataFrame, target: str) -> pd.DataFrame:
    """Give the examples that carry a label for `target` (turnaround: underperformers only)."""
    return examples[examples[target].notna()] if target == "turnaround" else examples


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    top = max(1, math.ceil(0.10 * len(y)))
    order = np.argsort(-p, kind="stable")[:top]
    base = float(y.mean())
    top_share = float(y[order].mean())
    return {
        "ROC AUC": roc_auc_score(y, p),
        "PR AUC": average_precision_score(y, p),
        "Brier": brier_score_loss(y, p),
        "top-10 % share": top_share,
        "top-10 % lift": top_share / base if base else float("nan"),
    }


def _reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Give the reliability curve: partners in equal-sized bins of predicted probability, predicted vs observed."""
    frame = pd.DataFrame({"p": p, "y": y})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    curve = frame.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), partners=("y", "size"))
    return curve.reset_index(drop=True)[["predicted", "observed", "partners"]]


@dataclass(frozen=True)
class Evaluation:
    """A backtest of one target: metrics per candidate on the test cutoff, reliability, the choice."""

    target: str
    train_quarters: tuple[str, ...]
    test_quarters: tuple[str, ...]
    train_examples: int
    test_examples: int
    test_positive_rate: float
    metrics: pd.DataFrame      # index: candidate; columns: ROC AUC, PR AUC, Brier, top-10 % share, top-10 % lift
    reliability: pd.DataFrame  # candidate, predicted, observed, partners
    chosen: str
    seconds: float


def evaluate(examples: pd.DataFrame, target: str, test_cutoffs: list[int],
             horizon: int = DEFAULT_HORIZON) -> Evaluation:
    """Give the backtest of `target`: train on cutoffs whose labels were observed by the first test cutoff.

    A training cutoff c is labelled by the `horizon` quarters after it, so only c <= first test cutoff - H
    is fully observed by then; later ones would peek into the test period.
    """
    started = time.perf_counter()
    data = _trainable(examples, target)
    first_test = min(test_cutoffs)
    train = data[data["cutoff"] <= first_test - horizon]
    test = data[data["cutoff"].isin(test_cutoffs)]
    _check_classes(train, target, "training")
    _check_classes(test, target, "test")
    y = test[target].to_numpy().astype(int)
    rows, curves = {}, []
    for name in (MODEL, *BASELINES):
        p = Scorer(name, target).fit(train).predict(test)
        rows[name] = _metrics(y, p)
        curves.append(_reliability(y, p).assign(candidate=name))
    metrics = pd.DataFrame(rows).T
    metrics.index.name = "candidate"
    return Evaluation(
        target=target,
        train_quarters=tuple(quarter_label(int(c)) for c in sorted(train["cutoff"].unique())),
        test_quarters=tuple(quarter_label(int(c)) for c in sorted(test_cutoffs)),
        train_examples=len(train),
        test_examples=len(test),
        test_positive_rate=float(y.mean()),
        metrics=metrics,
        reliability=pd.concat(curves, ignore_index=True),
        chosen=str(metrics["ROC AUC"].idxmax()),
        seconds=time.perf_counter() - started,
    )


def _check_classes(frame: pd.DataFrame, target: str, what: str) -> None:
    counts = np.bincount(frame[target].to_numpy().astype(int), minlength=2) if len(frame) else np.zeros(2, int)
    if counts.min() < MIN_CLASS_EXAMPLES:
        who = "underperforming partners" if target == "turnaround" else "partners"
        raise NotEnoughHistory(
            f"Too few {target} examples in the {what} data ({counts[1]} {target}, {counts[0]} not, among {who}); "
            f"at least {MIN_CLASS_EXAMPLES} of each are needed"
        )


# -- explanations -------------------------------------------------------------------------------
# Groups of features explained together, each with the sentence that says where a partner stands.
REASON_GROUPS: dict[str, list[str]] = {
    "revenue level": ["revenue_trailing_log"],
    "latest quarter": ["latest_quarter_ratio"],
    "half-year trend": ["half_year_trend"],
    "year over year": ["yoy_change"],
    "recency of orders": ["quarters_since_deal", "active_quarters"],
    "days since last order": ["days_since_order"],
    "order days": ["order_days_trailing"],
    "ordering pattern": ["btyd_churn"],
    "deals": ["deals_trailing"],
    "customers": ["customers_trailing"],
    "product breadth": ["products_trailing"],
    "segment mix": ["smb_share", "enterprise_share"],
    "enterprise into SMB": ["enterprise_into_smb_share"],
    "tenure": ["tenure_quarters"],
    "tier": ["tier_rank", "tier_minimum_ratio"],
    "region": ["region"],
}
# Per group, the figure whose side of the typical partner's a reason must agree with, and +1 where a
# higher figure means more churn risk (-1: less). A reason that raises churn risk must show the
# partner on the risky side of a typical partner, one that lowers it on the safe side; for turnaround
# the sides swap. Segment mix has no risky side; region needs evidence instead (see _region_evidence).
_RISK_SIDE: dict[str, tuple[str, int]] = {
    "revenue level": ("revenue_trailing_log", -1),
    "latest quarter": ("latest_quarter_ratio", -1),
    "half-year trend": ("half_year_trend", -1),
    "year over year": ("yoy_change", -1),
    "recency of orders": ("quarters_since_deal", +1),
    "days since last order": ("days_since_order", +1),
    "order days": ("order_days_trailing", -1),
    "ordering pattern": ("btyd_churn", +1),
    "deals": ("deals_trailing", -1),
    "customers": ("customers_trailing", -1),
    "product breadth": ("products_trailing", -1),
    "enterprise into SMB": ("enterprise_into_smb_share", +1),
    "tenure": ("tenure_quarters", -1),
    "tier": ("tier_minimum_ratio", -1),
}
# A region's churn (or turnaround) rate in the training data must differ from the other regions' by
# this many standard errors before the region is given as a reason.
_REGION_EVIDENCE_Z = 3.0


def _plural(n: float, word: str) -> str:
    n = int(round(n))
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _pct(share: float) -> str:
    """Give a share or a change as a whole percentage that never rounds to a false "0 %" or "100 %"."""
    a = abs(share)
    if 0 < a < 0.005:
        return "under 1 %"
    if 0.995 <= a < 1:
        return "over 99 %"
    return f"{a * 100:.0f} %"


def _part(share: float) -> str:
    """Give a part of a whole in words: "none", "all", else as _pct ("23 %")."""
    return "none" if share <= 0 else "all" if share >= 1 else _pct(share)


def _change(value: float, now: str, before: str) -> str:
    """Give a change in revenue between two named periods ("revenue down 62 % in 2026Q2–2026Q3 against ...")."""
    if pd.isna(value):  # NaN: nothing (or only credits) to compare with
        return f"no revenue in {before} to compare {now} with"
    if value <= -1:
        return f"no revenue in {now}, against some in {before}"
    if value >= 5:
        return f"revenue 6 times or more as high in {now} as in {before}"
    if value >= 0.995:
        return f"revenue {1 + value:.1f} times as high in {now} as in {before}"
    if abs(value) < 0.005:
        return f"revenue about the same in {now} as in {before}"
    direction = "down" if value < 0 else "up"
    return f"revenue {direction} {_pct(value)} in {now} against {before}"


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first}–{last}"


def _year(quarter: str) -> str:
    """Give the 4 quarters to `quarter` as a period ("2025Q4–2026Q3")."""
    return _span(shift_quarter(quarter, -YEAR + 1), quarter)


def _silence(row: dict) -> str:
    """Give a partner's quarters without an order against what it ordered before, from its own history.

    "no order in 2026Q3 after 11 quarters with orders (2023Q4–2026Q2), averaging $725.18k a quarter".
    """
    quarter, quiet = row["quarter"], int(row["quarters_since_deal"])
    gap = _span(shift_quarter(quarter, -quiet + 1), quarter)
    first, before = row["first_order_quarter"], shift_quarter(quarter, -quiet)
    ordered = int(row["quarters_with_orders"])
    spanned = quarter_index(before) - quarter_index(first) + 1
    average = money(row["revenue_to_date"] / ordered) if ordered else money(0.0)
    if ordered == spanned:
        return (f"no order in {gap} after {_plural(ordered, 'quarter')} with orders ({_span(first, before)}), "
                f"averaging {average} a quarter")
    return (f"no order in {gap}; before, orders in {ordered} of the {spanned} quarters {_span(first, before)}, "
            f"averaging {average} in a quarter with orders")


def describe(group: str, row: dict) -> str:
    """Give where a partner stands on one reason group, in plain words from its own history and periods.

    `row` is the partner's row of analytics.model.features.features_at (its figures and context). The
    words name the quarters they speak of and never a model: "revenue down 62 % in 2026Q2–2026Q3
    against 2025Q2–2025Q3", "no order in 2026Q3 after 11 quarters with orders (2023Q4–2026Q2), averaging
    $410.00k a quarter".
    """
    quarter = row["quarter"]
    year = _year(quarter)
    if group == "revenue level":
        return f"revenue {money(row['revenue_trailing'])} in {year}"
    if group == "latest quarter":
        ratio = row["latest_quarter_ratio"]
        if pd.isna(ratio):
            return f"no positive revenue in {year}"
        if ratio <= 0:
            if row["quarters_since_deal"] >= 1:
                return _silence(row)
            return f"net revenue {money(row['revenue_latest'])} in {quarter}: credits outweigh its orders"
        average = money(row["revenue_trailing"] / YEAR)
        if abs(ratio - 1) < 0.005:
            return f"revenue in {quarter} about its quarterly average of {average} in {year}"
        if ratio >= 1.995:
            return f"revenue in {quarter} {ratio:.1f} times its quarterly average of {average} in {year}"
        if ratio < 1:
            return f"revenue in {quarter} {_pct(1 - ratio)} below its quarterly average of {average} in {year}"
        return f"revenue in {quarter} {_pct(ratio - 1)} above its quarterly average of {average} in {year}"
    if group == "half-year trend":
        return _change(row["half_year_trend"], _span(shift_quarter(quarter, -1), quarter),
                       _span(shift_quarter(quarter, -3), shift_quarter(quarter, -2)))
    if group == "year over year":
        return _change(row["yoy_change"], _span(shift_quarter(quarter, -1), quarter),
                       _span(shift_quarter(quarter, -5), shift_quarter(quarter, -4)))
    if group == "recency of orders":
        if int(row["quarters_since_deal"]) == 0:
            return f"orders in {quarter}, and in {int(row['active_quarters'])} of the 4 quarters {year}"
        return _silence(row)
    if group in ("days since last order", "ordering pattern"):
        # The ordering pattern (the BG/NBD chance of no order ahead) is read from how often the partner
        # ordered and how long ago it last did: those figures are the reason, not the model's name.
        days = row["days_since_order"]
        if pd.isna(days):
            return "no order day on record"
        if group == "days since last order":
            return f"last order {_plural(days, 'day')} before the end of {quarter}"
        since = f"none in the {_plural(days, 'day')} to the end of {quarter}" if days >= 1 else \
            f"the latest on the last day of {quarter}"
        if pd.isna(row["order_days_trailing"]):  # less than a year of data: no year's count to give
            return since
        return f"orders on {_plural(row['order_days_trailing'], 'day')} in {year}, {since}"
    if group in ("order days", "deals", "customers") and pd.isna(row[_RISK_SIDE[group][0]]):
        return f"{group} over less than a year of data"
    if group == "order days":
        return f"orders on {_plural(row['order_days_trailing'], 'day')} in {year}"
    if group == "deals":
        return f"{_plural(row['deals_trailing'], 'deal')} in {year}"
    if group == "customers":
        return f"{_plural(row['customers_trailing'], 'customer')} in {year}"
    if group == "product breadth":
        return f"sells {_plural(row['products_trailing'], 'product')} ({year})"
    if group == "segment mix":
        smb, enterprise = row["smb_share"], row["enterprise_share"]
        if smb <= 0 and enterprise <= 0:
            return f"no revenue from SMB or enterprise customers in {year}"
        return f"{_part(smb)} of its revenue from SMB, {_part(enterprise)} from enterprise customers ({year})"
    if group == "enterprise into SMB":
        return (f"{_part(row['enterprise_into_smb_share'])} of its revenue is enterprise products sold to SMB "
                f"customers ({year})")
    if group == "tenure":
        tenure = int(row["tenure_quarters"])
        if tenure >= YEAR:
            return f"first order in {row['first_order_quarter']}, a year or more before {quarter}"
        return f"a partner for only {_plural(tenure, 'quarter')} (first order in {row['first_order_quarter']})"
    if group == "tier":
        ratio = row["tier_minimum_ratio"]
        if pd.isna(ratio):
            return f"tier {row['tier']}"
        if ratio < 0:
            return f"tier {row['tier']}, revenue in {year} {_pct(2 ** ratio)} of the tier's minimum"
        return f"tier {row['tier']}, revenue in {year} {2 ** ratio:.1f}x the tier's minimum"
    if group == "region":
        return f"region {row['region']}"
    raise ValueError(f"Unknown reason group {group!r}")


# What describe() reads of a partner's row.
_DESCRIBED = list(dict.fromkeys([*FEATURES, "revenue_trailing", "tier", "region", "quarter", "revenue_latest",
                                  "quarters_with_orders", "revenue_to_date", "first_order_quarter"]))


def _effects(scorer: Scorer, frame: pd.DataFrame, reference: dict, predicted: np.ndarray) -> pd.DataFrame:
    """Give, per partner and reason group, how much the group moves the probability from the typical value.

    effect = p(partner) - p(partner with that group set to the typical partner's value at the scoring
    cutoff): positive means the partner's own value raises the probability. `predicted` is p(partner),
    which the caller has already computed for the score itself.
    """
    groups = [g for g, columns in REASON_GROUPS.items() if set(columns) & set(scorer.inputs)]
    # One prediction per group over the features alone: a copy of the whole frame per group, predicted
    # at once, took half a gigabyte at ten times the demo; scoring the demo stays about 1.3 s either way.
    inputs = frame[FEATURES]
    effects = {g: np.zeros(len(frame)) for g in REASON_GROUPS}
    for group in groups:
        effects[group] = predicted - scorer.predict(inputs.assign(**{c: reference[c] for c in REASON_GROUPS[group]}))
    return pd.DataFrame(effects, index=frame.index)


def _agrees(effects: pd.DataFrame, frame: pd.DataFrame, reference: dict, direction: int,
            region_evidence: dict[str, int]) -> np.ndarray:
    """Tell, per partner and group, whether a reason in `direction` (+1: raises churn risk) fits the partner's figures.

    The partner must be on that side of the typical partner, and a few figures never count for less
    risk at all: one deal or none, no revenue in the latest quarter, no order in the latest quarter.
    """
    ok = np.ones(effects.shape, dtype=bool)
    for j, group in enumerate(effects.columns):
        if group in _RISK_SIDE:
            column, risk = _RISK_SIDE[group]
            value = frame[column].to_numpy(dtype=float)
            ok[:, j] = np.sign(value - reference[column]) * risk == direction  # NaN compares as neither side
        elif group == "region":
            ok[:, j] = frame["region"].map(region_evidence).fillna(0).to_numpy() == direction
    if direction < 0:
        columns = list(effects.columns)
        ok[:, columns.index("deals")] &= frame["deals_trailing"].to_numpy(dtype=float) >= 2
        ok[:, columns.index("latest quarter")] &= frame["latest_quarter_ratio"].to_numpy(dtype=float) > 0
        ordered_lately = frame["quarters_since_deal"].to_numpy(dtype=float) == 0
        ok[:, columns.index("recency of orders")] &= ordered_lately
        ok[:, columns.index("days since last order")] &= ordered_lately
    return ok


def _reasons(effects: pd.DataFrame, frame: pd.DataFrame, sign: int, agrees: np.ndarray,
             fallback: np.ndarray | None = None, fallback_text: str = "", top: int = 3,
             floor: float = 0.01) -> list[str]:
    """Give each partner's reasons in direction `sign`: the groups moving its probability most, borne out.

    Where `fallback` is set and no group passes the floor, the group with the largest effect among those
    the figures bear out is named; failing that, `fallback_text`.
    """
    signed = effects.to_numpy() * sign
    groups = np.array(effects.columns)
    usable = np.where(agrees, signed, -np.inf)
    order = np.argsort(-usable, axis=1, kind="stable")[:, :top]
    out = []
    for i, row in enumerate(frame[_DESCRIBED].to_dict("records")):
        chosen: list[str] = []
        for j in order[i]:
            said = describe(groups[j], row) if usable[i, j] >= floor else ""
            # Two groups can tell the same fact (an empty latest quarter is also the latest order's recency).
            if said and not any(said in other or other in said for other in chosen):
                chosen.append(said)
        if not chosen and fallback is not None and fallback[i]:
            best = order[i, 0]
            chosen = [describe(groups[best], row)] if np.isfinite(usable[i, best]) else [fallback_text]
        out.append("; ".join(chosen))
    return out


def _reference(frame: pd.DataFrame) -> dict:
    """Give the typical partner of a frame: each numeric feature's median, each category's most common value."""
    ref = {c: float(frame[c].median()) for c in NUMERIC_FEATURES}
    for c in CATEGORICAL_FEATURES:
        ref[c] = frame[c].mode().iloc[0] if len(frame) else "Unknown"
    return ref


def _region_evidence(examples: pd.DataFrame, target: str) -> dict[str, int]:
    """Give +1 / -1 for each region whose rate of `target` in the training data is clearly above / below the rest's.

    A two-proportion z test against the other regions' partners; regions within _REGION_EVIDENCE_Z
    standard errors get 0 and are never a reason, however the model uses them.
    """
    evidence = {}
    y = examples[target].to_numpy(dtype=float)
    for region, inside in examples.groupby("region").indices.items():
        mask = np.zeros(len(y), dtype=bool)
        mask[inside] = True
        n1, n2 = mask.sum(), (~mask).sum()
        if n1 < MIN_CLASS_EXAMPLES or n2 < MIN_CLASS_EXAMPLES:
            evidence[region] = 0
            continue
        p1, p2, pooled = y[mask].mean(), y[~mask].mean(), y.mean()
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) or float("inf")
        z = (p1 - p2) / se
        evidence[region] = int(np.sign(z)) if abs(z) >= _REGION_EVIDENCE_Z else 0
    return evidence


# -- fitting for the as-of quarter --------------------------------------------------------------
@dataclass
class FittedModels:
    """The scorers for one as-of quarter and horizon, what they were trained on, and their backtests.

    references[target] holds what the reasons need from the training data: "region_evidence" (see
    _region_evidence) and "base_rate" (the share of training examples with the outcome).
    """

    as_of: str
    horizon: int
    churn_share: float
    scorers: dict[str, Scorer | None]
    references: dict[str, dict]
    evaluations: dict[str, Evaluation | None]
    train_quarters: tuple[str, ...]
    train_examples: dict[str, int]
    notes: list[str]
    trained_at: datetime
    fit_seconds: float
    data_version: int | None = None
    data_quarters: tuple[str, str] = ("", "")
    rules: ProgramRules | None = field(default=None, repr=False)
    model_version: str = MODEL_VERSION


def _btyd_alone_note(have: int, as_of: str, panel: Panel, horizon: int, why: str) -> str:
    return (
        f"Churn scored by the BG/NBD model alone: {why}. With {have} quarter(s) of data up to {as_of} "
        f"({quarter_label(panel.first)}–{as_of}) a learned model needs at least {2 * horizon} (one earlier cutoff "
        f"with {horizon} quarters ahead observed); the BG/NBD model reads each partner's order days up to {as_of} "
        f"and gives the chance of no order in the next {horizon} quarters."
    )


def fit_models(
    panel: Panel,
    as_of: str | None = None,
    horizon: int = DEFAULT_HORIZON,
    churn_share: float = DEFAULT_CHURN_SHARE,
    rules: ProgramRules | None = None,
    progress: Progress = _no_progress,
    data_version: int | None = None,
) -> FittedModels:
    """Give the models for scoring partners as of `as_of` (default: the latest quarter), from data up to it only.

    With fewer than 2H quarters leading up to `as_of` (no earlier cutoff with an observed H-quarter
    future), churn is scored by the BG/NBD model alone and turnaround not at all; the notes say so.
    Raises NotEnoughHistory only when no partner has an order up to `as_of`.
    """
    if horizon < 1:
        raise ValueError("The horizon is at least 1 quarter")
    started = time.perf_counter()
    rules = rules or load_program()
    as_of = as_of or quarter_label(panel.last)
    end = quarter_index(as_of)
    column = panel.column(end)
    if not panel.order_days[:, :column + 1].any():
        raise NotEnoughHistory(f"No orders up to {as_of} (only credits, if anything): nothing to score")
    labelled = cutoffs(panel, horizon, labelled=True, up_to=end - horizon)
    have = end - panel.first + 1
    fitted = dict(as_of=as_of, horizon=horizon, churn_share=churn_share, data_version=data_version,
                  data_quarters=(quarter_label(panel.first), as_of), rules=rules)
    if not labelled:
        progress(1.0, "Scoring churn with the BG/NBD model alone")
        return FittedModels(
            **fitted, scorers={"churn": Scorer(BTYD_ALONE, "churn"), "turnaround": None},
            references={"churn": {"region_evidence": {}, "base_rate": None}}, evaluations={"churn": None,
                                                                                            "turnaround": None},
            train_quarters=(), train_examples={"churn": 0, "turnaround": 0},
            notes=[_btyd_alone_note(have, as_of, panel, horizon, "no cutoff has an observed future yet"),
                   "No turnaround probabilities: no labelled history to learn them from."],
            trained_at=datetime.now(), fit_seconds=time.perf_counter() - started,
        )
    span = f"{quarter_label(labelled[0])}–{quarter_label(labelled[-1])}"
    progress(0.05, f"Building examples at {len(labelled)} cutoff(s), {span}")
    examples = build_examples(panel, labelled, horizon, churn_share, rules.minimum_revenue())
    notes, scorers, references, evaluations, counts = [], {}, {}, {}, {}
    for step, target in enumerate(TARGETS):
        data = _trainable(examples, target)
        counts[target] = len(data)
        evaluation = None
        test = labelled[-1]
        if test - horizon >= labelled[0]:
            progress(0.15 + 0.4 * step, f"Backtesting the {target} model: train to {quarter_label(test - horizon)}, "
                                        f"test on {quarter_label(test)}")
            try:
                evaluation = evaluate(examples, target, [test], horizon)
            except NotEnoughHistory as exc:
                notes.append(f"{target.capitalize()} not backtested: {exc}.")
        else:
            notes.append(
                f"{target.capitalize()} not backtested: a test cutoff needs a training cutoff {horizon} quarters "
                f"earlier whose future was observed by then ({3 * horizon} quarters of data; there are "
                f"{have}), so the calibrated BG/NBD baseline is served, not an untested model."
            )
        chosen = evaluation.chosen if evaluation else BTYD
        if evaluation and chosen != MODEL:
            notes.append(f"{target.capitalize()}: {chosen} ranked partners better than the model in the backtest, "
                         f"so its probabilities are the ones shown.")
        progress(0.35 + 0.4 * step, f"Fitting the {target} model on {len(data):,} examples")
        try:
            _check_classes(data, target, "training")
            scorers[target] = Scorer(chosen, target).fit(data)
            references[target] = {"region_evidence": _region_evidence(data, target),
                                  "base_rate": float(data[target].mean())}
        except NotEnoughHistory as exc:
            if target == "churn":
                scorers[target] = Scorer(BTYD_ALONE, target)
                references[target] = {"region_evidence": {}, "base_rate": None}
                notes.append(_btyd_alone_note(have, as_of, panel, horizon, str(exc)))
            else:
                scorers[target] = None
                notes.append(f"No {target} probabilities: {exc}.")
        evaluations[target] = evaluation
    progress(1.0, "Models ready")
    return FittedModels(
        **fitted, scorers=scorers, references=references, evaluations=evaluations,
        train_quarters=tuple(quarter_label(c) for c in labelled), train_examples=counts, notes=notes,
        trained_at=datetime.now(), fit_seconds=time.perf_counter() - started,
    )


SCORE_COLUMNS = [
    "partner_id", "partner_name", "tier", "region", "revenue_at_stake", "revenue_trailing",
    "churn_probability", "churn_reasons", "churn_reasons_against",
    "underperforming", "turnaround_probability", "turnaround_reasons", "turnaround_reasons_against",
]


def score_partners(panel: Panel, fitted: FittedModels, with_effects: bool = False) -> pd.DataFrame:
    """Give one row per partner with orders in the H quarters to the as-of quarter: probabilities and reasons.

    revenue_at_stake is the partner's revenue over those H quarters. turnaround_probability is NaN for
    partners that are not underperforming. Reasons compare each partner with the typical partner scored
    at the same quarter (for turnaround: the typical underperformer), name only figures that bear the
    reason out, and every partner with a churn probability of 0.5 or more gets at least one. With
    `with_effects`, the per-group churn effects are added as columns named "effect: <group>".
    """
    rules = fitted.rules or load_program()
    frame = features_at(panel, fitted.as_of, fitted.horizon, rules.minimum_revenue())
    out = frame.copy()
    churn = fitted.scorers.get("churn")
    if churn is not None:
        probability = churn.predict(frame)
        out["churn_probability"] = probability
        reference = _reference(frame)
        known = fitted.references.get("churn", {})
        effects = _effects(churn, frame, reference, probability)
        evidence = known.get("region_evidence", {})
        rate = known.get("base_rate")
        span = (f"{fitted.train_quarters[0]}–{fitted.train_quarters[-1]}" if fitted.train_quarters else "")
        common = (f"churn is common: {_pct(rate)} of the partners at {span} stopped or fell below "
                  f"{fitted.churn_share:.0%} of their revenue within {_plural(fitted.horizon, 'quarter')}"
                  if rate is not None else
                  f"most partners here order seldom: from how often they ordered, the typical one has a "
                  f"{probability_text(float(np.nanmedian(frame['btyd_churn'])))} chance of no order in the next "
                  f"{_plural(fitted.horizon, 'quarter')}")
        out["churn_reasons"] = _reasons(effects, frame, +1, _agrees(effects, frame, reference, +1, evidence),
                                        fallback=probability >= 0.5, fallback_text=common)
        out["churn_reasons_against"] = _reasons(effects, frame, -1, _agrees(effects, frame, reference, -1, evidence),
                                                top=2)
        if with_effects:
            for group in effects.columns:
                out[f"effect: {group}"] = effects[group].to_numpy()
    else:
        out["churn_probability"], out["churn_reasons"], out["churn_reasons_against"] = np.nan, "", ""
    turnaround = fitted.scorers.get("turnaround")
    out["turnaround_probability"] = np.nan
    out["turnaround_reasons"] = ""
    out["turnaround_reasons_against"] = ""
    under = frame["underperforming"].to_numpy()
    if turnaround is not None and under.any():
        subset = frame[under]
        probability = turnaround.predict(subset)
        out.loc[under, "turnaround_probability"] = probability
        reference = _reference(subset)
        evidence = fitted.references.get("turnaround", {}).get("region_evidence", {})
        effects = _effects(turnaround, subset, reference, probability)
        # The sides are churn risk's: what favours a turnaround is on the safe side (-1), what holds it back
        # on the risky side (+1).
        out.loc[under, "turnaround_reasons"] = _reasons(
            effects, subset, +1, _agrees(effects, subset, reference, -1, {r: -e for r, e in evidence.items()}))
        out.loc[under, "turnaround_reasons_against"] = _reasons(
            effects, subset, -1, _agrees(effects, subset, reference, +1, {r: -e for r, e in evidence.items()}), top=2)
    columns = SCORE_COLUMNS + ([c for c in out.columns if c.startswith("effect: ")] if with_effects else [])
    return out[columns].sort_values("churn_probability", ascending=False, kind="stable").reset_index(drop=True)


# -- the Model page's report ----------------------------------------------------------------
@dataclass(frozen=True)
class ModelReport:
    """What the Model page shows: the fit's facts, the backtests, and what drives risk overall."""

    as_of: str
    horizon: int
    churn_share: float
    evaluations: dict[str, Evaluation | None]
    chosen: dict[str, str | None]
    drivers: pd.DataFrame          # reason, mean absolute effect on churn probability, partners it tops
    train_quarters: tuple[str, ...]
    train_examples: dict[str, int]
    notes: tuple[str, ...]
    trained_at: datetime
    fit_seconds: float
    data_version: int | None
    data_quarters: tuple[str, str]
    partners_scored: int
    model_version: str = ""


def report_from(fitted: FittedModels, scores: pd.DataFrame) -> ModelReport:
    """Give the Model page's report of a fit, from every partner's scores with their "effect: " columns."""
    effect_columns = [c for c in scores.columns if c.startswith("effect: ")]
    effects = scores[effect_columns].abs()
    top = scores[effect_columns].to_numpy().argmax(axis=1) if effect_columns else np.array([], int)
    drivers = pd.DataFrame({
        "reason": [c.removeprefix("effect: ") for c in effect_columns],
        "mean_effect": effects.mean().to_numpy() if effect_columns else [],
        "partners_top_reason": np.bincount(top, minlength=len(effect_columns)) if effect_columns else [],
    }).sort_values("mean_effect", ascending=False, ignore_index=True)
    return ModelReport(
        as_of=fitted.as_of, horizon=fitted.horizon, churn_share=fitted.churn_share,
        evaluations=fitted.evaluations,
        chosen={t: (s.name if s else None) for t, s in fitted.scorers.items()},
        drivers=drivers, train_quarters=fitted.train_quarters, train_examples=fitted.train_examples,
        notes=tuple(fitted.notes), trained_at=fitted.trained_at, fit_seconds=fitted.fit_seconds,
        data_version=fitted.data_version, data_quarters=fitted.data_quarters, partners_scored=len(scores),
        model_version=fitted.model_version,
    )


def backtest_text(fitted: FittedModels | ModelReport) -> str:
    """Give the backtest of both targets as a plain-text table (what `python -m analytics backtest` prints).

    From a fit or from the report stored with its scores (analytics.model.scoring.stored_report).
    """
    lines = [
        f"Backtest as of {fitted.as_of}, horizon {fitted.horizon} quarters "
        f"(churn: revenue over the next {fitted.horizon} quarters below {fitted.churn_share:.0%} of the "
        f"{fitted.horizon} before, or nothing).",
    ]
    for target in TARGETS:
        evaluation = fitted.evaluations.get(target)
        if evaluation is None:
            continue
        lines += [
            "",
            f"{target.capitalize()}: trained on cutoffs {', '.join(evaluation.train_quarters)} "
            f"({evaluation.train_examples:,} examples), tested on {', '.join(evaluation.test_quarters)} "
            f"({evaluation.test_examples:,} partners, {evaluation.test_positive_rate:.1%} {target}); only training "
            f"cutoffs whose {fitted.horizon} quarters ahead were observed by the test cutoff.",
            evaluation.metrics.to_string(float_format=lambda v: f"{v:.3f}"),
            f"Kept: {evaluation.chosen}.",
        ]
    if fitted.notes:
        lines += ["", *fitted.notes]
    chosen = fitted.chosen if isinstance(fitted, ModelReport) else {
        t: (s.name if s is not None else None) for t, s in fitted.scorers.items()}
    served = ", ".join(f"{t}: {name}" for t, name in chosen.items() if name)
    lines += ["", f"Served ({served}); model version {fitted.model_version}.",
              f"Examples, backtest and final fit took {fitted.fit_seconds:.1f} s."]
    return "\n".join(lines)
