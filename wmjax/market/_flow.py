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

All draws come from the key: same key, same flow, bit for bit. `sample_flow` draws the events
(times, types, offset, cancel uniform, size) for a horizon into a fixed-capacity buffer;
`flow_event` turns one of them into a book event against the current book (so own orders can
interleave, see `step_with_orders`); `simulate_flow` runs a whole horizon in one jitted scan.
"""

from __future__ import annotations

from enum import IntEnum

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, finite_array, is_concrete, positive, positive_int, require
from wmjax.calibrate import fit_mle
from wmjax.hawkes import EmpiricalSizes, HawkesParams, check_params
from wmjax.market._book import BookState, Side, best_prices
from wmjax.market._book_core import BookEvent, apply_event


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


def _anchor(book: BookState, anchor):
    bid, ask, has_bid, has_ask = best_prices(book)
    return jnp.stack([jnp.where(has_bid, bid, anchor[0]), jnp.where(has_ask, ask, anchor[1])])


@struct.dataclass
class FlowPath:
    """Per-event record of a simulated horizon (arrays (capacity,); padding repeats the state).

    best_bid_ticks / best_ask_ticks after each event (the last known price when a side is
    empty); trade_sign +1 for a market buy, -1 for a market sell, 0 otherwise; traded_shares.
    """

    times_s: jax.Array
    flow_type: jax.Array
    best_bid_ticks: jax.Array
    best_ask_ticks: jax.Array
    trade_sign: jax.Array
    traded_shares: jax.Array
    valid: jax.Array


@struct.dataclass
class _EventInputs:
    flow_type: jax.Array
    offset_ticks: jax.Array
    cancel_u: jax.Array
    cancel_fraction: jax.Array
    size_shares: jax.Array
    valid: jax.Array


def _simulate(key, params: FlowParams, book: BookState, horizon_s, capacity: int):
    return _run_flow(params, book, sample_flow(key, params, horizon_s, capacity))


def _run_flow(params: FlowParams, book: BookState, events: FlowEvents):
    """The drawn `events` applied in order to `book`: (final book, FlowPath, overflow)."""
    bid, ask, _, _ = best_prices(book)
    anchor = jnp.stack([bid, ask])

    def step(carry, ev):
        book, anchor = carry
        kind, side, price, size = flow_event(
            params,
            book,
            anchor,
            ev.flow_type,
            ev.offset_ticks,
            ev.cancel_u,
            ev.cancel_fraction,
            ev.size_shares,
        )
        size = jnp.where(ev.valid, size, 0)
        new, fills = apply_event(book, kind, side, price, size)
        anchor = _anchor(new, anchor)
        traded = jnp.sum(fills)
        sign = jnp.where(kind == BookEvent.MARKET, jnp.where(side == Side.ASK, 1, -1), 0)
        rec = (anchor[0], anchor[1], jnp.where(traded > 0, sign, 0), traded)
        return (new, anchor), rec

    inputs = _EventInputs(
        flow_type=events.flow_type,
        offset_ticks=events.offset_ticks,
        cancel_u=events.cancel_u,
        cancel_fraction=events.cancel_fraction,
        size_shares=events.size_shares,
        valid=events.mask,
    )
    (book, _), (bids, asks, signs, traded) = jax.lax.scan(step, (book, anchor), inputs)
    path = FlowPath(
        times_s=events.times_s,
        flow_type=events.flow_type,
        best_bid_ticks=bids,
        best_ask_ticks=asks,
        trade_sign=signs,
        traded_shares=traded,
        valid=events.mask,
    )
    return book, path, events.overflow


_simulate_jit = jax.jit(_simulate, static_argnames="capacity")


def simulate_flow(
    key, params: FlowParams, book: BookState, horizon_s, capacity: int, *, throw: bool = True
) -> tuple[BookState, FlowPath]:
    """Run the order flow of [0, horizon_s] on `book` in one jitted scan.

    Returns the final book and a `FlowPath`. With `throw=True` (concrete inputs) more events
    than `capacity` raise InputError saying what to increase; otherwise only `path.valid` says
    how many ran (use under vmap). The book keeps its `levels` best price levels per side: a
    level that would be the (levels+1)-th, far from the touch, is dropped and reported in
    `book.overflow` and `book.dropped_shares` (shares stay conserved); give the book more
    levels to keep more depth.
    """
    capacity = positive_int("capacity", capacity)
    if is_concrete(horizon_s):
        positive("horizon_s", horizon_s)
    if is_concrete(params.offset_weights):
        check_flow(params)
    final, path, overflow = _simulate_jit(key, params, book, horizon_s, capacity)
    if throw and is_concrete(overflow) and bool(np.any(np.asarray(overflow))):
        raise InputError(
            f"capacity={capacity} is too small for the flow in [0, {horizon_s}] s; increase it "
            "(about 2x the expected event count) or pass throw=False"
        )
    return final, path


def flow_events_from_lobster(data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times_s since the file's first message, `FlowType` marks, sizes) of a LOBSTER file.

    Submissions are limit orders, cancellations and deletions cancels, and visible executions
    market orders: the executions of one timestamp and side are one market order (an aggressive
    order that swept several resting ones), its size their sum. A resting buy order executed
    means a market sell. Hidden executions, crosses and halts are left out (no visible change).
    """
    kind = np.asarray(data.event_type)
    buy = np.asarray(data.direction) > 0
    origin = float(np.asarray(data.times_s)[0])
    times = np.asarray(data.times_s, np.float64)
    size = np.asarray(data.size_shares, np.float64)
    marks = np.full(kind.shape, -1)
    marks[(kind == 1) & buy] = FlowType.LIMIT_BUY
    marks[(kind == 1) & ~buy] = FlowType.LIMIT_SELL
    cancel = (kind == 2) | (kind == 3)
    marks[cancel & buy] = FlowType.CANCEL_BID
    marks[cancel & ~buy] = FlowType.CANCEL_ASK
    marks[(kind == 4) & buy] = FlowType.MARKET_SELL
    marks[(kind == 4) & ~buy] = FlowType.MARKET_BUY
    keep = marks >= 0
    times, marks, size = times[keep], marks[keep], size[keep]
    market = marks >= FlowType.MARKET_BUY
    # merge consecutive executions with the same time and mark into one market order
    same = np.zeros(times.shape, bool)
    same[1:] = market[1:] & (times[1:] == times[:-1]) & (marks[1:] == marks[:-1])
    group = np.cumsum(~same) - 1
    merged_size = np.bincount(group, weights=size)
    first = ~same
    return times[first] - origin, marks[first].astype(np.int32), merged_size


def _empirical(values_per_type: list[np.ndarray]) -> EmpiricalSizes:
    """EmpiricalSizes over the distinct values of each type (weights = counts)."""
    uniq = [np.unique(np.maximum(v, 1.0), return_counts=True) for v in values_per_type]
    width = max(u[0].size for u in uniq)
    values = np.ones((len(uniq), width))
    weights = np.zeros((len(uniq), width))
    for i, (v, c) in enumerate(uniq):
        values[i, : v.size], weights[i, : v.size] = v, c
    return EmpiricalSizes(values=jnp.asarray(values), weights=jnp.asarray(weights))


@struct.dataclass
class FlowFit:
    """`calibrate_flow` output: the parameters and the data they came from."""

    params: FlowParams
    horizon_s: float = struct.field(pytree_node=False)
    event_counts: np.ndarray = struct.field(pytree_node=False)
    hawkes_fit: object = struct.field(pytree_node=False)


def calibrate_flow(
    data, *, max_depth: int = 30, max_improvement: int = 30, window_s: float | None = None
) -> FlowFit:
    """Fit `FlowParams` to a LOBSTER message file with its order-book file.

    Event times and types (`flow_events_from_lobster`) of the first `window_s` seconds (all by
    default) give the Hawkes rates and excitation by maximum likelihood (`wmjax.calibrate.fit_mle`,
    one decay per exciting type); the offset of each submission from its own best quote in the
    book row before it gives `offset_weights` on -(max_depth-1)..max_improvement ticks (others
    are dropped); the share of cancellations at the best level gives `cancel_best_share`, and
    the share of the best level they removed `cancel_fractions` (rounded to 0.01); sizes per
    type are the empirical ones. A level-1 file holds only the events that touch the best
    quotes, so it shows no placements behind the best (their weights are 0) and every
    cancellation at the best.
    """
    max_depth = positive_int("max_depth", max_depth)
    max_improvement = positive_int("max_improvement", max_improvement, minimum=0)
    require(data.levels > 0, "calibrate_flow needs the order-book file (pass orderbook_file)")
    times, marks, sizes = flow_events_from_lobster(data)
    horizon = float(times[-1]) if window_s is None else float(positive("window_s", window_s))
    require(
        horizon <= times[-1],
        f"window_s={window_s} is longer than the file's {times[-1]:.1f} s of events; shorten it",
    )
    inside = times <= horizon
    times, marks, sizes = times[inside], marks[inside], sizes[inside]
    counts = np.bincount(marks, minlength=N_TYPES)
    missing = [FlowType(i).name for i in range(N_TYPES) if counts[i] == 0]
    require(not missing, f"the data has no events of type {missing} in the window; widen it")
    fit = fit_mle((times, marks), horizon, N_TYPES, beta_structure="source", std_errors=False)
    p = fit.params
    hawkes = HawkesParams.create(np.asarray(p.mu), np.asarray(p.alpha), np.asarray(p.beta))

    kind = np.asarray(data.event_type)[1:]
    buy = np.asarray(data.direction)[1:] > 0
    price = np.asarray(data.price_ticks)[1:]
    ask = np.asarray(data.ask_price_ticks)[:-1, 0]
    bid = np.asarray(data.bid_price_ticks)[:-1, 0]
    has = (np.asarray(data.ask_size_shares)[:-1, 0] > 0) & (
        np.asarray(data.bid_size_shares)[:-1, 0] > 0
    )
    t_msg = np.asarray(data.times_s)[1:] - data.times_s[0]
    sub = (kind == 1) & has & (t_msg <= horizon)
    # share of cancellations at the best level (a level-1 file only shows those: 1.0)
    cancels = ((kind == 2) | (kind == 3)) & has & (t_msg <= horizon)
    at_best = np.where(buy, price == bid, price == ask)
    best_share = float(np.mean(at_best[cancels])) if cancels.any() else 0.0
    level_size = np.where(
        buy, np.asarray(data.bid_size_shares)[:-1, 0], np.asarray(data.ask_size_shares)[:-1, 0]
    )
    seen = cancels & at_best & (level_size > 0)
    fractions = np.minimum(np.asarray(data.size_shares)[1:][seen] / level_size[seen], 1.0)
    fractions, fraction_counts = np.unique(np.round(fractions, 2), return_counts=True)
    fractions = np.maximum(fractions, 0.01)
    offset = np.where(buy, price - bid, ask - price)
    lowest = -(max_depth - 1)
    width = max_depth + max_improvement
    weights = np.zeros((2, width))
    for row, side in enumerate((buy, ~buy)):
        j = offset[sub & side] - lowest
        j = j[(j >= 0) & (j < width)]
        weights[row] = np.bincount(j, minlength=width)[:width]
    params = FlowParams.create(
        hawkes,
        weights,
        _empirical([sizes[marks == i] for i in range(N_TYPES)]),
        lowest,
        best_share,
        fractions if fractions.size else (1.0,),
        fraction_counts if fractions.size else None,
    )
    return FlowFit(params=params, horizon_s=horizon, event_counts=counts, hawkes_fit=fit)
