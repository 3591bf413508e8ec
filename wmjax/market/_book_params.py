"""Parameters of the book market (`BookParams`), a default, liquid-stock-like set, and the
book world's one PRNG choice (`book_key`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, finite_array, positive, positive_int
from wmjax.hawkes import EmpiricalSizes, HawkesParams, stationary_intensity
from wmjax.market import _flow as flow
from wmjax.market._book import BookState, book_from_levels
from wmjax.market._latency import LatencyScenario, check_latency_scenario, latency_scenario

#: The PRNG the book world's entry points (CLI, benchmarks, tests) use: "rbg", whose bits come
#: from XLA's RngBitGenerator. The book draws many small arrays per interval (waits, marks,
#: four uniforms per event, a latency), where rbg is faster on CPU than the default threefry;
#: it splits and folds like any key and works under vmap and sharding (the results on one
#: device and on many are the same). Keys of different impls do not mix: make every key of a
#: run with `book_key`.
BOOK_PRNG = "rbg"


def book_key(seed: int) -> jax.Array:
    """A typed key of the book world's PRNG (`BOOK_PRNG`) from an integer seed."""
    return jax.random.key(seed, impl=BOOK_PRNG)


@struct.dataclass
class BookParams:
    """Parameters of the book market (a PyTree; vmap over it).

    Attributes:
        flow: `FlowParams` of the Hawkes order flow (rates per second).
        seed_book: `BookState` every path starts from (before the warm-up).
        tick_size: price units per tick.
        latency: one-way latency of our messages.
        prior_volume_rate_shares_per_s: market volume rate shown before any interval has printed
            (POV's first interval), shares per second.
        beyond_depth_penalty_ticks: clean-up price, beyond the visible depth, in ticks past the
            deepest visible level.
        temperature: 0 for the exact simulator; > 0 relaxes the level choice (see module doc).
    """

    flow: flow.FlowParams
    seed_book: BookState
    tick_size: jax.Array
    latency: LatencyScenario
    prior_volume_rate_shares_per_s: jax.Array
    beyond_depth_penalty_ticks: jax.Array
    temperature: jax.Array


def book_params(
    latency: str | LatencyScenario = "co-lo",
    *,
    levels: int = 16,
    seed_levels: int = 10,
    mid_ticks: int = 10_000,
    tick_size: float = 0.01,
    depth_shares: float = 500.0,
    rate_scale: float = 1.0,
    beyond_depth_penalty_ticks: float = 5.0,
    temperature: float = 0.0,
    flow_params: flow.FlowParams | None = None,
) -> BookParams:
    """Checked `BookParams` of a liquid stock: a $100 stock with a one-tick spread, `seed_levels`
    levels of `depth_shares` per side in a book of `levels` slots per side, and a Hawkes flow of
    about 35 events per second with bursts of about 20 ms (decay 50 / s), so that latency
    matters. The free slots leave room for new prices inside the seeded depth: with every slot
    seeded (the former default, 10 of 10) each new best price pushed the last level out, about
    1.8 level overflows per 5 s path; 10 seeded levels in 16 slots make it rare (benchmarks/
    README.md, "Level slots").

    `latency` is a preset name ("co-lo", "proximity", "cloud", "retail") or a `LatencyScenario`;
    `flow_params` replaces the built-in flow (e.g. `calibrate_flow(...).params`).
    """
    scenario = latency_scenario(latency)
    check_latency_scenario(scenario)
    levels = positive_int("levels", levels)
    seed_levels = positive_int("seed_levels", seed_levels)
    if seed_levels > levels:
        raise InputError(f"seed_levels ({seed_levels}) must be <= levels ({levels}), the slots")
    positive_int("mid_ticks", mid_ticks, minimum=levels + 1)
    positive("tick_size", tick_size)
    positive("depth_shares", depth_shares)
    positive("rate_scale", rate_scale)
    positive("beyond_depth_penalty_ticks", beyond_depth_penalty_ticks, allow_zero=True)
    positive("temperature", temperature, allow_zero=True)
    if flow_params is None:
        flow_params = default_flow(rate_scale)
    flow.check_flow(flow_params)
    ask = mid_ticks + np.arange(seed_levels)
    bid = mid_ticks - 1 - np.arange(seed_levels)
    size = np.full(seed_levels, int(depth_shares))
    seed = book_from_levels(ask, size, bid, size, levels)
    rates = np.asarray(stationary_intensity(flow_params.hawkes))
    values = np.asarray(flow_params.sizes.values)
    weights = np.asarray(flow_params.sizes.weights)
    mean_size = (values * weights).sum(1) / weights.sum(1)
    market = [flow.FlowType.MARKET_BUY, flow.FlowType.MARKET_SELL]
    f32 = lambda x: jnp.asarray(finite_array("param", x), jnp.float32)  # noqa: E731
    return BookParams(
        flow=flow_params,
        seed_book=seed,
        tick_size=f32(tick_size),
        # one static label for every scenario, so that all four share one compiled program
        latency=LatencyScenario(
            "book", f32(scenario.one_way_latency_us), f32(scenario.jitter_us), False
        ),
        prior_volume_rate_shares_per_s=f32(float((rates[market] * mean_size[market]).sum())),
        beyond_depth_penalty_ticks=f32(beyond_depth_penalty_ticks),
        temperature=f32(temperature),
    )


def default_flow(rate_scale: float = 1.0) -> flow.FlowParams:
    """The built-in order flow (`FlowType` order): per side, limit orders 6/s, cancels 3/s and
    market orders 0.8/s at baseline; self-excitation 0.26 and cross-excitation 0.04 with a 20 ms
    decay (branching ratio 0.5, about 40 events/s in all); placements at the best or up to 4
    ticks behind it (power law), or 1-10 ticks inside it (a third; capped one tick short of the
    opposite quote, so a wide spread closes fast); half the cancels at the best level, each
    taking 20%, 50% or all of a level (weights 4:2:1); sizes of 100-400 shares (market orders
    50-300)."""
    mu = np.array([6.0, 6.0, 3.0, 3.0, 0.8, 0.8]) * rate_scale
    alpha = np.full((6, 6), 0.04) + np.diag([0.26] * 6)
    hawkes = HawkesParams.create(mu, alpha, 50.0)
    behind = flow.power_law_depths(1.0, 5)[0]
    # improving offsets close a wide spread fast; with a one-tick spread they join the best
    offsets = np.concatenate([behind, np.full(10, 0.05 * behind.sum())])
    sizes = EmpiricalSizes(
        values=jnp.asarray(
            np.array([[100.0, 200.0, 300.0, 400.0]] * 4 + [[50.0, 100.0, 200.0, 300.0]] * 2)
        ),
        weights=jnp.asarray(np.array([[4, 3, 2, 1]] * 4 + [[3, 3, 2, 2]] * 2, float)),
    )
    return flow.FlowParams.create(
        hawkes,
        np.stack([offsets, offsets]),
        sizes,
        min_offset_ticks=-4,
        cancel_best_share=0.5,
        cancel_fractions=(0.2, 0.5, 1.0),
        cancel_fraction_weights=(4.0, 2.0, 1.0),
    )


def path_seed_book(key, params: BookParams) -> BookState:
    """The seed book with each level's size scaled by an independent uniform(0.5, 1.5) drawn
    from `key` (at least 1 share on a level that had any), so paths start from different depth
    profiles; `added_shares` keeps the book's share conservation."""
    seed = params.seed_book
    scale = jax.random.uniform(key, seed.size_shares.shape, jnp.float32, 0.5, 1.5)
    size = jnp.where(
        seed.size_shares > 0, jnp.maximum(jnp.round(seed.size_shares * scale), 1.0), 0.0
    ).astype(jnp.int32)
    return seed.replace(
        size_shares=size,
        added_shares=seed.added_shares - jnp.sum(seed.size_shares) + jnp.sum(size),
    )
