"""Avellaneda & Lee (2010) Ornstein-Uhlenbeck fit of a spread from an AR(1) on a short window.

Avellaneda, M. & Lee, J.-H. (2010), "Statistical arbitrage in the US equities market",
Quantitative Finance 10(7), Appendix A: regress X_{k+1} = a + b X_k + zeta_{k+1} on the window
(60 daily points), then with dt = 1/252 year

    kappa = -ln(b) / dt,   m = a / (1 - b),   sigma_eq = sqrt(Var(zeta) / (1 - b^2)),
    s = (X - m) / sigma_eq        (the s-score of the window's last point X),

and trade only spreads with kappa > 252/30 per year (mean-reversion time under 30 days).
Two time scales are named apart: the half-life ln(2)/kappa (the time for the expected gap to
halve) and the mean-reversion time 1/kappa (A&L's tau); both are reported in trading days.
The AR(1) slope of a short window is biased down (Kendall 1954), so kappa is biased up: with
60 points and kappa = 25.2/year the median estimate is about 41.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive_int, require

TRADING_DAYS_PER_YEAR = 252.0
AL_WINDOW_DAYS = 60
AL_MIN_KAPPA_PER_YEAR = 252.0 / 30.0


@struct.dataclass
class OUFit:
    """The OU fit of one window (leaves may carry batch or time axes).

    Attributes:
        a, b: AR(1) intercept and slope of X_{k+1} = a + b X_k + zeta.
        var_zeta: residual variance RSS / (n - 2), spread units^2.
        kappa_per_year: mean-reversion speed -ln(b) / dt, 1/year (NaN where b <= 0).
        mean: equilibrium level m = a / (1 - b), spread units.
        sigma_eq: equilibrium standard deviation sqrt(Var(zeta) / (1 - b^2)), spread units.
        s_score: (X_last - m) / sigma_eq; 0 where 0 < b < 1 fails (no OU, nothing to trade).
    """

    a: jax.Array
    b: jax.Array
    var_zeta: jax.Array
    kappa_per_year: jax.Array
    mean: jax.Array
    sigma_eq: jax.Array
    s_score: jax.Array

    @property
    def half_life_days(self) -> jax.Array:
        """ln(2) / kappa in trading days: the time for the expected gap to the mean to halve."""
        return jnp.log(2.0) / self.kappa_per_year * TRADING_DAYS_PER_YEAR

    @property
    def mean_reversion_time_days(self) -> jax.Array:
        """1 / kappa in trading days (A&L's tau): the e-folding time of the expected gap."""
        return TRADING_DAYS_PER_YEAR / self.kappa_per_year


def ou_from_ar1(a, b, var_zeta, x_last, dt_years: float = 1.0 / TRADING_DAYS_PER_YEAR) -> OUFit:
    """The A&L map from AR(1) coefficients (a, b, Var zeta) and the last point to the OU fit."""
    valid = (b > 0) & (b < 1)
    b_safe = jnp.where(valid, b, 0.5)
    mean = a / (1 - b_safe)
    sigma_eq = jnp.sqrt(var_zeta / (1 - b_safe**2))
    s = jnp.where(valid, (x_last - mean) / sigma_eq, 0.0)
    return OUFit(
        a=a,
        b=b,
        var_zeta=var_zeta,
        kappa_per_year=-jnp.log(b) / dt_years,
        mean=mean,
        sigma_eq=sigma_eq,
        s_score=s,
    )


def _ar1_from_sums(n, sx, sy, sxx, sxy, syy):
    """AR(1) OLS of y on (1, x) from n pairs' sums: (a, b, RSS / (n - 2))."""
    cxx = sxx - sx * sx / n
    cxy = sxy - sx * sy / n
    cyy = syy - sy * sy / n
    b = cxy / cxx
    a = (sy - b * sx) / n
    rss = jnp.maximum(cyy - b * cxy, 0.0)
    return a, b, rss / (n - 2)


def fit_ou_ar1(x: jax.Array, dt_years: float = 1.0 / TRADING_DAYS_PER_YEAR) -> OUFit:
    """A&L fit of the window `x` (last axis: time, >= 4 points); the s-score is of x[-1]."""
    require(x.shape[-1] >= 4, f"x needs at least 4 points for an AR(1) fit, got {x.shape[-1]}")
    lo, hi = x[..., :-1], x[..., 1:]
    sums = (lo.sum(-1), hi.sum(-1), (lo * lo).sum(-1), (lo * hi).sum(-1), (hi * hi).sum(-1))
    a, b, var_zeta = _ar1_from_sums(lo.shape[-1], *sums)
    return ou_from_ar1(a, b, var_zeta, x[..., -1], dt_years)


def rolling_ou_fit(
    x: jax.Array, window: int = AL_WINDOW_DAYS, dt_years: float = 1.0 / TRADING_DAYS_PER_YEAR
) -> OUFit:
    """A&L fit on every trailing window of a 1-D series: entry t uses x[t - window + 1 .. t]
    (nothing after t). Entries t < window - 1 have too little history and are fitted on the
    points available. O(n) from prefix sums of the pair terms, measured from x[0] (a causal
    reference: later values cannot touch earlier fits, even in rounding); float32 keeps about
    4-5 digits of the window's variance while the series stays within ~20 window standard
    deviations of x[0] (one trading year of a spread, say)."""
    window = positive_int("window", window, minimum=4)
    x0 = x[0]
    xc = x - x0
    lo, hi = xc[:-1], xc[1:]
    terms = jnp.stack([jnp.ones_like(lo), lo, hi, lo * lo, lo * hi, hi * hi])
    cum = jnp.concatenate([jnp.zeros((6, 1), x.dtype), jnp.cumsum(terms, axis=1)], axis=1)
    # the window ending at t holds pairs k = t - window + 1 .. t - 1 (pair k: x[k] -> x[k + 1])
    end = jnp.arange(x.shape[0])
    sums = cum[:, end] - cum[:, jnp.maximum(end - (window - 1), 0)]
    a, b, var_zeta = _ar1_from_sums(jnp.maximum(sums[0], 3.0), *sums[1:])
    fit = ou_from_ar1(a, b, var_zeta, xc, dt_years)
    return fit.replace(a=fit.a + x0 * (1 - b), mean=fit.mean + x0)


def mean_reverting(fit: OUFit, min_kappa_per_year: float = AL_MIN_KAPPA_PER_YEAR) -> jax.Array:
    """A&L's filter: kappa > `min_kappa_per_year` (default 252/30) with 0 < b < 1."""
    return (fit.b > 0) & (fit.b < 1) & (fit.kappa_per_year > min_kappa_per_year)
