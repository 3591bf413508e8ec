"""The mean-variance optimal static schedule when volatility and liquidity vary by interval.

Discrete Almgren & Chriss (2000) with per-interval sigma_k (price / sqrt(day)), eta_k (price
per share / day) and permanent impact gamma_k (price per share), linear impact: with holdings
x_0 = X, x_N = 0 and trades n_k = x_{k-1} - x_k, trade k moves the price by gamma_k n_k for all
later trades, so E = sum_k gamma_k n_k x_k + sum_k eta_k n_k^2 / tau. Since
n_k x_k = (x_{k-1}^2 - x_k^2) / 2 - n_k^2 / 2, with a_k = eta_k / tau - gamma_k / 2,

    E + lambda V = gamma_1 X^2 / 2 + sum_k a_k n_k^2
                   + sum_{k<N} ((gamma_{k+1} - gamma_k) / 2 + lambda tau sigma_k^2) x_k^2

(the price move after trade k has volatility sigma_k). Its first-order conditions in
x_1 .. x_{N-1} are the tridiagonal system
    -a_k x_{k-1} + (a_k + a_{k+1} + (gamma_{k+1} - gamma_k) / 2 + lambda tau sigma_k^2) x_k
        - a_{k+1} x_{k+1} = 0,
solved here with `jax.lax.linalg.tridiagonal_solve` (jit- and vmap-able); it has a unique
minimum while the system is positive definite (a_k > 0 and the diagonal dominates). A constant
gamma drops out of the diagonal and only lowers a_k (AC 2000's eta~ = eta - gamma tau / 2);
flat paths give AC 2000 eq. (18). `refine_ac_trades` instead takes a fixed number of
preconditioned conjugate-gradient steps on the same conditions from a given schedule: a planning
step a learned policy can unroll and differentiate through (N - 1 steps reach the optimum
exactly).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from wmjax._numerics import divide_where


def _conditions(sigma_path, eta_path, risk_aversion, horizon, gamma):
    # (a_k, the system's diagonal) of the first-order conditions; gamma: scalar or (n_steps,)
    sigma_path = jnp.asarray(sigma_path)
    tau = horizon / sigma_path.shape[-1]
    gamma = jnp.broadcast_to(jnp.asarray(gamma, sigma_path.dtype), sigma_path.shape)
    a = jnp.asarray(eta_path) / tau - 0.5 * gamma
    drift = 0.5 * (gamma[1:] - gamma[:-1])
    return a, a[:-1] + a[1:] + drift + risk_aversion * tau * sigma_path[:-1] ** 2


def _trades(x):
    holdings = jnp.concatenate([jnp.ones(1, x.dtype), x, jnp.zeros(1, x.dtype)])
    return holdings[:-1] - holdings[1:]


def time_varying_ac_trades(sigma_path, eta_path, risk_aversion, horizon, gamma=0.0) -> jax.Array:
    """Optimal trade fractions (n_steps,) of the order for per-interval `sigma_path` and
    `eta_path` (n_steps,), `risk_aversion` lambda per currency unit (as AC 2000), `horizon` T
    and permanent impact `gamma` (a scalar or a per-interval path gamma_k, (n_steps,))."""
    a, diag = _conditions(sigma_path, eta_path, risk_aversion, horizon, gamma)
    n = a.shape[-1]
    lower = jnp.concatenate([jnp.zeros(1, diag.dtype), -a[1:-1]])
    upper = jnp.concatenate([-a[1:-1], jnp.zeros(1, diag.dtype)])
    rhs = jnp.zeros(n - 1, diag.dtype).at[0].set(a[0])
    return _trades(jax.lax.linalg.tridiagonal_solve(lower, diag, upper, rhs[:, None])[:, 0])


def _safe_div(num, den):
    # 0 where the residual has vanished (converged)
    return divide_where(jnp.abs(den) > 1e-30, num, den)


def refine_ac_trades(
    trades, sigma_path, eta_path, risk_aversion, horizon, n_iter: int, gamma=0.0
) -> jax.Array:
    """`n_iter` (static) Jacobi-preconditioned conjugate-gradient steps on the first-order
    conditions above, from the trade fractions `trades` (n_steps,): each step lowers
    E + lambda V in the energy norm of the system (Hestenes & Stiefel 1952); n_iter = n_steps - 1
    is the optimum in exact arithmetic. `gamma` as in `time_varying_ac_trades`. Differentiable
    in every argument (unrolled)."""
    a, diag = _conditions(sigma_path, eta_path, risk_aversion, horizon, gamma)
    off = a[1:-1]
    zero = jnp.zeros(1, diag.dtype)

    def matvec(v):
        below = jnp.concatenate([zero, off * v[:-1]])
        return diag * v - below - jnp.concatenate([off * v[1:], zero])

    x = (1.0 - jnp.cumsum(trades))[:-1].astype(diag.dtype)
    r = jnp.zeros_like(diag).at[0].set(a[0]) - matvec(x)
    z = r / diag

    def step(_, carry):
        x, r, z, p = carry
        q = matvec(p)
        rz = r @ z
        alpha = _safe_div(rz, p @ q)
        x, r = x + alpha * p, r - alpha * q
        z_new = r / diag
        return x, r, z_new, z_new + _safe_div(r @ z_new, rz) * p

    x, *_ = jax.lax.fori_loop(0, n_iter, step, (x, r, z, z))
    return _trades(x)
