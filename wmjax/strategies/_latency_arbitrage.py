"""Cross-venue latency arbitrage on two venues that quote one efficient price.

The efficient price jumps by `jump_ticks` (up or down, equal odds) at Poisson times of rate
`jump_rate_per_s`. Venue A's quotes follow it at once; venue B's follow it `stale_us`
microseconds late (its feed latency). After each jump B's quote on one side is stale: a buy at
B's old ask (after an up-jump) is worth `jump_ticks - half_spread_ticks` ticks at the new
efficient price. The arbitrageur sees the jump on A (co-located there) and sends an
immediate-or-cancel order for one lot to B, which arrives after a one-way latency drawn from its
`LatencyScenario`; it fills when it arrives before B's update and before a rival arbitrageur's
order (if any), and is cancelled otherwise, at no cost but the fee. The latency-adjusted spread
between venues (Budish, Cramton & Shim 2015) is thus worth something only to the fastest
order that beats the stale venue's update.

With a lognormal latency (mean m, jitter j), P(L < s) = Phi((ln s - mu) / sigma), sigma² =
ln(1 + j²/m²), mu = ln m - sigma²/2 (`wmjax.market.sample_latency_us`); without a rival the
expected P&L per second is rate·P(L < s)·(jump - half spread - fee).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int, require
from wmjax.market import LatencyScenario, latency_scenario, sample_latency_us


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


def win_probability(params: StaleQuoteParams, scenario: LatencyScenario):
    """P(a lognormal one-way latency of `scenario` < stale_us), the closed form (module doc)."""
    mean = jnp.asarray(scenario.one_way_latency_us, jnp.float32)
    jitter = jnp.asarray(scenario.jitter_us, jnp.float32)
    s2 = jnp.log1p((jitter / mean) ** 2)
    z = (jnp.log(params.stale_us) - (jnp.log(mean) - 0.5 * s2)) / jnp.sqrt(s2)
    return jax.scipy.stats.norm.cdf(z)


def latency_arbitrage(
    key,
    params: StaleQuoteParams,
    scenario: str | LatencyScenario,
    horizon_s: float,
    n_paths: int,
    *,
    rival: str | LatencyScenario | None = None,
    capacity: int = 256,
) -> dict:
    """Monte Carlo of the arbitrage over `n_paths` sessions of `horizon_s` seconds (each jump's
    latencies from the path's key; at most `capacity` jumps a session, else InputError).
    Returns per-session P&L (ticks) mean and SE, fills per jump, the closed-form win
    probability, and the latency difference stale_us - mean latency (us)."""
    scenario = latency_scenario(scenario)
    positive("horizon_s", horizon_s)
    n_paths = positive_int("n_paths", n_paths, minimum=2)
    capacity = positive_int("capacity", capacity)
    # One compiled program for every scenario: the latencies are traced, the labels dropped.
    traced = lambda s: LatencyScenario("arb", s.one_way_latency_us, s.jitter_us)  # noqa: E731
    rival_scenario = traced(latency_scenario(rival) if rival is not None else scenario)
    pnl, fills, jumps = _sessions(
        key,
        params,
        traced(scenario),
        rival_scenario,
        jnp.bool_(rival is not None),
        jnp.float32(horizon_s),
        n_paths,
        capacity,
    )
    pnl, fills, jumps = (np.asarray(x, np.float64) for x in (pnl, fills, jumps))
    require(
        bool((jumps <= capacity).all()),
        f"capacity={capacity} is below the jumps of a {horizon_s} s session; increase it",
    )
    return {
        "pnl_ticks_mean": float(pnl.mean()),
        "pnl_ticks_se": float(pnl.std(ddof=1) / np.sqrt(n_paths)),
        "fills_per_jump": float(fills.sum() / max(jumps.sum(), 1)),
        "win_probability_closed_form": float(win_probability(params, scenario)),
        "latency_difference_us": float(params.stale_us - scenario.one_way_latency_us),
    }


@partial(jax.jit, static_argnums=(6, 7))
def _sessions(key, params, scenario, rival, has_rival, horizon_s, n_paths, capacity):
    def one(k):
        k_count, k_lat, k_rival = jax.random.split(k, 3)
        n = jax.random.poisson(k_count, params.jump_rate_per_s * horizon_s)
        live = jnp.arange(capacity) < n
        latency = sample_latency_us(k_lat, scenario, (capacity,))
        rival_latency = sample_latency_us(k_rival, rival, (capacity,))
        wins = (latency < params.stale_us) & (~has_rival | (latency < rival_latency))
        filled = live & wins
        edge = params.jump_ticks - params.half_spread_ticks - params.fee_ticks
        # An IOC that misses costs nothing; a fill earns the edge.
        return (filled * edge).sum(), filled.sum(), n

    return jax.vmap(one)(jax.random.split(key, n_paths))
