"""Several lit books of one asset, each behind its own latency: the market of smart order
routing (one marketable buy split across venues).

Venue v displays asks at `ask_offset_ticks[v] + l` ticks above the common mid (levels l = 0 ..
L-1), `depth_lots[v, l]` lots on average (each path's displayed level is that times an independent
uniform(0.5, 1.5), rounded). A child order sent to v arrives after a one-way latency drawn from
(`latency_us[v]`, `jitter_us[v]`); by then each displayed level is still there with
probability exp(-`fade_per_s`·latency), independently (else taken or cancelled by faster
traders: the book fades), so what is on the screen is worth less the farther the venue. The
child sweeps what is left, paying `fee_ticks[v]` per share on top; shares it cannot fill are
completed afterwards at `miss_ticks` above the mid (chasing the book). With no fade the cost
of a split is the closed-form sweep of the displayed books.

One decision step: the action is shares per venue (`LitAction`); `Fills` are the whole
quantity sent (completed), notional in price units; the cost against the arrival mid is the
rollout's implementation shortfall. A buy only (a sell is its mirror image on the bids).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive, require
from wmjax._numerics import fill_in_order
from wmjax.market._latency import LATENCY_SAMPLERS, LatencyScenario, sample_latency_us
from wmjax.market._protocol import Fills


@struct.dataclass
class LitVenueParams:
    """V lit venues, L displayed levels each (floats; vmap over them).

    Attributes:
        mid0: the common mid, price units; tick_size: price units per tick.
        ask_offset_ticks: (V,) best ask above the mid, ticks.
        depth_lots: (V, L) mean displayed lots at each level.
        latency_us, jitter_us: (V,) one-way latency to each venue (lognormal), microseconds.
        fade_per_s: rate at which displayed liquidity disappears before our order arrives, 1/s.
        fee_ticks: (V,) taker fee per share, ticks.
        miss_ticks: price of the shares not filled on arrival, ticks above the mid.
        lot_shares: shares per lot.
    """

    mid0: jax.Array
    tick_size: jax.Array
    ask_offset_ticks: jax.Array
    depth_lots: jax.Array
    latency_us: jax.Array
    jitter_us: jax.Array
    fade_per_s: jax.Array
    fee_ticks: jax.Array
    miss_ticks: jax.Array
    lot_shares: jax.Array


def lit_venue_params(
    ask_offset_ticks,
    depth_lots,
    latency_us,
    jitter_us=None,
    *,
    fade_per_s: float = 200.0,
    fee_ticks=None,
    miss_ticks: float | None = None,
    mid0: float = 100.0,
    tick_size: float = 0.01,
    lot_shares: float = 100.0,
) -> LitVenueParams:
    """Checked params; `jitter_us` defaults to 10% of the latency, fees to 0 and `miss_ticks`
    to two ticks beyond the deepest displayed level."""
    f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    offsets, depth, latency = f32(ask_offset_ticks), f32(depth_lots), f32(latency_us)
    require(depth.ndim == 2, f"depth_lots must be (venues, levels), got shape {depth.shape}")
    n_venues, n_levels = depth.shape
    require(n_venues >= 2, "a router needs at least two venues (depth_lots rows)")
    jitter = 0.1 * latency if jitter_us is None else f32(jitter_us)
    fees = jnp.zeros(n_venues, jnp.float32) if fee_ticks is None else f32(fee_ticks)
    for name, value in (("ask_offset_ticks", offsets), ("latency_us", latency),
                        ("jitter_us", jitter), ("fee_ticks", fees)):  # fmt: skip
        require(value.shape == (n_venues,), f"{name} needs one value per venue ({n_venues})")
        positive(name, value, allow_zero=True)
    positive("depth_lots", depth, allow_zero=True)
    positive("fade_per_s", fade_per_s, allow_zero=True)
    deepest = float(jnp.max(offsets)) + n_levels - 1
    miss = deepest + 2.0 if miss_ticks is None else float(miss_ticks)
    require(miss > deepest, f"miss_ticks={miss} must be above the deepest level ({deepest})")
    for name, value in (("mid0", mid0), ("tick_size", tick_size), ("lot_shares", lot_shares)):
        positive(name, value)
    return LitVenueParams(
        f32(mid0), f32(tick_size), offsets, depth, latency, jitter, f32(fade_per_s), fees,
        f32(miss), f32(lot_shares),
    )  # fmt: skip


@struct.dataclass
class LitState:
    """One path: the displayed lots (V, L) when the order arrives at the router."""

    displayed_lots: jax.Array


@struct.dataclass
class LitObservation:
    """What the router sees: the mid, displayed lots (V, L) at `ask_ticks` (V, L) above the
    mid, and each venue's mean latency (us) and fee (ticks); tick and lot size."""

    mid: jax.Array
    displayed_lots: jax.Array
    ask_ticks: jax.Array
    latency_us: jax.Array
    fee_ticks: jax.Array
    tick_size: jax.Array
    lot_shares: jax.Array


@struct.dataclass
class LitAction:
    """Shares sent to each venue (V,), >= 0."""

    shares: jax.Array


@struct.dataclass
class LitRecord:
    """Per venue: shares filled on arrival (V,); and the shares completed at the miss price."""

    filled_shares: jax.Array
    missed_shares: jax.Array


def ask_ladder(params: LitVenueParams) -> jax.Array:
    """(V, L) ask prices of the displayed levels, ticks above the mid."""
    return params.ask_offset_ticks[:, None] + jnp.arange(params.depth_lots.shape[1])


def ladder_sweep(shares: jax.Array, available: jax.Array) -> jax.Array:
    """(V, L) shares each level fills when venue v sweeps its ladder with `shares[v]`,
    best level first; `available` (V, L) shares."""
    return fill_in_order(shares[:, None], available)


@dataclass(frozen=True)
class LitVenuesMarket:
    """The lit venues (module doc) as a `Market` for `wmjax.execution.rollout` (n_steps = 1)."""

    latency_method: str = "lognormal"

    def __post_init__(self):
        require(
            self.latency_method in LATENCY_SAMPLERS,
            f"latency_method must be one of {LATENCY_SAMPLERS}",
        )

    def init(self, key, params: LitVenueParams, order, n_steps: int) -> LitState:
        scale = jax.random.uniform(key, params.depth_lots.shape, jnp.float32, 0.5, 1.5)
        return LitState(jnp.round(params.depth_lots * scale))

    def observe(self, state: LitState, params: LitVenueParams) -> LitObservation:
        return LitObservation(
            mid=params.mid0,
            displayed_lots=state.displayed_lots,
            ask_ticks=ask_ladder(params),
            latency_us=params.latency_us,
            fee_ticks=params.fee_ticks,
            tick_size=params.tick_size,
            lot_shares=params.lot_shares,
        )

    def step(self, key, state: LitState, action: LitAction, params: LitVenueParams):
        k_latency, k_fade = jax.random.split(key)
        n_venues = params.latency_us.shape[0]

        def draw(k, mean_us, jitter_us):
            venue = LatencyScenario("venue", mean_us, jitter_us)
            return sample_latency_us(k, venue, (), self.latency_method)

        keys = jax.random.split(k_latency, n_venues)
        latency_us = jax.vmap(draw)(keys, params.latency_us, params.jitter_us)
        keep = jnp.exp(-params.fade_per_s * latency_us * 1e-6)
        there = jax.random.uniform(k_fade, state.displayed_lots.shape) < keep[:, None]
        left = jnp.where(there, state.displayed_lots, 0.0)
        sent = jnp.maximum(jnp.asarray(action.shares, jnp.float32), 0.0)
        filled = ladder_sweep(sent, left * params.lot_shares)
        price = ask_ladder(params) + params.fee_ticks[:, None]
        missed = sent.sum() - filled.sum()
        cost_ticks = (filled * price).sum() + missed * params.miss_ticks
        notional = sent.sum() * params.mid0 + cost_ticks * params.tick_size
        return state, Fills(
            shares=sent.sum(),
            notional=notional,
            market_volume_shares=jnp.maximum(filled.sum(), 1.0),
            record=LitRecord(filled_shares=filled.sum(axis=1), missed_shares=missed),
        )

    def mirror(self, params: LitVenueParams) -> LitVenueParams:
        raise NotImplementedError(
            "the lit venues have no antithetic twin; use RolloutConfig(antithetic=False)"
        )
