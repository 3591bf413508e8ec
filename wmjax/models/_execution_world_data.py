"""Training data of the execution world model: child-order plans (size, venue type, order type)
over randomised markets (impact laws, intraday shapes, regime chains, a dark pool, the lit near
touch), and the simulator's labels from `wmjax.execution.rollout`.

The market is `VenuesMarket(1, RegimeImpactMarket())`: the impact market under a two-state
regime chain (Hamilton 1989), one dark pool of hidden liquidity (Ganchev et al. 2010), and limit
orders resting at the lit touch. An `ImpactParams` market is the special case with one calm
regime, no dark liquidity and limit orders that never fill (`execution_market`).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._numerics import divide_where
from wmjax.execution import (
    Order,
    POVParams,
    RolloutConfig,
    pov_policy,
    rollout,
    schedule_policy,
)
from wmjax.market import (
    ImpactParams,
    RecordingMarket,
    RegimeImpactMarket,
    RegimeParams,
    VenueAction,
    VenueParams,
    VenuesMarket,
    impact_params,
    regime_params,
    sample_venues,
    u_shaped_profile,
)

EXECUTION_MARKET = VenuesMarket(1, RegimeImpactMarket())
N_STATE_FEATURES = 5


@struct.dataclass
class InFlight:
    """The execution state after the first j of n intervals (j = 0: at arrival). Scalars for one
    order, or arrays (e.g. (n_paths, n_steps): every path at every j, `in_flight_states`).

    Attributes:
        elapsed_frac: j / n.
        remaining_frac: share of the order not yet filled.
        participation: our filled shares / the market's volume so far (0 at arrival).
        price_move_bps: side * (mid - arrival mid) / arrival mid * 1e4 (positive is adverse).
        is_so_far_bps: implementation shortfall accrued so far, side * (paid - filled * arrival
            mid), in bps of the whole order's arrival notional.
    """

    elapsed_frac: jax.Array
    remaining_frac: jax.Array
    participation: jax.Array
    price_move_bps: jax.Array
    is_so_far_bps: jax.Array


def arrival_state() -> InFlight:
    """The state at arrival: nothing elapsed or filled, no price move, no shortfall."""
    zero = jnp.float32(0.0)
    return InFlight(zero, jnp.float32(1.0), zero, zero, zero)


def in_flight_states(paths, order: Order, market_volume_shares: jax.Array) -> InFlight:
    """Every path's state before each interval j = 0..n-1, fields (n_paths, n_steps), from a
    rollout's `Paths` and the market volume per interval (n_paths, n_steps)."""
    n = paths.shares.shape[-1]
    before = lambda x: jnp.cumsum(x, axis=-1) - x  # noqa: E731  (sum over intervals < j)
    s0 = paths.arrival_price[..., None]
    done = before(paths.shares)
    volume = before(market_volume_shares)
    to_bps = 1e4 / s0
    return InFlight(
        elapsed_frac=jnp.broadcast_to(jnp.arange(n) / n, done.shape).astype(jnp.float32),
        remaining_frac=1.0 - done / order.quantity_shares,
        participation=divide_where(volume > 0, done, volume),
        price_move_bps=order.side * (paths.mid[..., :n] - s0) * to_bps,
        is_so_far_bps=order.side
        * before(paths.notional - paths.shares * s0)
        * to_bps
        / order.quantity_shares,
    )


@struct.dataclass
class Plan:
    """A child-order plan: a trade list, or POV at `pov_rate` (> 0) that finishes in the last
    interval when `finish` > 0 and may end incomplete otherwise. Per interval (scalars
    broadcast), `dark_frac` of the marketable part goes to the dark pool first (venue type) and
    `limit_frac` of the child order rests as a limit order at the lit touch (order type; the
    last interval is all marketable when `finish` > 0)."""

    fractions: jax.Array
    pov_rate: jax.Array
    finish: jax.Array
    dark_frac: jax.Array = 0.0
    limit_frac: jax.Array = 0.0


def plan_routing(plan: Plan, n_steps: int) -> tuple[jax.Array, jax.Array]:
    """(n_steps,) dark and limit fractions of each interval's child order, as played."""
    last = (jnp.arange(n_steps) == n_steps - 1) & (plan.finish > 0)
    limit = jnp.where(last, 0.0, jnp.broadcast_to(plan.limit_frac, (n_steps,)))
    return jnp.broadcast_to(plan.dark_frac, (n_steps,)), limit


def plan_policy(plan: Plan, obs) -> VenueAction:
    """The child order of `plan` (trade list or POV) and its routing on `EXECUTION_MARKET`."""
    following = pov_policy(POVParams(plan.pov_rate, plan.finish), obs)
    shares = jnp.where(plan.pov_rate > 0, following, schedule_policy(plan.fractions, obs))
    dark, limit = plan_routing(plan, obs.n_steps)
    passive = limit[obs.step] * shares
    dark_shares = (dark[obs.step] * (shares - passive))[None]
    return VenueAction(shares, dark_shares, jnp.zeros_like(dark_shares), passive)


def execution_market(params: ImpactParams) -> VenueParams:
    """The impact market as an `EXECUTION_MARKET` market: one calm regime, a dark pool that
    never has liquidity, limit orders that never fill (vmap over `params` as one likes)."""
    one = jnp.ones_like(params.volume_frac)
    lit = RegimeParams(
        base=params,
        eta_mult=one,
        gamma_mult=one,
        regime_sigma_mult=jnp.ones(2, jnp.float32),
        regime_eta_mult=jnp.ones(2, jnp.float32),
        switch_prob=jnp.zeros(2, jnp.float32),
        initial_regime=jnp.float32(0.0),
    )
    return VenueParams(
        lit=lit,
        lot_shares=jnp.float32(100.0),
        zero_prob=jnp.ones(1, jnp.float32),
        tail_kind=jnp.zeros(1, jnp.int32),
        poisson_mean_lots=jnp.ones(1, jnp.float32),
        power_exponent=jnp.full(1, 1.5, jnp.float32),
        improvement_frac=jnp.ones(1, jnp.float32),
        adverse_bps_per_lot=jnp.zeros(1, jnp.float32),
        passive_fill_share=jnp.float32(0.0),
    )


def _profile_bank(n_steps: int) -> np.ndarray:
    # volume shapes (each sums to 1): flat, and the U-shaped day seen through windows of it
    # (the whole day, its first or last part, as a desk's horizon covers them)
    windows = [(0.0, 1.0), (0.0, 0.5), (0.0, 0.25), (0.5, 1.0), (0.75, 1.0), (0.25, 0.75)]
    shapes = [np.full(n_steps, 1.0 / n_steps)]
    for start, end in windows:
        p = u_shaped_profile(n_steps, start, end)
        shapes.append(p / p.sum())
    return np.stack(shapes)


def sample_problems(key, n: int, n_steps: int = 10) -> tuple[VenueParams, Order, Plan]:
    """n random (market, order, plan) triples. Markets: flat volume or windows of the U-shaped
    day, volume time 0.7-1.5 x the horizon, square-root or 3/5 power, linear, permanent,
    spread, volume noise and transient impact; in half of them a regime chain (stressed
    volatility x1.3-3, liquidity cost x1-2, switching), in half a dark pool (`sample_venues`,
    lots of 1/40-1/2 of a TWAP child order), in 70% a fillable touch (1-30% of the volume).
    Plans: random trade lists, front-loaded lists, or POV with and without the completion rule;
    each routes a share of 0, 1 or U(0, 1) dark and posts 0 or U(0, 1) as limit orders."""
    ks = iter(jax.random.split(key, 48))
    u = lambda lo, hi: jax.random.uniform(next(ks), (n,), minval=lo, maxval=hi)  # noqa: E731
    logu = lambda lo, hi: jnp.exp(u(np.log(lo), np.log(hi)))  # noqa: E731
    on = lambda p: (u(0, 1) < p).astype(jnp.float32)  # noqa: E731
    s0, adv = 50.0, logu(1e6, 2e7)
    sigma = logu(0.01, 0.04) * s0
    shapes = jnp.asarray(_profile_bank(n_steps), jnp.float32)
    horizon = logu(0.2, 1.0)
    pick = jax.random.randint(next(ks), (n,), 0, shapes.shape[0])
    frac = shapes[pick] * (horizon * u(0.7, 1.5))[:, None]
    # volatility follows activity in half the markets (`volatility_multipliers`), flat otherwise
    follows = (u(0, 1) < 0.5)[:, None]
    vol_mult = jnp.where(follows, jnp.sqrt(shapes[pick] * n_steps), 1.0)
    batch = lambda tree: jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), tree)  # noqa: E731
    base = batch(impact_params(n_steps, arrival_price=s0)).replace(
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
    regimes = on(0.5)[:, None]
    pair = lambda lo, hi: jnp.stack([jnp.ones(n), u(lo, hi)], axis=-1)  # noqa: E731
    mix = lambda x: regimes * x + (1 - regimes) * jnp.ones_like(x)  # noqa: E731
    lit = batch(regime_params(impact_params(n_steps))).replace(
        base=base,
        regime_sigma_mult=mix(pair(1.3, 3.0)),
        regime_eta_mult=mix(pair(1.0, 2.0)),
        switch_prob=regimes * jnp.stack([u(0.0, 0.15), u(0.0, 0.3)], axis=-1),
        initial_regime=regimes[:, 0] * on(0.4),
    )
    size = logu(0.005, 0.15) * adv * horizon
    pools = jax.vmap(lambda k: sample_venues(k, impact_params(n_steps), 1))(
        jax.random.split(next(ks), n)
    )
    venues = pools.replace(
        lit=lit,
        lot_shares=size / n_steps / logu(2.0, 40.0),
        zero_prob=jnp.where(on(0.5)[:, None] > 0, pools.zero_prob, 1.0),
        passive_fill_share=on(0.7) * logu(0.01, 0.3),
    )
    orders = Order(size, horizon, jnp.ones(n), jnp.zeros(n))
    logits = jax.random.normal(next(ks), (n, n_steps)) * u(0.0, 1.5)[:, None]
    front = -u(0.0, 1.0)[:, None] * jnp.arange(n_steps)
    fractions = jax.nn.softmax(jnp.where(u(0, 1)[:, None] < 0.3, front, logits), axis=-1)
    participation = size / (adv * horizon)
    is_pov = u(0, 1) < 0.4
    rate = jnp.where(is_pov, participation * u(0.7, 1.5), 0.0)
    level = u(0, 1)
    dark = jnp.where(level < 0.4, 0.0, jnp.where(level < 0.6, 1.0, u(0, 1)))
    limit = jnp.where(u(0, 1) < 0.45, 0.0, u(0, 1))
    # a third of the plans change their routing from interval to interval
    jitter = lambda x: jnp.clip(  # noqa: E731
        x[:, None] + on(0.3)[:, None] * 0.3 * jax.random.normal(next(ks), (n, n_steps)), 0, 1
    )
    plans = Plan(
        fractions=fractions,
        pov_rate=jnp.minimum(rate, 1.0),
        finish=on(0.5),
        dark_frac=jitter(dark),
        limit_frac=jitter(limit),
    )
    return venues, orders, plans


@partial(jax.jit, static_argnames=("n_paths", "n_steps"))
def _label_plans(keys, params, orders, plans, n_paths: int, n_steps: int):
    # compiled once per (n_paths, n_steps)
    config = RolloutConfig(n_paths=n_paths, n_steps=n_steps, antithetic=True, shard=False)
    market = RecordingMarket(EXECUTION_MARKET)

    def one(mp, o, plan, k):
        p = rollout(k, market, mp, plan_policy, plan, o, config)
        traded = p.shares > 0
        impact = (
            jnp.where(traded, p.exec_price - p.final_state.mids, 0.0) / p.arrival_price[:, None]
        )
        done = (p.completion >= 1.0 - 1e-4).astype(jnp.float32)
        return {
            "is_mean_bps": jnp.mean(p.is_bps),
            "is_std_bps": jnp.std(p.is_bps, ddof=1),
            "completion": jnp.mean(done),
            "impact_bps": jnp.mean(impact, axis=0) * 1e4,
            "path_is_bps": p.is_bps,
            "path_completion": done,
            "path_impact_bps": impact * 1e4,
            "state": in_flight_states(p, o, p.final_state.volumes),
        }

    return jax.vmap(one)(params, orders, plans, keys)


def simulate_plans(key, params, orders, plans, n_paths: int = 32, per_path: bool = False) -> dict:
    """Simulator labels per problem on `EXECUTION_MARKET` (`params`: `VenueParams`, or
    `ImpactParams` lifted by `execution_market`): mean and std of IS (bps), on-time completion
    rate, and each interval's mean impact (bps; average fill price minus the mid, where we
    traded). With `per_path`, also each path's IS "path_is_bps" (n, n_paths), on-time
    completion "path_completion" (n, n_paths), impact "path_impact_bps" (n, n_paths, n_steps)
    and "state", its `InFlight` state before every interval (fields (n, n_paths, n_steps)).
    `key` is one key (split per problem) or one key per problem (equal keys: common random
    numbers)."""
    if isinstance(params, ImpactParams):
        params = jax.vmap(execution_market)(params)
    n_steps = params.n_steps
    n = orders.quantity_shares.shape[0]
    keys = jax.random.split(key, n) if jnp.ndim(key) == 0 else key
    # scalar fields (the routing defaults) broadcast to one per problem
    plans = jax.tree.map(
        lambda x: jnp.broadcast_to(x, (n,)) if jnp.ndim(x) == 0 else x,
        plans,
    )
    labels = _label_plans(keys, params, orders, plans, n_paths, n_steps)
    if not per_path:
        labels = {k: v for k, v in labels.items() if not (k == "state" or k.startswith("path_"))}
    return labels


CONTRASTS = ("dark", "limit", "regime")


def contrast_problems(data: tuple, n_pairs: int) -> dict[str, tuple[tuple, tuple]]:
    """Pairs of problems that differ in one new input or action, for checking that a model
    responds to it as the simulator does: per name in `CONTRASTS`, (lit, dark) = the plan
    routes nothing / everything dark, on markets with a dark pool; (market, limit) = no limit
    orders / 60% of each child order (last interval marketable), on markets whose touch fills;
    (calm, stressed) = arrival regime 0 / 1, on markets with a regime chain. `data` is
    `sample_problems`' output (eager: selects on the host); the first `n_pairs` of each."""
    venues, orders, plans = data
    take = lambda tree, idx: jax.tree.map(lambda x: x[idx], tree)  # noqa: E731
    picks = {
        "dark": np.flatnonzero(np.asarray(venues.zero_prob[:, 0]) < 1.0),
        "limit": np.flatnonzero(np.asarray(venues.passive_fill_share) > 0.0),
        "regime": np.flatnonzero(np.asarray(venues.lit.regime_sigma_mult[:, 1]) > 1.0),
    }
    out = {}
    for name in CONTRASTS:
        idx = picks[name][:n_pairs]
        v, o, p = take(venues, idx), take(orders, idx), take(plans, idx)
        zeros, ones = jnp.zeros_like(p.dark_frac), jnp.ones_like(p.dark_frac)
        if name == "dark":
            p = p.replace(limit_frac=zeros)
            pair = ((v, o, p.replace(dark_frac=zeros)), (v, o, p.replace(dark_frac=ones)))
        elif name == "limit":
            p = p.replace(dark_frac=zeros, finish=jnp.ones_like(p.finish))
            pair = ((v, o, p.replace(limit_frac=zeros)), (v, o, p.replace(limit_frac=0.6 * ones)))
        else:
            calm, stressed = (
                v.replace(lit=v.lit.replace(initial_regime=jnp.full_like(v.lit.initial_regime, r)))
                for r in (0.0, 1.0)
            )
            pair = ((calm, o, p), (stressed, o, p))
        out[name] = pair
    return out
