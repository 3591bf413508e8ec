"""The impact-level market: Almgren-Chriss prices with linear, power-law and transient impact.

One decision interval of length tau (days): the child order of q shares (signed: buys > 0)
reaches the market after a sampled latency l, meets the price S + sigma W(l) plus the transient
displacement D left by earlier trades, and pays the temporary impact; then the rest of the
interval's Brownian move and the permanent impact gamma * q are applied:

    p_exec = S + sigma W(l) + D + h(q)            h: linear, power-law and transient parts
    S'     = S + sigma W(tau) + gamma * q         (arithmetic; geometric multiplies instead)

With zero latency, no transient and no power-law term this is exactly the discrete model of
Almgren & Chriss (2000), eq. (1)-(4): the trade of interval k executes at S_{k-1} - h(n_k / tau).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import is_concrete, positive, positive_int, require
from wmjax.market._impact import (
    TRANSIENT_KERNELS,
    linear_permanent_impact,
    linear_temporary_impact,
    power_law_temporary_impact,
    propagator,
    transient_execution_offset,
)
from wmjax.market._latency import (
    LATENCY_SAMPLERS,
    LatencyScenario,
    check_latency_scenario,
    sample_latency_us,
)
from wmjax.market._protocol import Fills

PRICE_MODELS = ("arithmetic", "geometric")
NO_LATENCY = LatencyScenario("none", 0.0, 0.0, False)


@struct.dataclass
class ImpactParams:
    """Parameters of the impact-level market (a PyTree: vmap, fit or differentiate any leaf).

    Attributes:
        arrival_price: mid price when the order arrives, price units.
        sigma: daily price volatility, price units per sqrt(day) (AC 2000's sigma).
        daily_volume_shares: average daily market volume, shares.
        volume_frac: (n_steps,) expected share of daily volume traded in each interval.
        vol_mult: (n_steps,) volatility multiplier of each interval (ones: flat).
        volume_noise: std of the mean-one log-normal noise on each interval's volume.
        gamma: linear permanent impact, price units per share.
        epsilon: fixed temporary cost per share (half spread plus fees), price units.
        eta: linear temporary impact, price units per (share / day).
        sqrt_coefficient: Y of the power-law temporary impact Y sigma (|q| / V)^delta (0: off).
        sqrt_exponent: delta of the power law (1/2: the square-root law).
        transient_strength: G(0) of the transient kernel, price units per share (0: off).
        transient_resilience: resilience rho (exponential) or 1 / t0 (power law), per day.
        transient_exponent: beta of the power-law kernel.
        latency_us: mean one-way latency of child orders, microseconds (a `LatencyScenario`'s).
        latency_jitter_us: its standard deviation, microseconds.
        noise_sign: +1, or -1 for the antithetic twin (all exogenous shocks negated).
    """

    arrival_price: jax.Array
    sigma: jax.Array
    daily_volume_shares: jax.Array
    volume_frac: jax.Array
    vol_mult: jax.Array
    volume_noise: jax.Array
    gamma: jax.Array
    epsilon: jax.Array
    eta: jax.Array
    sqrt_coefficient: jax.Array
    sqrt_exponent: jax.Array
    transient_strength: jax.Array
    transient_resilience: jax.Array
    transient_exponent: jax.Array
    latency_us: jax.Array
    latency_jitter_us: jax.Array
    noise_sign: jax.Array

    @property
    def n_steps(self) -> int:
        return int(np.shape(self.volume_frac)[-1])


def impact_params(
    n_steps: int,
    *,
    arrival_price: float = 50.0,
    sigma: float = 0.95,
    daily_volume_shares: float = 5e6,
    volume_frac=None,
    vol_mult=None,
    volume_noise: float = 0.0,
    gamma: float = 0.0,
    epsilon: float = 0.0,
    eta: float = 0.0,
    sqrt_coefficient: float = 0.0,
    sqrt_exponent: float = 0.5,
    transient_strength: float = 0.0,
    transient_resilience: float = 0.0,
    transient_exponent: float = 0.5,
    latency: LatencyScenario = NO_LATENCY,
) -> ImpactParams:
    """Checked `ImpactParams` in float32 for `n_steps` decision intervals.

    By default volume is spread evenly over the intervals as one day's volume (`volume_frac`
    = 1 / n_steps each) and volatility is flat; pass `u_shaped_profile(...)` for intraday shapes.

    Every value may be a JAX tracer, so sensitivities ("greeks") come from `jax.grad` / `vmap`
    straight through this constructor (concrete values are checked, traced ones cannot be):

        def expected_cost_bps(sigma, eta, adv):
            p = impact_params(5, sigma=sigma, eta=eta, daily_volume_shares=adv)
            return rollout(key, ImpactMarket(), p, schedule_policy, twap(5), o, cfg).is_bps.mean()

        d_sigma, d_eta, d_adv = jax.grad(expected_cost_bps, argnums=(0, 1, 2))(0.95, 2.5e-6, 5e6)
    """
    n = positive_int("n_steps", n_steps)
    volume_frac = np.full(n, 1.0 / n) if volume_frac is None else volume_frac
    vol_mult = np.ones(n) if vol_mult is None else vol_mult
    for name, arr in (("volume_frac", volume_frac), ("vol_mult", vol_mult)):
        shape = tuple(jnp.shape(arr))
        require(shape == (n,), f"{name} must have shape ({n},) (one per step), got {shape}")
    check_latency_scenario(latency)

    def checked(name, value, allow_zero=True):
        # traced values (under jax.grad / vmap) cannot be checked on the host: they pass as is
        if is_concrete(value):
            positive(name, value, allow_zero=allow_zero)
        return jnp.asarray(value, jnp.float32)

    return ImpactParams(
        arrival_price=checked("arrival_price", arrival_price, allow_zero=False),
        sigma=checked("sigma", sigma),
        daily_volume_shares=checked("daily_volume_shares", daily_volume_shares, allow_zero=False),
        volume_frac=checked("volume_frac", volume_frac, allow_zero=False),
        vol_mult=checked("vol_mult", vol_mult),
        volume_noise=checked("volume_noise", volume_noise),
        gamma=checked("gamma", gamma),
        epsilon=checked("epsilon", epsilon),
        eta=checked("eta", eta),
        sqrt_coefficient=checked("sqrt_coefficient", sqrt_coefficient),
        sqrt_exponent=checked("sqrt_exponent", sqrt_exponent, allow_zero=False),
        transient_strength=checked("transient_strength", transient_strength),
        transient_resilience=checked("transient_resilience", transient_resilience),
        transient_exponent=checked("transient_exponent", transient_exponent),
        latency_us=checked("latency", latency.one_way_latency_us),
        latency_jitter_us=checked("latency jitter", latency.jitter_us),
        noise_sign=jnp.float32(1.0),
    )


@struct.dataclass
class ImpactState:
    """State of one path: the interval index, the price S without transient displacement, the
    displacement D our past trades left (exponential kernel: a Markov state, D' = a (D + k q)),
    the signed shares traded in each interval (power-law kernel only; empty otherwise), the
    pre-drawn market volumes."""

    step: jax.Array
    price: jax.Array
    displacement: jax.Array
    trade_history: jax.Array
    volumes: jax.Array
    side: jax.Array
    interval_days: jax.Array


@struct.dataclass
class ImpactObservation:
    """What a policy sees: mid = S + transient displacement (price units); the interval's market
    volume (shares, as it prints: POV tracks it); the model's sigma and eta; the interval."""

    mid: jax.Array
    arrival_price: jax.Array
    volume_shares: jax.Array
    sigma: jax.Array
    eta: jax.Array
    interval_days: jax.Array


@dataclass(frozen=True)
class ImpactMarket:
    """The impact-level market (static configuration; follows `wmjax.market.Market`).

    Attributes:
        price_model: "arithmetic" (AC 2000) or "geometric" (log-price Brownian, sigma / S0).
        kernel: transient kernel, "exponential" (Obizhaeva-Wang; O(1) per step) or "power_law"
            (O(n_steps) per step: the whole history is convolved with the kernel).
        latency_method: latency sampler, "lognormal" or "truncnormal".
        trading_day_s: seconds in a trading day, to turn microseconds of latency into days.
    """

    price_model: str = "arithmetic"
    kernel: str = "exponential"
    latency_method: str = "lognormal"
    trading_day_s: float = 23400.0

    def __post_init__(self):
        require(self.price_model in PRICE_MODELS, f"price_model must be one of {PRICE_MODELS}")
        require(self.kernel in TRANSIENT_KERNELS, f"kernel must be one of {TRANSIENT_KERNELS}")
        require(
            self.latency_method in LATENCY_SAMPLERS,
            f"latency_method must be one of {LATENCY_SAMPLERS}",
        )
        positive("trading_day_s", self.trading_day_s)

    def init(self, key, params: ImpactParams, order, n_steps: int) -> ImpactState:
        s2 = jnp.log1p(params.volume_noise**2)
        z = params.noise_sign * jax.random.normal(key, (n_steps,), jnp.float32)
        noise = jnp.exp(jnp.sqrt(s2) * z - 0.5 * s2)
        return ImpactState(
            step=jnp.int32(0),
            price=jnp.asarray(params.arrival_price, jnp.float32),
            displacement=jnp.float32(0.0),
            trade_history=jnp.zeros(n_steps if self.kernel == "power_law" else 0, jnp.float32),
            volumes=params.daily_volume_shares * params.volume_frac * noise,
            side=jnp.asarray(order.side, jnp.float32),
            interval_days=jnp.asarray(order.horizon_days / n_steps, jnp.float32),
        )

    def _displacement(self, state: ImpactState, params: ImpactParams) -> jax.Array:
        if self.kernel == "exponential":
            return state.displacement
        lags = jnp.arange(state.trade_history.shape[0], dtype=jnp.float32)
        lag_days = (state.step - lags) * state.interval_days
        kernel = propagator(
            self.kernel,
            jnp.maximum(lag_days, 0.0),
            params.transient_strength,
            params.transient_resilience,
            params.transient_exponent,
        )
        return jnp.sum(jnp.where(lags < state.step, kernel * state.trade_history, 0.0))

    def observe(self, state: ImpactState, params: ImpactParams) -> ImpactObservation:
        return ImpactObservation(
            mid=state.price + self._displacement(state, params),
            arrival_price=params.arrival_price,
            volume_shares=state.volumes[state.step],
            sigma=params.sigma,
            eta=params.eta,
            interval_days=state.interval_days,
        )

    def _move(self, price, sigma, dt, z, params):
        if self.price_model == "arithmetic":
            return price + sigma * jnp.sqrt(dt) * z
        rel = sigma / params.arrival_price
        return price * jnp.exp(rel * jnp.sqrt(dt) * z - 0.5 * rel**2 * dt)

    def step(self, key, state: ImpactState, action, params: ImpactParams):
        k_latency, k_price = jax.random.split(key)
        tau = state.interval_days
        scenario = LatencyScenario("params", params.latency_us, params.latency_jitter_us)
        latency_us = sample_latency_us(k_latency, scenario, (), self.latency_method)
        latency_days = jnp.minimum(latency_us * 1e-6 / self.trading_day_s, tau)
        z = params.noise_sign * jax.random.normal(k_price, (2,), jnp.float32)
        sigma = params.sigma * params.vol_mult[state.step]
        volume = state.volumes[state.step]
        shares = jnp.asarray(action, jnp.float32)
        q = state.side * shares
        price_on_arrival = self._move(state.price, sigma, latency_days, z[0], params)
        temporary = (
            linear_temporary_impact(q, tau, params.epsilon, params.eta)
            + power_law_temporary_impact(
                q, volume, params.sigma, params.sqrt_coefficient, params.sqrt_exponent
            )
            + transient_execution_offset(
                q, self._displacement(state, params), params.transient_strength
            )
        )
        exec_price = price_on_arrival + temporary
        next_price = self._move(
            price_on_arrival, sigma, tau - latency_days, z[1], params
        ) + linear_permanent_impact(q, params.gamma)
        next_state = state.replace(
            step=state.step + 1,
            price=next_price,
            displacement=self._next_displacement(state, q, params),
            trade_history=(
                state.trade_history.at[state.step].set(q)
                if self.kernel == "power_law"
                else state.trade_history
            ),
        )
        return next_state, Fills(
            shares=shares, notional=shares * exec_price, market_volume_shares=volume
        )

    def _next_displacement(self, state: ImpactState, q, params: ImpactParams) -> jax.Array:
        if self.kernel != "exponential":
            return state.displacement
        decay = jnp.exp(-params.transient_resilience * state.interval_days)
        return decay * (state.displacement + params.transient_strength * q)

    def mirror(self, params: ImpactParams) -> ImpactParams:
        return params.replace(noise_sign=-params.noise_sign)
