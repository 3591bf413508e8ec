"""Closed forms for transient impact with exponential resilience (lambda = 0).

A trade xi_i at t_i = i tau meets the displacement D_i = k sum_{j<i} xi_j a^{i-j}, a =
exp(-rho tau), of a block-shaped book and pays xi_i (D_i + k xi_i / 2); the total cost is
(1/2) xi^T M xi with M_ij = k a^|i-j| (Obizhaeva & Wang 2013, "Optimal trading strategy and
supply/demand dynamics", J. Financial Markets 16; Alfonsi, Fruth & Schied 2010, "Optimal
execution strategies in limit order books with general shape functions", Quant. Finance 10).
Minimising it over n trades summing to X gives blocks at the first and last trade and a constant
rate in between: xi_0 = xi_{n-1} = X / ((n - 2)(1 - a) + 2), xi_i = (1 - a) xi_0 otherwise,
with cost k X^2 (1 + a) / (2 ((n - 2)(1 - a) + 2)).
"""

from __future__ import annotations

import numpy as np

from wmjax._checks import finite_array, positive, positive_int, require


def _decay(resilience, interval) -> float:
    return float(
        np.exp(
            -float(positive("resilience", resilience, allow_zero=True))
            * float(positive("interval", interval))
        )
    )


def ow_optimal_trades(shares, n_trades: int, resilience, interval) -> np.ndarray:
    """Cost-minimising trade list (shares, (n_trades,)) under exponential resilience `resilience`
    (per unit time) with trades `interval` apart (AFS 2010, Obizhaeva-Wang 2013); n_trades >= 2."""
    n = positive_int("n_trades", n_trades, minimum=2)
    x = float(positive("shares", shares))
    a = _decay(resilience, interval)
    block = x / ((n - 2) * (1.0 - a) + 2.0)
    trades = np.full(n, (1.0 - a) * block)
    trades[0] = trades[-1] = block
    return trades


def ow_optimal_cost(shares, n_trades: int, strength, resilience, interval) -> float:
    """Cost (price units * shares) of `ow_optimal_trades`: k X^2 (1 + a) / (2 ((n-2)(1-a) + 2))."""
    n = positive_int("n_trades", n_trades, minimum=2)
    x = float(positive("shares", shares))
    k = float(positive("strength", strength))
    a = _decay(resilience, interval)
    return k * x**2 * (1.0 + a) / (2.0 * ((n - 2) * (1.0 - a) + 2.0))


def transient_cost(trades, strength, resilience, interval) -> float:
    """Cost (1/2) xi^T M xi, M_ij = k a^|i-j|, of any trade list under exponential resilience."""
    xi = finite_array("trades", trades, ndim=1)
    require(xi.size >= 1, "trades must not be empty")
    a = _decay(resilience, interval)
    idx = np.arange(xi.size)
    m = float(positive("strength", strength, allow_zero=True)) * a ** np.abs(
        idx[:, None] - idx[None, :]
    )
    return float(0.5 * xi @ m @ xi)
