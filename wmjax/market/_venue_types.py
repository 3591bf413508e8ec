"""The params, action, observation and state of the venue books (`wmjax.market.VenueBooks`,
whose module doc describes the market): V venues of one asset, per-venue arrays with a leading
venue axis."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, positive, positive_int, require
from wmjax.market import _flow as flow
from wmjax.market._book import BookState
from wmjax.market._book_params import BookParams, book_params
from wmjax.market._book_status import BookStatus
from wmjax.market._latency import LatencyScenario, latency_scenario


@struct.dataclass
class VenueBooksParams:
    """V venues of one asset (a PyTree; vmap over it). Per-venue arrays have a leading axis V.

    Attributes:
        book: `BookParams` stacked over venues (seed book, flow, tick size); its `latency` is
            not used (see `latency_us`).
        latency_us, jitter_us: (V,) our one-way latency to each venue (lognormal), us.
        reprice_delay_us: (V,) delay after an efficient-price move before the venue reprices
            (the latency between venues), us.
        tie: () share of its gap to the efficient price a venue closes when it reprices, [0, 1].
        jump_rate_per_s, jump_ticks: efficient-price jumps (+-jump_ticks, equal odds).
        sigma_ticks_per_sqrt_s: Gaussian part of the efficient price, ticks per sqrt(s).
        fee_ticks: (V,) taker fee per share, ticks.
    """

    book: BookParams
    latency_us: jax.Array
    jitter_us: jax.Array
    reprice_delay_us: jax.Array
    tie: jax.Array
    jump_rate_per_s: jax.Array
    jump_ticks: jax.Array
    sigma_ticks_per_sqrt_s: jax.Array
    fee_ticks: jax.Array

    @property
    def n_venues(self) -> int:
        return int(self.latency_us.shape[-1])

    def with_latency(self, scenario: str | LatencyScenario) -> VenueBooksParams:
        """The same venues with our latency to every venue from `scenario` (a preset name)."""
        s = latency_scenario(scenario)
        ones = jnp.ones_like(self.latency_us)
        return self.replace(
            latency_us=ones * jnp.float32(s.one_way_latency_us),
            jitter_us=ones * jnp.float32(s.jitter_us),
        )


def _per_venue(name: str, value, n: int) -> jax.Array:
    arr = np.broadcast_to(np.asarray(value, np.float64), (n,)) if np.ndim(value) == 0 else value
    arr = np.asarray(arr, np.float64)
    require(arr.shape == (n,), f"{name} needs one value per venue ({n}), got shape {arr.shape}")
    positive(name, arr, allow_zero=True)
    return jnp.asarray(arr, jnp.float32)


def venue_books_params(
    n_venues: int = 2,
    *,
    latency: str | LatencyScenario = "co-lo",
    reprice_delay_us=(0.0, 2000.0),
    tie: float = 1.0,
    jump_rate_per_s: float = 5.0,
    jump_ticks: float = 2.0,
    sigma_ticks_per_sqrt_s: float = 0.0,
    fee_ticks=0.1,
    book: BookParams | list[BookParams] | None = None,
) -> VenueBooksParams:
    """Checked params: `n_venues` copies of `book` (default `book_params()`; or one per venue,
    same static structure), our latency to every venue from the `latency` preset, venue 0
    repricing at once and venue 1 two milliseconds late (`reprice_delay_us`, one per venue),
    the efficient price jumping 2 ticks 5 times a second, fees of 0.1 tick a share."""
    n = positive_int("n_venues", n_venues, minimum=2)
    books = book if isinstance(book, list | tuple) else [book or book_params()] * n
    require(len(books) == n, f"book needs one BookParams per venue ({n}), got {len(books)}")
    try:
        stacked = jax.tree.map(lambda *x: jnp.stack(x), *books)
    except ValueError as e:
        raise InputError(f"the venues' BookParams differ in structure: {e}") from None
    delay = _per_venue("reprice_delay_us", reprice_delay_us, n)
    require(0.0 <= float(tie) <= 1.0, f"tie must be in [0, 1], got {tie}")
    for name, value in (
        ("jump_rate_per_s", jump_rate_per_s),
        ("jump_ticks", jump_ticks),
        ("sigma_ticks_per_sqrt_s", sigma_ticks_per_sqrt_s),
    ):
        positive(name, value, allow_zero=True)
    f32 = jnp.float32
    params = VenueBooksParams(
        book=stacked,
        latency_us=jnp.zeros(n, jnp.float32),
        jitter_us=jnp.zeros(n, jnp.float32),
        reprice_delay_us=delay,
        tie=f32(tie),
        jump_rate_per_s=f32(jump_rate_per_s),
        jump_ticks=f32(jump_ticks),
        sigma_ticks_per_sqrt_s=f32(sigma_ticks_per_sqrt_s),
        fee_ticks=_per_venue("fee_ticks", fee_ticks, n),
    )
    return params.with_latency(latency)


@struct.dataclass
class VenueOrders:
    """Signed shares sent to each venue this decision (V,): > 0 buys, < 0 sells, 0 nothing."""

    shares: jax.Array


@struct.dataclass
class VenueObservation:
    """What a trader sees at a decision (books as they are now; its orders arrive later).

    mid: mean of the venues' mids, price units. bid_ticks, ask_ticks: (V,) best quotes;
    bid/ask_depth_shares: (V, L) every level's shares, at bid/ask_level_ticks (V, L) (0 for an
    empty slot); latency_us, fee_ticks: (V,) our mean latency and the fee; tick_size.
    """

    mid: jax.Array
    bid_ticks: jax.Array
    ask_ticks: jax.Array
    bid_depth_shares: jax.Array
    ask_depth_shares: jax.Array
    bid_level_ticks: jax.Array
    ask_level_ticks: jax.Array
    latency_us: jax.Array
    fee_ticks: jax.Array
    tick_size: jax.Array


@struct.dataclass
class VenueStats:
    """Per path: cash (ticks x shares relative to `ref_ticks`, fees paid), inventory, bought and
    sold (V,) shares, our orders' fees (ticks x shares) and the flow events run (V,)."""

    ref_ticks: jax.Array
    cash_ticks: jax.Array
    inventory_shares: jax.Array
    bought_shares: jax.Array
    sold_shares: jax.Array
    fees_ticks: jax.Array
    flow_events: jax.Array


@struct.dataclass
class VenueRecord:
    """Per decision: the quotes seen (V,), the efficient price (ticks from the arrival mid),
    the shares sent (V,) and the signed shares filled (V,) in the interval, the change of cash
    (ticks x shares, fees included)."""

    bid_ticks: jax.Array
    ask_ticks: jax.Array
    efficient_ticks: jax.Array
    sent_shares: jax.Array
    filled_shares: jax.Array
    cash_ticks: jax.Array


@struct.dataclass
class VenueState:
    """One path: per venue (leading axis V) the book, last known quotes, the flow's excitation,
    our orders in flight (arrival s from the interval's start, inf: free; signed shares); the
    efficient price (ticks from `stats.ref_ticks`), the decision index, stats and status."""

    book: BookState
    anchor_ticks: jax.Array
    flow_state: flow.FlowState
    arrival_s: jax.Array
    order_shares: jax.Array
    efficient_ticks: jax.Array
    step: jax.Array
    interval_s: jax.Array
    stats: VenueStats
    status: BookStatus
    n_steps: int = struct.field(pytree_node=False)
