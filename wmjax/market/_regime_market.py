"""The impact market with intraday-varying volatility and liquidity and regime switches.

A thin layer over `ImpactMarket`: interval k of a path in regime r has volatility
sigma * vol_mult[k] * regime_sigma_mult[r] and linear temporary impact
eta * eta_mult[k] * regime_eta_mult[r] (the power-law coefficient scales with the same liquidity
multiplier) and linear permanent impact gamma * gamma_mult[k] * regime_eta_mult[r] (the regime's
liquidity multiplier scales both, as `apply_regime` does), so the discrete Almgren & Chriss
(2000) model holds period by period with sigma_k, eta_k, gamma_k. The regime is a two-state
Markov chain (0 calm, 1 stressed) that may switch after each interval with probability
`switch_prob[r]`, drawn from the step's key only (exogenous: common random numbers across
policies), as in Hamilton (1989), "A new approach to the economic analysis of nonstationary time
series and the business cycle".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, positive, require
from wmjax.market._impact_market import ImpactMarket, ImpactParams, ImpactState

N_REGIMES = 2


@struct.dataclass
class RegimeParams:
    """`ImpactParams` plus the time-varying liquidity and the regime chain (a PyTree).

    Attributes:
        base: the impact market's params; its `vol_mult` is the intraday volatility shape.
        eta_mult: (n_steps,) multiplier of eta (and of the power-law coefficient) per interval.
        gamma_mult: (n_steps,) multiplier of the permanent impact gamma per interval.
        regime_sigma_mult: (2,) volatility multiplier in the calm and the stressed regime.
        regime_eta_mult: (2,) liquidity-cost multiplier in each regime.
        switch_prob: (2,) probability of leaving regime r after an interval.
        initial_regime: regime at arrival, 0 (calm) or 1 (stressed), float.
    """

    base: ImpactParams
    eta_mult: jax.Array
    gamma_mult: jax.Array
    regime_sigma_mult: jax.Array
    regime_eta_mult: jax.Array
    switch_prob: jax.Array
    initial_regime: jax.Array

    @property
    def n_steps(self) -> int:
        return self.base.n_steps


def regime_params(
    base: ImpactParams,
    *,
    eta_mult=None,
    gamma_mult=None,
    regime_sigma_mult=(1.0, 1.0),
    regime_eta_mult=(1.0, 1.0),
    switch_prob=(0.0, 0.0),
    initial_regime: int = 0,
) -> RegimeParams:
    """Checked float32 `RegimeParams` over `base` (flat liquidity and one regime by default)."""
    n = base.n_steps
    paths = {}
    for name, value in (("eta_mult", eta_mult), ("gamma_mult", gamma_mult)):
        paths[name] = np.ones(n) if value is None else positive(name, value)
        shape = np.shape(paths[name])
        require(shape == (n,), f"{name} must have shape ({n},), got {shape}")
    for name, value in (
        ("regime_sigma_mult", regime_sigma_mult),
        ("regime_eta_mult", regime_eta_mult),
    ):
        arr = positive(name, value)
        require(arr.shape == (N_REGIMES,), f"{name} needs one value per regime (calm, stressed)")
    probs = finite_array("switch_prob", switch_prob)
    require(
        probs.shape == (N_REGIMES,) and bool(np.all((probs >= 0) & (probs <= 1))),
        f"switch_prob must be two probabilities in [0, 1] (leave calm, leave stressed): {probs}",
    )
    require(
        initial_regime in (0, 1),
        f"initial_regime must be 0 (calm) or 1 (stressed), got {initial_regime}",
    )
    f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    return RegimeParams(
        base=base,
        eta_mult=f32(paths["eta_mult"]),
        gamma_mult=f32(paths["gamma_mult"]),
        regime_sigma_mult=f32(regime_sigma_mult),
        regime_eta_mult=f32(regime_eta_mult),
        switch_prob=f32(probs),
        initial_regime=f32(initial_regime),
    )


def expected_paths(params: RegimeParams) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-interval sqrt(E[sigma_k^2]) (price / sqrt(day)), E[eta_k] (price per share / day) and
    P(stressed in interval k) under the regime chain, from the arrival regime; (n_steps,) each.

    For a static schedule on linear impact these are the inputs of the mean-variance optimum:
    E[IS] and E[Var(IS | regimes)] are linear in E[eta_k] and E[sigma_k^2]."""
    p = _stressed_probability(params)
    w = jnp.stack([1.0 - p, p], axis=-1)
    sigma2 = (params.base.sigma * params.base.vol_mult) ** 2 * (w @ params.regime_sigma_mult**2)
    eta = params.base.eta * params.eta_mult * (w @ params.regime_eta_mult)
    return jnp.sqrt(sigma2), eta, p


def _stressed_probability(params: RegimeParams) -> jax.Array:
    p01, p10 = params.switch_prob[0], params.switch_prob[1]

    def advance(p_stressed, _):
        return p_stressed * (1.0 - p10) + (1.0 - p_stressed) * p01, p_stressed

    _, p = jax.lax.scan(advance, params.initial_regime, None, length=params.n_steps)
    return p


def expected_gamma_path(params: RegimeParams) -> jax.Array:
    """E[gamma_k] (price per share), (n_steps,): E[IS] of a static schedule is linear in it
    (sum_k gamma_k n_k x_k), so with `expected_paths` it completes the optimum's inputs."""
    p = _stressed_probability(params)
    w = jnp.stack([1.0 - p, p], axis=-1)
    return params.base.gamma * params.gamma_mult * (w @ params.regime_eta_mult)


@struct.dataclass
class RegimeState:
    inner: ImpactState
    regime: jax.Array


@struct.dataclass
class RegimeObservation:
    """What a policy sees: the impact market's fields with this interval's sigma_k and eta_k,
    and the current regime (0 calm, 1 stressed)."""

    mid: jax.Array
    arrival_price: jax.Array
    volume_shares: jax.Array
    sigma: jax.Array
    eta: jax.Array
    interval_days: jax.Array
    regime: jax.Array


@dataclass(frozen=True)
class RegimeImpactMarket:
    """`ImpactMarket` with per-interval sigma_k, eta_k and a regime chain (follows `Market`)."""

    impact: ImpactMarket = field(default_factory=ImpactMarket)

    def _interval_params(self, state: RegimeState, params: RegimeParams) -> ImpactParams:
        r = state.regime.astype(jnp.int32)
        k = jnp.minimum(state.inner.step, params.n_steps - 1)
        liquidity = params.eta_mult[k] * params.regime_eta_mult[r]
        base = params.base
        return base.replace(
            vol_mult=base.vol_mult * params.regime_sigma_mult[r],
            eta=base.eta * liquidity,
            gamma=base.gamma * params.gamma_mult[k] * params.regime_eta_mult[r],
            sqrt_coefficient=base.sqrt_coefficient * liquidity,
        )

    def init(self, key, params: RegimeParams, order, n_steps: int) -> RegimeState:
        return RegimeState(
            inner=self.impact.init(key, params.base, order, n_steps),
            regime=params.initial_regime,
        )

    def observe(self, state: RegimeState, params: RegimeParams) -> RegimeObservation:
        p = self._interval_params(state, params)
        o = self.impact.observe(state.inner, p)
        k = jnp.minimum(state.inner.step, params.n_steps - 1)
        return RegimeObservation(
            mid=o.mid,
            arrival_price=o.arrival_price,
            volume_shares=o.volume_shares,
            sigma=p.sigma * p.vol_mult[k],
            eta=p.eta,
            interval_days=o.interval_days,
            regime=state.regime,
        )

    def step(self, key, state: RegimeState, action, params: RegimeParams):
        k_market, k_regime = jax.random.split(key)
        inner, fills = self.impact.step(
            k_market, state.inner, action, self._interval_params(state, params)
        )
        r = state.regime.astype(jnp.int32)
        switch = jax.random.uniform(k_regime) < params.switch_prob[r]
        regime = jnp.where(switch, 1.0 - state.regime, state.regime)
        return RegimeState(inner=inner, regime=regime), fills

    def mirror(self, params: RegimeParams) -> RegimeParams:
        return params.replace(base=self.impact.mirror(params.base))
