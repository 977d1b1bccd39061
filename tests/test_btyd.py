"""The BG/NBD fit: recovers known parameters from simulated purchase histories; P(alive) and P(no order) behave."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.model.btyd import BgNbd, fit_bgnbd, simulate_bgnbd


@pytest.mark.parametrize(
    "truth",
    [BgNbd(r=0.25, alpha=4.0, a=0.8, b=2.5), BgNbd(r=1.5, alpha=10.0, a=0.3, b=3.0)],
    ids=["occasional buyers", "frequent buyers"],
)
def test_fit_recovers_the_parameters_of_simulated_histories(truth):
    x, t_x, T = simulate_bgnbd(truth, 6000, T=78.0, seed=3)
    fitted = fit_bgnbd(x, t_x, T)
    # r / alpha is the mean order rate; a / (a + b) the mean dropout chance after an order.
    assert fitted.r / fitted.alpha == pytest.approx(truth.r / truth.alpha, rel=0.1)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(truth.a / (truth.a + truth.b), rel=0.2)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fitted, name) == pytest.approx(getattr(truth, name), rel=0.35), name


def test_a_long_silence_after_frequent_orders_means_the_partner_has_likely_stopped():
    model = BgNbd(r=0.5, alpha=5.0, a=0.7, b=2.0)
    # Ten repeat orders in the first 20 of 52 weeks, against ten spread up to last week.
    silent, recent = model.p_alive([10, 10], [20, 51], [52, 52])
    assert silent < 0.2 < 0.9 < recent
    assert model.p_alive([0], [0], [52])[0] == 1.0  # no repeat order: no chance yet to drop out
    quiet = model.p_no_order([10, 10, 0], [20, 51, 0], [52, 52, 52], t=26)
    assert quiet[0] > quiet[2] > quiet[1]  # stopped > never repeated > ordering steadily
    assert ((quiet > 0) & (quiet < 1)).all()


def test_fit_refuses_impossible_summaries():
    with pytest.raises(ValueError, match="No partner"):
        fit_bgnbd(np.array([]), np.array([]), np.array([]))
    with pytest.raises(ValueError, match="recency <= age"):
        fit_bgnbd([1, 2], [5, 60], [52, 52])


def test_expected_orders_match_the_published_cdnow_figure():
    # Fader, Hardie and Lee (2005), CDNOW: a customer with 2 repeat purchases, the last at 30.43 of 38.86 weeks,
    # is expected to make 1.226 purchases in the next 39 weeks with these parameters.
    model = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert model.expected_orders([2], [30.43], [38.86], 39)[0] == pytest.approx(1.226, abs=0.001)
    more, fewer, stopped = model.expected_orders([10, 1, 10], [38, 30, 5], [39, 39, 39], 26)
    assert more > fewer > stopped > 0


def test_a_fit_that_does_not_converge_says_so():
    # Nobody ever repeated: the dropout parameters are not identified and run to the optimiser's bound.
    fitted = fit_bgnbd(np.zeros(500), np.zeros(500), np.full(500, 52.0))
    assert not fitted.converged and fitted.optimizer_message
    x, t_x, T = simulate_bgnbd(BgNbd(r=0.25, alpha=4.0, a=0.8, b=2.5), 3000, T=78.0, seed=3)
    assert fit_bgnbd(x, t_x, T).converged
