"""The churn and turnaround model: time-ordered backtest of the candidates, the choice, the fit, scores and the report.

Two targets (analytics.model.features.labels_at): churn for every active partner, turnaround for the
partners underperforming at the cutoff. The candidates (analytics.model.candidates) are the learned
model (gradient boosting), the textbook BG/NBD model ranking by expected order days, and rules of one
raw figure each; every one is calibrated by time, on a later cutoff than it learned from.

The backtest only uses what was known at the as-of quarter. The latest cutoff whose H-quarter future
ended by then is the test cutoff L; candidates are fitted only on cutoffs up to L - H, whose labels
were fully observed by L: the latest of them to calibrate on, the earlier ones to train on (with
shorter revenue windows when the data hold too few full ones). Each candidate's ROC AUC comes with
its bootstrap interval over the test partners. The learned model is served only where it ranks above
the textbook model by more than that noise (the paired interval of the difference lies above zero);
otherwise the textbook model is. A candidate that cannot be scored is listed as unavailable, with why,
and is never ranked or quoted. The served one is refitted on every labelled cutoff. Without a backtest
(fewer than 2H + 2 quarters) the calibrated BG/NBD model is served; without any labelled cutoff (fewer
than H + 1 quarters, down to a single quarter) the BG/NBD model alone scores churn, and the notes say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from analytics.model.candidates import (
    BTYD,
    BTYD_ALONE,
    CANDIDATES,
    MODEL,
    RULES,
    TEXTBOOK,
    BtydAlone,
    Rule,
    Scorer,
    Split,
    Unavailable,
    candidate_named,
)
from analytics.model.features import (
    DEFAULT_CHURN_SHARE,
    DEFAULT_HORIZON,
    NotEnoughHistory,
    Panel,
    build_examples,
    cutoffs,
    features_at,
)
from analytics.model.metrics import interval, metrics_of, reliability, resample_weights, resampled_auc
from analytics.model.reasons import (
    MIN_CLASS_EXAMPLES,
    agrees,
    churn_fallback,
    effects,
    reasons,
    reference,
    region_evidence,
)
from analytics.periods import quarter_span
from analytics.program.rules import ProgramRules, load_program
from analytics.store.quarters import quarter_index, quarter_label

__all__ = [
    "MODEL_VERSION",
    "TARGETS",
    "MODEL",
    "BTYD",
    "BTYD_ALONE",
    "RULE_NAMES",
    "Evaluation",
    "FittedModels",
    "evaluate",
    "fit_models",
    "score_partners",
    "ModelReport",
    "SCORE_COLUMNS",
    "backtest_text",
    "backtest_table",
    "calibration_text",
    "auc_with_interval",
    "report_from",
    "NotEnoughHistory",
]

# Changes whenever the model's code changes what it scores: stored scores carry it.
MODEL_VERSION = "2026.12-honest-candidates"
TARGETS = ("churn", "turnaround")
RULE_NAMES = tuple(rule.name for rule in RULES)
Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    return None


def _trainable(examples: pd.DataFrame, target: str) -> pd.DataFrame:
    """Give the examples that carry a label for `target` (turnaround: underperformers only)."""
    return examples[examples[target].notna()] if target == "turnaround" else examples


def _check_classes(frame: pd.DataFrame, target: str, what: str) -> None:
    counts = np.bincount(frame[target].to_numpy().astype(int), minlength=2) if len(frame) else np.zeros(2, int)
    if counts.min() < MIN_CLASS_EXAMPLES:
        who = "underperforming partners" if target == "turnaround" else "partners"
        raise NotEnoughHistory(
            f"Too few {target} examples in the {what} data ({counts[1]} {target}, {counts[0]} not, among {who}); "
            f"at least {MIN_CLASS_EXAMPLES} of each are needed"
        )


def _split(data: pd.DataFrame, target: str, at: list[int], first: int) -> Split:
    """Give the split of `data` at cutoffs `at`: the latest to calibrate on, the earlier ones to train on.

    The data's first quarter (`first`) calibrates nothing: every partner there is seen for the first time
    and the BG/NBD model is fitted on one quarter of order days, so a map from scores to outcomes learned
    there does not carry over to later quarters (on a single cohort of occasional buyers it put the mean
    13 points too high, where the BG/NBD model's own probabilities were within 2).
    """
    calibrate = max(at)
    why = (f"{quarter_label(calibrate)} is the data's first quarter, too short a history to calibrate on"
           if calibrate <= first else "")
    return Split(target, data[data["cutoff"].isin([c for c in at if c < calibrate])],
                 data[data["cutoff"] == calibrate], why)


def _fit_cutoffs(panel: Panel, horizon: int, up_to: int) -> list[int]:
    """Give the labelled cutoffs up to `up_to` to fit on: full H-quarter windows when there are two or more.

    With fewer, cutoffs with shorter windows (down to one quarter) join, so that a short history still
    has a cutoff to train on and a later one to calibrate on.
    """
    full = cutoffs(panel, horizon, labelled=True, up_to=up_to)
    return full if len(full) >= 2 else cutoffs(panel, horizon, labelled=True, up_to=up_to, window=1)


@dataclass(frozen=True)
class Evaluation:
    """A backtest of one target: metrics per candidate on the test cutoff, reliability, the choice and why.

    metrics (index: candidate) holds only candidates that could be scored: ROC AUC with its bootstrap
    interval ("ROC AUC low", "ROC AUC high"), PR AUC, Brier, mean predicted, top-10 % share and lift;
    Brier and mean predicted are NaN for a candidate nothing could calibrate (caveats says why).
    unavailable names the candidates that could not be scored, with why.
    """

    target: str
    train_quarters: tuple[str, ...]
    test_quarters: tuple[str, ...]
    train_examples: int
    test_examples: int
    test_positive_rate: float
    metrics: pd.DataFrame
    reliability: pd.DataFrame  # candidate, predicted, observed, partners
    chosen: str
    seconds: float
    calibration_quarter: str = ""
    unavailable: dict[str, str] = field(default_factory=dict)
    caveats: dict[str, str] = field(default_factory=dict)
    selection: str = ""


def _select(metrics: dict[str, dict], ranks: dict[str, np.ndarray], calibrated: set[str], y: np.ndarray,
            weights: np.ndarray) -> tuple[str | None, str]:
    """Give the candidate to serve and why: the learned model only where it beats the textbook one beyond noise.

    The textbook candidate is BG/NBD; where it cannot be scored, the best calibrated rule stands in.
    """
    textbook = TEXTBOOK.name if TEXTBOOK.name in calibrated else max(
        (n for n in calibrated if n in RULE_NAMES), key=lambda n: metrics[n]["ROC AUC"], default=None)
    learned = MODEL if MODEL in calibrated else None
    if learned is None:
        return textbook, (f"The learned model could not be scored, so {textbook} is served." if textbook else
                          "No candidate could be scored with probabilities.")
    if textbook is None:
        return learned, f"No textbook model or rule could be calibrated here, so {learned} is served."
    gain = resampled_auc(ranks[learned], y, weights) - resampled_auc(ranks[textbook], y, weights)
    low, high = interval(gain)
    difference = metrics[learned]["ROC AUC"] - metrics[textbook]["ROC AUC"]
    said = (f"{learned} ranked {difference:+.3f} of ROC AUC against {textbook} "
            f"(95 % interval {low:+.3f} to {high:+.3f}, the test partners resampled)")
    if low > 0:
        return learned, f"{said}: above it beyond the backtest's noise, so it is served."
    return textbook, f"{said}: not beyond the backtest's noise, so the simpler {textbook} is served."


def evaluate(examples: pd.DataFrame, target: str, test_cutoff: int, fit_at: list[int],
             horizon: int = DEFAULT_HORIZON, first: int | None = None) -> Evaluation:
    """Give the backtest of `target` on `test_cutoff`: candidates fitted at cutoffs `fit_at`, all labelled by then.

    A cutoff c is labelled by the `horizon` quarters after it, so only c <= test cutoff - H is fully
    observed by the test cutoff; a later one would peek into the test period (ValueError). `first` is the
    data's first quarter index, which calibrates nothing (default: no such check).
    """
    started = time.perf_counter()
    if max(fit_at) > test_cutoff - horizon:
        raise ValueError(f"Cutoff {quarter_label(max(fit_at))} is labelled by quarters after the test cutoff "
                         f"{quarter_label(test_cutoff)}: it would peek into the test period")
    data = _trainable(examples, target)
    first = -1 if first is None else first
    split = _split(data, target, fit_at, first)
    test = data[data["cutoff"] == test_cutoff]
    _check_classes(test, target, "test")
    quarter = quarter_label(test_cutoff)
    y = test[target].to_numpy().astype(int)
    weights = resample_weights(len(y))
    rows, ranks, calibrated, curves, unavailable, caveats = {}, {}, set(), [], {}, {}
    for candidate in CANDIDATES:
        try:
            if isinstance(candidate, Rule):
                candidate.check(test, quarter)
            scorer = candidate.fit(split)
        except Unavailable as exc:
            unavailable[candidate.name] = str(exc)
            continue
        ranks[candidate.name] = scorer.rank(test)
        p = scorer.predict(test) if scorer.calibrated else None
        if scorer.caveat:
            caveats[candidate.name] = scorer.caveat
        if p is not None:
            calibrated.add(candidate.name)
            curves.append(reliability(y, p).assign(candidate=candidate.name))
        rows[candidate.name] = metrics_of(y, ranks[candidate.name], p, weights)
    chosen, selection = _select(rows, ranks, calibrated, y, weights)
    metrics = pd.DataFrame(rows).T
    metrics.index.name = "candidate"
    return Evaluation(
        target=target,
        train_quarters=tuple(quarter_label(int(c)) for c in sorted(split.train["cutoff"].unique())),
        test_quarters=(quarter,),
        train_examples=len(split.train),
        test_examples=len(test),
        test_positive_rate=float(y.mean()),
        metrics=metrics,
        reliability=pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
            columns=["predicted", "observed", "partners", "candidate"]),
        chosen=chosen or "",
        seconds=time.perf_counter() - started,
        calibration_quarter=split.calibration_quarter,
        unavailable=unavailable,
        caveats=caveats,
        selection=selection,
    )


# -- fitting for the as-of quarter --------------------------------------------------------------
@dataclass
class FittedModels:
    """The scorers for one as-of quarter and horizon, what they were trained on, and their backtests.

    references[target] holds what the reasons need from the training data: "region_evidence" (see
    analytics.model.reasons.region_evidence) and "base_rate" (the share of examples with the outcome).
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
    calibration_quarter: str = ""


def _btyd_alone_note(have: int, as_of: str, panel: Panel, horizon: int, why: str) -> str:
    return (
        f"Churn scored by the BG/NBD model alone: {why}. With {have} quarter(s) of data up to {as_of} "
        f"({quarter_span(quarter_label(panel.first), as_of)}) a calibrated model needs at least {horizon + 1} "
        f"(one earlier "
        f"cutoff with {horizon} quarters ahead observed); the BG/NBD model reads each partner's order days up to "
        f"{as_of} and gives the chance of no order in the next {horizon} quarters, not calibrated."
    )


def _convergence_notes(frame: pd.DataFrame) -> list[str]:
    """Give a note for each cutoff of `frame` whose BG/NBD optimiser did not converge."""
    if "btyd_converged" not in frame or frame["btyd_converged"].all():
        return []
    quarters = sorted(frame.loc[~frame["btyd_converged"].astype(bool), "quarter"].unique())
    return [f"The BG/NBD fit at {', '.join(quarters)} did not converge: its ordering-pattern figures there are the "
            "best the optimiser found, not a checked maximum of the likelihood."]


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

    Without any labelled cutoff (fewer than H + 1 quarters up to `as_of`), churn is scored by the
    BG/NBD model alone and turnaround not at all; the notes say so. Raises NotEnoughHistory only when
    no partner has an order up to `as_of`.
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
    final_at = _fit_cutoffs(panel, horizon, end - horizon)
    have = end - panel.first + 1
    fitted = dict(as_of=as_of, horizon=horizon, churn_share=churn_share, data_version=data_version,
                  data_quarters=(quarter_label(panel.first), as_of), rules=rules)
    if not final_at:
        progress(1.0, "Scoring churn with the BG/NBD model alone")
        return FittedModels(
            **fitted, scorers={"churn": BtydAlone(), "turnaround": None},
            references={"churn": {"region_evidence": {}, "base_rate": None}}, evaluations={"churn": None,
                                                                                            "turnaround": None},
            train_quarters=(), train_examples={"churn": 0, "turnaround": 0},
            notes=[_btyd_alone_note(have, as_of, panel, horizon, "no cutoff has an observed future yet"),
                   "No turnaround probabilities: no labelled history to learn them from."],
            trained_at=datetime.now(), fit_seconds=time.perf_counter() - started,
        )
    test = max(final_at)
    backtest_at = _fit_cutoffs(panel, horizon, test - horizon)
    at = sorted(set(final_at) | set(backtest_at))
    progress(0.05, f"Building examples at {len(at)} cutoff(s), "
                   f"{quarter_span(quarter_label(at[0]), quarter_label(at[-1]))}")
    examples = build_examples(panel, at, horizon, churn_share, rules.minimum_revenue())
    notes, scorers, references, evaluations, counts = _convergence_notes(examples), {}, {}, {}, {}
    for step, target in enumerate(TARGETS):
        data = _trainable(examples, target)
        evaluation = None
        if backtest_at:
            progress(0.15 + 0.4 * step, f"Backtesting the {target} candidates: fitted to "
                                        f"{quarter_label(max(backtest_at))}, tested on {quarter_label(test)}")
            try:
                evaluation = evaluate(examples, target, test, backtest_at, horizon, panel.first)
            except NotEnoughHistory as exc:
                notes.append(f"{target.capitalize()} not backtested: {exc}.")
        else:
            notes.append(
                f"{target.capitalize()} not backtested: a test cutoff needs a cutoff {horizon} quarters earlier "
                f"whose future was observed by then, and one before that to learn from ({2 * horizon + 2} quarters "
                f"of data; there are {have}), so the calibrated BG/NBD model is served, not an untested one."
            )
        chosen = evaluation.chosen if evaluation is not None and evaluation.chosen else BTYD
        fit_data = data[data["cutoff"].isin(final_at)]
        counts[target] = len(fit_data)
        progress(0.35 + 0.4 * step, f"Fitting the {target} model on {len(fit_data):,} examples")
        try:
            _check_classes(fit_data, target, "training")
            scorer = candidate_named(chosen).fit(_split(fit_data, target, final_at, panel.first))
            if not scorer.calibrated:
                raise Unavailable(scorer.caveat)
            scorers[target] = scorer
            if scorer.caveat:
                notes.append(f"{target.capitalize()} scored by {scorer.name}, {scorer.caveat}.")
            references[target] = {"region_evidence": region_evidence(fit_data, target),
                                  "base_rate": float(fit_data[target].mean())}
        except (NotEnoughHistory, Unavailable) as exc:
            if target == "churn":
                scorers[target] = BtydAlone()
                references[target] = {"region_evidence": {}, "base_rate": None}
                notes.append(_btyd_alone_note(have, as_of, panel, horizon, str(exc)))
            else:
                scorers[target] = None
                notes.append(f"No {target} probabilities: {exc}.")
        evaluations[target] = evaluation
    progress(1.0, "Models ready")
    return FittedModels(
        **fitted, scorers=scorers, references=references, evaluations=evaluations,
        train_quarters=tuple(quarter_label(c) for c in final_at), train_examples=counts, notes=notes,
        trained_at=datetime.now(), fit_seconds=time.perf_counter() - started,
        calibration_quarter=quarter_label(max(final_at)),
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
    `with_effects`, the per-group churn effects are added as columns named "effect: <group>". A BG/NBD
    fit at the as-of quarter that did not converge adds a note to `fitted`.
    """
    rules = fitted.rules or load_program()
    frame = features_at(panel, fitted.as_of, fitted.horizon, rules.minimum_revenue())
    for note in _convergence_notes(frame):
        if note not in fitted.notes:
            fitted.notes.append(note)
    out = frame.copy()
    churn = fitted.scorers.get("churn")
    if churn is not None:
        probability = churn.predict(frame)
        out["churn_probability"] = probability
        typical = reference(frame)
        known = fitted.references.get("churn", {})
        moves = effects(churn, frame, typical, probability)
        evidence = known.get("region_evidence", {})
        span = (quarter_span(fitted.train_quarters[0], fitted.train_quarters[-1]) if fitted.train_quarters else "")
        common = churn_fallback(known.get("base_rate"), span, fitted.churn_share, fitted.horizon,
                                float(np.nanmedian(frame["btyd_churn"])) if frame["btyd_churn"].notna().any() else 0.5)
        out["churn_reasons"] = reasons(moves, frame, +1, agrees(moves, frame, typical, +1, evidence),
                                       fallback=probability >= 0.5, fallback_text=common)
        out["churn_reasons_against"] = reasons(moves, frame, -1, agrees(moves, frame, typical, -1, evidence), top=2)
        if with_effects:
            for group in moves.columns:
                out[f"effect: {group}"] = moves[group].to_numpy()
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
        typical = reference(subset)
        evidence = {r: -e for r, e in fitted.references.get("turnaround", {}).get("region_evidence", {}).items()}
        moves = effects(turnaround, subset, typical, probability)
        # The sides are churn risk's: what favours a turnaround is on the safe side (-1), what holds it back
        # on the risky side (+1).
        out.loc[under, "turnaround_reasons"] = reasons(moves, subset, +1, agrees(moves, subset, typical, -1, evidence))
        out.loc[under, "turnaround_reasons_against"] = reasons(
            moves, subset, -1, agrees(moves, subset, typical, +1, evidence), top=2)
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
    calibration_quarter: str = ""


def report_from(fitted: FittedModels, scores: pd.DataFrame) -> ModelReport:
    """Give the Model page's report of a fit, from every partner's scores with their "effect: " columns."""
    effect_columns = [c for c in scores.columns if c.startswith("effect: ")]
    moves = scores[effect_columns].abs()
    top = scores[effect_columns].to_numpy().argmax(axis=1) if effect_columns else np.array([], int)
    drivers = pd.DataFrame({
        "reason": [c.removeprefix("effect: ") for c in effect_columns],
        "mean_effect": moves.mean().to_numpy() if effect_columns else [],
        "partners_top_reason": np.bincount(top, minlength=len(effect_columns)) if effect_columns else [],
    }).sort_values("mean_effect", ascending=False, ignore_index=True)
    return ModelReport(
        as_of=fitted.as_of, horizon=fitted.horizon, churn_share=fitted.churn_share,
        evaluations=fitted.evaluations,
        chosen={t: (s.name if s else None) for t, s in fitted.scorers.items()},
        drivers=drivers, train_quarters=fitted.train_quarters, train_examples=fitted.train_examples,
        notes=tuple(fitted.notes), trained_at=fitted.trained_at, fit_seconds=fitted.fit_seconds,
        data_version=fitted.data_version, data_quarters=fitted.data_quarters, partners_scored=len(scores),
        model_version=fitted.model_version, calibration_quarter=fitted.calibration_quarter,
    )


def auc_with_interval(metrics: pd.DataFrame, candidate: str) -> str:
    """Give a candidate's ROC AUC with its bootstrap interval, as pages and commands write it: "0.858, 0.84–0.88"."""
    row = metrics.loc[candidate]
    if pd.isna(row.get("ROC AUC low")):
        return f"{row['ROC AUC']:.3f}"
    return f"{row['ROC AUC']:.3f}, {row['ROC AUC low']:.2f}–{row['ROC AUC high']:.2f}"


def backtest_table(evaluation: Evaluation) -> pd.DataFrame:
    """Give the backtest as a table in words: one row per candidate, unavailable ones last with why, never ranked.

    Columns: candidate, ROC AUC (95 % interval), PR AUC, Brier, mean predicted, top-10 % share,
    top-10 % lift, note. Figures a candidate has not got (no calibration, unavailable) are blank.
    """
    metrics = evaluation.metrics
    rows = []
    for name in metrics.index:
        row = metrics.loc[name]
        served = name == evaluation.chosen
        rows.append({
            "candidate": name,
            "ROC AUC (95 % interval)": auc_with_interval(metrics, name),
            "PR AUC": f"{row['PR AUC']:.3f}",
            "Brier": "" if pd.isna(row["Brier"]) else f"{row['Brier']:.3f}",
            "mean predicted": "" if pd.isna(row.get("mean predicted")) else f"{row['mean predicted']:.1%}",
            "top-10 % share": f"{row['top-10 % share']:.1%}",
            "top-10 % lift": f"{row['top-10 % lift']:.2f}",
            "note": "served" if served else evaluation.caveats.get(name, ""),
        })
    for name, why in evaluation.unavailable.items():
        rows.append({"candidate": name, "ROC AUC (95 % interval)": "", "PR AUC": "", "Brier": "",
                     "mean predicted": "", "top-10 % share": "", "top-10 % lift": "", "note": f"unavailable: {why}"})
    return pd.DataFrame(rows)


def calibration_text(evaluation: Evaluation, candidate: str) -> str:
    """Give a candidate's calibration on the test cutoff: mean predicted against the rate that happened, by decile."""
    curve = evaluation.reliability[evaluation.reliability["candidate"] == candidate]
    if curve.empty:
        return f"{candidate}: no probabilities to check."
    mean = float(evaluation.metrics.loc[candidate, "mean predicted"])
    deciles = ", ".join(f"{p:.0%} → {o:.0%}" for p, o in zip(curve["predicted"], curve["observed"], strict=True))
    return (f"Calibration of {candidate} on {evaluation.test_quarters[-1]}: mean predicted {mean:.1%} against "
            f"{evaluation.test_positive_rate:.1%} that happened ({mean - evaluation.test_positive_rate:+.1%}); "
            f"by tenth of predicted probability (predicted → happened): {deciles}.")


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
        trained = ", ".join(evaluation.train_quarters) or "none"
        lines += [
            "",
            f"{target.capitalize()}: trained on cutoffs {trained} ({evaluation.train_examples:,} examples), "
            f"calibrated on {evaluation.calibration_quarter}, tested on {', '.join(evaluation.test_quarters)} "
            f"({evaluation.test_examples:,} partners, {evaluation.test_positive_rate:.1%} {target}); only cutoffs "
            f"whose {fitted.horizon} quarters ahead were observed by the test cutoff. Intervals: 95 %, the test "
            "partners resampled.",
            backtest_table(evaluation).to_string(index=False),
            evaluation.selection,
        ]
        if evaluation.chosen:
            lines.append(calibration_text(evaluation, evaluation.chosen))
    if fitted.notes:
        lines += ["", *fitted.notes]
    chosen = fitted.chosen if isinstance(fitted, ModelReport) else {
        t: (s.name if s is not None else None) for t, s in fitted.scorers.items()}
    served = ", ".join(f"{t}: {name}" for t, name in chosen.items() if name)
    lines += ["", f"Served ({served}); model version {fitted.model_version}.",
              f"Examples, backtest and final fit took {fitted.fit_seconds:.1f} s."]
    return "\n".join(lines)
