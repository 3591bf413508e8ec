"""Market making on the Hawkes book: a two-sided `Market` for `wmjax.execution.rollout`.

The same continuous book world as `BookMarket` (the Hawkes flow carried from interval to
interval, `BookParams`, latency per message, queue position, virtual own orders), but the
strategy has no parent order: it holds inventory and cash and quotes both sides at once. Each
decision sends one message (`QuoteAction`): a bid of `bid_shares` at one of `offsets_ticks`
behind the best bid it saw and an ask of `ask_shares` at one of them behind the best ask. On
arrival (after its sampled latency, FIFO) each quote replaces the resting one of its side; a quote
at the price already resting keeps its place in the queue (an amend of the size), any other
price joins the back of the queue; size 0 cancels. Quotes are post-only (a price that would
cross slides to one tick inside the opposite quote). Money is kept relative to the arrival mid,
so float32 stays exact at any price level.

Per path the state carries the inventory (shares), the cash, the running inventory penalty
integral of q² dt (shares² x s, exact between events), the mark-to-market's drawdown at each
decision, mark-outs of every fill (`markout_s` later: adverse selection, ticks, positive = the
mid moved against us) and an online VPIN of the tape (`wmjax.market.vpin_update`, one update per
trade, Easley, López de Prado & O'Hara 2012). At the horizon the quotes are cancelled and the
inventory is marked at the mid.

Relaxation (opt-in, `params.temperature > 0`), the placement policy's: the K candidate quotes of
each side all rest at once (they are virtual, so they do not interact) and their fills are
weighted by softmax(logits / T); fills are min(size, available), so the P&L is differentiable
almost everywhere in the sizes and logits. With T = 0 the weights are the one-hot argmax (exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive, positive_int
from wmjax.market import _flow as flow
from wmjax.market._book import BookState, Side, best_prices
from wmjax.market._book_core import OrderStatus
from wmjax.market._book_core import quotes as _quotes
from wmjax.market._book_interval import (
    Carry,
    InFlight,
    close_markouts,
    interval_status,
    mid_ticks,
    no_messages,
    run_interval,
    send,
)
from wmjax.market._book_orders import OwnOrders, no_orders
from wmjax.market._book_params import BookParams, path_seed_book
from wmjax.market._book_shared import (
    candidate_weights,
    check_market_config,
    market_view,
    realised_volatility_ticks,
)
from wmjax.market._book_status import BookStatus
from wmjax.market._latency import sample_latency_us
from wmjax.market._protocol import Fills
from wmjax.market._toxicity import (
    VpinState,
    flow_hawkes_imbalance,
    vpin_state,
    vpin_value,
)


@struct.dataclass
class QuoteAction:
    """One decision's quotes: sizes (shares, >= 0; 0 cancels that side) and (K,) preferences
    over `MarketMakingBook.offsets_ticks` per side (exact: argmax, relaxed: softmax)."""

    bid_shares: jax.Array
    ask_shares: jax.Array
    bid_logits: jax.Array
    ask_logits: jax.Array


@struct.dataclass
class MakerObservation:
    """What a market maker sees before it quotes (one path; depths and sizes in shares).

    mid (price units), spread_ticks, bid/ask_depth_shares (DEPTH_LEVELS,), imbalance of the best
    levels in [-1, 1], trade_imbalance (buy - sell) / volume and volume_shares of the last
    interval, volatility_ticks of the mid in it, inventory_shares, pnl (mark-to-market, price
    units x shares), bid/ask_queue_ahead_shares and bid/ask_resting_shares of our quotes, the
    tape's vpin and signed order_imbalance, the flow's market-buy and market-sell intensities
    market_order_intensity_per_s (2,) now (its Hawkes excitation with the params' flow) and
    their hawkes_imbalance in [-1, 1], tick_size and the mean one-way latency_us.
    """

    mid: jax.Array
    spread_ticks: jax.Array
    bid_depth_shares: jax.Array
    ask_depth_shares: jax.Array
    imbalance: jax.Array
    trade_imbalance: jax.Array
    volume_shares: jax.Array
    volatility_ticks: jax.Array
    inventory_shares: jax.Array
    pnl: jax.Array
    bid_queue_ahead_shares: jax.Array
    ask_queue_ahead_shares: jax.Array
    bid_resting_shares: jax.Array
    ask_resting_shares: jax.Array
    vpin: jax.Array
    order_imbalance: jax.Array
    market_order_intensity_per_s: jax.Array
    hawkes_imbalance: jax.Array
    tick_size: jax.Array
    latency_us: jax.Array


@struct.dataclass
class MakerStats:
    """Cumulative per-path figures (ticks x shares are relative to the arrival mid `ref_ticks`).

    P&L (price units) = tick_size x (cash_ticks + inventory_shares x (mid - ref_ticks)).
    """

    ref_ticks: jax.Array
    cash_ticks: jax.Array
    inventory_shares: jax.Array
    inventory_sq_s: jax.Array  # integral of inventory² dt, shares² x s
    bought_shares: jax.Array
    sold_shares: jax.Array
    peak_ticks: jax.Array  # running peak of the mark-to-market at decisions
    max_drawdown_ticks: jax.Array
    markout_shares: jax.Array
    adverse_share_ticks: jax.Array
    markout_missed_shares: jax.Array
    flow_events: jax.Array  # int32


@struct.dataclass
class MakerState:
    """One path: the book, our 2K virtual quotes (K bids then K asks) and their weights, the
    messages in flight, the flow's excitation, the tape's VPIN, last-interval features, stats."""

    book: BookState
    anchor_ticks: jax.Array
    own: OwnOrders
    weights: jax.Array
    in_flight: InFlight
    flow_state: flow.FlowState
    tape: VpinState
    markouts: jax.Array  # (3, B): due time (s from now), signed shares, mid at the fill (ticks)
    step: jax.Array
    interval_s: jax.Array
    volume_shares: jax.Array
    trade_imbalance: jax.Array
    volatility_ticks: jax.Array
    stats: MakerStats
    status: BookStatus
    n_steps: int = struct.field(pytree_node=False)


@dataclass(frozen=True)
class MarketMakingBook:
    """The Hawkes book for a two-sided market maker (static configuration; `Market` protocol).

    Attributes:
        events_per_step: capacity of one interval's order-flow buffer (more: counted, dropped).
        offsets_ticks: candidate quote prices, ticks behind our side's best quote (0 joins it,
            -1 improves it by a tick, 1 rests a tick behind).
        trading_day_s: seconds per trading day (the session's horizon is in days).
        latency_method: "lognormal" or "truncnormal".
        queue_power: n of the power-law cancellation rule for our queue position.
        max_in_flight: our messages in flight at once (more are dropped and counted).
        markout_s: adverse-selection horizon after a fill, seconds.
        markout_slots: mark-outs open at once per path (more are counted as missed).
        vpin_bucket_shares: VPIN bucket volume (>= the flow's largest market order).
        vpin_window: buckets in VPIN.
        early_exit: as `BookMarket.early_exit` (the same paths, faster; exact rollouts only).
    """

    events_per_step: int = 32
    offsets_ticks: tuple[int, ...] = (-1, 0, 1, 2)
    trading_day_s: float = 23400.0
    latency_method: str = "lognormal"
    queue_power: float = 1.0
    max_in_flight: int = 2
    markout_s: float = 0.1
    markout_slots: int = 8
    vpin_bucket_shares: float = 300.0
    vpin_window: int = 5
    early_exit: bool = False

    def __post_init__(self):
        check_market_config(self)
        positive("vpin_bucket_shares", self.vpin_bucket_shares)
        positive_int("vpin_window", self.vpin_window)

    @property
    def n_offsets(self) -> int:
        return len(self.offsets_ticks)

    def init(self, key, params: BookParams, order, n_steps: int) -> MakerState:
        """The seed book with each level scaled by an independent uniform(0.5, 1.5) from `key`,
        a flat inventory and an empty flow excitation; `order.horizon_days` is the session."""
        book = path_seed_book(key, params)
        bid, ask, _, _ = best_prices(book)
        anchor = jnp.stack([bid, ask])
        k, q, b = self.n_offsets, self.max_in_flight, self.markout_slots
        own = no_orders(2 * k, self.queue_power)
        own = own.replace(side=jnp.repeat(jnp.asarray([Side.BID, Side.ASK], jnp.int32), k))
        interval_s = jnp.asarray(order.horizon_days, jnp.float32) * self.trading_day_s / n_steps
        zero = jnp.float32(0.0)
        return MakerState(
            book=book,
            anchor_ticks=anchor,
            own=own,
            weights=jnp.zeros(2 * k, jnp.float32),
            in_flight=no_messages(q, 2 * k),
            flow_state=flow.flow_state(params.flow),
            tape=vpin_state(self.vpin_window),
            markouts=jnp.stack([jnp.full(b, jnp.inf), jnp.zeros(b), jnp.zeros(b)]).astype(
                jnp.float32
            ),
            step=jnp.int32(0),
            interval_s=interval_s,
            volume_shares=params.prior_volume_rate_shares_per_s * interval_s,
            trade_imbalance=zero,
            volatility_ticks=zero,
            stats=MakerStats(mid_ticks(anchor), *([zero] * 10), jnp.int32(0)),
            status=BookStatus.zero(),
            n_steps=n_steps,
        )

    def observe(self, state: MakerState, params: BookParams) -> MakerObservation:
        own = state.own
        live = (own.status == OrderStatus.RESTING).astype(jnp.float32) * state.weights
        k = self.n_offsets
        ahead = (live * own.queue_ahead_shares).reshape(2, k).sum(1)
        resting = (live * own.remaining_shares).reshape(2, k).sum(1)
        s = state.stats
        q = _quotes(state.book, state.anchor_ticks).astype(jnp.float32)
        mid_now = 0.5 * (q[0] + q[1])
        vpin, imbalance = vpin_value(state.tape, self.vpin_bucket_shares)
        score, intensity = flow_hawkes_imbalance(params.flow, state.flow_state)
        return MakerObservation(
            **market_view(state, params),
            inventory_shares=s.inventory_shares,
            pnl=(s.cash_ticks + s.inventory_shares * (mid_now - s.ref_ticks)) * params.tick_size,
            bid_queue_ahead_shares=ahead[0],
            ask_queue_ahead_shares=ahead[1],
            bid_resting_shares=resting[0],
            ask_resting_shares=resting[1],
            vpin=vpin,
            order_imbalance=imbalance,
            market_order_intensity_per_s=intensity,
            hawkes_imbalance=score,
        )

    def step(self, key, state: MakerState, action: QuoteAction, params: BookParams):
        """One decision interval (see the module doc). `Fills`: shares = net shares bought,
        notional = their signed cost in price units (the P&L is in `state.stats`)."""
        k_flow, k_latency = jax.random.split(key)
        offsets = jnp.asarray(self.offsets_ticks, jnp.int32)
        quotes = _quotes(state.book, state.anchor_ticks)
        prices = jnp.concatenate([quotes[0] - offsets, quotes[1] + offsets])
        k = self.n_offsets
        t = params.temperature
        w = jnp.concatenate(
            [candidate_weights(action.bid_logits, t, k), candidate_weights(action.ask_logits, t, k)]
        )
        sizes = jnp.concatenate(
            [
                jnp.full(k, jnp.maximum(jnp.asarray(action.bid_shares, jnp.float32), 0.0)),
                jnp.full(k, jnp.maximum(jnp.asarray(action.ask_shares, jnp.float32), 0.0)),
            ]
        )
        latency_s = sample_latency_us(k_latency, params.latency, (), self.latency_method) * 1e-6
        in_flight, dropped = send(state.in_flight, latency_s, prices, sizes, w)
        events, flow_state, end_s = flow.sample_interval(
            k_flow, params.flow, state.flow_state, state.interval_s, self.events_per_step
        )
        s = state.stats
        c = Carry.start(
            state.book,
            state.anchor_ticks,
            state.own,
            state.weights,
            state.markouts,
            tape=state.tape,
            cash=s.cash_ticks,
            inventory=s.inventory_shares,
            inventory_sq_s=s.inventory_sq_s,
            markout_shares=s.markout_shares,
            adverse_share_ticks=s.adverse_share_ticks,
            markout_missed_shares=s.markout_missed_shares,
        )
        c, in_flight = run_interval(
            c,
            in_flight,
            events,
            end_s,
            params.flow,
            self.markout_s,
            sides=2,
            ref_ticks=s.ref_ticks,
            vpin_bucket_shares=self.vpin_bucket_shares,
            early_exit=self.early_exit,
        )
        last = state.step == state.n_steps - 1
        # at the horizon: quotes cancelled, open mark-outs read the final mid
        open_shares, open_adverse = close_markouts(c, last)
        mark = c.cash + c.inventory * (mid_ticks(c.anchor) - s.ref_ticks)
        peak = jnp.maximum(s.peak_ticks, mark)
        stats = MakerStats(
            ref_ticks=s.ref_ticks,
            cash_ticks=c.cash,
            inventory_shares=c.inventory,
            inventory_sq_s=c.inventory_sq_s,
            bought_shares=s.bought_shares + c.bought,
            sold_shares=s.sold_shares + c.sold,
            peak_ticks=peak,
            max_drawdown_ticks=jnp.maximum(s.max_drawdown_ticks, peak - mark),
            markout_shares=c.markout_shares + open_shares,
            adverse_share_ticks=c.adverse_share_ticks + open_adverse,
            markout_missed_shares=c.markout_missed_shares,
            flow_events=s.flow_events + events.count,
        )
        status = interval_status(state.status, events, state.book, c.book, dropped, in_flight, last)
        own = c.own.replace(status=jnp.where(last, OrderStatus.DONE, c.own.status))
        net = c.bought - c.sold
        cost = (net * s.ref_ticks - (c.cash - s.cash_ticks)) * params.tick_size
        next_state = state.replace(
            book=c.book,
            anchor_ticks=c.anchor,
            own=own.replace(status=own.status.astype(jnp.int32)),
            weights=c.weights,
            in_flight=in_flight,
            flow_state=flow_state,
            tape=c.tape,
            markouts=c.due.at[0].set(jnp.where(last, jnp.inf, c.due[0])),
            step=state.step + 1,
            volume_shares=c.volume,
            trade_imbalance=c.signed_volume / jnp.maximum(c.volume, 1.0),
            volatility_ticks=realised_volatility_ticks(c.sq_mid),
            stats=stats,
            status=status,
        )
        return next_state, Fills(
            shares=net, notional=cost, market_volume_shares=jnp.maximum(c.volume, 1.0)
        )

    def mirror(self, params: BookParams) -> BookParams:
        raise NotImplementedError(
            "the order book's Hawkes flow has no antithetic twin; use RolloutConfig(antithetic="
            "False)"
        )
