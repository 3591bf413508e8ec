"""A learned market maker on the Hawkes book, trained end to end through the relaxed book.

`MakerPolicy` maps the microstructure state (spread, depth and imbalance of the best levels,
last-interval trade imbalance, volume and volatility, our queue positions and resting sizes,
the tape's VPIN and signed imbalance, latency) and the clock and inventory to both quotes: K
logits over `MarketMakingBook.offsets_ticks` per side and a size per side, sigmoid(s) x
`max_lots` lots.

Training maximises the mean over paths of P&L - phi x integral of inventory² dt (lots² s) by
pathwise differentiation of the relaxed simulator (`params.temperature > 0`: every candidate
quote rests at once, fills weighted by the tempered softmax; see `wmjax.market.MarketMakingBook`),
with the flow fixed by the keys: the estimator of `wmjax.models.PlacementPolicy`. The policy is
judged on the exact simulator (temperature 0) on other keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp

from wmjax._checks import InputError, positive, positive_int
from wmjax.execution import Observation, RolloutConfig, TrainResult, cached_adam, rollout, train
from wmjax.market import BookParams, MarketMakingBook, QuoteAction
from wmjax.models._quote_head import biased_init, level_index, logits_mlp
from wmjax.strategies import maker_objective, session_order

N_FEATURES = 17


def maker_features(obs: Observation, lot_shares: float, max_lots: float) -> jax.Array:
    """(N_FEATURES,) features of one observation; sizes in lots (depths in 10 lots)."""
    m = obs.market
    lot = lot_shares
    return jnp.stack(
        [
            m.inventory_shares / lot / max_lots,
            1.0 - obs.step / obs.n_steps,
            m.spread_ticks - 1.0,
            m.imbalance,
            m.trade_imbalance,
            m.volume_shares / lot / 10.0,
            m.volatility_ticks,
            m.bid_queue_ahead_shares / lot / 10.0,
            m.ask_queue_ahead_shares / lot / 10.0,
            m.bid_resting_shares / lot,
            m.ask_resting_shares / lot,
            m.bid_depth_shares[0] / lot / 10.0,
            m.ask_depth_shares[0] / lot / 10.0,
            m.vpin,
            m.order_imbalance,
            jnp.log10(1.0 + m.latency_us) / 5.0,
            (obs.step == obs.n_steps - 1).astype(jnp.float32),
        ]
    ).astype(jnp.float32)


class MakerNet(nn.Module):
    """MLP: features -> (bid size logit, ask size logit, K bid logits, K ask logits)."""

    n_offsets: int
    hidden: int = 32

    @nn.compact
    def __call__(self, x):
        return logits_mlp(x, self.hidden, 2 + 2 * self.n_offsets)


@dataclass(frozen=True)
class MakerPolicy:
    """The learned market maker (static, hashable: `rollout`'s policy). Fresh, it quotes
    max_lots / 2 lots per side at `init_level` (the last layer starts at zero)."""

    n_offsets: int
    hidden: int = 32
    lot_shares: float = 100.0
    max_lots: float = 2.0

    @property
    def net(self) -> MakerNet:
        return MakerNet(self.n_offsets, self.hidden)

    def init(self, key, market: MarketMakingBook, init_level: int = 0):
        i = level_index(self.n_offsets, market.offsets_ticks, init_level)
        k = self.n_offsets
        bias = jnp.zeros(2 + 2 * k).at[2 + i].set(2.0).at[2 + k + i].set(2.0)
        return biased_init(self.net, key, N_FEATURES, bias)

    def __call__(self, variables, obs: Observation) -> QuoteAction:
        x = maker_features(obs, self.lot_shares, self.max_lots)
        out = self.net.apply(variables, x)
        size = jax.nn.sigmoid(out[:2]) * self.max_lots * self.lot_shares
        k = self.n_offsets
        return QuoteAction(
            bid_shares=size[0],
            ask_shares=size[1],
            bid_logits=out[2 : 2 + k],
            ask_logits=out[2 + k :],
        )


@dataclass(frozen=True)
class _MakerLoss:
    """-(mean P&L - phi x inventory risk) over a batch, hashable so `train` compiles once."""

    market: MarketMakingBook
    policy: MakerPolicy
    config: RolloutConfig

    def __call__(self, variables, key, params: BookParams, session, phi):
        paths = rollout(key, self.market, params, self.policy, variables, session, self.config)
        _, obj = maker_objective(paths.final_state, params.tick_size, self.policy.lot_shares, phi)
        return -jnp.mean(obj)


def train_maker(
    key,
    market: MarketMakingBook,
    params: BookParams,
    horizon_s: float,
    n_decisions: int,
    *,
    phi: float,
    n_paths: int = 32,
    n_steps: int = 100,
    learning_rate: float = 0.01,
    temperature: float = 0.3,
    policy: MakerPolicy | None = None,
    variables=None,
    callback=None,
) -> tuple[MakerPolicy, TrainResult]:
    """Train a `MakerPolicy` with Adam on the relaxed objective at `temperature` (> 0), a fresh
    batch of `n_paths` sessions of `n_decisions` decisions over `horizon_s` seconds per step.
    `phi` is the inventory penalty, price units per lot² per second. Returns `(policy,
    TrainResult)`; judge `result.params` on the exact simulator on other keys."""
    positive_int("n_decisions", n_decisions)
    positive_int("n_paths", n_paths)
    positive("phi", phi, allow_zero=True)
    positive("learning_rate", learning_rate)
    if float(temperature) <= 0:
        raise InputError("temperature must be > 0 for training (0 is the exact simulator)")
    policy = policy or MakerPolicy(market.n_offsets)
    k_init, k_train = jax.random.split(key)
    if variables is None:
        variables = policy.init(k_init, market)
    loss = _MakerLoss(market, policy, RolloutConfig(n_paths=n_paths, n_steps=n_decisions))
    relaxed = params.replace(temperature=jnp.float32(temperature))
    result = train(
        loss,
        variables,
        cached_adam(learning_rate, clip_norm=1.0),
        k_train,
        n_steps,
        callback=callback,
        loss_args=(relaxed, session_order(market, horizon_s), jnp.float32(phi)),
    )
    return policy, result
