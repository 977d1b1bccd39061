"""The BG/NBD "buy till you die" model: fit on order-day summaries, P(alive) and P(no order ahead).

Fader, Hardie and Lee (2005), "Counting your customers the easy way". Each partner orders at a
Poisson rate lambda (gamma(r, alpha) across partners) and, after each order, stops for good with
probability p (beta(a, b) across partners). A partner's history is summarised by frequency x
(repeat order days), recency t_x (first to last order day) and age T (first order day to the end
of the observation), all in weeks here.

Written here rather than taken from a library: `lifetimes` (last release 0.11.3, 2020) is
unmaintained, `btyd` (0.1b3, 2022) and `pymc-marketing` pull in PyMC. This is one log-likelihood and
scipy's L-BFGS-B. Checked against lifetimes' BetaGeoFitter on the demo's 7,014 partners at 2026Q3:
the same parameters to four digits (r 1.1626, alpha 2.1076, a 0.1554, b 22.47), 0.22 s here against
0.16 s there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# scipy is imported where a fit needs it: importing it costs about half a second, which every command that
# only loads data (features -> this module) would otherwise pay.

__all__ = ["BgNbd", "fit_bgnbd", "simulate_bgnbd", "DAYS_PER_WEEK", "WEEKS_PER_QUARTER"]

DAYS_PER_WEEK = 7.0
WEEKS_PER_QUARTER = 365.25 / 4 / DAYS_PER_WEEK
# More partners add little to four parameters; a fixed sample keeps the fit quick at ten times the demo.
MAX_FIT_PARTNERS = 8_000


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters: order rate gamma(r, alpha), dropout after each order beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    # Whether the optimiser reported convergence, and its own words: parameters it gave up on are used
    # all the same (they are the best it found), but the notes say so.
    converged: bool = True
    optimizer_message: str = ""

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Give the probability that each partner is still active at the end of its observation."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        # Only a partner with a repeat order can have dropped out (the model's dropouts follow orders).
        with np.errstate(over="ignore"):
            odds = (self.a / (self.b + np.maximum(x, 1) - 1)) * ((self.alpha + T) / (self.alpha + t_x)) ** (self.r + x)
        return np.where(x > 0, 1.0 / (1.0 + odds), 1.0)

    def p_no_order(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float) -> np.ndarray:
        """Give the probability of no order in the next `t` weeks, given each partner's history.

        P(X(T, T+t) = 0) = (1 - P(alive)) + P(alive) * ((alpha + T) / (alpha + T + t)) ** (r + x): a partner
        that has dropped out orders nothing; one still active orders nothing with the probability its
        posterior gamma order rate gives for t weeks.
        """
        x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
        alive = self.p_alive(x, t_x, T)
        quiet_if_alive = ((self.alpha + T) / (self.alpha + T + t)) ** (self.r + x)
        return (1.0 - alive) + alive * quiet_if_alive

    def expected_orders(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float) -> np.ndarray:
        """Give each partner's expected number of order days in the next `t` weeks, E[X(T, T+t) | x, t_x, T].

        Fader, Hardie and Lee (2005), equation 10. On occasional buyers it ranks who buys again better
        than the chance of no order does: it weighs how often a partner ordered, not only whether.
        """
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        from scipy.special import hyp2f1

        z = t / (alpha + T + t)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
            # Where the series overflows, Euler's transformation of the same function stays finite.
            c = a + b + x - 1
            euler = hyp2f1(c - r - x, c - b - x, c, z) * (1 - z) ** (c - r - x - b - x)
            hyp = np.where(np.isfinite(hyp), hyp, euler)
            first = (a + b + x - 1) / (a - 1)
            second = 1.0 - hyp * ((alpha + T) / (alpha + T + t)) ** (r + x)
            odds = np.where(x > 0, (a / (b + np.maximum(x, 1) - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
            expected = first * second / (1.0 + odds)
        return np.clip(np.nan_to_num(expected, nan=0.0, posinf=0.0), 0.0, None)


def _negative_log_likelihood(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                             weight: np.ndarray) -> float:
    from scipy.special import gammaln

    r, alpha, a, b = np.exp(log_params)
    # The BG/NBD likelihood (Fader, Hardie and Lee 2005, equation 6), on the log scale.
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x), -np.inf)
    log_l = a1 + a2 + np.logaddexp(a3, a4)
    return -float(np.sum(weight * log_l)) / float(weight.sum())


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, seed: int = 0) -> BgNbd:
    """Give the maximum-likelihood BG/NBD parameters for partners' (frequency, recency, age) in weeks.

    Partners with the same summary are counted once with a weight, and above MAX_FIT_PARTNERS a fixed
    random sample is fitted. Raises ValueError for no partners or negative / inconsistent summaries.
    """
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if len(x) == 0:
        raise ValueError("No partner with an order to fit the BG/NBD model on")
    if (x < 0).any() or (t_x < 0).any() or (t_x > T + 1e-9).any():
        raise ValueError("BG/NBD summaries need frequency >= 0 and 0 <= recency <= age")
    if len(x) > MAX_FIT_PARTNERS:
        pick = np.random.default_rng(seed).choice(len(x), MAX_FIT_PARTNERS, replace=False)
        x, t_x, T = x[pick], t_x[pick], T[pick]
    summary = np.unique(np.column_stack([x, np.round(t_x, 3), np.round(T, 3)]), axis=0, return_counts=True)
    (ux, ut, uT), weight = summary[0].T, summary[1].astype(float)
    from scipy.optimize import minimize

    start = np.log([1.0, max(float(np.mean(T)), 1.0), 1.0, 3.0])
    result = minimize(_negative_log_likelihood, start, args=(ux, ut, uT, weight), method="L-BFGS-B",
                      bounds=[(-9.0, 9.0)] * 4)
    r, alpha, a, b = np.exp(result.x)
    # A parameter at its bound (e**9) is an optimiser stuck at the edge, not an estimate.
    at_bound = bool(np.any(np.abs(result.x) >= 9.0 - 1e-6))
    message = str(result.message) if not result.success else ("a parameter at its bound" if at_bound else "")
    return BgNbd(r=float(r), alpha=float(alpha), a=float(a), b=float(b),
                 converged=bool(result.success) and not at_bound, optimizer_message=message)


def simulate_bgnbd(params: BgNbd, partners: int, T: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give (frequency, recency, age) of partners simulated from the BG/NBD process over `T` weeks each."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params.r, 1.0 / params.alpha, partners)
    dropout = rng.beta(params.a, params.b, partners)
    x = np.zeros(partners)
    t_x = np.zeros(partners)
    for i in range(partners):
        now = 0.0
        while True:
            now += rng.exponential(1.0 / rate[i])
            if now > T:
                break
            x[i] += 1
            t_x[i] = now
            if rng.random() < dropout[i]:
                break
    return x, t_x, np.full(partners, float(T))
