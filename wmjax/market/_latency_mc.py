"""Monte Carlo of what latency costs one order: fill rate, latency and slippage distributions.

An order is sent as `n_children` child orders aimed at the quote we see. Each child arrives after
a latency l drawn from the scenario. The quote it aims at is still there with probability
exp(-l / quote_lifetime_us) (the quote is taken or cancelled at a constant rate: a Poisson model);
if it is, the child fills at the seen price moved by the latency's slippage
adverse_bps_per_ms * l + vol_bps_per_sqrt_s * sqrt(l) * z (bps, positive = against us), so a
buy pays more and a sell receives less in expectation.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive, positive_int
from wmjax.market._latency import LatencyScenario, check_latency_scenario, sample_latency_us


@struct.dataclass
class FillModel:
    """How a child order's chance to fill and its price decay with latency.

    Attributes:
        quote_lifetime_us: mean life of the quote we aim at, microseconds.
        vol_bps_per_sqrt_s: price volatility, bps per sqrt(second).
        adverse_bps_per_ms: expected adverse price move per millisecond of latency, bps.
    """

    quote_lifetime_us: jax.Array
    vol_bps_per_sqrt_s: jax.Array
    adverse_bps_per_ms: jax.Array


def fill_model(
    quote_lifetime_us=5000.0, vol_bps_per_sqrt_s=1.5, adverse_bps_per_ms=0.01
) -> FillModel:
    """A checked `FillModel` (defaults: a liquid stock, quotes living about 5 ms)."""
    positive("quote_lifetime_us", quote_lifetime_us)
    positive("vol_bps_per_sqrt_s", vol_bps_per_sqrt_s, allow_zero=True)
    positive("adverse_bps_per_ms", adverse_bps_per_ms, allow_zero=True)
    f32 = partial(jnp.asarray, dtype=jnp.float32)
    return FillModel(f32(quote_lifetime_us), f32(vol_bps_per_sqrt_s), f32(adverse_bps_per_ms))


@struct.dataclass
class LatencyReport:
    """Per path (leading axis n_paths): fill_rate (share of children filled), latency_us (mean
    latency of the children), slippage_bps (mean slippage of the filled children; 0 if none)."""

    fill_rate: jax.Array
    latency_us: jax.Array
    slippage_bps: jax.Array


@partial(jax.jit, static_argnames=("n_children", "n_paths", "method"))
def _simulate(key, scenario, model, n_children, n_paths, method):
    k_lat, k_fill, k_move = jax.random.split(key, 3)
    shape = (n_paths, n_children)
    latency = sample_latency_us(k_lat, scenario, shape, method)
    filled = jax.random.uniform(k_fill, shape) < jnp.exp(-latency / model.quote_lifetime_us)
    slip = model.adverse_bps_per_ms * latency * 1e-3 + model.vol_bps_per_sqrt_s * jnp.sqrt(
        latency * 1e-6
    ) * jax.random.normal(k_move, shape)
    n_filled = filled.sum(axis=1)
    return LatencyReport(
        fill_rate=n_filled / n_children,
        latency_us=latency.mean(axis=1),
        slippage_bps=jnp.where(filled, slip, 0.0).sum(axis=1) / jnp.maximum(n_filled, 1),
    )


def latency_monte_carlo(
    key: jax.Array,
    scenario: LatencyScenario,
    model: FillModel,
    n_children: int = 10,
    n_paths: int = 10_000,
    method: str = "lognormal",
) -> LatencyReport:
    """Distribution over `n_paths` orders of `n_children` child orders each: fill rate, latency
    (microseconds) and slippage (bps) under `scenario` and `model` (see the module docstring)."""
    check_latency_scenario(scenario)
    positive_int("n_children", n_children)
    positive_int("n_paths", n_paths)
    # strip the static name so all scenarios share one compilation
    plain = LatencyScenario("", scenario.one_way_latency_us, scenario.jitter_us)
    return _simulate(key, plain, model, n_children, n_paths, method)
