"""Cross-venue latency arbitrage on two venues that quote one efficient price
(`wmjax.market.StaleQuoteMarket`), run on the general rollout.

The arbitrageur sees each jump on venue A (co-located there) and sends an immediate-or-cancel
order for one lot to the stale venue B; it fills if it arrives before B's update and before a
rival's order. The latency-adjusted spread between venues (Budish, Cramton & Shim 2015) is thus
worth something only to the fastest order that beats the stale venue's update.

With a lognormal latency (mean m, jitter j), P(L < s) = Phi((ln s - mu) / sigma), sigma² =
ln(1 + j²/m²), mu = ln m - sigma²/2 (`wmjax.market.sample_latency_us`); without a rival the
expected P&L per second is rate·P(L < s)·(jump - half spread - fee).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import positive, positive_int, require
from wmjax.execution import Observation, RolloutConfig, account, order, rollout
from wmjax.market import (
    ArbitrageSession,
    LatencyScenario,
    StaleQuoteMarket,
    StaleQuoteParams,
    latency_scenario,
)


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
    session = ArbitrageSession(
        params,
        traced(scenario),
        rival_scenario,
        jnp.bool_(rival is not None),
        jnp.float32(horizon_s),
    )
    placeholder = order(1.0, horizon_s / 23400.0, "buy")
    paths = rollout(
        key,
        StaleQuoteMarket(),
        session,
        always_arbitrage,
        None,
        placeholder,
        RolloutConfig(n_paths=n_paths, n_steps=capacity, shard=False),
    )
    pnl = np.asarray(account(paths, placeholder).pnl, np.float64)
    fills = np.asarray(paths.records.filled_lots, np.float64).sum(axis=-1)
    jumps = np.asarray(paths.final_state.n_jumps, np.float64)
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


def always_arbitrage(params, obs: Observation) -> jax.Array:
    """Send one lot to the stale venue after every jump (a miss costs nothing)."""
    return jnp.where(obs.market.jump_live, 1.0, 0.0)
