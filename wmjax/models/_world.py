"""World models of the order book in flax: encoder (vision), tick dynamics (memory), order-flow
price model and a placement policy (controller), joined DreamerV3-style (Hafner et al. 2023) as
verbs over one carry: `observe` (teacher-forced update from data, scanned over time), `imagine`
(the dynamics fed its own predicted latents under given actions, scanned) and `act`.

Shapes (defaults as in the issue): the encoder maps the book (4 L inputs: symlog offsets and
sizes) through 128 -> 64 and the flow vector (16) through 32 -> 32, fused into d_latent = 64; the
dynamics is a GRU on [z_t, one-hot action] whose state predicts the next latent, the next spread
and imbalance and the direction (down/flat/up) at each event horizon: a linear skip on the six
hand features of the softmax baseline (standardised) plus the GRU state's correction, whose layer
starts at zero, so the head starts as a softmax regression; the order-flow model is a
2-layer GRU over the last W events' flow (the flow vector and the price prior as context) giving
corrections to the mean and log variance of the mid change over the clock horizon, bps; the
policy gives logits over `Action` and a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct


class Action(IntEnum):
    """Placement actions of `OrderPlacementPolicy` and the dynamics' action input."""

    MARKET = 0
    LIMIT_AT_TOUCH = 1
    LIMIT_BEHIND = 2
    CANCEL = 3
    WAIT = 4


@dataclass(frozen=True)
class WorldModelConfig:
    """Static shapes: book inputs 4 L, flow inputs, history window, direction horizons."""

    lob_dim: int = 4
    flow_dim: int = 16
    history_channels: int = 5
    lob_hidden: int = 128
    lob_out: int = 64
    flow_hidden: int = 32
    flow_out: int = 32
    d_latent: int = 64
    gru_hidden: int = 64
    flow_gru_hidden: int = 32
    policy_hidden: int = 64
    n_horizons: int = 4
    hand_dim: int = 6


class MicrostructureEncoder(nn.Module):
    """(…, lob_dim), (…, flow_dim) -> (…, d_latent) latent z (tanh-bounded)."""

    config: WorldModelConfig

    @nn.compact
    def __call__(self, lob: jax.Array, flow: jax.Array) -> jax.Array:
        c = self.config
        a = nn.relu(nn.Dense(c.lob_hidden)(lob))
        a = nn.relu(nn.Dense(c.lob_out)(a))
        b = nn.relu(nn.Dense(c.flow_hidden)(flow))
        b = nn.relu(nn.Dense(c.flow_out)(b))
        return jnp.tanh(nn.Dense(c.d_latent)(jnp.concatenate([a, b], axis=-1)))


@struct.dataclass
class TickPrediction:
    """What the dynamics predicts from its state after seeing (z_t, action_t)."""

    next_latent: jax.Array  # (…, d_latent)
    spread: jax.Array  # (…,) symlog spread, ticks
    imbalance: jax.Array  # (…,) queue imbalance in [-1, 1]
    direction_logits: jax.Array  # (…, n_horizons, 3) down / flat / up


class TickDynamicsModel(nn.Module):
    """GRU memory on [z_t, one-hot action]: `step` for one tick, `rollout` scanned over many.
    Direction logits = `direction_skip`(hand features) + `direction_head`(GRU state): a softmax
    regression on the standardised hand features (`MicrostructureState.hand_features`) plus the
    network's correction, initialised at zero (the trainer sets the skip to the fitted softmax
    baseline, see `_world_train`). Without hand features (imagined ticks) they are taken as
    zero, i.e. at their training mean."""

    config: WorldModelConfig

    def setup(self):
        c = self.config
        self.cell = nn.GRUCell(features=c.gru_hidden)
        self.latent_head = nn.Dense(c.d_latent)
        self.state_head = nn.Dense(2)
        self.direction_skip = nn.Dense(3 * c.n_horizons)
        zeros = nn.initializers.zeros
        self.direction_head = nn.Dense(3 * c.n_horizons, kernel_init=zeros, bias_init=zeros)

    def initial(self, batch_shape: tuple[int, ...]) -> jax.Array:
        """Zero carry of shape (*batch_shape, gru_hidden)."""
        return jnp.zeros((*batch_shape, self.config.gru_hidden), jnp.float32)

    def step(
        self, h: jax.Array, z: jax.Array, action: jax.Array, hand: jax.Array | None = None
    ) -> tuple[jax.Array, TickPrediction]:
        """One tick; `hand` (…, hand_dim) standardised hand features at the tick (None: 0)."""
        a = jax.nn.one_hot(action, len(Action))
        h, _ = self.cell(h, jnp.concatenate([z, a], axis=-1))
        s = self.state_head(h)
        if hand is None:
            hand = jnp.zeros((*h.shape[:-1], self.config.hand_dim), h.dtype)
        logits = self.direction_skip(hand) + self.direction_head(h)
        return h, TickPrediction(
            next_latent=jnp.tanh(self.latent_head(h)),
            spread=s[..., 0],
            imbalance=jnp.tanh(s[..., 1]),
            direction_logits=logits.reshape(*h.shape[:-1], -1, 3),
        )

    def rollout(self, h: jax.Array, z0: jax.Array, actions: jax.Array) -> TickPrediction:
        """Imagine T ticks from (h, z0) under `actions` (T, …): each step is fed the previous
        step's predicted latent. Returns predictions with a leading T axis."""

        def body(mdl, carry, action):
            h, z = carry
            h, pred = mdl.step(h, z, action)
            return (h, pred.next_latent), pred

        scan = nn.scan(body, variable_broadcast="params", split_rngs={"params": False})
        _, preds = scan(self, (h, z0), actions)
        return preds


class OrderFlowWorldModel(nn.Module):
    """2-layer GRU over the flow history (…, W, channels) with a context vector -> corrections to
    the mean (bps) and log variance of the mid change over the clock horizon. The output layer
    starts at zero, so an untrained model predicts exactly its prior (see `_world_train`)."""

    config: WorldModelConfig

    @nn.compact
    def __call__(self, history: jax.Array, context: jax.Array) -> tuple[jax.Array, jax.Array]:
        c = self.config
        x = nn.RNN(nn.GRUCell(features=c.flow_gru_hidden))(history)
        x = nn.RNN(nn.GRUCell(features=c.flow_gru_hidden))(x)
        head = nn.Dense(2, kernel_init=nn.initializers.zeros)
        out = head(jnp.concatenate([x[..., -1, :], context], axis=-1))
        return out[..., 0], out[..., 1]


class OrderPlacementPolicy(nn.Module):
    """Logits over `Action` and a value from the latent (and the dynamics state)."""

    config: WorldModelConfig

    @nn.compact
    def __call__(self, features: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = nn.relu(nn.Dense(self.config.policy_hidden)(features))
        return nn.Dense(len(Action))(x), nn.Dense(1)(x)[..., 0]


@struct.dataclass
class Observed:
    """Outputs of `observe` along a sequence (leading axes (…, T))."""

    latent: jax.Array
    prediction: TickPrediction
    price_mean_bps: jax.Array  # raw head outputs: the trainer adds them to the prior N(0, EWMA
    price_log_var: jax.Array  #   variance) and bounds the log-variance change (_world_train)
    policy_logits: jax.Array
    value: jax.Array


class OrderBookWorldModel(nn.Module):
    """Encoder + dynamics + order-flow model + policy over one carry (the GRU state)."""

    config: WorldModelConfig = WorldModelConfig()

    def setup(self):
        self.encoder = MicrostructureEncoder(self.config)
        self.dynamics = TickDynamicsModel(self.config)
        self.flow_model = OrderFlowWorldModel(self.config)
        self.policy = OrderPlacementPolicy(self.config)

    def initial(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return self.dynamics.initial(batch_shape)

    def act(self, h: jax.Array, z: jax.Array) -> tuple[jax.Array, jax.Array]:
        return self.policy(jnp.concatenate([z, h], axis=-1))

    def observe(
        self, h, lob, flow, history, actions, price_prior=None, hand=None
    ) -> tuple[jax.Array, Observed]:
        """Teacher-forced pass over a sequence: lob (B, T, 4L), flow (B, T, F), history
        (B, T, W, C), actions (B, T) int, price_prior (B, T) log ratio of the price prior's
        variance to the training variance (None: 0), hand (B, T, hand_dim) standardised hand
        features (None: 0). Returns the final carry and per-step outputs. The order-flow
        model's context: the flow vector and price_prior."""
        z = self.encoder(lob, flow)
        if price_prior is None:
            price_prior = jnp.zeros(actions.shape, flow.dtype)
        if hand is None:
            hand = jnp.zeros((*actions.shape, self.config.hand_dim), flow.dtype)
        # no latent in the price context: the order-flow model's parameters are then its own,
        # early-stopped on the price NLL apart from the rest (see fit_world_model)
        context = jnp.concatenate([flow, price_prior[..., None]], axis=-1)
        mean, log_var = self.flow_model(history, context)

        def body(mdl, h, xs):
            z_t, a_t, x_t = xs
            logits, value = mdl.act(h, z_t)
            h, pred = mdl.dynamics.step(h, z_t, a_t, x_t)
            return h, (pred, logits, value)

        scan = nn.scan(body, variable_broadcast="params", split_rngs={"params": False})
        xs = (jnp.swapaxes(z, 0, 1), actions.T, jnp.swapaxes(hand, 0, 1))
        h, (pred, logits, value) = scan(self, h, xs)
        moved = jax.tree_util.tree_map(lambda x: jnp.swapaxes(x, 0, 1), (pred, logits, value))
        pred, logits, value = moved
        return h, Observed(z, pred, mean, log_var, logits, value)

    def imagine(self, h: jax.Array, z0: jax.Array, actions: jax.Array) -> TickPrediction:
        """Roll the dynamics T steps from (h, z0) under `actions` (T, …) on its own latents."""
        return self.dynamics.rollout(h, z0, actions)

    def infer(self, h, lob, flow, hand=None):
        """One decision on one state: encode, act (greedy), advance the dynamics.
        Returns (action, new carry, prediction)."""
        z = self.encoder(lob, flow)
        logits, _ = self.act(h, z)
        action = jnp.argmax(logits, axis=-1)
        h, pred = self.dynamics.step(h, z, action, hand)
        return action, h, pred

    def __call__(self, h, lob, flow, history, actions, price_prior=None, hand=None):
        return self.observe(h, lob, flow, history, actions, price_prior, hand)
