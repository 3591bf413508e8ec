"""Oracles for the stat-arb estimators: the A&L OU map and its small-sample bias, the rolling fit,
and Engle-Granger's size and power."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax.calibrate import (
    eg_critical_value,
    engle_granger,
    fit_ou_ar1,
    mean_reverting,
    ou_from_ar1,
    rolling_ou_fit,
)
from wmjax.market import BasketConfig, basket_params, ou_exact_step, simulate_baskets


def test_al_map_from_ar1_coefficients_is_exact(x64):
    a, b, var_zeta, x = 0.003, 0.9, 2.5e-5, 0.05
    fit = ou_from_ar1(jnp.float64(a), jnp.float64(b), jnp.float64(var_zeta), jnp.float64(x))
    kappa = -np.log(b) * 252
    m = a / (1 - b)
    sigma_eq = np.sqrt(var_zeta / (1 - b * b))
    assert float(fit.kappa_per_year) == pytest.approx(kappa, rel=1e-14)
    assert float(fit.mean) == pytest.approx(m, rel=1e-14)
    assert float(fit.sigma_eq) == pytest.approx(sigma_eq, rel=1e-14)
    assert float(fit.s_score) == pytest.approx((x - m) / sigma_eq, rel=1e-13)
    # the two time scales are different quantities: ln 2 / kappa and 1 / kappa, in days
    assert float(fit.half_life_days) == pytest.approx(np.log(2) / kappa * 252, rel=1e-14)
    assert float(fit.mean_reversion_time_days) == pytest.approx(252 / kappa, rel=1e-14)
    assert bool(mean_reverting(fit))  # kappa = 26.6 > 252/30
    assert not bool(mean_reverting(ou_from_ar1(a, jnp.float64(0.97), var_zeta, x)))  # 7.7


def test_window_fit_matches_an_independent_least_squares(x64):
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(size=60)) * 0.01 + 1.0
    slope, intercept = np.polyfit(x[:-1], x[1:], 1)
    resid = x[1:] - (intercept + slope * x[:-1])
    fit = fit_ou_ar1(jnp.asarray(x))
    assert float(fit.b) == pytest.approx(slope, rel=1e-9)
    assert float(fit.a) == pytest.approx(intercept, rel=1e-8, abs=1e-12)
    assert float(fit.var_zeta) == pytest.approx(resid @ resid / (59 - 2), rel=1e-9)


def test_rolling_fit_equals_window_fits_and_never_looks_ahead():
    rng = np.random.default_rng(4)
    x = jnp.asarray(np.cumsum(rng.normal(size=200)) * 0.01 + 0.3, jnp.float32)
    rolled = rolling_ou_fit(x, 60)
    for t in (59, 120, 199):
        one = fit_ou_ar1(x[t - 59 : t + 1])
        assert float(rolled.s_score[t]) == pytest.approx(float(one.s_score), abs=2e-3)
        assert float(rolled.b[t]) == pytest.approx(float(one.b), abs=2e-4)
    # changing the future leaves every past fit unchanged, to the last bit
    changed = rolling_ou_fit(x.at[150:].set(5.0), 60)
    np.testing.assert_array_equal(changed.s_score[:150], rolled.s_score[:150])


def test_ar1_kappa_from_60_days_is_biased_up():
    # true kappa 25.2/year (b = e^{-0.1}); the AR(1) slope of 60 points is biased down
    # (Kendall 1954), so kappa comes out near 41 in the median, not 25.2
    n_paths, kappa, dt = 4000, 25.2, 1 / 252

    def path(key):
        k0, k1 = jax.random.split(key)
        x0 = jax.random.normal(k0) * 0.2 / jnp.sqrt(2 * kappa)
        eps = jax.random.normal(k1, (59,))
        step = lambda x, e: (ou_exact_step(x, kappa, 0.2, dt, e),) * 2  # noqa: E731
        _, xs = jax.lax.scan(step, x0, eps)
        return fit_ou_ar1(jnp.concatenate([x0[None], xs])).kappa_per_year

    est = np.asarray(jax.jit(jax.vmap(path))(jax.random.split(jax.random.key(0), n_paths)))
    median = np.median(est[np.isfinite(est)])
    assert 36 < median < 46
    assert np.mean(est > kappa) > 0.75


def test_engle_granger_size_on_independent_random_walks_is_nominal():
    n_rep, n_days = 8000, 250
    k1, k2 = jax.random.split(jax.random.key(1))
    y = jnp.cumsum(jax.random.normal(k1, (n_rep, n_days)), 1)
    x = jnp.cumsum(jax.random.normal(k2, (n_rep, n_days)), 1)
    reject = jax.jit(jax.vmap(lambda a, b: engle_granger(a, b).cointegrated))(y, x)
    rate = float(reject.mean())
    se = np.sqrt(0.05 * 0.95 / n_rep)
    assert abs(rate - 0.05) < 2 * se, (rate, se)


def test_engle_granger_rejects_on_simulated_cointegrated_pairs():
    params = basket_params(
        kappa_per_year=(25.2,), sigma_per_sqrt_year=(0.15,), loadings=(1.0, 0.8),
        spread_scale=(1.0, 0.0),
    )  # fmt: skip
    paths = simulate_baskets(jax.random.key(2), params, BasketConfig(n_days=500), 1000)
    lp = paths.log_prices
    eg = jax.jit(jax.vmap(engle_granger))(lp[:, :, 0], lp[:, :, 1])
    assert float(eg.cointegrated.mean()) > 0.95
    # hedge ratio: loading 1.0 against 0.8
    assert float(jnp.median(eg.hedge_ratio)) == pytest.approx(1.25, rel=0.02)


def test_critical_values_are_mackinnon_2010():
    # MacKinnon (2010) Table 2, N = 2, constant: the asymptotic 5% value and T = 100
    assert float(eg_critical_value(1e12)) == pytest.approx(-3.33613, abs=1e-5)
    t = 100.0
    assert float(eg_critical_value(t, 0.01)) == pytest.approx(
        -3.89644 - 10.9519 / t - 33.527 / t**2, abs=1e-5
    )
    with pytest.raises(ValueError, match="level"):
        eg_critical_value(100, 0.2)
