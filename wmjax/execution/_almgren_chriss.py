"""The exact discrete-time solution of Almgren & Chriss (2000), "Optimal execution of portfolio
transactions", J. Risk 3(2), 5-39.

Units as in the paper: shares (X), price units (sigma in price / sqrt(time), eta in price per
share per unit time, gamma and epsilon in price per share) and the horizon's time unit (days).
Sell X shares over T in N periods of tau = T / N; holdings x_0 = X, ..., x_N = 0; trades
n_k = x_{k-1} - x_k. With eta_tilde = eta - gamma tau / 2 (eq. 16):

    E[x] = gamma X^2 / 2 + epsilon sum |n_k| + eta_tilde / tau sum n_k^2            (eq. 16)
    V[x] = sigma^2 tau sum_{k=1}^{N} x_k^2                                         (eq. 17)

The minimiser of E + lambda V is x_j = X sinh(kappa (T - t_j)) / sinh(kappa T) (eq. 18), where
2 (cosh(kappa tau) - 1) / tau^2 = lambda sigma^2 / eta_tilde (eq. 19); its E and V are eq. (20).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import finite_array, positive, positive_int, require


def _eta_tilde(eta, gamma, tau):
    return eta - 0.5 * gamma * tau


def ac_kappa(tau, sigma, eta_tilde, risk_aversion) -> jax.Array:
    """kappa from the cosh relation (AC 2000 eq. 19): arccosh(1 + kappa_tilde^2 tau^2 / 2) / tau."""
    kappa_tilde2 = risk_aversion * sigma**2 / eta_tilde
    return jnp.arccosh(1.0 + 0.5 * kappa_tilde2 * tau**2) / tau


def _sinh_ratio(kappa, a, b):
    # sinh(kappa a) / sinh(kappa b) for 0 <= a <= b, stable for large kappa b, a / b at kappa = 0.
    small = kappa * b < 1e-6
    k = jnp.where(small, 1.0, kappa)
    ratio = jnp.exp(k * (a - b)) * (-jnp.expm1(-2.0 * k * a)) / (-jnp.expm1(-2.0 * k * b))
    return jnp.where(small, a / b, ratio)


def ac_holdings(kappa, shares, horizon, n_periods: int) -> jax.Array:
    """Optimal holdings x_0 .. x_N (shares), AC 2000 eq. (18); the straight line at kappa = 0."""
    t = jnp.linspace(0.0, 1.0, n_periods + 1) * horizon
    return shares * _sinh_ratio(kappa, horizon - t, horizon)


def trades_from_holdings(holdings: jax.Array) -> jax.Array:
    """Trade list n_k = x_{k-1} - x_k (shares) from holdings x_0 .. x_N along the last axis."""
    return holdings[..., :-1] - holdings[..., 1:]


def holdings_from_trades(trades: jax.Array, shares) -> jax.Array:
    """Holdings x_0 = X, x_k = X - n_1 - ... - n_k from a trade list (last axis)."""
    cum = jnp.cumsum(trades, axis=-1)
    done = jnp.concatenate([jnp.zeros_like(cum[..., :1]), cum], axis=-1)
    return jnp.asarray(shares)[..., None] - done


def ac_cost_moments(trades, shares, horizon, sigma, eta, gamma=0.0, epsilon=0.0):
    """E and V of any trade list (shares, last axis N) by the direct sums of AC 2000 eq. (16-17).

    The list need not be optimal; it should sum to `shares`. Returns (expected_cost, variance)
    in price units * shares and its square.
    """
    n = trades.shape[-1]
    tau = horizon / n
    x = holdings_from_trades(trades, shares)[..., 1:]
    expected = (
        0.5 * gamma * shares**2
        + epsilon * jnp.sum(jnp.abs(trades), axis=-1)
        + _eta_tilde(eta, gamma, tau) / tau * jnp.sum(trades**2, axis=-1)
    )
    variance = sigma**2 * tau * jnp.sum(x**2, axis=-1)
    return expected, variance


def ac_optimal_moments(kappa, shares, horizon, n_periods: int, sigma, eta, gamma=0.0, epsilon=0.0):
    """E and V of the optimal trajectory in closed form, AC 2000 eq. (20) (kappa > 0)."""
    tau = horizon / n_periods
    et = _eta_tilde(eta, gamma, tau)
    kT, kt = kappa * horizon, kappa * tau
    expected = (
        0.5 * gamma * shares**2
        + epsilon * shares
        + et
        * shares**2
        * jnp.tanh(0.5 * kt)
        * (tau * jnp.sinh(2.0 * kT) + 2.0 * horizon * jnp.sinh(kt))
        / (2.0 * tau**2 * jnp.sinh(kT) ** 2)
    )
    variance = (
        0.5
        * sigma**2
        * shares**2
        * (tau * jnp.sinh(kT) * jnp.cosh(kappa * (horizon - tau)) - horizon * jnp.sinh(kt))
        / (jnp.sinh(kT) ** 2 * jnp.sinh(kt))
    )
    return expected, variance


@dataclass(frozen=True)
class ACSolution:
    """The optimal execution of AC 2000 (float64 numpy).

    Attributes: kappa (1 / time), kappa_tilde, eta_tilde, tau, times (N + 1,), holdings (N + 1,)
    shares, trades (N,) shares, expected_cost (price * shares), variance ((price * shares)^2),
    risk_aversion.
    """

    kappa: float
    kappa_tilde: float
    eta_tilde: float
    tau: float
    times: np.ndarray
    holdings: np.ndarray
    trades: np.ndarray
    expected_cost: float
    variance: float
    risk_aversion: float

    @property
    def objective(self) -> float:
        """E + lambda V."""
        return self.expected_cost + self.risk_aversion * self.variance


def check_ac_inputs(shares, horizon, n_periods, sigma, eta, gamma, epsilon, risk_aversion):
    """Validate the AC inputs on the host; returns them as floats (n_periods as int)."""
    positive("shares (X, the order size)", shares)
    positive("horizon (T)", horizon)
    n = positive_int("periods (N)", n_periods)
    positive("sigma", sigma, allow_zero=True)
    positive("eta", eta)
    positive("gamma", gamma, allow_zero=True)
    positive("epsilon", epsilon, allow_zero=True)
    positive("risk_aversion (lambda)", risk_aversion, allow_zero=True)
    tau = float(horizon) / n
    et = float(eta) - 0.5 * float(gamma) * tau
    require(
        et > 0,
        f"eta - gamma * tau / 2 must be > 0 (AC 2000 eq. 16), got {et:.3g}: raise eta, lower "
        "gamma or use more periods",
    )
    floats = [float(finite_array("x", v)) for v in (sigma, eta, gamma, epsilon, risk_aversion)]
    return (float(shares), float(horizon), n, *floats)


def almgren_chriss(
    shares, horizon, n_periods, sigma, eta, gamma=0.0, epsilon=0.0, risk_aversion=0.0
) -> ACSolution:
    """The AC 2000 optimal trajectory, its trade list, kappa and closed-form E and V (float64).

    Raises InputError for non-positive sizes or horizons, periods < 1, non-finite parameters or
    eta_tilde <= 0. At lambda = 0 (kappa = 0) the solution is the straight line, E and V by sums.
    """
    X, T, N, sigma, eta, gamma, epsilon, lam = check_ac_inputs(
        shares, horizon, n_periods, sigma, eta, gamma, epsilon, risk_aversion
    )
    with jax.enable_x64(True):
        tau = T / N
        et = _eta_tilde(eta, gamma, tau)
        kappa = float(ac_kappa(tau, sigma, et, lam))
        holdings = ac_holdings(jnp.float64(kappa), X, T, N)
        trades = trades_from_holdings(holdings)
        if kappa * T > 1e-6:
            e, v = ac_optimal_moments(kappa, X, T, N, sigma, eta, gamma, epsilon)
        else:
            e, v = ac_cost_moments(trades, X, T, sigma, eta, gamma, epsilon)
        return ACSolution(
            kappa=kappa,
            kappa_tilde=float(np.sqrt(lam * sigma**2 / et)),
            eta_tilde=et,
            tau=tau,
            times=np.linspace(0.0, T, N + 1),
            holdings=np.asarray(holdings),
            trades=np.asarray(trades),
            expected_cost=float(e),
            variance=float(v),
            risk_aversion=lam,
        )


def efficient_frontier(
    shares, horizon, n_periods, sigma, eta, gamma=0.0, epsilon=0.0, risk_aversions=None
) -> dict[str, np.ndarray]:
    """The efficient frontier: E and V of the optimal strategy for each lambda (float64).

    Returns {"risk_aversion", "expected_cost", "variance"}, arrays of the same length; default
    lambdas are 30 log-spaced values that take kappa * T from about 0.1 to 10.
    """
    if risk_aversions is None:
        _, T, N, sigma_, eta_, gamma_, *_ = check_ac_inputs(
            shares, horizon, n_periods, sigma, eta, gamma, epsilon, 0.0
        )
        et = eta_ - 0.5 * gamma_ * T / N
        kt = np.geomspace(0.1, 10.0, 30) / T
        risk_aversions = kt**2 * et / max(sigma_, 1e-300) ** 2
    lams = finite_array("risk_aversions", risk_aversions, ndim=1)
    sols = [
        almgren_chriss(shares, horizon, n_periods, sigma, eta, gamma, epsilon, lam) for lam in lams
    ]
    return {
        "risk_aversion": lams,
        "expected_cost": np.array([s.expected_cost for s in sols]),
        "variance": np.array([s.variance for s in sols]),
    }
