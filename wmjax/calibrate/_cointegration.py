"""Engle-Granger cointegration test of a pair: hedge ratio by OLS, augmented Dickey-Fuller test
on the residual, MacKinnon (2010) critical values.

Engle & Granger (1987): regress y on a constant and x by OLS; the pair is cointegrated when the
residual u has no unit root. The ADF regression on the residual has no constant (u has mean 0
by construction):

    du_t = gamma u_{t-1} + sum_{i=1..p} phi_i du_{t-i} + e_t,      tau = gamma_hat / se(gamma_hat)

and tau is compared with the Engle-Granger critical values for two variables and a constant,
not with the Dickey-Fuller ones: MacKinnon (2010), "Critical values for cointegration tests",
Queen's Economics Department Working Paper 1227, Table 2, N = 2, case "c", response surface
cv(T) = b_inf + b_1 / T + b_2 / T^2 with T the number of observations in the ADF regression.
All functions are pure and vmap over pairs and windows.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import require

# MacKinnon (2010) Table 2, N = 2, constant, no trend: (b_inf, b_1, b_2) per test level.
EG_CRITICAL_SURFACE = {
    0.01: (-3.89644, -10.9519, -33.527),
    0.05: (-3.33613, -6.1101, -6.823),
    0.10: (-3.04445, -4.2412, -2.720),
}


@struct.dataclass
class EngleGranger:
    """Engle-Granger test of y against x (leaves may carry batch axes).

    Attributes:
        hedge_ratio: OLS slope beta of y = alpha + beta x + u.
        intercept: OLS alpha.
        adf_stat: ADF t statistic tau of the residual (more negative: more mean reverting).
        critical_value: MacKinnon (2010) critical value at the test level for this T.
        cointegrated: True where tau < critical value (no-cointegration rejected).
    """

    hedge_ratio: jax.Array
    intercept: jax.Array
    adf_stat: jax.Array
    critical_value: jax.Array
    cointegrated: jax.Array


def eg_critical_value(n_obs, level: float = 0.05):
    """Engle-Granger critical value for two variables with a constant, MacKinnon (2010),
    for `n_obs` observations in the ADF regression; `level` is 0.01, 0.05 or 0.10."""
    require(
        level in EG_CRITICAL_SURFACE,
        f"level must be one of {sorted(EG_CRITICAL_SURFACE)} (MacKinnon's table), got {level}",
    )
    b_inf, b_1, b_2 = EG_CRITICAL_SURFACE[level]
    t = jnp.asarray(n_obs, jnp.float32)
    return b_inf + b_1 / t + b_2 / t**2


def ols_hedge(y: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """OLS of y on a constant and x over the last axis: (intercept, slope, residuals)."""
    xc = x - x.mean(-1, keepdims=True)
    yc = y - y.mean(-1, keepdims=True)
    beta = (xc * yc).sum(-1) / (xc * xc).sum(-1)
    alpha = y.mean(-1) - beta * x.mean(-1)
    return alpha, beta, yc - beta[..., None] * xc


def adf_stat(u: jax.Array, lags: int = 1) -> jax.Array:
    """ADF t statistic of gamma in du_t = gamma u_{t-1} + sum_{i<=lags} phi_i du_{t-i} + e_t
    (no constant), for a 1-D series `u` of length n; T = n - 1 - lags observations."""
    du = jnp.diff(u)
    n_obs = du.shape[0] - lags
    cols = [u[lags:-1]] + [du[lags - i : du.shape[0] - i] for i in range(1, lags + 1)]
    design = jnp.stack(cols, axis=1)
    target = du[lags:]
    gram = design.T @ design
    coef = jnp.linalg.solve(gram, design.T @ target)
    resid = target - design @ coef
    s2 = (resid @ resid) / (n_obs - design.shape[1])
    var_gamma = s2 * jnp.linalg.inv(gram)[0, 0]
    return coef[0] / jnp.sqrt(var_gamma)


def engle_granger(
    y: jax.Array, x: jax.Array, *, lags: int = 1, level: float = 0.05
) -> EngleGranger:
    """Engle-Granger test of 1-D log prices y against x (same length n): OLS hedge ratio,
    ADF with `lags` lagged differences on the residual, MacKinnon (2010) critical value at
    `level` for T = n - 1 - lags. `jax.vmap` it over pairs and windows."""
    alpha, beta, resid = ols_hedge(y, x)
    tau = adf_stat(resid, lags)
    crit = eg_critical_value(y.shape[-1] - 1 - lags, level)
    return EngleGranger(
        hedge_ratio=beta,
        intercept=alpha,
        adf_stat=tau,
        critical_value=crit,
        cointegrated=tau < crit,
    )
