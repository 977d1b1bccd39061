"""How well a candidate did on a test cutoff: ROC AUC with its bootstrap interval, Brier, calibration by decile.

The interval is the backtest's noise: the test cutoff's partners resampled with replacement a few
hundred times (the predictions are kept, nothing is refitted), ROC AUC computed on each resample, and
the middle 95 % of them given. The same resamples serve every candidate, so two candidates' difference
has its own interval (paired), which is what selection needs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["RESAMPLES", "resample_weights", "resampled_auc", "interval", "metrics_of", "reliability"]

# A few hundred resamples put a 95 % interval's ends within about 0.005 of where more would: enough
# for a figure quoted to two decimals.
RESAMPLES = 200


def resample_weights(partners: int, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """Give (resamples, partners) counts: how often each partner is drawn in each bootstrap resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(partners, np.full(partners, 1.0 / partners), size=resamples).astype(float)


def resampled_auc(score: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Give ROC AUC of `score` on each resample (rows of `weights`), ties counted half, in one pass.

    Sorted once: per distinct score, the weighted outcomes and non-outcomes; a pair counts when the
    outcome's score is above the non-outcome's (half when equal).
    """
    order = np.argsort(score, kind="stable")
    s, outcome, w = score[order], y[order].astype(float), weights[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos = np.add.reduceat(w * outcome, starts, axis=1)
    neg = np.add.reduceat(w * (1.0 - outcome), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(axis=1) / pairs


def interval(values: np.ndarray) -> tuple[float, float]:
    """Give the middle 95 % of bootstrap values (resamples without both outcomes are left out)."""
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def metrics_of(y: np.ndarray, rank: np.ndarray, p: np.ndarray | None, weights: np.ndarray) -> dict[str, float]:
    """Give a candidate's test figures: ranking ones from its rank score, calibration ones from its probabilities.

    Without probabilities (a rule nothing could calibrate) Brier and mean predicted are NaN.
    """
    # Imported here, as in candidates.Learned.fit: the pages read stored scores without scikit-learn.
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    top = max(1, math.ceil(0.10 * len(y)))
    order = np.argsort(-rank, kind="stable")[:top]
    base = float(y.mean())
    top_share = float(y[order].mean())
    low, high = interval(resampled_auc(rank, y, weights))
    return {
        "ROC AUC": roc_auc_score(y, rank),
        "ROC AUC low": low,
        "ROC AUC high": high,
        "PR AUC": average_precision_score(y, rank),
        "Brier": brier_score_loss(y, p) if p is not None else float("nan"),
        "mean predicted": float(np.mean(p)) if p is not None else float("nan"),
        "top-10 % share": top_share,
        "top-10 % lift": top_share / base if base else float("nan"),
    }


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Give the reliability curve: partners in equal-sized bins of predicted probability, predicted vs observed."""
    frame = pd.DataFrame({"p": p, "y": y})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    curve = frame.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), partners=("y", "size"))
    return curve.reset_index(drop=True)[["predicted", "observed", "partners"]]
