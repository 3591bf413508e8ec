"""Cointegrated baskets: a common factor plus Ornstein-Uhlenbeck spreads whose speed and
volatility switch with a Markov regime; a regime with kappa = 0 is a correlation breakdown.

Log price of asset i on day t:

    p_i(t) = p_i(0) + loading_i F(t) + X_i(t)

F is a Brownian common factor (drift mu_F, volatility sigma_F per sqrt(year)); X_i is an OU
spread dX = -kappa_r X dt + scale_i sigma_r dW_i with (kappa_r, sigma_r) set by the basket's
regime r(t), a Markov chain on trading days. The OU step is exact (Uhlenbeck & Ornstein 1930):

    X(t + dt) = X(t) e^{-kappa dt} + scale sigma sqrt((1 - e^{-2 kappa dt}) / (2 kappa)) eps

(sigma sqrt(dt) eps when kappa = 0). The spread of the pair (i, j) with hedge ratio
loading_i / loading_j is X_i - (loading_i / loading_j) X_j; an anchor asset with scale 0 makes
the spread of (i, anchor) exactly X_i. Every draw of day t comes from fold_in(key, t).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, positive, positive_int, require

TRADING_DAYS_PER_YEAR = 252.0


@struct.dataclass
class BasketParams:
    """Parameters of a cointegrated basket (a PyTree: vmap over any leaf).

    Attributes:
        kappa_per_year: (n_regimes,) mean-reversion speed of the spreads in each regime, 1/year.
        sigma_per_sqrt_year: (n_regimes,) spread volatility in each regime, log units/sqrt(year).
        transition: (n_regimes, n_regimes) daily regime transition matrix (rows sum to 1).
        initial_regime_probs: (n_regimes,) distribution of the first day's regime.
        loadings: (n_assets,) loading of each asset on the common factor (hedge ratios).
        spread_scale: (n_assets,) multiplier of each asset's spread volatility (0: anchor).
        factor_drift_per_year: drift of the common factor, log units per year.
        factor_vol_per_sqrt_year: volatility of the common factor, log units per sqrt(year).
        cost_bps: transaction cost per side, bps of the notional traded (used by backtests).
    """

    kappa_per_year: jax.Array
    sigma_per_sqrt_year: jax.Array
    transition: jax.Array
    initial_regime_probs: jax.Array
    loadings: jax.Array
    spread_scale: jax.Array
    factor_drift_per_year: jax.Array
    factor_vol_per_sqrt_year: jax.Array
    cost_bps: jax.Array


@dataclass(frozen=True)
class BasketConfig:
    """Static shape of a simulation: days simulated and the length of a day in years."""

    n_days: int = 252
    dt_years: float = 1.0 / TRADING_DAYS_PER_YEAR


@struct.dataclass
class BasketState:
    """Day t of a basket: factor level, spreads (n_assets,), regime index and the day."""

    factor: jax.Array
    spreads: jax.Array
    regime: jax.Array
    day: jax.Array


@struct.dataclass
class BasketPath:
    """A simulated basket. Shapes (n_days + 1, ...) with day 0 first.

    Attributes:
        log_prices: (n_days + 1, n_assets) log prices (p_i(0) = 0).
        spreads: (n_days + 1, n_assets) OU spreads X_i.
        factor: (n_days + 1,) common factor F.
        regime: (n_days + 1,) regime index (int32).
    """

    log_prices: jax.Array
    spreads: jax.Array
    factor: jax.Array
    regime: jax.Array


def basket_params(
    *,
    kappa_per_year=(25.2, 8.0, 0.0),
    sigma_per_sqrt_year=(0.15, 0.30, 0.30),
    transition=None,
    loadings=(1.0, 0.8),
    spread_scale=(1.0, 0.0),
    factor_drift_per_year: float = 0.05,
    factor_vol_per_sqrt_year: float = 0.2,
    cost_bps: float = 5.0,
) -> BasketParams:
    """Checked `BasketParams`. The default: a pair (asset 1 the anchor) with a calm reverting
    regime (half-life 6.9 days), a volatile slow one and a breakdown (kappa = 0); without
    `transition` regimes last ~120, ~40 and ~30 days on average."""
    kappa = positive("kappa_per_year", kappa_per_year, allow_zero=True)
    sigma = positive("sigma_per_sqrt_year", sigma_per_sqrt_year, allow_zero=True)
    require(
        kappa.ndim == 1 and kappa.shape == sigma.shape,
        f"kappa_per_year and sigma_per_sqrt_year need one entry per regime, got shapes "
        f"{kappa.shape} and {sigma.shape}",
    )
    n_reg = kappa.shape[0]
    if transition is None:
        stay = np.array([1 - 1 / 120, 1 - 1 / 40, 1 - 1 / 30][:n_reg] + [0.98] * (n_reg - 3))
        transition = np.where(
            np.eye(n_reg) > 0, stay[:, None], (1 - stay[:, None]) / max(n_reg - 1, 1)
        )
        transition = transition if n_reg > 1 else np.ones((1, 1))
    trans = positive("transition", transition, allow_zero=True)
    require(
        trans.shape == (n_reg, n_reg) and np.allclose(trans.sum(1), 1.0, atol=1e-6),
        f"transition must be a ({n_reg}, {n_reg}) matrix whose rows sum to 1, got {trans}",
    )
    load = finite_array("loadings", loadings, ndim=1)
    scale = positive("spread_scale", spread_scale, allow_zero=True)
    require(
        scale.shape == load.shape,
        f"spread_scale needs one entry per asset like loadings {load.shape}, got {scale.shape}",
    )
    f32 = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
    return BasketParams(
        kappa_per_year=f32(kappa),
        sigma_per_sqrt_year=f32(sigma),
        transition=f32(trans),
        initial_regime_probs=f32(np.full(n_reg, 1.0 / n_reg)),
        loadings=f32(load),
        spread_scale=f32(scale),
        factor_drift_per_year=f32(finite_array("factor_drift_per_year", factor_drift_per_year)),
        factor_vol_per_sqrt_year=f32(
            positive("factor_vol_per_sqrt_year", factor_vol_per_sqrt_year)
        ),
        cost_bps=f32(positive("cost_bps", cost_bps, allow_zero=True)),
    )


def ou_exact_step(x, kappa, sigma, dt, eps):
    """One exact OU step towards 0: mean x e^{-kappa dt}, sd sigma sqrt((1 - e^{-2 kappa dt}) /
    (2 kappa)) (sigma sqrt(dt) at kappa = 0). Units: kappa per unit of dt, sigma per sqrt(unit)."""
    safe = jnp.where(kappa > 0, kappa, 1.0)
    var_per_sigma2 = jnp.where(kappa > 0, -jnp.expm1(-2 * safe * dt) / (2 * safe), dt)
    return x * jnp.exp(-kappa * dt) + sigma * jnp.sqrt(var_per_sigma2) * eps


def basket_init(key: jax.Array, params: BasketParams) -> BasketState:
    """Day 0: factor 0, spreads drawn from the first regime's stationary law (0 if kappa = 0)."""
    k_reg, k_x = jax.random.split(key)
    regime = jax.random.categorical(k_reg, jnp.log(params.initial_regime_probs))
    kappa = params.kappa_per_year[regime]
    sd = jnp.where(
        kappa > 0, params.sigma_per_sqrt_year[regime] / jnp.sqrt(2 * jnp.maximum(kappa, 1e-12)), 0.0
    )
    eps = jax.random.normal(k_x, params.loadings.shape)
    return BasketState(
        factor=jnp.zeros((), jnp.float32),
        spreads=params.spread_scale * sd * eps,
        regime=regime.astype(jnp.int32),
        day=jnp.zeros((), jnp.int32),
    )


def basket_step(key: jax.Array, state: BasketState, params: BasketParams, config: BasketConfig):
    """One trading day: the regime moves first, then factor and spreads (exact OU step) under the
    new regime. `key` is the path's key; the day's draws come from fold_in(key, day)."""
    k_reg, k_f, k_x = jax.random.split(jax.random.fold_in(key, state.day), 3)
    regime = jax.random.categorical(k_reg, jnp.log(params.transition[state.regime])).astype(
        jnp.int32
    )
    dt = config.dt_years
    factor = (
        state.factor
        + params.factor_drift_per_year * dt
        + params.factor_vol_per_sqrt_year * jnp.sqrt(dt) * jax.random.normal(k_f)
    )
    eps = jax.random.normal(k_x, state.spreads.shape)
    spreads = ou_exact_step(
        state.spreads,
        params.kappa_per_year[regime],
        params.spread_scale * params.sigma_per_sqrt_year[regime],
        dt,
        eps,
    )
    return BasketState(factor=factor, spreads=spreads, regime=regime, day=state.day + 1)


def simulate_basket(key: jax.Array, params: BasketParams, config: BasketConfig) -> BasketPath:
    """One basket path of `config.n_days` days (pure; `jax.vmap` over keys and params)."""
    k_init, k_path = jax.random.split(key)
    state0 = basket_init(k_init, params)

    def body(state, _):
        new = basket_step(k_path, state, params, config)
        return new, (new.factor, new.spreads, new.regime)

    _, (factor, spreads, regime) = jax.lax.scan(body, state0, None, length=config.n_days)
    factor = jnp.concatenate([state0.factor[None], factor])
    spreads = jnp.concatenate([state0.spreads[None], spreads])
    regime = jnp.concatenate([state0.regime[None], regime])
    return BasketPath(
        log_prices=factor[:, None] * params.loadings + spreads,
        spreads=spreads,
        factor=factor,
        regime=regime,
    )


def simulate_baskets(key: jax.Array, params: BasketParams, config: BasketConfig, n_paths: int):
    """`n_paths` independent baskets under one `params` (vmapped); leaves gain a leading axis."""
    keys = jax.random.split(key, positive_int("n_paths", n_paths))
    return _simulate_many(keys, params, config)


_simulate_many = jax.jit(jax.vmap(simulate_basket, in_axes=(0, None, None)), static_argnums=2)
