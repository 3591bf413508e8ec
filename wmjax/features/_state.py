"""The microstructure state z_t of every row of a `BookStream`, by one causal code path.

Each field at row i is a function of rows <= i only (checked by `lookahead_gap` in the tests):
the book at L levels as offsets from the mid and sizes, spread, mid, queue imbalance, OFI (CKS
2014) over event and clock windows, multi-level OFI (Xu, Gould & Howison 2019) over the longest
clock window, signed trade flow and trade rate, realised volatility from tick-level mid returns,
the last mid move, and our own state. Heavy-tailed sizes and flows enter the model vectors through
symlog (DreamerV3, Hafner et al. 2023).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive_int, require
from wmjax.features._ofi import clock_window_sum, event_window_sum, ofi_sides
from wmjax.features._stream import BookStream


@dataclass(frozen=True)
class FeatureConfig:
    """Static feature settings: windows in events and seconds, realised-vol window in events."""

    event_windows: tuple[int, ...] = (10, 50, 100)
    clock_windows_s: tuple[float, ...] = (1.0, 10.0, 60.0)
    vol_window_events: int = 100

    def __post_init__(self):
        for w in self.event_windows:
            positive_int("event_windows", w)
        require(len(self.event_windows) > 0, "event_windows must not be empty")
        require(
            len(self.clock_windows_s) > 0 and all(w > 0 for w in self.clock_windows_s),
            f"clock_windows_s must be positive seconds, got {self.clock_windows_s}",
        )
        positive_int("vol_window_events", self.vol_window_events, minimum=2)


def symlog(x: jax.Array) -> jax.Array:
    """sign(x) log(1 + |x|): squashes sizes and flows (DreamerV3, Hafner et al. 2023)."""
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


@struct.dataclass
class MicrostructureState:
    """Per-row features (leading axis N). Prices in ticks, sizes in shares, rates per second."""

    mid_ticks: jax.Array  # (N,) float32, last two-sided mid carried forward
    spread_ticks: jax.Array  # (N,)
    imbalance: jax.Array  # (N,) (q_bid - q_ask) / (q_bid + q_ask) at the best level
    book_offset_ticks: jax.Array  # (N, 2, L) price - mid, bid row 0 (< 0), ask row 1 (> 0)
    book_size_shares: jax.Array  # (N, 2, L)
    ofi_events_shares: jax.Array  # (N, len(event_windows)) level-1 OFI over last w events
    ofi_clock_shares: jax.Array  # (N, len(clock_windows_s)) level-1 OFI over last w seconds
    mlofi_shares: jax.Array  # (N, L) OFI per level over the longest clock window
    trade_flow_shares: jax.Array  # (N, len(clock_windows_s)) signed traded shares (buy > 0)
    trade_rate_per_s: jax.Array  # (N, len(clock_windows_s)) trades per second
    realised_vol_bps: jax.Array  # (N,) sqrt(sum of squared mid returns) over the vol window
    last_mid_move_ticks: jax.Array  # (N,) last non-zero mid change
    own: jax.Array  # (N, 4) inventory_shares, time_left_s, queue_ahead_shares, latency_us
    event_flow: jax.Array  # (N, 5) per event: bid and ask depth change (OFI parts), signed
    #   trade, sign of the mid change, log1p(ms since the previous event); model input, squashed

    def lob_vector(self) -> jax.Array:
        """(N, 4L) encoder input: symlog offsets and sizes, bid then ask."""
        n = self.mid_ticks.shape[0]
        return jnp.concatenate(
            [
                symlog(self.book_offset_ticks).reshape(n, -1),
                symlog(self.book_size_shares).reshape(n, -1),
            ],
            axis=1,
        )

    def flow_vector(self) -> jax.Array:
        """(N, F) encoder input (F = 16 with the default windows): flows, rates, vol, spread."""
        return jnp.concatenate(
            [
                symlog(self.ofi_events_shares),
                symlog(self.ofi_clock_shares),
                symlog(self.trade_flow_shares),
                jnp.log1p(self.trade_rate_per_s),
                jnp.log1p(self.realised_vol_bps)[:, None],
                symlog(self.spread_ticks)[:, None],
                self.imbalance[:, None],
                symlog(self.last_mid_move_ticks)[:, None],
            ],
            axis=1,
        )

    def hand_features(self) -> jax.Array:
        """(N, 6) the baseline's hand features: queue imbalance, spread, level-1 OFI over the
        configured event windows (10/50/100), last mid move; OFI and spread symlog-squashed."""
        return jnp.concatenate(
            [
                self.imbalance[:, None],
                symlog(self.spread_ticks)[:, None],
                symlog(self.ofi_events_shares),
                symlog(self.last_mid_move_ticks)[:, None],
            ],
            axis=1,
        )


def _carry_forward(values: jax.Array, valid: jax.Array) -> jax.Array:
    """values[j] for the last j <= i with valid[j] (values[0] if none yet)."""
    idx = jax.lax.cummax(jnp.where(valid, jnp.arange(values.shape[0]), 0))
    return values[idx]


def microstructure_state(
    stream: BookStream, config: FeatureConfig = FeatureConfig()
) -> MicrostructureState:
    """Features of every row of `stream` (jitted, compiled once per config and shape); see the
    module doc."""
    return _state(stream, config)


@partial(jax.jit, static_argnums=1)
def _state(stream: BookStream, config: FeatureConfig) -> MicrostructureState:
    bid_p = stream.bid_price_ticks.astype(jnp.float32)
    ask_p = stream.ask_price_ticks.astype(jnp.float32)
    bid_q, ask_q = stream.bid_size_shares, stream.ask_size_shares
    two_sided = (bid_q[:, 0] > 0) & (ask_q[:, 0] > 0)
    mid = _carry_forward((bid_p[:, 0] + ask_p[:, 0]) / 2, two_sided)
    spread = _carry_forward(ask_p[:, 0] - bid_p[:, 0], two_sided)
    qb, qa = bid_q[:, 0].astype(jnp.float32), ask_q[:, 0].astype(jnp.float32)
    imbalance = jnp.where(qb + qa > 0, (qb - qa) / jnp.maximum(qb + qa, 1.0), 0.0)
    offset = jnp.stack([bid_p - mid[:, None], ask_p - mid[:, None]], axis=1)
    size = jnp.stack([bid_q, ask_q], axis=1)
    offset = jnp.where(size > 0, offset, 0.0)

    e_bid, e_ask = ofi_sides(stream)
    e = e_bid - e_ask
    times = stream.times_s
    trades = stream.trade_signed_shares.astype(jnp.int32)
    wins = config.clock_windows_s
    ofi_clock = clock_window_sum(e, times, wins)  # (N, W, L)
    longest = max(range(len(wins)), key=lambda j: wins[j])
    dmid = jnp.diff(mid, prepend=mid[:1])
    ret_bps = dmid / mid * 1e4
    rv = event_window_sum(ret_bps**2, (config.vol_window_events,))[:, 0]
    last_move = _carry_forward(dmid, dmid != 0)
    own = jnp.stack(
        [stream.inventory_shares, stream.time_left_s, stream.queue_ahead_shares, stream.latency_us],
        axis=1,
    )
    return MicrostructureState(
        mid_ticks=mid,
        spread_ticks=spread,
        imbalance=imbalance,
        book_offset_ticks=offset,
        book_size_shares=size.astype(jnp.float32),
        ofi_events_shares=event_window_sum(e[:, 0], config.event_windows).astype(jnp.float32),
        ofi_clock_shares=ofi_clock[:, :, 0].astype(jnp.float32),
        mlofi_shares=ofi_clock[:, longest].astype(jnp.float32),
        trade_flow_shares=clock_window_sum(trades, times, wins).astype(jnp.float32),
        trade_rate_per_s=clock_window_sum((trades != 0).astype(jnp.int32), times, wins)
        / jnp.asarray(wins, jnp.float32),
        realised_vol_bps=jnp.sqrt(jnp.maximum(rv, 0.0)),
        last_mid_move_ticks=last_move,
        own=own,
        event_flow=jnp.stack(
            [
                symlog(e_bid[:, 0].astype(jnp.float32)),
                symlog(e_ask[:, 0].astype(jnp.float32)),
                symlog(trades.astype(jnp.float32)),
                jnp.sign(dmid),
                jnp.log1p(1e3 * jnp.diff(times, prepend=times[:1])),
            ],
            axis=1,
        ),
    )
