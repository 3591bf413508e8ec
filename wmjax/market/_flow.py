"""Hawkes-driven order flow on the price-level book (`wmjax.market.flow`).

Six event types, the dimensions of a multivariate Hawkes process (`wmjax.hawkes`) that times
them: limit buy, limit sell, cancel on the bid, cancel on the ask, market buy, market sell
(`FlowType`). Given a time and a type, the rest is drawn independently:

* a limit order rests at an offset of `offset` ticks from its *own* best quote: 0 joins the
  best, k > 0 improves it by k ticks (stopping one tick short of the opposite quote, so it never
  crosses), k < 0 rests |k| ticks behind it; offsets from a per-side distribution on
  `min_offset_ticks`..`min_offset_ticks + W - 1` (empirical, or a power law in depth as in
  Cont, Stoikov & Talreja 2010, "A stochastic model for order book dynamics");
* a cancellation hits the best level of its side with probability `cancel_best_share`, else a
  level with probability proportional to the volume resting there (each resting share equally
  likely to go, as in Cont-Stoikov-Talreja), and removes a fraction of that level's volume drawn
  from an empirical distribution (at least one share, at most all of it);
* sizes (shares) of limit and market orders are drawn per type from empirical size
  distributions (`EmpiricalSizes`; its cancel rows are kept for reference only).

All draws come from the key: same key, same flow, bit for bit. `sample_interval` draws the
events (times, types, offset, cancel uniform, size) of one interval into a fixed-capacity buffer
and carries the Hawkes excitation (`FlowState`) to the next, so chained intervals are one
continuous process; `sample_flow` is one interval from the empty state; `flow_event` turns one
drawn event into a book event against the current book (so own orders can interleave);
`wmjax.market.flow.simulate_flow` runs a whole horizon on a book in one jitted scan.
"""

from __future__ import annotations

from enum import IntEnum

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, is_concrete, positive_int, require
from wmjax.hawkes import EmpiricalSizes, HawkesParams, check_params
from wmjax.market._book import BookState, Side, best_prices
from wmjax.market._book_core import BookEvent


class FlowType(IntEnum):
    """Hawkes dimensions of the order flow."""

    LIMIT_BUY = 0
    LIMIT_SELL = 1
    CANCEL_BID = 2
    CANCEL_ASK = 3
    MARKET_BUY = 4
    MARKET_SELL = 5


N_TYPES = len(FlowType)
# side of the book each type acts on: limits and cancels their own, market orders the one hit
_SIDE = jnp.asarray([Side.BID, Side.ASK, Side.BID, Side.ASK, Side.ASK, Side.BID])


@struct.dataclass
class FlowParams:
    """Order-flow parameters (a PyTree: vmap over it).

    hawkes: `HawkesParams` of dimension 6 (`FlowType` order), rates in events/s.
    offset_weights: (2, W) non-negative weights of placing a limit buy (row 0) / sell (row 1)
        at offset `min_offset_ticks + j` ticks from its own best quote (> 0 improves it).
    cancel_best_share: () probability that a cancellation is at the best level (else a level is
        picked in proportion to its volume).
    cancel_fractions, cancel_fraction_weights: (K,) fractions in (0, 1] of the hit level's
        volume a cancellation removes, and their weights.
    min_offset_ticks: the smallest offset (static; e.g. -(D-1) for D levels of depth).
    sizes: `EmpiricalSizes` with 6 rows, order sizes in shares per `FlowType`.
    decay_structure: static pattern of `hawkes.beta`, which sets the number of excitation
        clocks the sampler runs: "scalar" (one decay for every kernel: 1 group), "source" (one
        per exciting type, beta[i, j] = b_j: 6 groups) or "full" (36 groups). `create` picks
        the smallest one that holds the concrete beta; it is never inferred under jit.
    """

    hawkes: HawkesParams
    offset_weights: jax.Array
    sizes: EmpiricalSizes
    cancel_best_share: jax.Array
    cancel_fractions: jax.Array
    cancel_fraction_weights: jax.Array
    min_offset_ticks: int = struct.field(pytree_node=False, default=0)
    decay_structure: str = struct.field(pytree_node=False, default="full")

    @classmethod
    def create(
        cls,
        hawkes: HawkesParams,
        offset_weights,
        sizes: EmpiricalSizes,
        min_offset_ticks: int = 0,
        cancel_best_share: float = 0.0,
        cancel_fractions=(1.0,),
        cancel_fraction_weights=None,
        decay_structure: str | None = None,
    ) -> FlowParams:
        """Checked parameters; refuses an unstable Hawkes flow and non-positive sizes.
        `decay_structure` (see the class doc) defaults to the smallest that fits `hawkes.beta`."""
        params = cls(
            hawkes=hawkes,
            offset_weights=jnp.asarray(offset_weights, jnp.float32),
            sizes=EmpiricalSizes(
                values=jnp.asarray(sizes.values, jnp.float32),
                weights=jnp.asarray(sizes.weights, jnp.float32),
            ),
            cancel_best_share=jnp.asarray(cancel_best_share, jnp.float32),
            cancel_fractions=jnp.atleast_1d(jnp.asarray(cancel_fractions, jnp.float32)),
            cancel_fraction_weights=jnp.atleast_1d(
                jnp.ones(np.size(cancel_fractions), jnp.float32)
                if cancel_fraction_weights is None
                else jnp.asarray(cancel_fraction_weights, jnp.float32)
            ),
            min_offset_ticks=int(min_offset_ticks),
            decay_structure=decay_structure or smallest_decay_structure(hawkes.beta),
        )
        check_flow(params)
        return params


def power_law_depths(exponent: float, max_depth: int) -> np.ndarray:
    """(2, max_depth) weights proportional to (1 + depth)**-exponent for depth 0..max_depth-1
    ticks behind the own best quote; offsets run from -(max_depth - 1) (use that as
    `min_offset_ticks`) up to 0 (join the best)."""
    max_depth = positive_int("max_depth", max_depth)
    exponent = float(finite_array("exponent", exponent))
    w = np.arange(max_depth, 0, -1, dtype=float) ** -exponent
    return np.stack([w, w])


def check_flow(params: FlowParams) -> None:
    """Raise InputError naming the argument if `params` cannot drive a book (concrete only)."""
    require(
        params.hawkes.mu.shape[-1] == N_TYPES,
        f"hawkes must have {N_TYPES} dimensions (FlowType), got {params.hawkes.mu.shape[-1]}",
    )
    check_params(params.hawkes)
    require(
        params.decay_structure in DECAY_STRUCTURES,
        f"decay_structure must be one of {DECAY_STRUCTURES}, got {params.decay_structure!r}",
    )
    if is_concrete(params.hawkes.beta):
        fits = smallest_decay_structure(params.hawkes.beta)
        require(
            DECAY_STRUCTURES.index(fits) <= DECAY_STRUCTURES.index(params.decay_structure),
            f"hawkes.beta needs decay_structure={fits!r}, got {params.decay_structure!r}",
        )
    leaves = (
        params.offset_weights,
        params.sizes.values,
        params.sizes.weights,
        params.cancel_best_share,
        params.cancel_fractions,
        params.cancel_fraction_weights,
    )
    if not is_concrete(*leaves):
        return
    w = finite_array("offset_weights", params.offset_weights, ndim=2)
    require(w.shape[0] == 2, f"offset_weights must be (2, W), got shape {w.shape}")
    require(bool(np.all(w >= 0)), "offset_weights must be >= 0")
    require(bool(np.all(w.sum(axis=1) > 0)), "each row of offset_weights needs a positive weight")
    values = finite_array("sizes.values", params.sizes.values, ndim=2)
    weights = finite_array("sizes.weights", params.sizes.weights, ndim=2)
    require(values.shape[0] == N_TYPES, f"sizes need {N_TYPES} rows, got {values.shape[0]}")
    live = weights > 0
    require(
        bool(np.all(values[live] >= 1)),
        f"sizes must be >= 1 share, got minimum {values[live].min() if live.any() else 'none'}",
    )
    require(bool(np.all(live.any(axis=1))), "every flow type needs at least one size")
    share = finite_array("cancel_best_share", params.cancel_best_share)
    require(bool(np.all((share >= 0) & (share <= 1))), "cancel_best_share must be in [0, 1]")
    frac = finite_array("cancel_fractions", params.cancel_fractions, ndim=1)
    fw = finite_array("cancel_fraction_weights", params.cancel_fraction_weights, ndim=1)
    require(frac.shape == fw.shape, "cancel_fractions and their weights differ in length")
    require(bool(np.all((frac > 0) & (frac <= 1))), "cancel_fractions must be in (0, 1]")
    require(
        bool(np.all(fw >= 0) and fw.sum() > 0), "cancel_fraction_weights must be >= 0, not all 0"
    )


@struct.dataclass
class FlowEvents:
    """A horizon of drawn order-flow events, padded to `capacity` (arrays (capacity,)).

    `flow_type` is a `FlowType`; `offset_ticks` (limits) is the offset from the own best quote
    (> 0 improves it); `cancel_u` (cancels) a uniform that picks the level: below
    `cancel_best_share` the best one, else by volume; `cancel_fraction` the share of it
    removed; `size_shares` >= 1.
    `count` events are valid; `overflow` means more events fell in the horizon.
    """

    times_s: jax.Array
    flow_type: jax.Array
    offset_ticks: jax.Array
    cancel_u: jax.Array
    cancel_fraction: jax.Array
    size_shares: jax.Array
    count: jax.Array
    overflow: jax.Array

    @property
    def mask(self) -> jax.Array:
        return jnp.arange(self.times_s.shape[-1]) < jnp.asarray(self.count)[..., None]


def _inverse_cdf(u, weights) -> jax.Array:
    """Index drawn with probability proportional to `weights` (..., K) from uniforms u (...)."""
    cdf = jnp.cumsum(weights, axis=-1)
    cdf = cdf / cdf[..., -1:]
    return jnp.minimum(jnp.sum(u[..., None] >= cdf, axis=-1), weights.shape[-1] - 1)


DECAY_STRUCTURES = ("scalar", "source", "full")


def smallest_decay_structure(beta) -> str:
    """The smallest `DECAY_STRUCTURES` entry that holds the concrete (d, d) decays `beta`."""
    require(is_concrete(beta), "the decay structure is static: pass it when beta is traced")
    b = np.asarray(beta)
    if np.all(b == b.flat[0]):
        return "scalar"
    if np.all(b == b[:1, :]):
        return "source"
    return "full"


def _groups(structure: str, d: int) -> np.ndarray:
    """(G, d, d) static membership of kernel (i, j) in each decay group."""
    if structure == "scalar":
        return np.ones((1, d, d), bool)
    if structure == "source":  # group j holds the kernels excited by type j
        return np.eye(d, dtype=bool)[:, None, :].repeat(d, axis=1)
    return np.eye(d * d, dtype=bool).reshape(d * d, d, d)


@struct.dataclass
class FlowState:
    """The Hawkes flow's memory, carried from one decision interval to the next.

    excitation_per_s: (G, 6) excitation intensity of each `FlowType` (columns) from the kernels
        of decay group g (rows), events/s, at the end of the last interval. The flow's
        intensity is `hawkes.mu + excitation_per_s.sum(0)`; zeros is the process started empty.
    """

    excitation_per_s: jax.Array


def flow_state(params: FlowParams) -> FlowState:
    """The empty flow (no excitation): the state at time 0 of `wmjax.hawkes.simulate`."""
    g = _groups(params.decay_structure, N_TYPES).shape[0]
    return FlowState(jnp.zeros((g, N_TYPES), params.hawkes.mu.dtype))


def _pick(weights, uniform):
    cdf = jnp.cumsum(weights)
    return jnp.minimum(jnp.sum(cdf < uniform * cdf[-1]), weights.shape[0] - 1).astype(jnp.int32)


def _hawkes_interval(key, hawkes: HawkesParams, structure: str, level0, horizon_s, capacity):
    """Exact Hawkes events of [0, horizon_s] given the excitation `level0` at time 0.

    Superposition of a baseline clock and one clock per decay group (Dassios & Zhao 2013,
    "Exact simulation of Hawkes process with exponentially decaying intensity"): a group's
    excitation c exp(-b s) fires at s = -log(1 - b E / c) / b for E ~ Exp(1) if b E < c. The
    excitation is Markov, so the process after the horizon restarts exactly from the state at
    the horizon (the draw that fell past it is discarded): intervals chained this way are the
    process over their union. `horizon_s = inf` takes exactly `capacity` events (an
    event-driven clock). Returns (times, marks, count, overflow, state at the end, end time).
    """
    dtype = hawkes.mu.dtype
    member = jnp.asarray(_groups(structure, N_TYPES))
    decay = jnp.max(jnp.where(member, hawkes.beta, 0.0), axis=(1, 2))  # (G,) 1/s
    jump = jnp.where(member, hawkes.alpha * hawkes.beta, 0.0)  # (G, i, j) added on a j event
    n_groups = member.shape[0]
    k_wait, k_mark = jax.random.split(key)
    exp_draws = jax.random.exponential(k_wait, (capacity + 1, 1 + n_groups), dtype)
    uniforms = jax.random.uniform(k_mark, (capacity + 1,), dtype)
    horizon = jnp.asarray(horizon_s, dtype)

    def step(carry, draws):
        t, level, t_in, level_in, n_in = carry
        exp_draw, u = draws
        total = level.sum(axis=1)
        ratio = decay * exp_draw[1:] / jnp.maximum(total, jnp.finfo(dtype).tiny)
        fires = ratio < 1
        wait_exc = jnp.where(fires, -jnp.log1p(-jnp.where(fires, ratio, 0.0)) / decay, jnp.inf)
        waits = jnp.concatenate([exp_draw[:1] / hawkes.mu.sum(), wait_exc])
        wait = jnp.min(waits)
        fired = waits == wait
        weights = jnp.sum(
            jnp.where(fired[:, None], jnp.concatenate([hawkes.mu[None], level]), 0), 0
        )
        mark = _pick(weights, u)
        level = level * jnp.exp(-decay * wait)[:, None] + jump[:, :, mark]
        t = t + wait
        keep = (t <= horizon) & (n_in < capacity)
        carry = (
            t,
            level,
            jnp.where(keep, t, t_in),
            jnp.where(keep, level, level_in),
            n_in + keep.astype(jnp.int32),
        )
        return carry, (t, mark)

    zero = jnp.zeros((), dtype)
    init = (zero, level0, zero, level0, jnp.int32(0))
    (_, _, t_in, level_in, count), (times, marks) = jax.lax.scan(step, init, (exp_draws, uniforms))
    finite = jnp.isfinite(horizon)
    end = jnp.where(finite, horizon, t_in)
    state = level_in * jnp.exp(-decay * (end - t_in))[:, None]
    overflow = finite & (times[capacity] <= horizon)
    valid = jnp.arange(capacity) < count
    return times[:capacity], jnp.where(valid, marks[:capacity], 0), count, overflow, state, end


def sample_interval(
    key, params: FlowParams, state: FlowState, horizon_s, capacity: int
) -> tuple[FlowEvents, FlowState, jax.Array]:
    """Draw the order flow of [0, horizon_s] that follows `state`, into `capacity` slots.

    Returns `(events, state at horizon_s, horizon_s)`; chaining intervals through the returned
    state draws exactly the calibrated Hawkes flow over their union (see `_hawkes_interval`).
    `horizon_s = inf` is the event clock: exactly `capacity` events, and the end time returned
    is the last one's. More events than `capacity` in a finite horizon are dropped and flagged
    in `events.overflow` (the state then forgets the dropped ones). Jit- and vmap-able;
    sub-keys: the Hawkes times and marks, and one uniform each for offset, cancel level, size
    and cancel fraction (4 numbers per event: inverse-CDF draws, not one per category).
    """
    k_times, k_draws = jax.random.split(key)
    times, marks, count, overflow, level, end = _hawkes_interval(
        k_times, params.hawkes, params.decay_structure, state.excitation_per_s, horizon_s, capacity
    )
    mask = jnp.arange(capacity) < count
    u_offset, u_cancel, u_size, u_fraction = jax.random.uniform(k_draws, (4, capacity))
    side = _SIDE[marks]
    offset = _inverse_cdf(u_offset, params.offset_weights[side]) + params.min_offset_ticks
    pick = _inverse_cdf(u_size, params.sizes.weights[marks])
    size = jnp.take_along_axis(params.sizes.values[marks], pick[:, None], axis=-1)[:, 0]
    size = jnp.maximum(jnp.round(size), 1.0)
    fraction = params.cancel_fractions[_inverse_cdf(u_fraction, params.cancel_fraction_weights)]
    events = FlowEvents(
        times_s=jnp.where(mask, times, jnp.where(jnp.isfinite(end), end, 0.0)),
        flow_type=marks,
        offset_ticks=offset.astype(jnp.int32),
        cancel_u=u_cancel,
        cancel_fraction=fraction,
        size_shares=jnp.where(mask, size, 0.0).astype(jnp.int32),
        count=count,
        overflow=overflow,
    )
    return events, FlowState(level), end


def sample_flow(key, params: FlowParams, horizon_s, capacity: int) -> FlowEvents:
    """Draw the order flow of [0, horizon_s], started empty, into `capacity` slots (no raise:
    see `overflow`). Jit- and vmap-able over keys and params (`capacity` static)."""
    return sample_interval(key, params, flow_state(params), horizon_s, capacity)[0]


def flow_event(
    params: FlowParams,
    book: BookState,
    anchor_ticks,
    flow_type,
    offset_ticks,
    cancel_u,
    cancel_fraction,
    size_shares,
):
    """The book event `(kind, side, price_ticks, size_shares)` for one drawn flow event.

    `anchor_ticks` (2,) holds the last known (bid, ask) best prices, used as the reference
    when a side is empty. A cancel on an empty side becomes a no-op (size 0).
    """
    t = jnp.asarray(flow_type, jnp.int32)
    kind = t // 2  # FlowType pairs: limits, cancels, market orders (BookEvent order)
    # limits and cancels act on their own side (even = bid), market orders on the one they hit
    side = jnp.where(t < FlowType.MARKET_BUY, t % 2, 1 - t % 2)
    bid, ask, has_bid, has_ask = best_prices(book)
    ref_ask = jnp.where(has_ask, ask, anchor_ticks[1])
    ref_bid = jnp.where(has_bid, bid, anchor_ticks[0])
    buy_price = jnp.minimum(ref_bid + offset_ticks, ref_ask - 1)
    sell_price = jnp.maximum(ref_ask - offset_ticks, ref_bid + 1)
    limit_price = jnp.where(side == Side.BID, buy_price, sell_price)
    sizes = jnp.where(side == Side.BID, book.size_shares[0], book.size_shares[1])
    sizes = sizes.astype(jnp.float32)
    total = jnp.sum(sizes)
    cum = jnp.cumsum(sizes) / jnp.maximum(total, 1.0)
    # u < share: the best level; otherwise u rescaled to [0, 1) picks a level by volume
    best_share = params.cancel_best_share
    u = (cancel_u - best_share) / jnp.maximum(1.0 - best_share, 1e-12)
    by_volume = jnp.minimum(jnp.sum(cum < u), sizes.shape[-1] - 1)
    level = jnp.where(cancel_u < best_share, 0, by_volume)
    at = jnp.arange(sizes.shape[-1]) == level
    row_prices = jnp.where(side == Side.BID, book.price_ticks[0], book.price_ticks[1])
    row_sizes = jnp.where(side == Side.BID, book.size_shares[0], book.size_shares[1])
    cancel_price = jnp.sum(jnp.where(at, row_prices, 0))
    at_level = jnp.sum(jnp.where(at, row_sizes, 0))
    cancel_size = jnp.clip(jnp.round(cancel_fraction * at_level), 1, at_level)
    price = jnp.where(kind == BookEvent.LIMIT, limit_price, cancel_price)
    size = jnp.where(kind == BookEvent.CANCEL, cancel_size, size_shares)
    return kind, side, price.astype(jnp.int32), size.astype(jnp.int32)
