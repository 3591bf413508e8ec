"""Two venues that quote one efficient price, one of them late: the market of cross-venue
latency arbitrage (Budish, Cramton & Shim 2015), on the `Market` protocol.

The efficient price jumps by `jump_ticks` (up or down, equal odds) at Poisson times of rate
`jump_rate_per_s`. Venue A's quotes follow it at once; venue B's follow it `stale_us`
microseconds late (its feed latency). After a jump B's quote on one side is stale: a lot bought
at B's old ask after an up-jump (sold at its old bid after a down-jump) and hedged at the new
efficient price on A earns `jump_ticks - half_spread_ticks - fee_ticks`. An immediate-or-cancel
order to B arrives after a one-way latency drawn from the params' `LatencyScenario`; it fills
when it arrives before B's update and before a rival's order (if any), and is cancelled
otherwise at no cost.

One decision step is one jump slot: the session's jump count is drawn at `init` (Poisson), and
step k is the k-th jump if k < count (else nothing happens). The action is the lots sent to B
after the jump. Prices are in ticks relative to the arrival price; the `Fills` of a step are the
hedged round trip (net 0 lots, notional = minus the edge per lot filled).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive, require
from wmjax.market._latency import LatencyScenario, sample_latency_us
from wmjax.market._protocol import Fills


@struct.dataclass
class StaleQuoteParams:
    """Two venues, one stale (floats; vmap over them).

    Attributes:
        jump_rate_per_s: efficient-price jumps per second.
        jump_ticks: size of a jump, ticks.
        half_spread_ticks: venue B's half spread, ticks.
        stale_us: venue B's quote update delay after a jump, microseconds.
        fee_ticks: cost per lot traded (fees), ticks.
    """

    jump_rate_per_s: jax.Array
    jump_ticks: jax.Array
    half_spread_ticks: jax.Array
    stale_us: jax.Array
    fee_ticks: jax.Array


def stale_quote_params(
    jump_rate_per_s: float = 5.0,
    jump_ticks: float = 2.0,
    half_spread_ticks: float = 0.5,
    stale_us: float = 2000.0,
    fee_ticks: float = 0.1,
) -> StaleQuoteParams:
    """Checked params (defaults: a 2-tick jump 5 times a second, B two milliseconds late)."""
    for name, value in (("jump_rate_per_s", jump_rate_per_s), ("stale_us", stale_us)):
        positive(name, value)
    for name, value in (("half_spread_ticks", half_spread_ticks), ("fee_ticks", fee_ticks)):
        positive(name, value, allow_zero=True)
    require(
        jump_ticks > half_spread_ticks + fee_ticks,
        f"jump_ticks={jump_ticks} must exceed half_spread_ticks + fee_ticks for an arbitrage",
    )
    values = (jump_rate_per_s, jump_ticks, half_spread_ticks, stale_us, fee_ticks)
    return StaleQuoteParams(*(jnp.float32(v) for v in values))


@struct.dataclass
class ArbitrageSession:
    """What `StaleQuoteMarket` reads per run: the venues, our latency scenario, a rival's (used
    when `has_rival`) and the session length in seconds."""

    venues: StaleQuoteParams
    latency: LatencyScenario
    rival: LatencyScenario
    has_rival: jax.Array
    horizon_s: jax.Array


@struct.dataclass
class StaleState:
    """One path: the efficient price (ticks from arrival), the session's jump count and the
    slot index."""

    price_ticks: jax.Array
    n_jumps: jax.Array
    step: jax.Array


@struct.dataclass
class StaleObservation:
    """The efficient price (`mid`, ticks from arrival), whether this slot holds a jump, and the
    expected edge per lot of a fill, ticks."""

    mid: jax.Array
    jump_live: jax.Array
    edge_ticks: jax.Array


@struct.dataclass
class ArbitrageRecord:
    """Per slot: whether it held a jump and the lots filled at B."""

    live: jax.Array
    filled_lots: jax.Array


@dataclass(frozen=True)
class StaleQuoteMarket:
    """The two-venue stale-quote market (module doc) for `wmjax.execution.rollout`; the rollout's
    n_steps is the jump capacity of a session (more jumps are counted in `StaleState.n_jumps`)."""

    latency_method: str = "lognormal"

    def init(self, key, params: ArbitrageSession, order, n_steps: int) -> StaleState:
        rate = params.venues.jump_rate_per_s * params.horizon_s
        n_jumps = jax.random.poisson(key, rate).astype(jnp.int32)
        return StaleState(jnp.float32(0.0), n_jumps, jnp.int32(0))

    def observe(self, state: StaleState, params: ArbitrageSession) -> StaleObservation:
        v = params.venues
        return StaleObservation(
            mid=state.price_ticks,
            jump_live=state.step < state.n_jumps,
            edge_ticks=v.jump_ticks - v.half_spread_ticks - v.fee_ticks,
        )

    def step(self, key, state: StaleState, action, params: ArbitrageSession):
        """`action`: lots sent to B after this slot's jump (IOC)."""
        k_sign, k_lat, k_rival = jax.random.split(key, 3)
        v = params.venues
        live = state.step < state.n_jumps
        up = jax.random.bernoulli(k_sign)
        move = jnp.where(live, jnp.where(up, v.jump_ticks, -v.jump_ticks), 0.0)
        latency = sample_latency_us(k_lat, params.latency, (), self.latency_method)
        rival = sample_latency_us(k_rival, params.rival, (), self.latency_method)
        wins = (latency < v.stale_us) & (~params.has_rival | (latency < rival))
        lots = jnp.where(live & wins, jnp.maximum(jnp.asarray(action, jnp.float32), 0.0), 0.0)
        edge = v.jump_ticks - v.half_spread_ticks - v.fee_ticks
        next_state = state.replace(price_ticks=state.price_ticks + move, step=state.step + 1)
        return next_state, Fills(
            shares=jnp.float32(0.0),
            notional=-edge * lots,
            market_volume_shares=jnp.float32(1.0),
            record=ArbitrageRecord(live=live, filled_lots=lots),
        )

    def mirror(self, params: ArbitrageSession) -> ArbitrageSession:
        raise NotImplementedError(
            "the stale-quote market has no antithetic twin; use RolloutConfig(antithetic=False)"
        )
