"""Almgren & Chriss (2000) closed form: the paper's worked example, E and V by direct sums,
the lambda -> 0 straight line, optimality, the frontier, and clear errors."""

import numpy as np
import pytest

from wmjax import InputError
from wmjax.execution import (
    ac_cost_moments,
    almgren_chriss,
    efficient_frontier,
    holdings_from_trades,
)

# AC 2000 Table 1 / section 3.4: X = 1e6 shares, T = 5 days, N = 5, S0 = 50, 30% annual vol.
PAPER = dict(
    shares=1e6, horizon=5.0, n_periods=5, sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625
)


def direct(sol, **kw):
    import jax

    with jax.enable_x64(True):
        e, v = ac_cost_moments(
            np.asarray(sol.trades),
            kw["shares"],
            kw["horizon"],
            kw["sigma"],
            kw["eta"],
            kw["gamma"],
            kw["epsilon"],
        )
    return float(e), float(v)


def test_reproduces_the_papers_worked_example():
    sol = almgren_chriss(**PAPER, risk_aversion=1e-6)
    assert sol.kappa == pytest.approx(0.6, abs=0.01)  # "kappa about 0.6 / day"
    assert sol.kappa * PAPER["horizon"] == pytest.approx(3.0, abs=0.05)  # "kappa T about 3"
    # eta_tilde and kappa_tilde as defined in the paper
    assert sol.eta_tilde == pytest.approx(2.5e-6 - 0.5 * 2.5e-7)
    assert sol.kappa_tilde**2 == pytest.approx(1e-6 * 0.95**2 / sol.eta_tilde)
    # the cosh relation (eq. 19)
    tau = sol.tau
    assert 2 * (np.cosh(sol.kappa * tau) - 1) / tau**2 == pytest.approx(sol.kappa_tilde**2)
    # holdings start at X, end at 0, and solve the discrete Euler-Lagrange equation (eq. 15)
    x = sol.holdings
    assert x[0] == 1e6 and x[-1] == 0
    second_diff = (x[:-2] - 2 * x[1:-1] + x[2:]) / tau**2
    np.testing.assert_allclose(second_diff, sol.kappa_tilde**2 * x[1:-1], rtol=1e-9)
    np.testing.assert_allclose(sol.trades.sum(), 1e6, rtol=1e-12)
    assert np.all(np.diff(sol.trades) < 0)  # front-loaded


@pytest.mark.parametrize("lam", [1e-8, 1e-7, 1e-6, 1e-5])
def test_closed_form_moments_equal_the_direct_sums(lam):
    sol = almgren_chriss(**PAPER, risk_aversion=lam)
    e, v = direct(sol, **PAPER)
    assert sol.expected_cost == pytest.approx(e, rel=1e-9)
    assert sol.variance == pytest.approx(v, rel=1e-9)


def test_lambda_to_zero_is_the_straight_line():
    line = np.linspace(1e6, 0, 6)
    for lam in (0.0, 1e-14):
        sol = almgren_chriss(**PAPER, risk_aversion=lam)
        np.testing.assert_allclose(sol.holdings, line, rtol=1e-6, atol=1e-3)
    sol = almgren_chriss(**PAPER, risk_aversion=0.0)
    X, T, eta_t = 1e6, 5.0, sol.eta_tilde
    assert sol.expected_cost == pytest.approx(0.5 * 2.5e-7 * X**2 + 0.0625 * X + eta_t * X**2 / T)
    assert sol.variance == pytest.approx(0.95**2 * 1.0 * np.sum(line[1:] ** 2))


def test_optimal_list_beats_perturbed_lists():
    lam = 1e-6
    sol = almgren_chriss(**PAPER, risk_aversion=lam)
    rng = np.random.default_rng(0)
    for _ in range(20):
        bump = rng.normal(size=5) * 2e4
        bump -= bump.mean()
        e, v = direct(type(sol)(**{**sol.__dict__, "trades": sol.trades + bump}), **PAPER)
        assert e + lam * v > sol.objective


def test_efficient_frontier_is_monotone_and_convex():
    f = efficient_frontier(**PAPER)
    e, v = f["expected_cost"], f["variance"]
    assert np.all(np.diff(e) > 0) and np.all(np.diff(v) < 0)
    # E as a function of V is convex: slopes dE/dV increase in magnitude as V shrinks
    slopes = np.diff(e) / np.diff(v)
    assert np.all(slopes < 0)
    np.testing.assert_allclose(-slopes, np.sort(-slopes), rtol=1e-9)


def test_holdings_from_trades_round_trip():
    sol = almgren_chriss(**PAPER, risk_aversion=1e-6)
    np.testing.assert_allclose(
        np.asarray(holdings_from_trades(sol.trades, 1e6)), sol.holdings, rtol=1e-6
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(shares=-5.0), "shares"),
        (dict(horizon=0.0), "horizon"),
        (dict(n_periods=0), "periods"),
        (dict(sigma=float("nan")), "sigma"),
        (dict(eta=float("inf")), "eta"),
        (dict(gamma=1e-5), "eta - gamma"),
    ],
)
def test_bad_input_is_a_clear_error(change, message):
    with pytest.raises(InputError, match=message):
        almgren_chriss(**{**PAPER, **change}, risk_aversion=1e-6)
    with pytest.raises(InputError, match="risk_aversion"):
        almgren_chriss(**PAPER, risk_aversion=-1.0)
