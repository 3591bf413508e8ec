"""The execution world model: a learned, fast surrogate of the execution simulator.

An encoder maps the execution's starting state (order size vs ADV, horizon, volatility, impact
coefficients, spread, volume noise, book resilience) to the initial carry of a GRU cell that
steps over the child-order plan (planned fraction, POV rate and completion rule, clock, expected
volume share) and emits each interval's temporary impact (bps); heads on the last carry give the
expected implementation shortfall (bps), its standard deviation (execution risk, bps) and the
probability of completing on time. Trained on `wmjax.execution.rollout` of many plans (random
trade lists, the standard strategies, POV with and without a completion rule) over randomised
`ImpactMarket`s, like a DreamerV3 world model's `imagine` (Hafner et al. 2023) with the
simulator as the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from wmjax._checks import positive_int, require
from wmjax.execution import (
    Order,
    POVParams,
    RolloutConfig,
    pov_policy,
    rollout,
    schedule_policy,
    train,
)
from wmjax.market import (
    ImpactMarket,
    ImpactParams,
    RecordingMarket,
    impact_params,
    u_shaped_profile,
)
from wmjax.models._weights import WEIGHTS, load_params, save_params

N_MARKET_FEATURES = 12
N_STEP_FEATURES = 8


@struct.dataclass
class Plan:
    """A child-order plan: a trade list, or POV at `pov_rate` (> 0) that finishes in the last
    interval when `finish` > 0 and may end incomplete otherwise."""

    fractions: jax.Array
    pov_rate: jax.Array
    finish: jax.Array


def plan_policy(plan: Plan, obs) -> jax.Array:
    """Shares to trade under `plan` (trade list or POV)."""
    following = pov_policy(POVParams(plan.pov_rate, plan.finish), obs)
    return jnp.where(plan.pov_rate > 0, following, schedule_policy(plan.fractions, obs))


def execution_features(params: ImpactParams, order: Order) -> jax.Array:
    """(12,) encoder inputs, each of order one: log volatility, log size / ADV, log horizon,
    log volume time / horizon (share of a day's volume per day of horizon),
    power-law Y and delta, log1p of the linear temporary, permanent, half-spread and transient
    costs at the TWAP rate (bps), volume noise, transient resilience * horizon."""
    s0, q, t = params.arrival_price, order.quantity_shares, order.horizon_days
    to_bps = 1e4 / s0
    return jnp.stack(
        [
            jnp.log(params.sigma / s0 / 0.02),
            jnp.log(q / params.daily_volume_shares / 0.05),
            jnp.log(t),
            jnp.log(jnp.sum(params.volume_frac) / t),
            params.sqrt_coefficient,
            params.sqrt_exponent,
            jnp.log1p(params.eta * q / t * to_bps),
            jnp.log1p(params.gamma * q * to_bps),
            jnp.log1p(params.epsilon * to_bps),
            params.volume_noise,
            jnp.log1p(params.transient_strength * q * to_bps),
            params.transient_resilience * t,
        ]
    )


def step_features(plan: Plan, params: ImpactParams, order: Order) -> jax.Array:
    """(n_steps, 8): planned fraction of the order (POV: rate * expected volume / Q), POV flag,
    rate, completion rule, clock, relative expected volume, volatility multiplier, planned
    fraction done before."""
    n = params.volume_frac.shape[-1]
    expected_volume = params.daily_volume_shares * params.volume_frac
    is_pov = (plan.pov_rate > 0).astype(jnp.float32)
    pov_frac = jnp.minimum(plan.pov_rate * expected_volume / order.quantity_shares, 1.0)
    frac = jnp.where(is_pov > 0, pov_frac, plan.fractions)
    ones = jnp.ones(n)
    return jnp.stack(
        [
            frac,
            is_pov * ones,
            plan.pov_rate * ones,
            plan.finish * ones,
            jnp.arange(n) / n,
            params.volume_frac / jnp.mean(params.volume_frac),
            params.vol_mult,
            jnp.cumsum(frac) - frac,
        ],
        axis=-1,
    )


def price_risk_bps(plan: Plan, params: ImpactParams, order: Order) -> jax.Array:
    """The plan's price risk (bps), the anchor of the risk head: the std of the arithmetic
    market's Brownian part of IS, sigma sqrt(tau sum_k m_k^2 r_k^2) / S0, with r_k the planned
    share still to do after interval k (POV: at its expected volume) and m_k the volatility
    multiplier (Almgren & Chriss 2000, eq. 7 with time-varying sigma)."""
    frac = step_features(plan, params, order)[:, 0]
    remaining = jnp.clip(1.0 - jnp.cumsum(frac), 0.0, 1.0)
    tau = order.horizon_days / frac.shape[0]
    var = tau * jnp.sum(params.vol_mult**2 * remaining**2)
    return 1e4 * params.sigma / params.arrival_price * jnp.sqrt(jnp.maximum(var, 1e-12))


class _WorldNet(nn.Module):
    hidden: int

    @nn.compact
    def __call__(self, market_x, steps_x):
        h = nn.tanh(nn.Dense(self.hidden)(nn.tanh(nn.Dense(self.hidden)(market_x))))
        cell = nn.GRUCell(self.hidden)
        scan = nn.scan(
            lambda c, carry, x: c(carry, x),
            variable_broadcast="params",
            split_rngs={"params": False},
        )
        carry, outs = scan(cell, h, steps_x)
        impact = nn.Dense(1)(outs)[..., 0]
        head = nn.Dense(3)(nn.tanh(nn.Dense(self.hidden)(jnp.concatenate([carry, h]))))
        return impact, head


@dataclass(frozen=True)
class ExecutionWorldModel:
    """Predicts, for one plan on one market: per-interval impact (bps), E[IS] (bps), Std[IS]
    (bps; the plan's `price_risk_bps` times a learned factor) and P(complete on time)."""

    hidden: int = 64

    def init(self, key, n_steps: int = 10):
        return _WorldNet(self.hidden).init(
            key, jnp.zeros(N_MARKET_FEATURES), jnp.zeros((n_steps, N_STEP_FEATURES))
        )

    def imagine(self, params, plan: Plan, market_params: ImpactParams, order: Order) -> dict:
        """{"impact_bps" (n_steps,), "is_mean_bps", "is_std_bps", "completion_prob"}."""
        impact, head = _WorldNet(self.hidden).apply(
            params,
            execution_features(market_params, order),
            step_features(plan, market_params, order),
        )
        return {
            "impact_bps": 10.0 * impact,
            "is_mean_bps": 10.0 * head[0],
            "is_std_bps": price_risk_bps(plan, market_params, order) * jnp.exp(head[1]),
            "completion_prob": jax.nn.sigmoid(head[2]),
        }


def _profile_bank(n_steps: int) -> np.ndarray:
    # volume shapes (each sums to 1): flat, and the U-shaped day seen through windows of it
    # (the whole day, its first or last part, as a desk's horizon covers them)
    windows = [(0.0, 1.0), (0.0, 0.5), (0.0, 0.25), (0.5, 1.0), (0.75, 1.0), (0.25, 0.75)]
    shapes = [np.full(n_steps, 1.0 / n_steps)]
    for start, end in windows:
        p = u_shaped_profile(n_steps, start, end)
        shapes.append(p / p.sum())
    return np.stack(shapes)


def sample_problems(key, n: int, n_steps: int = 10) -> tuple[ImpactParams, Order, Plan]:
    """n random (market, order, plan) triples: flat volume or windows of the U-shaped day, volume
    time 0.7-1.5 x the horizon, square-root or 3/5
    power temporary impact, linear impact, permanent impact, spread, volume noise, transient
    impact; plans are random trade lists, front-loaded lists, or POV with and without the
    completion rule."""
    ks = iter(jax.random.split(key, 40))
    u = lambda lo, hi: jax.random.uniform(next(ks), (n,), minval=lo, maxval=hi)  # noqa: E731
    logu = lambda lo, hi: jnp.exp(u(np.log(lo), np.log(hi)))  # noqa: E731
    s0, adv = 50.0, logu(1e6, 2e7)
    sigma = logu(0.01, 0.04) * s0
    shapes = jnp.asarray(_profile_bank(n_steps), jnp.float32)
    horizon = logu(0.2, 1.0)
    pick = jax.random.randint(next(ks), (n,), 0, shapes.shape[0])
    frac = shapes[pick] * (horizon * u(0.7, 1.5))[:, None]
    # volatility follows activity in half the markets (`volatility_multipliers`), flat otherwise
    follows = (u(0, 1) < 0.5)[:, None]
    vol_mult = jnp.where(follows, jnp.sqrt(shapes[pick] * n_steps), 1.0)
    on = lambda p: (u(0, 1) < p).astype(jnp.float32)  # noqa: E731
    base = impact_params(n_steps, arrival_price=s0)
    params = jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), base).replace(
        sigma=sigma,
        daily_volume_shares=adv,
        volume_frac=frac,
        vol_mult=vol_mult,
        volume_noise=u(0.0, 0.5),
        gamma=on(0.7) * u(0.1, 0.6) * sigma / adv,
        epsilon=on(0.5) * u(0.0, 5e-4) * s0,
        eta=on(0.3) * u(0.1, 0.5) * sigma / adv,
        sqrt_coefficient=on(0.8) * u(0.1, 0.6),
        sqrt_exponent=jnp.where(u(0, 1) < 0.5, 0.5, 0.6),
        transient_strength=on(0.3) * u(0.1, 0.5) * sigma / adv,
        transient_resilience=u(2.0, 40.0),
    )
    size = logu(0.005, 0.15) * adv * horizon
    orders = Order(size, horizon, jnp.ones(n), jnp.zeros(n))
    logits = jax.random.normal(next(ks), (n, n_steps)) * u(0.0, 1.5)[:, None]
    front = -u(0.0, 1.0)[:, None] * jnp.arange(n_steps)
    fractions = jax.nn.softmax(jnp.where(u(0, 1)[:, None] < 0.3, front, logits), axis=-1)
    participation = size / (adv * horizon)
    is_pov = u(0, 1) < 0.4
    rate = jnp.where(is_pov, participation * u(0.7, 1.5), 0.0)
    plans = Plan(fractions=fractions, pov_rate=jnp.minimum(rate, 1.0), finish=on(0.5))
    return params, orders, plans


@partial(jax.jit, static_argnames=("n_paths", "n_steps"))
def _label_plans(keys, params, orders, plans, n_paths: int, n_steps: int):
    # compiled once per (n_paths, n_steps)
    config = RolloutConfig(n_paths=n_paths, n_steps=n_steps, antithetic=True, shard=False)
    market = RecordingMarket(ImpactMarket())

    def one(mp, o, plan, k):
        p = rollout(k, market, mp, plan_policy, plan, o, config)
        traded = p.shares > 0
        impact = (
            jnp.where(traded, p.exec_price - p.final_state.mids, 0.0) / p.arrival_price[:, None]
        )
        return {
            "is_mean_bps": jnp.mean(p.is_bps),
            "is_std_bps": jnp.std(p.is_bps, ddof=1),
            "completion": jnp.mean(p.completion >= 1.0 - 1e-4),
            "impact_bps": jnp.mean(impact, axis=0) * 1e4,
        }

    return jax.vmap(one)(params, orders, plans, keys)


def simulate_plans(key, params, orders, plans, n_paths: int = 32) -> dict:
    """Simulator labels per problem: mean and std of IS (bps), on-time completion rate, and
    each interval's mean temporary impact (bps; fill price minus the mid, where we traded)."""
    n_steps = params.volume_frac.shape[-1]
    keys = jax.random.split(key, params.sigma.shape[0])
    return _label_plans(keys, params, orders, plans, n_paths, n_steps)


def train_execution_world_model(
    key,
    data: tuple,
    labels: dict,
    model: ExecutionWorldModel = ExecutionWorldModel(),
    *,
    n_updates: int = 1500,
    batch: int = 256,
    learning_rate: float = 3e-3,
    callback=None,
):
    """Fit on (params, orders, plans) and `simulate_plans` labels: squared errors of E[IS] and
    the per-interval impact (bps / 10), the Gaussian likelihood of the sample variance of IS
    (2 r + exp(-2 r) - 1 with r = log(predicted / sample std), minimised in expectation by the
    true variance, where a squared log error would aim low by 1 / (2 dof)), and the
    cross-entropy of completion."""
    positive_int("batch", batch)
    params, orders, plans = data
    n = params.sigma.shape[0]
    require(n >= batch, f"batch ({batch}) must be <= the number of problems ({n})")
    n_steps = params.volume_frac.shape[-1]
    imagine = jax.vmap(model.imagine, in_axes=(None, 0, 0, 0))

    def loss(net, k):
        idx = jax.random.choice(k, n, (batch,), replace=False)
        take = lambda tree: jax.tree.map(lambda x: x[idx], tree)  # noqa: E731
        out = imagine(net, take(plans), take(params), take(orders))
        lab = take(labels)
        p = jnp.clip(out["completion_prob"], 1e-6, 1 - 1e-6)
        y = lab["completion"]
        r = jnp.log(out["is_std_bps"]) - jnp.log(jnp.maximum(lab["is_std_bps"], 1e-3))
        return jnp.mean(
            ((out["is_mean_bps"] - lab["is_mean_bps"]) / 10.0) ** 2
            + 2.0 * r
            + jnp.exp(-2.0 * r)
            - 1.0
            + jnp.mean(((out["impact_bps"] - lab["impact_bps"]) / 10.0) ** 2, axis=-1)
            - (y * jnp.log(p) + (1 - y) * jnp.log1p(-p))
        )

    sched = optax.cosine_decay_schedule(learning_rate, n_updates, alpha=0.02)
    return train(
        loss, model.init(key, n_steps), optax.adam(sched), key, n_updates, callback=callback
    )


PRETRAINED = WEIGHTS / "execution_world_v1.msgpack"


def save_execution_world(path, params) -> None:
    """Write the model's params (flax msgpack)."""
    save_params(path, params)


def load_execution_world(path=None, model: ExecutionWorldModel = ExecutionWorldModel(), n_steps=10):
    """Read params written by `save_execution_world` (default: the packaged pre-trained
    `execution_world_v1.msgpack` for 10 intervals, trained by benchmarks/execution_world.py)."""
    return load_params(PRETRAINED if path is None else path, model.init(jax.random.key(0), n_steps))
