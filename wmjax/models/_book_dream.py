"""The loop closed on the book world: an action-conditioned dynamics model learned from
simulator transitions, and a placement controller trained only inside it ("dreaming", Ha &
Schmidhuber 2018; Hafner et al. 2023).

`BookDynamics` is a GRU on [placement features, market size, limit size, market size against
the touch] whose state predicts
the next interval: the market features (spread, imbalance, flow, depth, our queue; residual on
the current ones), the mid move in bps (Gaussian mean and log variance), the per-share fill
probability of our limit order at each candidate level, and the price premiums (bps against the
mid at the decision) of our market-order, limit and clean-up fills. The level enters only
through the per-level heads, so a softmax over levels mixes the model's per-level predictions
exactly as the relaxed simulator mixes its candidates' fills. The mid's response to our market
order is convex in its size (an order inside the displayed depth at the touch leaves the mid
where it was; past it, the order walks the book), so the model also sees the size relative to
that depth and the excess beyond it (`touch_inputs`).

`dream_objective` rolls a `PlacementPolicy` through the model (its own predicted features, a
reparameterised mid noise, the IS accounting of `wmjax.models._book_transitions`) from start
features recorded on the simulator: E[IS] + lambda Var[IS] of the dream, differentiable in the
policy through the GRU; `train_in_dream` minimises it with `wmjax.execution.train`, no
simulator in the loop.
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

from wmjax._checks import positive, positive_int
from wmjax.execution import TrainResult, cached_adam, mean_variance, train
from wmjax.models._book_transitions import MARKET_FEATURES, Transitions
from wmjax.models._placement import N_FEATURES, TOUCH_DEPTH_FEATURE, PlacementPolicy

_IDX = np.asarray(MARKET_FEATURES)
_HALF_LOG_2PI = 0.5 * float(np.log(2 * np.pi))


@struct.dataclass
class DynamicsPrediction:
    """One step's predictions (see the module doc); fill and limit premium per level (…, K)."""

    next_market: jax.Array  # (…, len(MARKET_FEATURES))
    mid_mean_bps: jax.Array
    mid_log_var: jax.Array
    fill_logits: jax.Array
    market_premium_bps: jax.Array
    limit_premium_bps: jax.Array
    cleanup_premium_bps: jax.Array


class BookDynamics(nn.Module):
    """GRU world model of one decision interval given our child order (see the module doc)."""

    n_offsets: int
    hidden: int = 64

    def setup(self):
        self.embed = nn.Dense(self.hidden)
        self.cell = nn.GRUCell(features=self.hidden)
        self.market_head = nn.Dense(len(MARKET_FEATURES))
        self.mid_head = nn.Dense(2)
        self.fill_head = nn.Dense(self.n_offsets)
        self.premium_head = nn.Dense(2 + self.n_offsets)

    def initial(self, batch_shape=()) -> jax.Array:
        return jnp.zeros((*batch_shape, self.hidden), jnp.float32)

    def __call__(self, h, features, market_q, limit_q):
        x = jnp.concatenate(
            [features, market_q[..., None], limit_q[..., None], touch_inputs(features, market_q)],
            axis=-1,
        )
        h, _ = self.cell(h, nn.tanh(self.embed(x)))
        mid = self.mid_head(h)
        prem = self.premium_head(h)
        return h, DynamicsPrediction(
            next_market=features[..., _IDX] + self.market_head(h),
            mid_mean_bps=mid[..., 0],
            mid_log_var=jnp.clip(mid[..., 1], -8.0, 8.0),
            fill_logits=self.fill_head(h),
            market_premium_bps=prem[..., 0],
            limit_premium_bps=prem[..., 2:],
            cleanup_premium_bps=prem[..., 1],
        )


def touch_inputs(features, market_q) -> jax.Array:
    """(…, 3) our market order (shares / Q) against the displayed depth at the touch
    (`TOUCH_DEPTH_FEATURE`, shares / Q): r = size / depth, e = relu(size - depth) / depth (each
    capped at 8; an empty touch counts as 0.001 Q) and tanh(8 e), a smooth step where the order
    walks past the touch: the mid moves only then (the response is convex in size)."""
    depth = jnp.maximum(features[..., TOUCH_DEPTH_FEATURE], 1e-3)
    ratio = jnp.minimum(market_q / depth, 8.0)
    excess = jnp.minimum(jax.nn.relu(market_q - features[..., TOUCH_DEPTH_FEATURE]) / depth, 8.0)
    return jnp.stack([ratio, excess, jnp.tanh(8.0 * excess)], axis=-1)


@partial(jax.jit, static_argnums=0)
def teacher_forced(model: BookDynamics, variables, t: Transitions) -> DynamicsPrediction:
    """Predictions along recorded paths (inputs: the recorded features and actions); leading
    axes (n_paths, n_steps). Jitted once per model and shapes (the held-out checks call it
    many times)."""

    def run(features, market_q, limit_q):
        def body(h, xs):
            return model.apply(variables, h, *xs)

        _, pred = jax.lax.scan(body, model.initial(), (features, market_q, limit_q))
        return pred

    return jax.vmap(run)(t.features, t.market_q, t.limit_q)


def fill_probability(pred: DynamicsPrediction, level: jax.Array) -> jax.Array:
    """Per-share fill probability of a limit order placed with level weights `level` (…, K)."""
    return jnp.sum(level * jax.nn.sigmoid(pred.fill_logits), axis=-1)


def dynamics_loss(model: BookDynamics, variables, t: Transitions, scale: jax.Array):
    """Mean over steps of: scaled MSE of the next market features, Gaussian NLL of the mid
    move, cross-entropy of the fill fraction (where shares were posted) and squared error of
    the fills' cost (bps) given the recorded fills and the premium heads."""
    pred = teacher_forced(model, variables, t)
    feat = jnp.mean(((pred.next_market - t.next_features[..., _IDX]) / scale) ** 2)
    y = t.mid_move_bps
    nll = jnp.mean(
        0.5 * pred.mid_log_var
        + 0.5 * (y - pred.mid_mean_bps) ** 2 * jnp.exp(-pred.mid_log_var)
        + _HALF_LOG_2PI
    )
    logit = jnp.sum(t.level * pred.fill_logits, axis=-1)
    f = t.fill_fraction
    posted = (t.posted_q > 0).astype(jnp.float32)
    bce = optax.sigmoid_binary_cross_entropy(logit, f) - optax.sigmoid_binary_cross_entropy(
        jnp.log(f + 1e-6) - jnp.log1p(-f + 1e-6), f
    )  # minus the entropy of the target: 0 at the perfect prediction
    fill = jnp.sum(posted * bce) / jnp.maximum(jnp.sum(posted), 1.0)
    cost = (
        t.market_fill_q * pred.market_premium_bps
        + t.passive_q * jnp.sum(t.level * pred.limit_premium_bps, axis=-1)
        + t.cleanup_q * pred.cleanup_premium_bps
    )
    return feat + nll + fill + jnp.mean((cost - t.cost_bps) ** 2)


@dataclass(frozen=True)
class DynamicsFit:
    """A fitted `BookDynamics`: model, variables, the feature scale, the training losses."""

    model: BookDynamics
    variables: dict
    scale: jax.Array
    result: TrainResult


def fit_book_dynamics(
    key,
    transitions: Transitions,
    *,
    n_offsets: int,
    hidden: int = 64,
    n_steps: int = 500,
    batch_paths: int = 128,
    learning_rate: float = 3e-3,
) -> DynamicsFit:
    """Fit `BookDynamics` to recorded transitions with Adam on minibatches of `batch_paths`
    paths (`wmjax.execution.train`, compiled once per configuration)."""
    positive_int("n_steps", n_steps)
    positive_int("batch_paths", batch_paths)
    positive("learning_rate", learning_rate)
    model = BookDynamics(n_offsets, hidden)
    f = transitions.features
    k_init, k_train = jax.random.split(key)
    variables = model.init(k_init, model.initial(), f[0, 0], jnp.float32(0), jnp.float32(0))
    scale = jnp.maximum(jnp.std(transitions.next_features[..., _IDX], axis=(0, 1)), 1e-3)
    loss = _DynamicsLoss(model, min(batch_paths, f.shape[0]))
    result = train(
        loss,
        variables,
        cached_adam(learning_rate),
        k_train,
        n_steps,
        loss_args=(transitions, scale),
    )
    return DynamicsFit(model, result.params, scale, result)


@dataclass(frozen=True)
class _DynamicsLoss:
    model: BookDynamics
    batch_paths: int

    def __call__(self, variables, key, transitions, scale):
        n = transitions.is_bps.shape[0]
        rows = jax.random.choice(key, n, (self.batch_paths,), replace=False)
        batch = jax.tree.map(lambda x: x[rows], transitions)
        return dynamics_loss(self.model, variables, batch, scale)


# -- dreaming --------------------------------------------------------------------------------


def dream_is_bps(
    policy_variables,
    key,
    model: BookDynamics,
    model_variables,
    starts: jax.Array,
    policy: PlacementPolicy,
    n_paths: int,
    n_steps: int,
    temperature,
) -> jax.Array:
    """(n_paths,) IS in bps of `policy` dreamt through the model from start features drawn
    from `starts` (n, 14): the clock, inventory and last-step features are exact, the market
    features the model's predictions, the mid move mean + std x N(0, 1) (reparameterised)."""
    k_start, k_noise = jax.random.split(key)
    x0 = starts[jax.random.randint(k_start, (n_paths,), 0, starts.shape[0])]
    noise = jax.random.normal(k_noise, (n_steps, n_paths))
    one = partial(_dream_path, policy_variables, model, model_variables, policy, n_steps)
    return jax.vmap(one, in_axes=(0, 1, None))(x0, noise, temperature)


def _dream_path(policy_variables, model, model_variables, policy, n_steps, x0, noise, t):
    def body(carry, xs):
        h, x, left, moved_bps, is_bps = carry
        step, eps = xs
        action = policy.decide(policy_variables, x, left)
        level = jax.nn.softmax(action.offset_logits / t)
        h, pred = model.apply(model_variables, h, x, action.market_shares, action.limit_shares)
        passive = action.limit_shares * fill_probability(pred, level)
        last = step == n_steps - 1
        cleanup = jnp.where(last, jnp.maximum(left - action.market_shares - passive, 0.0), 0.0)
        shares = action.market_shares + passive + cleanup
        cost = (
            action.market_shares * pred.market_premium_bps
            + passive * jnp.sum(level * pred.limit_premium_bps)
            + cleanup * pred.cleanup_premium_bps
        )
        is_bps = is_bps + cost + shares * moved_bps
        moved_bps = moved_bps + pred.mid_mean_bps + jnp.exp(0.5 * pred.mid_log_var) * eps
        left = left - shares
        x = dream_features(x, pred.next_market, step + 1, n_steps, left)
        return (h, x, left, moved_bps, is_bps), None

    zero = jnp.float32(0.0)
    carry = (model.initial(), x0, jnp.float32(1.0), zero, zero)
    steps = jnp.arange(n_steps, dtype=jnp.int32)
    (_, _, _, _, is_bps), _ = jax.lax.scan(body, carry, (steps, noise))
    return is_bps


def dream_features(x, next_market, step, n_steps: int, left) -> jax.Array:
    """`placement_features` at decision `step` from the predicted market features and the
    exact clock and inventory (`left`, share of the order); the latency carries over."""
    time_left = 1.0 - step / n_steps
    exact = {0: time_left, 1: left, 2: left - time_left, 10: (step == n_steps - 1) * 1.0}
    out = x.at[_IDX].set(next_market)
    for i, v in exact.items():
        out = out.at[i].set(jnp.asarray(v, jnp.float32))
    return out


@dataclass(frozen=True)
class _DreamLoss:
    model: BookDynamics
    policy: PlacementPolicy
    n_paths: int
    n_steps: int

    def __call__(self, policy_variables, key, model_variables, starts, risk_aversion, t):
        is_bps = dream_is_bps(
            policy_variables, key, self.model, model_variables, starts, self.policy,
            self.n_paths, self.n_steps, t,
        )  # fmt: skip
        return mean_variance(is_bps, risk_aversion)


def dream_loss(fit: DynamicsFit, policy: PlacementPolicy, n_paths: int, n_steps: int):
    """The dream objective as `loss(policy_variables, key, model_variables, starts,
    risk_aversion, temperature)` (hashable: `train` compiles it once per configuration)."""
    return _DreamLoss(fit.model, policy, n_paths, n_steps)


def train_in_dream(
    key,
    fit: DynamicsFit,
    starts: jax.Array,
    policy: PlacementPolicy,
    variables,
    *,
    risk_aversion: float,
    n_decisions: int,
    n_paths: int = 256,
    n_steps: int = 300,
    learning_rate: float = 0.03,
    temperature: float = 0.3,
) -> TrainResult:
    """Train `policy` (from `variables`) on the dream's E[IS] + lambda Var[IS] with Adam, fresh
    dream paths each step; the simulator is not called. `result.params`: the best variables."""
    starts = jnp.asarray(starts, jnp.float32).reshape(-1, N_FEATURES)
    positive("temperature", temperature)
    loss = dream_loss(fit, policy, positive_int("n_paths", n_paths, minimum=2), n_decisions)
    return train(
        loss,
        variables,
        cached_adam(positive("learning_rate", learning_rate)),
        key,
        positive_int("n_steps", n_steps),
        loss_args=(
            fit.variables,
            starts,
            jnp.float32(risk_aversion),
            jnp.float32(temperature),
        ),
    )
