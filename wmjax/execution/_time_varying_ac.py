"""The mean-variance optimal static schedule when volatility and liquidity vary by interval.

Discrete Almgren & Chriss (2000) with per-interval sigma_k (price / sqrt(day)) and eta_k (price
per share / day), linear impact: with holdings x_0 = X, x_N = 0, trades n_k = x_{k-1} - x_k and
a_k = eta_k / tau - gamma / 2,

    E + lambda V = gamma X^2 / 2 + sum_k a_k n_k^2 + lambda tau sum_{k<N} sigma_k^2 x_k^2

(the price move after trade k has volatility sigma_k). Its first-order conditions in
x_1 .. x_{N-1} are the tridiagonal system
    -a_k x_{k-1} + (a_k + a_{k+1} + lambda tau sigma_k^2) x_k - a_{k+1} x_{k+1} = 0,
solved here with `jax.lax.linalg.tridiagonal_solve` (jit- and vmap-able). Flat paths give AC
2000 eq. (18).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def time_varying_ac_trades(sigma_path, eta_path, risk_aversion, horizon, gamma=0.0) -> jax.Array:
    """Optimal trade fractions (n_steps,) of the order for per-interval `sigma_path` and
    `eta_path` (n_steps,), `risk_aversion` lambda per currency unit (as AC 2000), `horizon` T."""
    sigma_path = jnp.asarray(sigma_path)
    n = sigma_path.shape[-1]
    tau = horizon / n
    a = jnp.asarray(eta_path) / tau - 0.5 * gamma
    diag = a[:-1] + a[1:] + risk_aversion * tau * sigma_path[:-1] ** 2
    lower = jnp.concatenate([jnp.zeros(1, diag.dtype), -a[1:-1]])
    upper = jnp.concatenate([-a[1:-1], jnp.zeros(1, diag.dtype)])
    rhs = jnp.zeros(n - 1, diag.dtype).at[0].set(a[0])
    x = jax.lax.linalg.tridiagonal_solve(lower, diag, upper, rhs[:, None])[:, 0]
    holdings = jnp.concatenate([jnp.ones(1, x.dtype), x, jnp.zeros(1, x.dtype)])
    return holdings[:-1] - holdings[1:]
