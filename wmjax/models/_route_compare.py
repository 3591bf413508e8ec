"""The routing comparison behind `wmjax route`: train the learned router on simulated venue
sets, then run every router on held-out venue sets on the same paths.

Scenario (`RouteScenario`): a TWAP buy of `quantity_shares` over `n_steps` intervals on an
impact-level lit market (half spread `epsilon`, temporary impact `eta`) plus K dark pools drawn
from `sample_venues`'s prior. Every router sees the same information about a venue set: the
censored fill records of `explore_rounds` rounds of the optimistic greedy learner. Routers:
lit-only, uniform, Ganchev et al.'s greedy on the optimistic Kaplan-Meier tails of those
records, the Laruelle-Lehalle-Pages split learned from the same rounds' liquidity (rebates
one: fill maximisation), and the learned router.

The learned router's fill-rate predictions are judged per held-out pool against the realised
rate (with its SE over the independent paths) beside two other predictions of the same
allocations: the Kaplan-Meier plug-in of the pool's records (no learning) and the plug-in of
the pool's true tails (the floor set by the realised rate's own noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive_int
from wmjax.execution import RolloutConfig, order, paired_improvement, twap
from wmjax.market import (
    VenueAction,
    VenuesMarket,
    impact_params,
    liquidity_tails,
    sample_liquidity,
)
from wmjax.models._dark_pool_router import (
    FEATURE_LOTS,
    OPTIMISM,
    DarkPoolRouter,
    RouterParams,
    explore_venues,
    plug_in_fill_rate,
    random_venue_sets,
    train_router,
)
from wmjax.strategies import (
    GreedyRoute,
    SplitRoute,
    at_risk_counts,
    greedy_route_policy,
    kaplan_meier_tails,
    llp_split,
    policy_switch,
    split_route_policy,
    venue_set_rollouts,
)


@dataclass(frozen=True)
class RouteScenario:
    """Sizes of the routing comparison (defaults: the `wmjax route` command)."""

    n_venues: int = 3
    n_steps: int = 10
    quantity_shares: float = 10_000.0
    horizon_days: float = 0.1
    lot_shares: float = 100.0
    sigma: float = 0.5
    epsilon: float = 0.01
    eta: float = 1e-7
    explore_rounds: int = 300
    capacity_lots: int = 16
    train_sets: int = 256
    eval_sets: int = 16
    train_paths: int = 32
    eval_paths: int = 256
    n_updates: int = 300
    batch_sets: int = 8
    learning_rate: float = 3e-3
    fill_draws: int = 4000

    def __post_init__(self):
        counts = ("n_venues", "n_steps", "explore_rounds", "train_sets", "eval_sets")
        counts += ("train_paths", "eval_paths", "n_updates", "batch_sets", "fill_draws")
        for name in counts:
            positive_int(name, getattr(self, name))
        positive_int("capacity_lots", self.capacity_lots, minimum=FEATURE_LOTS)


PREDICTORS = ("learned", "kaplan_meier", "true_tails", "greedy_km")


@struct.dataclass
class _PluggedParams:
    router: RouterParams
    tails: jax.Array  # (K, S) T(1 .. S)
    own_head: jax.Array  # bool: the router's fill head, else the plug-in of `tails`


@dataclass(frozen=True)
class _Plugged:
    """The learned router, its expected fills from its own fill head or from the plug-in of
    `tails` (the same actions either way, so the same fills on the same paths; one compiled
    rollout for the three predictions)."""

    router: DarkPoolRouter

    def __call__(self, params: _PluggedParams, obs) -> VenueAction:
        a = self.router(params.router, obs)
        rate = plug_in_fill_rate(params.tails, a.dark_shares / obs.market.lot_shares)
        expected = jnp.where(params.own_head, a.expected_fill_shares, rate * a.dark_shares)
        return VenueAction(a.shares, a.dark_shares, expected)


def route_comparison(key, scenario: RouteScenario, callback=None) -> dict[str, Any]:
    """Train the learned router, then evaluate every router on `scenario.eval_sets` held-out
    venue sets x `eval_paths` paths (common random numbers). Returns a dict with, per router,
    mean / std of IS (bps), the mean gain over lit-only and over uniform with paired SEs, and
    the dark fill rate; the learned router's fill-rate predictions against realised fills on
    the held-out pools (per pool and size 1 .. FEATURE_LOTS lots); the training losses.
    `callback(i, loss)` reports training progress."""
    sc = scenario
    k_train_sets, k_eval_sets, k_explore, k_fit, k_eval = jax.random.split(key, 5)
    lit = impact_params(sc.n_steps, sigma=sc.sigma, epsilon=sc.epsilon, eta=sc.eta)
    parent = order(sc.quantity_shares, sc.horizon_days, "buy")
    market = VenuesMarket(sc.n_venues)
    fractions = twap(sc.n_steps)
    units = int(sc.quantity_shares / sc.n_steps / sc.lot_shares)
    train_sets = random_venue_sets(k_train_sets, sc.train_sets, lit, sc.n_venues)
    eval_sets = random_venue_sets(k_eval_sets, sc.eval_sets, lit, sc.n_venues)
    # one exploration call for both (one compilation), split afterwards
    both = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), train_sets, eval_sets)
    hist, feats = explore_venues(k_explore, both, units, sc.explore_rounds, sc.capacity_lots)
    n = sc.train_sets
    train_feats, eval_feats = feats[:n], feats[n:]
    eval_hist = jax.tree.map(lambda a: a[n:], hist)

    router, result = train_router(
        k_fit, market, train_sets, train_feats, fractions, parent,
        RolloutConfig(n_paths=sc.train_paths, n_steps=sc.n_steps),
        n_updates=sc.n_updates, batch_sets=sc.batch_sets, learning_rate=sc.learning_rate,
        callback=callback,
    )  # fmt: skip
    b = sc.eval_sets
    per_set = lambda x: jnp.broadcast_to(x, (b, *jnp.shape(x)))  # noqa: E731
    k = sc.n_venues
    # the SA split sees the liquidity of the same exploration rounds (one draw per round)
    caps = jax.vmap(lambda kk, v: sample_liquidity(kk, v, (sc.explore_rounds,)))(
        jax.random.split(jax.random.fold_in(k_explore, 1), b), eval_sets
    )
    child = sc.quantity_shares / sc.n_steps
    llp = jax.vmap(lambda c: llp_split(c * sc.lot_shares, child).split)(caps)
    km_tails = jax.vmap(lambda h: kaplan_meier_tails(h, OPTIMISM))(eval_hist)
    cap = sc.capacity_lots
    plug_ins = {  # T(1 .. capacity_lots) for pricing the learned router's allocations
        "kaplan_meier": jax.vmap(kaplan_meier_tails)(eval_hist)[:, :, 1:],
        "true_tails": jax.vmap(lambda v: liquidity_tails(v, cap))(eval_sets)[:, :, 1:],
    }
    learned = RouterParams(jax.tree.map(per_set, result.params), eval_feats, per_set(fractions))
    no_split = SplitRoute(per_set(fractions), jnp.zeros((b, k)))
    greedy = GreedyRoute(per_set(fractions), km_tails)

    def pick(i, split=no_split, tails=plug_ins["true_tails"], own_head=True):
        plugged = _PluggedParams(learned, tails, jnp.full(b, own_head))
        return jnp.full(b, i, jnp.int32), (split, greedy, plugged)

    strategies = {
        "lit_only": pick(0),
        "uniform": pick(0, SplitRoute(per_set(fractions), jnp.full((b, k), 1 / k, jnp.float32))),
        "greedy_km": pick(1),
        "llp_split": pick(0, SplitRoute(per_set(fractions), llp)),
        "learned": pick(2),
    }
    config = RolloutConfig(n_paths=sc.eval_paths, n_steps=sc.n_steps)

    policy = policy_switch((split_route_policy, greedy_route_policy, _Plugged(router)))

    def run(params):  # one compiled rollout for every router and plug-in
        return venue_set_rollouts(k_eval, market, eval_sets, policy, params, parent, config)

    is_bps, fills = {}, {}
    for name, params in strategies.items():
        paths = run(params)
        is_bps[name] = np.asarray(paths.is_bps, np.float64).reshape(-1)
        st = paths.final_state  # per pool and path: sums over the steps
        fills[name] = [np.asarray(x, np.float64)
                       for x in (st.sent_shares, st.filled_shares, st.expected_shares)]  # fmt: skip
    # the learned router's allocations priced by the two plug-ins
    for name, tails in plug_ins.items():
        paths = run(pick(2, tails=tails, own_head=False))
        fills[name] = [*fills["learned"][:2],
                       np.asarray(paths.final_state.expected_shares, np.float64)]  # fmt: skip
    # records behind each pool's estimate: observations at risk at the mean lots sent
    lots_sent = fills["learned"][0].mean(axis=1) / (sc.n_steps * sc.lot_shares)
    risk = np.asarray(jax.vmap(at_risk_counts)(eval_hist))
    level = np.clip(np.ceil(lots_sent).astype(int) - 1, 0, cap)
    at_risk = np.take_along_axis(risk, level[..., None], axis=-1)[..., 0]
    routers = {}
    for name, x in is_bps.items():
        gain_lit, se_lit = paired_improvement(is_bps["lit_only"], x, 0.0)
        gain_uni, se_uni = paired_improvement(is_bps["uniform"], x, 0.0)
        sent, filled, _ = (x.sum(axis=1) for x in fills[name])
        routers[name] = {
            "mean_is_bps": float(x.mean()),
            "std_is_bps": float(x.std(ddof=1)),
            "gain_vs_lit_bps": gain_lit,
            "gain_vs_lit_se": se_lit,
            "gain_vs_uniform_bps": gain_uni,
            "gain_vs_uniform_se": se_uni,
            "dark_fill_rate": float(filled.sum() / max(sent.sum(), 1e-9)),
        }
    return {
        "routers": routers,
        "fill_prediction": {n: fill_prediction(*fills[n]) for n in PREDICTORS},
        "at_risk_at_size": at_risk,
        "losses": result.losses,
        "train_seconds": result.seconds,
        "eval_paths": b * sc.eval_paths,
        "llp_split_mean": np.asarray(llp).mean(axis=0),
    }


def fill_prediction(sent, filled, expected, min_share: float = 0.05) -> dict[str, Any]:
    """A router's predicted against realised dark fill rates per pool of each venue set
    (arrays (B, P, K) of shares sent, filled and expected per path, summed over steps): the
    relative error |expected - filled| / filled of the pools that got at least `min_share` of
    the set's dark orders (the others are too small a sample to judge), and the SE of the
    realised rate over the P independent paths (ratio estimator, delta method)."""
    n_paths = sent.shape[1]
    rate = filled.sum(axis=1) / np.maximum(sent.sum(axis=1), 1e-9)
    resid = filled - rate[:, None, :] * sent
    rate_se = np.sqrt((resid**2).sum(axis=1) * n_paths / max(n_paths - 1, 1)) / np.maximum(
        sent.sum(axis=1), 1e-9
    )
    sent, filled, expected = (x.sum(axis=1) for x in (sent, filled, expected))
    used = sent >= min_share * sent.sum(axis=1, keepdims=True)
    rel = np.abs(expected - filled) / np.maximum(filled, 1e-9)
    return {
        "predicted_rate": expected / np.maximum(sent, 1e-9),
        "realised_rate": filled / np.maximum(sent, 1e-9),
        "realised_rate_se": rate_se,
        "used": used,
        "relative_error": np.where(used, rel, np.nan),
        "max_relative_error": float(rel[used].max()) if used.any() else float("nan"),
        "mean_relative_error": float(rel[used].mean()) if used.any() else float("nan"),
    }
