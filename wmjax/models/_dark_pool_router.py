"""A learned dark-pool router, trained on simulated venues.

`DarkPoolRoutingModel` (flax): a venue encoder (shared over the K pools) reads what the desk
knows of each pool from its censored fill records (`venue_features`: optimistic Kaplan-Meier
tails at 1 .. FEATURE_LOTS lots and their risk sets, the mean markout per lot filled, the
pool's published price improvement); an order encoder reads the child order and the parent's
progress (`order_features`). Per pool it predicts the fill rate E[min(a, L)] / a of an
allocation of a lots (a learned correction to the Kaplan-Meier plug-in rate), the price
improvement (bps) and the adverse selection (bps per lot filled), and it outputs the
allocation: a softmax over the K pools and the lit market.

Training (`train_router`): Adam on the mean IS (bps) of TWAP executions routed by the model
on `wmjax.market.VenuesMarket`s drawn from `sample_venues` (pathwise gradient: a dark fill
min(a, L) is differentiable in a almost everywhere; fresh paths and venue sets each update),
plus the prediction losses: binary cross-entropy of the fill rate against realised
fills of random allocations, squared errors of improvement and adverse selection against the
simulator's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive, positive_int, require
from wmjax.execution import (
    Observation,
    Order,
    RolloutConfig,
    TrainResult,
    cached_adam,
    schedule_policy,
    train,
)
from wmjax.market import VenueAction, VenueParams, VenuesMarket, sample_liquidity, sample_venues
from wmjax.strategies import (
    FillHistory,
    at_risk_counts,
    kaplan_meier_tails,
    learn_greedy,
    venue_set_rollouts,
)

FEATURE_LOTS = 12
N_VENUE_FEATURES = 2 * FEATURE_LOTS + 2
N_ORDER_FEATURES = 6
ADVERSE_SCALE = 10.0  # bps per lot -> O(1) network units
OPTIMISM = 20.0  # min_at_risk of the optimistic Kaplan-Meier tails (exploration, features)


def venue_features(history: FillHistory, params: VenueParams) -> jax.Array:
    """(K, N_VENUE_FEATURES) what the desk knows of each pool: optimistic Kaplan-Meier tails
    T(1 .. FEATURE_LOTS) from its censored fills, the evidence behind them (log1p of the risk
    sets n_0 .. n_{FEATURE_LOTS - 1}, / 6), the mean markout per lot filled (x10, bps)
    and the published price improvement (bps / 2). Needs history capacity >= FEATURE_LOTS."""
    tails = kaplan_meier_tails(history, OPTIMISM)[:, 1 : FEATURE_LOTS + 1]
    evidence = jnp.log1p(at_risk_counts(history)[:, :FEATURE_LOTS]) / 6.0
    markout = history.markout_bps / jnp.maximum(history.filled_lots, 1.0)
    improvement = _improvement_bps(params)
    return jnp.concatenate(
        [tails, evidence, ADVERSE_SCALE * markout[:, None], 0.5 * improvement[:, None]], axis=1
    )


def _improvement_bps(params: VenueParams) -> jax.Array:
    return params.improvement_frac * params.lit.epsilon / params.lit.arrival_price * 1e4


def order_features(obs: Observation, child_shares) -> jax.Array:
    """(N_ORDER_FEATURES,) the child order (lots, log), the parent's progress, the clock, the
    lit half spread and the lit temporary impact of the child (bps / 2)."""
    m = obs.market
    lot = m.lot_shares
    rate = child_shares / m.lit.interval_days
    return jnp.stack(
        [
            jnp.log1p(child_shares / lot) / 3.0,
            obs.remaining_shares / obs.order.quantity_shares,
            obs.step / obs.n_steps,
            0.5e4 * m.lit_half_spread / m.mid,
            0.5e4 * m.lit.eta * rate / m.mid,
            jnp.log1p(obs.remaining_shares / lot) / 5.0,
        ]
    ).astype(jnp.float32)


def plug_in_fill_rate(tails: jax.Array, lots: jax.Array) -> jax.Array:
    """(K,) E[min(a, L)] / a for allocations a = `lots` (K,) (real, > 0) from tails T(1 .. S)
    (K, S): sum_s clip(a - s + 1, 0, 1) T(s), T flat beyond S."""
    s = jnp.arange(1, tails.shape[-1] + 1, dtype=jnp.float32)
    a = jnp.maximum(lots, 1e-6)[:, None]
    inside = jnp.sum(jnp.clip(a - s + 1.0, 0.0, 1.0) * tails, axis=1)
    beyond = jnp.maximum(a[:, 0] - tails.shape[-1], 0.0) * tails[:, -1]
    return (inside + beyond) / a[:, 0]


@struct.dataclass
class RoutingOutput:
    """Per pool (K,): `fill_rate` predicted for the chosen allocation, `improvement_bps`,
    `adverse_bps_per_lot`; `allocation` (K + 1,) shares of the child order (pools, then lit)."""

    allocation: jax.Array
    fill_rate: jax.Array
    improvement_bps: jax.Array
    adverse_bps_per_lot: jax.Array


class DarkPoolRoutingModel(nn.Module):
    """Venue encoder + order encoder -> fill rate, price improvement, adverse selection per
    pool and the allocation softmax (see the module doc)."""

    hidden: int = 32

    def setup(self):
        h = self.hidden
        self.venue_encoder = [nn.Dense(h), nn.Dense(h)]
        self.order_encoder = [nn.Dense(h), nn.Dense(h)]
        self.joint = nn.Dense(h)
        self.allocation_head = nn.Dense(1)
        self.lit_head = nn.Dense(1)
        # zero-initialised: the fill head starts at the plug-in rate and learns corrections
        self.fill_net = [nn.Dense(h), nn.Dense(1, kernel_init=nn.initializers.zeros)]
        self.improvement_head = nn.Dense(1)
        self.adverse_head = nn.Dense(1)

    def _encode(self, layers, x):
        for layer in layers:
            x = nn.tanh(layer(x))
        return x

    def fill_rate(self, venue_feats, lots):
        """(K,) predicted E[min(a_i, L_i)] / a_i for allocations `lots` (K,)."""
        hv = self._encode(self.venue_encoder, venue_feats)
        return self._fill(hv, venue_feats, lots)

    def _fill(self, hv, venue_feats, lots):
        # residual on the logit of the Kaplan-Meier plug-in rate, which the net corrects
        plug_in = jnp.clip(plug_in_fill_rate(venue_feats[:, :FEATURE_LOTS], lots), 1e-4, 1 - 1e-4)
        x = jnp.concatenate([hv, jnp.log1p(lots)[:, None] / 3.0, plug_in[:, None]], axis=1)
        correction = self.fill_net[1](nn.tanh(self.fill_net[0](x)))[:, 0]
        return jax.nn.sigmoid(jnp.log(plug_in) - jnp.log1p(-plug_in) + correction)

    def __call__(self, venue_feats, order_feats, child_lots) -> RoutingOutput:
        hv = self._encode(self.venue_encoder, venue_feats)
        ho = self._encode(self.order_encoder, order_feats)
        joint = nn.tanh(self.joint(jnp.concatenate([hv, jnp.broadcast_to(ho, hv.shape)], 1)))
        logits = jnp.concatenate([self.allocation_head(joint)[:, 0], self.lit_head(ho)])
        allocation = jax.nn.softmax(logits)
        return RoutingOutput(
            allocation=allocation,
            fill_rate=self._fill(hv, venue_feats, allocation[:-1] * child_lots),
            improvement_bps=2.0 * self.improvement_head(hv)[:, 0],
            adverse_bps_per_lot=self.adverse_head(hv)[:, 0] / ADVERSE_SCALE,
        )


@struct.dataclass
class RouterParams:
    """Policy params of `DarkPoolRouter`: the model's variables, the venue set's features
    (K, N_VENUE_FEATURES) and the schedule's fractions (n_steps,)."""

    variables: Any
    features: jax.Array
    fractions: jax.Array


@dataclass(frozen=True)
class DarkPoolRouter:
    """The learned router as an execution policy (hashable): each child order of the
    schedule is split by the model's allocation; what the pools do not fill goes lit."""

    hidden: int = 32

    @property
    def model(self) -> DarkPoolRoutingModel:
        return DarkPoolRoutingModel(self.hidden)

    def init(self, key, n_venues: int):
        k = positive_int("n_venues", n_venues)
        feats = jnp.zeros((k, N_VENUE_FEATURES), jnp.float32)
        return self.model.init(key, feats, jnp.zeros(N_ORDER_FEATURES), jnp.float32(1.0))

    def __call__(self, params: RouterParams, obs: Observation) -> VenueAction:
        child = schedule_policy(params.fractions, obs)
        out = self.model.apply(
            params.variables,
            params.features,
            order_features(obs, child),
            child / obs.market.lot_shares,
        )
        dark = out.allocation[:-1] * child
        return VenueAction(child, dark, jax.lax.stop_gradient(out.fill_rate) * dark)

    def predict_fill_rate(self, variables, features, lots) -> jax.Array:
        """(K,) predicted fill rate of allocations `lots` (K,) to the pools of `features`."""
        return self.model.apply(variables, features, lots, method="fill_rate")


def explore_venues(key, venues: VenueParams, units: int, n_rounds: int, capacity: int = 16):
    """Fill records of B venue sets (leading axis of `venues`) from `n_rounds` rounds of the
    optimistic greedy learner (`learn_greedy`, `units` lots a round), markouts seen through
    1 bps of price noise: (histories, features (B, K, N_VENUE_FEATURES)). Jitted once per
    (units, n_rounds, capacity)."""
    require(capacity >= FEATURE_LOTS, f"capacity must be >= {FEATURE_LOTS} lots (features)")
    keys = jax.random.split(key, venues.zero_prob.shape[0])
    return _explore(keys, venues, positive_int("units", units),
                    positive_int("n_rounds", n_rounds), capacity)  # fmt: skip


@partial(jax.jit, static_argnames=("units", "n_rounds", "capacity"))
def _explore(keys, venues, units, n_rounds, capacity):
    def one(k, v):
        history, _ = learn_greedy(
            k, v, units, n_rounds, capacity, min_at_risk=OPTIMISM, markout_noise_bps=1.0
        )
        return history, venue_features(history, v)

    return jax.vmap(one)(keys, venues)


def train_router(
    key,
    market: VenuesMarket,
    venues: VenueParams,
    features: jax.Array,
    fractions: jax.Array,
    order: Order,
    config: RolloutConfig,
    *,
    n_updates: int = 200,
    batch_sets: int = 8,
    learning_rate: float = 3e-3,
    n_fill_draws: int = 32,
    router: DarkPoolRouter | None = None,
    callback=None,
) -> tuple[DarkPoolRouter, TrainResult]:
    """Train a `DarkPoolRouter` on the training venue sets `venues` (leading axis N) with their
    `features` (N, K, F) (`explore_venues`): each update draws `batch_sets` of them and
    `config.n_paths` paths each (fresh keys), and minimises mean IS (bps) + the prediction
    losses (see the module doc). Returns (router, TrainResult); `result.params` are the
    variables with the lowest training loss."""
    positive_int("n_updates", n_updates)
    positive_int("batch_sets", batch_sets)
    positive("learning_rate", learning_rate)
    router = router or DarkPoolRouter()
    k = features.shape[1]
    require(k == market.n_venues, f"features are for {k} pools, the market has {market.n_venues}")
    k_init, k_train = jax.random.split(key)
    variables = router.init(k_init, k)
    improvement = jax.vmap(_improvement_bps)(venues)
    loss = _RouterLoss(market, router, config, batch_sets, n_fill_draws)
    data = (venues, features, fractions, improvement, order)
    result = train(loss, variables, cached_adam(learning_rate), k_train, n_updates,
                   callback=callback, loss_args=data)  # fmt: skip
    return router, result


@dataclass(frozen=True)
class _RouterLoss:
    """`train_router`'s loss as a hashable value, so `train` compiles its step once per
    configuration (the venue sets, their features and the order are traced arguments)."""

    market: VenuesMarket
    router: DarkPoolRouter
    config: RolloutConfig
    batch_sets: int
    n_fill_draws: int

    def __call__(self, v, key, venues, features, fractions, improvement, order):
        router, batch_sets, k = self.router, self.batch_sets, features.shape[1]
        k_pick, k_paths, k_size, k_liq = jax.random.split(key, 4)
        idx = jax.random.randint(k_pick, (batch_sets,), 0, features.shape[0])
        vb = jax.tree.map(lambda a: a[idx], venues)
        fb = features[idx]
        params = RouterParams(
            variables=jax.tree.map(lambda a: jnp.broadcast_to(a, (batch_sets, *a.shape)), v),
            features=fb,
            fractions=jnp.broadcast_to(fractions, (batch_sets, *fractions.shape)),
        )
        paths = venue_set_rollouts(k_paths, self.market, vb, router, params, order, self.config)
        lots = jax.random.uniform(
            k_size, (batch_sets, self.n_fill_draws, k), minval=0.2, maxval=FEATURE_LOTS + 2.0
        )
        liq = jax.vmap(lambda kk, p: sample_liquidity(kk, p, (self.n_fill_draws,)))(
            jax.random.split(k_liq, batch_sets), vb
        )
        realised = jnp.minimum(lots, liq) / lots
        pred = jax.vmap(jax.vmap(router.predict_fill_rate, (None, None, 0)), (None, 0, 0))(
            v, fb, lots
        )
        pred = jnp.clip(pred, 1e-6, 1 - 1e-6)
        bce = -jnp.mean(realised * jnp.log(pred) + (1 - realised) * jnp.log1p(-pred))
        heads = jax.vmap(
            lambda f: router.model.apply(v, f, jnp.zeros(N_ORDER_FEATURES), jnp.float32(1.0))
        )(fb)
        mse_adverse = jnp.mean(
            (ADVERSE_SCALE * (heads.adverse_bps_per_lot - vb.adverse_bps_per_lot)) ** 2
        )
        mse_improvement = jnp.mean((heads.improvement_bps - improvement[idx]) ** 2)
        return jnp.mean(paths.is_bps) + bce + mse_adverse + mse_improvement


def random_venue_sets(key, n_sets: int, lit, n_venues: int) -> VenueParams:
    """`n_sets` venue sets of `n_venues` pools from `sample_venues`'s prior (leading axis)."""
    keys = jax.random.split(key, positive_int("n_sets", n_sets))
    return jax.vmap(lambda kk: sample_venues(kk, lit, n_venues))(keys)
