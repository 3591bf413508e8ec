"""The execution world model: a learned, fast surrogate of the execution simulator.

An encoder maps the execution's starting state (order size vs ADV, horizon, volatility, impact
coefficients, spread, volume noise, book resilience, the regime chain, the dark pool's
liquidity, the lit touch's fill capacity) and, in flight, the execution state so far
(`InFlight`: elapsed and remaining fractions, participation, price move and IS so far) to the
initial carry of a GRU cell that steps over the rest of the child-order plan (planned
fraction, POV rate and completion rule, clock, expected volume share, expected volatility and
liquidity multipliers and P(stressed) under the regime chain, venue type: the share routed
dark, order type: the share posted as limit orders) and emits each interval's impact (bps);
heads on the last carry give the expected implementation shortfall (bps), its standard
deviation (execution risk, bps) and the probability of completing on time. Trained on
`wmjax.execution.rollout` of many plans over randomised markets (`sample_problems`,
`simulate_plans`), like a DreamerV3 world model's `imagine` (Hafner et al. 2023) with the
simulator as the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from wmjax._checks import positive_int, require
from wmjax.execution import Order, train
from wmjax.market import ImpactParams, VenueParams, expected_paths, liquidity_tails
from wmjax.models._execution_world_data import (
    N_STATE_FEATURES,
    InFlight,
    Plan,
    arrival_state,
    contrast_problems,
    execution_market,
    plan_routing,
    simulate_plans,
)
from wmjax.models._weights import WEIGHTS, load_params, save_params

N_MARKET_FEATURES = 23
N_STEP_FEATURES = 12
DARK_FEATURE_MAX_LOTS = 64


def _venues(params) -> VenueParams:
    return execution_market(params) if isinstance(params, ImpactParams) else params


def execution_features(params: VenueParams | ImpactParams, order: Order) -> jax.Array:
    """(23,) encoder inputs, each of order one. The impact market (12): log volatility, log
    size / ADV, log horizon, log volume time / horizon (share of a day's volume per day of
    horizon), power-law Y and delta, log1p of the linear temporary, permanent, half-spread and
    transient costs at the TWAP rate (bps), volume noise, transient resilience * horizon. The
    regime chain (7): regime at arrival, log volatility and liquidity multipliers of the calm
    and the stressed regime, the two switch probabilities. The dark pool (3): expected fill
    share of a TWAP child order sent dark (up to 64 lots), price improvement (share of the half
    spread), log1p of the adverse move at that fill (bps). The touch (1): log1p of the limit
    fill capacity over the horizon / Q."""
    venues = _venues(params)
    regime, p = venues.lit, venues.lit.base
    s0, q, t = p.arrival_price, order.quantity_shares, order.horizon_days
    to_bps = 1e4 / s0
    child_lots = q / p.n_steps / venues.lot_shares
    lots = jnp.arange(DARK_FEATURE_MAX_LOTS + 1, dtype=jnp.float32)
    tails = liquidity_tails(venues, DARK_FEATURE_MAX_LOTS)[0]
    # E[min(a, L)] = sum_{s >= 1} P(L >= s) [s <= a], linear between whole lots
    expected_lots = jnp.sum(jnp.where(lots >= 1, tails * jnp.clip(child_lots - lots + 1, 0, 1), 0))
    return jnp.stack(
        [
            jnp.log(p.sigma / s0 / 0.02),
            jnp.log(q / p.daily_volume_shares / 0.05),
            jnp.log(t),
            jnp.log(jnp.sum(p.volume_frac) / t),
            p.sqrt_coefficient,
            p.sqrt_exponent,
            jnp.log1p(p.eta * q / t * to_bps),
            jnp.log1p(p.gamma * q * to_bps),
            jnp.log1p(p.epsilon * to_bps),
            p.volume_noise,
            jnp.log1p(p.transient_strength * q * to_bps),
            p.transient_resilience * t,
            regime.initial_regime,
            jnp.log(regime.regime_sigma_mult[0]),
            jnp.log(regime.regime_sigma_mult[1]),
            jnp.log(regime.regime_eta_mult[0]),
            jnp.log(regime.regime_eta_mult[1]),
            regime.switch_prob[0],
            regime.switch_prob[1],
            expected_lots / jnp.maximum(child_lots, 1e-6),
            venues.improvement_frac[0],
            jnp.log1p(venues.adverse_bps_per_lot[0] * expected_lots),
            jnp.log1p(
                venues.passive_fill_share * p.daily_volume_shares * jnp.sum(p.volume_frac) / q
            ),
        ]
    )


def _regime_paths(venues: VenueParams) -> tuple[jax.Array, jax.Array, jax.Array]:
    # per interval: volatility multiplier sqrt(E m_k^2), liquidity-cost multiplier E[l_k] and
    # P(stressed) under the chain from the arrival regime (`expected_paths`' weights)
    regime = venues.lit
    p_stressed = expected_paths(regime)[2]
    w = jnp.stack([1.0 - p_stressed, p_stressed], axis=-1)
    vol = regime.base.vol_mult * jnp.sqrt(w @ regime.regime_sigma_mult**2)
    return vol, regime.eta_mult * (w @ regime.regime_eta_mult), p_stressed


def step_features(plan: Plan, params: VenueParams | ImpactParams, order: Order) -> jax.Array:
    """(n_steps, 12): planned fraction of the order (POV: rate * expected volume / Q), POV flag,
    rate, completion rule, clock, relative expected volume, expected volatility and
    liquidity-cost multipliers and P(stressed), planned fraction done before, the share routed
    dark, the share posted as limit orders."""
    venues = _venues(params)
    p = venues.lit.base
    n = p.volume_frac.shape[-1]
    expected_volume = p.daily_volume_shares * p.volume_frac
    is_pov = (plan.pov_rate > 0).astype(jnp.float32)
    pov_frac = jnp.minimum(plan.pov_rate * expected_volume / order.quantity_shares, 1.0)
    frac = jnp.where(is_pov > 0, pov_frac, plan.fractions)
    vol, liquidity, p_stressed = _regime_paths(venues)
    dark, limit = plan_routing(plan, n)
    ones = jnp.ones(n)
    return jnp.stack(
        [
            frac,
            is_pov * ones,
            plan.pov_rate * ones,
            plan.finish * ones,
            jnp.arange(n) / n,
            p.volume_frac / jnp.mean(p.volume_frac),
            vol,
            liquidity,
            p_stressed,
            jnp.cumsum(frac) - frac,
            dark,
            limit,
        ],
        axis=-1,
    )


def price_risk_bps(
    plan: Plan, params: VenueParams | ImpactParams, order: Order, start: jax.Array = 0
) -> jax.Array:
    """The plan's price risk (bps), the anchor of the risk head: the std of the arithmetic
    market's Brownian part of IS, sigma sqrt(tau sum_{k >= start} m_k^2 r_k^2) / S0, with r_k
    the planned share still to do after interval k (POV: at its expected volume) and m_k^2 the
    expected squared volatility multiplier under the regime chain (Almgren & Chriss 2000, eq. 7
    with time-varying sigma); `start` = j leaves out the moves of the j intervals already done
    (floored at a tenth of the arrival risk)."""
    x = step_features(plan, params, order)
    frac, vol = x[:, 0], x[:, 6]
    remaining = jnp.clip(1.0 - jnp.cumsum(frac), 0.0, 1.0)
    n = frac.shape[0]
    tau = order.horizon_days / n
    terms = tau * vol**2 * remaining**2
    # in flight, floored at 10% of the arrival risk (the last interval has none left by plan)
    var = jnp.maximum(jnp.sum(jnp.where(jnp.arange(n) >= start, terms, 0.0)), 0.01 * jnp.sum(terms))
    sigma = _venues(params).lit.base.sigma
    arrival = _venues(params).lit.base.arrival_price
    return 1e4 * sigma / arrival * jnp.sqrt(jnp.maximum(var, 1e-12))


def state_features(state: InFlight) -> jax.Array:
    """(5,) encoder inputs of the in-flight state, each of order one: elapsed fraction,
    remaining fraction, 10 x participation so far (clipped at 10), price move / 100 bps,
    IS so far / 100 bps."""
    return jnp.stack(
        [
            state.elapsed_frac,
            state.remaining_frac,
            jnp.clip(10.0 * state.participation, 0.0, 10.0),
            state.price_move_bps / 100.0,
            state.is_so_far_bps / 100.0,
        ]
    )


def _start_step(state: InFlight, n_steps: int) -> jax.Array:
    return jnp.round(state.elapsed_frac * n_steps).astype(jnp.int32)


class _WorldNet(nn.Module):
    hidden: int

    @nn.compact
    def __call__(self, market_x, state_x, steps_x, start, accrued_x):
        x = jnp.concatenate([market_x, state_x])
        h = nn.tanh(nn.Dense(self.hidden)(nn.tanh(nn.Dense(self.hidden)(x))))
        cell = nn.GRUCell(self.hidden)

        def step(c, carry, xs):
            # intervals before `start` are done: the carry passes them unchanged
            x_k, active = xs
            new, out = c(carry, x_k)
            return jnp.where(active, new, carry), out

        scan = nn.scan(step, variable_broadcast="params", split_rngs={"params": False})
        active = jnp.arange(steps_x.shape[0]) >= start
        carry, outs = scan(cell, h, (steps_x, active))
        impact = nn.Dense(1)(outs)[..., 0]
        head = nn.Dense(3)(nn.tanh(nn.Dense(self.hidden)(jnp.concatenate([carry, h]))))
        # a learned linear read-out of IS so far and remaining x price move (zero at arrival,
        # initialised at 0): the closed form of an arithmetic market has coefficients 1 and 1
        accrued = nn.Dense(1, use_bias=False, kernel_init=nn.initializers.zeros)(accrued_x)[0]
        return impact, head.at[0].add(accrued)


@dataclass(frozen=True)
class ExecutionWorldModel:
    """Predicts, for one plan on one market, at arrival or in flight: per-interval impact
    (bps), E[IS] (bps, of the whole order: the shortfall so far included), Std[IS] (bps; the
    plan's `price_risk_bps` over the intervals left times a learned factor) and P(complete on
    time). In flight (`InFlight` after j intervals) the GRU steps over intervals j..n-1 only."""

    hidden: int = 64

    def init(self, key, n_steps: int = 10):
        return _WorldNet(self.hidden).init(
            key,
            jnp.zeros(N_MARKET_FEATURES),
            jnp.zeros(N_STATE_FEATURES),
            jnp.zeros((n_steps, N_STEP_FEATURES)),
            0,
            jnp.zeros(2),
        )

    def imagine(
        self, params, plan: Plan, market_params, order: Order, state: InFlight | None = None
    ) -> dict:
        """{"impact_bps" (n_steps,), "is_mean_bps", "is_std_bps", "completion_prob"} for one
        plan on one market (`VenueParams` of `EXECUTION_MARKET`, or `ImpactParams`: one calm
        regime, no dark liquidity, no limit fills), given the state `state` (default: at
        arrival, `arrival_state()`); impact of intervals already done is meaningless."""
        state = arrival_state() if state is None else state
        steps_x = step_features(plan, market_params, order)
        start = _start_step(state, steps_x.shape[0])
        accrued_x = (
            jnp.stack([state.is_so_far_bps, state.remaining_frac * state.price_move_bps]) / 10.0
        )
        impact, head = _WorldNet(self.hidden).apply(
            params,
            execution_features(market_params, order),
            state_features(state),
            steps_x,
            start,
            accrued_x,
        )
        risk = price_risk_bps(plan, market_params, order, start)
        return {
            "impact_bps": 10.0 * impact,
            "is_mean_bps": 10.0 * head[0],
            "is_std_bps": risk * jnp.exp(head[1]),
            "completion_prob": jax.nn.sigmoid(head[2]),
        }


def train_execution_world_model(
    key,
    data: tuple,
    labels: dict,
    model: ExecutionWorldModel = ExecutionWorldModel(),
    *,
    n_updates: int = 1500,
    batch: int = 256,
    learning_rate: float = 3e-3,
    arrival_share: float = 0.5,
    callback=None,
):
    """Fit on (params, orders, plans) and `simulate_plans` labels: squared errors of E[IS] and
    the per-interval impact (bps / 10), the Gaussian likelihood of the sample variance of IS
    (2 r + exp(-2 r) - 1 with r = log(predicted / sample std), minimised in expectation by the
    true variance, where a squared log error would aim low by 1 / (2 dof)), and the
    cross-entropy of completion. With per-path labels (`simulate_plans(..., per_path=True)`)
    each sample is in flight after j intervals, j = 0 with probability `arrival_share`, else
    uniform in 1..n-1, on one random path: its labels are that path's final IS, completion and
    impact (of intervals j..n-1), so the squared loss aims at E[. | in-flight state] (the IS
    error weighted by 1 / max(predicted Std[IS] / 10 bps, 1)^2, a function of the inputs only),
    and the risk term's "sample std" is the path's |IS - predicted mean| (the same Gaussian
    likelihood, up to a constant). At j = 0 every path has the same state and the path means
    are used: the same expected gradient, less noise."""
    positive_int("batch", batch)
    params, orders, plans = data
    n = orders.quantity_shares.shape[0]
    require(n >= batch, f"batch ({batch}) must be <= the number of problems ({n})")
    n_steps = plans.fractions.shape[-1]
    in_flight = "state" in labels
    imagine = jax.vmap(model.imagine, in_axes=(None, 0, 0, 0, 0))

    def sample(k, lab):
        # (in-flight state, IS, sample std or None, completion, impact, interval mask) per row
        arrival = jax.tree.map(lambda x: jnp.broadcast_to(x, (batch,)), arrival_state())
        if not in_flight:
            mask = jnp.ones((batch, n_steps))
            return arrival, lab["is_mean_bps"], None, lab["completion"], lab["impact_bps"], mask
        k_j, k_path, k_share = jax.random.split(k, 3)
        j = jax.random.randint(k_j, (batch,), 1, n_steps)
        j = jnp.where(jax.random.uniform(k_share, (batch,)) < arrival_share, 0, j)
        path = jax.random.randint(k_path, (batch,), 0, lab["path_is_bps"].shape[1])
        rows = jnp.arange(batch)
        state = jax.tree.map(lambda x: x[rows, path, j], lab["state"])
        at0 = j == 0
        pick = lambda mean, per_path: jnp.where(  # noqa: E731
            at0.reshape((-1,) + (1,) * (mean.ndim - 1)), mean, per_path[rows, path]
        )
        mask = (jnp.arange(n_steps) >= j[:, None]).astype(jnp.float32)
        return (
            state,
            pick(lab["is_mean_bps"], lab["path_is_bps"]),
            at0,
            pick(lab["completion"], lab["path_completion"]),
            pick(lab["impact_bps"], lab["path_impact_bps"]),
            mask,
        )

    def loss(net, k):
        k_idx, k_state = jax.random.split(k)
        idx = jax.random.choice(k_idx, n, (batch,), replace=False)
        take = lambda tree: jax.tree.map(lambda x: x[idx], tree)  # noqa: E731
        lab = take(labels)
        state, is_bps, at0, completion, impact_bps, mask = sample(k_state, lab)
        out = imagine(net, take(plans), take(params), take(orders), state)
        p = jnp.clip(out["completion_prob"], 1e-6, 1 - 1e-6)
        target_std, weight = lab["is_std_bps"], 1.0
        if at0 is not None:
            residual = jnp.abs(is_bps - jax.lax.stop_gradient(out["is_mean_bps"]))
            target_std = jnp.where(at0, target_std, residual)
            # a single path's IS is noisy (the price risk still ahead): its squared error in
            # units of the predicted Std[IS] (floored at 10 bps), a weight of the inputs only,
            # so still minimised by E[IS | state]
            scale = jnp.maximum(jax.lax.stop_gradient(out["is_std_bps"]) / 10.0, 1.0)
            weight = jnp.where(at0, 1.0, 1.0 / scale**2)
        r = jnp.log(out["is_std_bps"]) - jnp.log(jnp.maximum(target_std, 1e-3))
        impact = jnp.sum(mask * ((out["impact_bps"] - impact_bps) / 10.0) ** 2, axis=-1)
        return jnp.mean(
            weight * ((out["is_mean_bps"] - is_bps) / 10.0) ** 2
            + 2.0 * r
            + jnp.exp(-2.0 * r)
            - 1.0
            + impact / jnp.sum(mask, axis=-1)
            - (completion * jnp.log(p) + (1 - completion) * jnp.log1p(-p))
        )

    sched = optax.cosine_decay_schedule(learning_rate, n_updates, alpha=0.02)
    return train(
        loss, model.init(key, n_steps), optax.adam(sched), key, n_updates, callback=callback
    )


def contrast_effects(key, model, params, data: tuple, n_pairs: int, n_paths: int = 64) -> dict:
    """The effect of each new input or action (`contrast_problems`: dark vs lit routing, limit
    vs market orders, stressed vs calm arrival) on E[IS] (bps) and on-time completion, per
    pair, as the simulator shows it (both sides of a pair on the same key: common random
    numbers; one simulation of all pairs) and as the model predicts it:
    {name: {"simulator": {"is_mean_bps", "completion"}, "model": {...}}}, arrays (n_pairs,)."""
    pairs = contrast_problems(data, n_pairs)
    sides = [side for pair in pairs.values() for side in pair]
    sizes = [side[1].quantity_shares.shape[0] for side in sides]
    stacked = jax.tree.map(lambda *xs: jnp.concatenate(xs), *sides)
    keys = jnp.concatenate(
        [jax.random.split(jax.random.fold_in(key, i // 2), m) for i, m in enumerate(sizes)]
    )
    venues, orders, plans = stacked
    sim = simulate_plans(keys, venues, orders, plans, n_paths=n_paths)
    pred = jax.vmap(model.imagine, in_axes=(None, 0, 0, 0))(params, plans, venues, orders)
    pred = {"is_mean_bps": pred["is_mean_bps"], "completion": pred["completion_prob"]}
    ends = np.cumsum([0, *sizes])
    out = {}
    for i, name in enumerate(pairs):
        a, b, c = ends[2 * i], ends[2 * i + 1], ends[2 * i + 2]
        effect = lambda y: {k: np.asarray(y[k][b:c] - y[k][a:b]) for k in y}  # noqa: E731, B023
        out[name] = {"simulator": effect(sim), "model": effect(pred)}
    return out


PRETRAINED = WEIGHTS / "execution_world_v3.msgpack"


def save_execution_world(path, params) -> None:
    """Write the model's params (flax msgpack)."""
    save_params(path, params)


def load_execution_world(path=None, model: ExecutionWorldModel = ExecutionWorldModel(), n_steps=10):
    """Read params written by `save_execution_world` (default: the packaged pre-trained
    `execution_world_v3.msgpack` for 10 intervals, trained by benchmarks/execution_world.py)."""
    return load_params(PRETRAINED if path is None else path, model.init(jax.random.key(0), n_steps))
