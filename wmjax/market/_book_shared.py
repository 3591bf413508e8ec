"""What both book markets (`BookMarket`, `MarketMakingBook`) share outside the interval runner:
their configuration checks, the observation fields of the book, and the weights of the K
candidate levels (exact or relaxed)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from wmjax._checks import positive, positive_int, require
from wmjax.market._book import Side
from wmjax.market._book_core import quotes
from wmjax.market._latency import LATENCY_SAMPLERS

DEPTH_LEVELS = 3  # levels per side in the observation


def check_market_config(m) -> None:
    """The checks of the configuration fields both book markets share (InputError)."""
    positive_int("events_per_step", m.events_per_step)
    require(len(m.offsets_ticks) >= 1, "offsets_ticks needs at least one offset")
    require(
        all(isinstance(o, int) for o in m.offsets_ticks),
        f"offsets_ticks must be integers (ticks), got {m.offsets_ticks}",
    )
    require(
        m.latency_method in LATENCY_SAMPLERS, f"latency_method must be one of {LATENCY_SAMPLERS}"
    )
    positive("trading_day_s", m.trading_day_s)
    positive("queue_power", m.queue_power)
    positive_int("max_in_flight", m.max_in_flight)
    positive("markout_s", m.markout_s)
    positive_int("markout_slots", m.markout_slots)


def market_view(state, params) -> dict:
    """The observation fields both book markets share, from a state with `book`,
    `anchor_ticks` and last-interval features: mid (price units), spread_ticks, the
    DEPTH_LEVELS best levels' bid/ask_depth_shares, the best levels' imbalance in [-1, 1],
    trade_imbalance, volume_shares, volatility_ticks, tick_size and the mean latency_us."""
    q = quotes(state.book, state.anchor_ticks).astype(jnp.float32)
    depth = state.book.size_shares[:, :DEPTH_LEVELS].astype(jnp.float32)
    top = depth[:, 0]
    return dict(
        mid=0.5 * (q[0] + q[1]) * params.tick_size,
        spread_ticks=q[1] - q[0],
        bid_depth_shares=depth[Side.BID],
        ask_depth_shares=depth[Side.ASK],
        imbalance=(top[0] - top[1]) / jnp.maximum(top[0] + top[1], 1.0),
        trade_imbalance=state.trade_imbalance,
        volume_shares=state.volume_shares,
        volatility_ticks=state.volatility_ticks,
        tick_size=params.tick_size,
        latency_us=jnp.asarray(params.latency.one_way_latency_us, jnp.float32),
    )


def realised_volatility_ticks(sq_mid_ticks2) -> jax.Array:
    """sqrt(sum of squared mid changes), ticks, with a zero gradient where no mid moved (the
    plain square root's slope at 0 is infinite, and times a zero cotangent it is a NaN)."""
    moved = sq_mid_ticks2 > 0
    return jnp.where(moved, jnp.sqrt(jnp.where(moved, sq_mid_ticks2, 1.0)), 0.0)


def candidate_weights(logits, temperature, k: int) -> jax.Array:
    """(K,) weights of the K candidate levels: softmax(logits / T) if T > 0, else the one-hot
    argmax (exact)."""
    logits = jnp.asarray(logits, jnp.float32)
    soft = jax.nn.softmax(logits / jnp.where(temperature > 0, temperature, 1.0))
    hard = jax.nn.one_hot(jnp.argmax(logits), k, dtype=jnp.float32)
    return jnp.where(temperature > 0, soft, hard)
