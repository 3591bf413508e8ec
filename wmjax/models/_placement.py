"""A learned order-placement policy on the book, trained end to end on E[IS] + lambda Var[IS].

`PlacementPolicy` maps the microstructure observation (spread, depth, imbalance, trade flow,
volatility, our queue position) and the clock and inventory to one decision's child orders: a
market order of sigmoid(a) x remaining shares, a limit order of sigmoid(b) x the rest, and
logits over the market's limit price levels (`BookMarket.offsets_ticks`).

Gradient estimator: pathwise (reparameterised) differentiation of the *relaxed* simulator, with
the exogenous flow fixed by the keys (common random numbers). In the book market the only
discrete action, the price level, is relaxed by a tempered softmax over all candidate levels,
which the simulator evaluates at once on the same flow (our resting orders are virtual, so the
candidates do not interact); fills are min(size, available) and a market order's cost is the
piecewise-linear walk of the book, so the relaxed IS is differentiable almost everywhere. We
chose this over a score-function (REINFORCE) estimator because, with the flow shared by all
parameter values, the pathwise gradient has far lower variance (the score function's variance
grows with the number of decisions and events and needs baselines to be usable), and over a
straight-through estimator because its bias does not vanish; the relaxation's bias does as the
temperature goes to 0 (measured in the tests and benchmarks). Our own market orders change the
integer book, whose jumps are not differentiated; their main effect, an earlier order leaving
less at the best level for a later one, enters through a straight-through term
(`wmjax.market._book_interval.own_walk`: each of our walks starts as deep as our earlier market
fills, value 0, their gradient), without which the gradient pushed toward more market orders at a
10 ms clock. The trained policy is always judged on the exact simulator (temperature 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from wmjax._checks import InputError, positive, positive_int
from wmjax.execution import (
    Observation,
    Order,
    RolloutConfig,
    TrainResult,
    book_paths,
    cached_adam,
    mean_variance,
    objective_with_se,
    paired_improvement,
    rollout,
    train,
)
from wmjax.execution._book_baselines import check_book_inputs
from wmjax.market import BookAction, BookMarket, BookParams, latency_scenario, status_dict
from wmjax.models._quote_head import biased_init, level_index, logits_mlp

N_FEATURES = 14
#: `placement_features` index of the opposite side's top depth (shares / Q): the displayed
#: depth at the touch that our market orders take first
TOUCH_DEPTH_FEATURE = 13


def placement_features(obs: Observation) -> jax.Array:
    """(N_FEATURES,) features of one observation, oriented so that "own side" means the bid
    for a buy and the ask for a sell, sizes in units of the parent order."""
    m = obs.market
    q = obs.order.quantity_shares
    side = obs.order.side
    own_depth = jnp.where(side > 0, m.bid_depth_shares, m.ask_depth_shares)
    opp_depth = jnp.where(side > 0, m.ask_depth_shares, m.bid_depth_shares)
    clock = obs.step / obs.n_steps
    left = obs.remaining_shares / q
    return jnp.concatenate(
        [
            jnp.stack(
                [
                    1.0 - clock,
                    left,
                    left - (1.0 - clock),  # behind the straight line
                    m.spread_ticks - 1.0,
                    side * m.imbalance,
                    side * m.trade_imbalance,
                    m.volume_shares / q,
                    m.volatility_ticks,
                    m.queue_ahead_shares / q,
                    m.resting_shares / q,
                    (obs.step == obs.n_steps - 1).astype(jnp.float32),
                    jnp.log10(1.0 + m.latency_us) / 5.0,
                ]
            ),
            own_depth[:1] / q,
            opp_depth[:1] / q,
        ]
    ).astype(jnp.float32)


class PlacementNet(nn.Module):
    """MLP: features -> (market logit, limit logit, K level logits)."""

    n_offsets: int
    hidden: int = 32

    @nn.compact
    def __call__(self, x):
        return logits_mlp(x, self.hidden, 2 + self.n_offsets)


@dataclass(frozen=True)
class PlacementPolicy:
    """The placement policy (static, hashable: usable as `rollout`'s policy).

    `policy(variables, obs) -> BookAction`. With the zero-initialised last layer and
    `init_bias` the initial policy posts half of what remains as a limit order at the level of
    `init_level` and sends a small market order (sigmoid(-3), about 5%).
    """

    n_offsets: int
    hidden: int = 32

    @property
    def net(self) -> PlacementNet:
        return PlacementNet(self.n_offsets, self.hidden)

    def init(self, key, market: BookMarket, init_level: int = 0):
        """Variables of a fresh policy for `market` (see the class doc)."""
        level = level_index(self.n_offsets, market.offsets_ticks, init_level)
        bias = jnp.zeros(2 + self.n_offsets).at[0].set(-3.0).at[2 + level].set(2.0)
        return biased_init(self.net, key, N_FEATURES, bias)

    def __call__(self, variables, obs: Observation) -> BookAction:
        return self.decide(variables, placement_features(obs), obs.remaining_shares)

    def decide(self, variables, features: jax.Array, remaining_shares) -> BookAction:
        """The action from `placement_features` and what remains (shares, or any unit: the
        sizes come out in the same unit); the learned world model's dreams call this too."""
        out = self.net.apply(variables, features)
        remaining = jnp.maximum(remaining_shares, 0.0)
        market = jax.nn.sigmoid(out[0]) * remaining
        limit = jax.nn.sigmoid(out[1]) * (remaining - market)
        return BookAction(
            market_shares=market,
            limit_shares=limit,
            offset_logits=out[2:],
            keep=jnp.float32(0.0),
        )


def relaxed_objective(
    variables,
    key,
    market: BookMarket,
    params: BookParams,
    policy: PlacementPolicy,
    order: Order,
    config: RolloutConfig,
) -> jax.Array:
    """E[IS] + lambda Var[IS] (bps; lambda = `order.risk_aversion`) over `config.n_paths` paths
    of `params` (relaxed when `params.temperature > 0`); traceable and differentiable."""
    paths = rollout(key, market, params, policy, variables, order, config)
    return mean_variance(paths.is_bps, order.risk_aversion)


def train_placement(
    key,
    market: BookMarket,
    params: BookParams,
    order: Order,
    config: RolloutConfig,
    *,
    n_steps: int = 100,
    learning_rate: float = 0.03,
    temperature: float = 0.3,
    policy: PlacementPolicy | None = None,
    variables=None,
    callback=None,
    latencies=None,
) -> tuple[PlacementPolicy, TrainResult]:
    """Train a `PlacementPolicy` with Adam on the relaxed E[IS] + lambda Var[IS] at
    `temperature` (> 0), a fresh set of `config.n_paths` paths each step (`fold_in(key, i)`).

    With `latencies` (a list of `LatencyScenario`s or preset names) each step draws one of them
    from its key, so one policy, which sees the latency, learns them all in one compiled run.

    Returns `(policy, TrainResult)`; `result.params` are the variables with the lowest training
    loss. Evaluate them on the exact simulator (`params.replace(temperature=0)`) on other keys.
    """
    check_book_inputs(market, params, order, config)
    positive_int("n_steps", n_steps)
    positive("learning_rate", learning_rate)
    t = float(positive("temperature", temperature))
    if t == 0:
        raise InputError("temperature must be > 0 for training (0 is the exact simulator)")
    policy = policy or PlacementPolicy(market.n_offsets)
    k_init, k_train = jax.random.split(key)
    if variables is None:
        variables = policy.init(k_init, market)
    relaxed = params.replace(temperature=jnp.float32(t))
    chosen = [latency_scenario(x) for x in latencies or ()]
    means = jnp.asarray([x.one_way_latency_us for x in chosen], jnp.float32)
    jitters = jnp.asarray([x.jitter_us for x in chosen], jnp.float32)
    loss = _PlacementLoss(market, policy, config, len(chosen))
    result = train(
        loss,
        variables,
        cached_adam(learning_rate),
        k_train,
        n_steps,
        callback=callback,
        loss_args=(relaxed, order, means, jitters),
    )
    return policy, result


@dataclass(frozen=True)
class _PlacementLoss:
    """The training loss as a hashable value, so `train` compiles its step once per
    configuration and reuses it across `train_placement` calls (the market parameters, the
    order and the latency table are traced arguments)."""

    market: BookMarket
    policy: PlacementPolicy
    config: RolloutConfig
    n_latencies: int

    def __call__(self, variables, key, params, order, means, jitters):
        if self.n_latencies:
            key, k_pick = jax.random.split(key)
            i = jax.random.randint(k_pick, (), 0, self.n_latencies)
            latency = params.latency.replace(one_way_latency_us=means[i], jitter_us=jitters[i])
            params = params.replace(latency=latency)
        return relaxed_objective(
            variables, key, self.market, params, self.policy, order, self.config
        )


def save_placement(path, variables) -> None:
    """Write policy variables as flax msgpack bytes."""
    with open(path, "wb") as f:
        f.write(serialization.to_bytes(variables))


def load_placement(path, policy: PlacementPolicy, market: BookMarket):
    """Read variables written by `save_placement` for `policy` on `market`."""
    template = policy.init(jax.random.key(0), market)
    with open(path, "rb") as f:
        return serialization.from_bytes(template, f.read())


def evaluate_placement(
    key,
    market: BookMarket,
    params: BookParams,
    order: Order,
    n_steps: int,
    n_paths: int,
    strategies: dict,
) -> dict[str, dict]:
    """Run each strategy `name -> (policy, policy_params)` on the exact simulator
    (temperature 0) on the same `n_paths` paths of `key`; per strategy: mean, std and p95 of IS
    (bps), the fill rate (share of the order filled before the horizon's clean-up), the passive
    share (filled by limit orders), each mean with its Monte Carlo SE (`*_se*`: std / sqrt(n) over
    paths), E + lambda Var (`order.risk_aversion`) with its standard
    error, the per-path IS (`is_bps`), the number of intervals whose order flow overflowed
    `market.events_per_step` (`flow_overflow_intervals`; their extra events were dropped) and the
    whole status channel (`status`: `wmjax.market.status_dict`)."""
    exact = params.replace(temperature=jnp.float32(0.0))
    config = RolloutConfig(n_paths=n_paths, n_steps=n_steps)
    lam = float(order.risk_aversion)
    q = float(order.quantity_shares)
    out = {}
    for name, (policy, policy_params) in strategies.items():
        r = book_paths(key, market, exact, policy, policy_params, order, config, throw=False)
        x = np.asarray(r.is_bps, np.float64)
        fill = 1.0 - np.asarray(r.stats.cleanup_shares, np.float64) / q
        passive = np.asarray(r.stats.passive_shares, np.float64) / q
        objective, se = objective_with_se(x, lam)
        out[name] = {
            "mean_is_bps": float(x.mean()),
            "mean_is_se_bps": _mean_se(x),
            "std_is_bps": float(x.std(ddof=1)),
            "p95_is_bps": float(np.quantile(x, 0.95)),
            "fill_rate": float(fill.mean()),
            "fill_rate_se": _mean_se(fill),
            "passive_share": float(passive.mean()),
            "passive_share_se": _mean_se(passive),
            "objective": objective,
            "objective_se": se,
            "is_bps": x,
            "flow_overflow_intervals": int(np.sum(r.stats.flow_overflow)),
            "status": status_dict(r.status),
        }
    return out


def _mean_se(x: np.ndarray) -> float:
    """Standard error of the mean of per-path values: sample std / sqrt(n)."""
    return float(np.std(x, ddof=1) / np.sqrt(x.size))


def best_baseline(results: dict[str, dict], risk_aversion, policy_name: str = "policy"):
    """(the baseline with the lowest objective, its objective minus the policy's on the same
    paths, the paired standard error of that difference)."""
    baselines = {k: v for k, v in results.items() if k != policy_name}
    name = min(baselines, key=lambda k: baselines[k]["objective"])
    gain, se = paired_improvement(
        results[name]["is_bps"], results[policy_name]["is_bps"], risk_aversion
    )
    return name, gain, se


def book_ac_eta(params: BookParams, order: Order, interval_s: float) -> float:
    """Almgren-Chriss eta (bps x s, the order as the unit) of the seed book: walking D shares
    per one-tick level at a mid of M ticks, a trade of n (share of the order) in one interval
    costs about n^2 Q / (2 D M) 1e4 bps = eta / tau n^2 (AC 2000 eq. 16 without epsilon)."""
    sizes = np.asarray(params.seed_book.size_shares, np.float64)
    bid, ask = float(params.seed_book.price_ticks[0, 0]), float(params.seed_book.price_ticks[1, 0])
    depth = float(sizes[sizes > 0].mean())
    q = float(order.quantity_shares)
    return q * 1e4 / (2.0 * depth * 0.5 * (bid + ask)) * float(interval_s)
