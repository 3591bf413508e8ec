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

from wmjax._checks import positive, positive_int, require
from wmjax.market import _flow as flow
from wmjax.market._book import BookState, Side, best_prices
from wmjax.market._book_core import BookEvent, OrderStatus, apply_event, level_volume, queue_update
from wmjax.market._book_core import quotes as _quotes
from wmjax.market._book_interval import _merge_order
from wmjax.market._book_orders import OwnOrders, no_orders
from wmjax.market._book_params import BookParams
from wmjax.market._book_status import BookStatus
from wmjax.market._latency import LATENCY_SAMPLERS, sample_latency_us
from wmjax.market._protocol import Fills
from wmjax.market._toxicity import VpinState, vpin_state, vpin_update, vpin_value

DEPTH_LEVELS = 3


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
    tape's vpin and signed order_imbalance, tick_size and the mean one-way latency_us.
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
class _Flight:
    """Messages sent, not yet arrived (Q slots, FIFO): arrival_s (Q,) from the interval start
    (inf: empty); per slot of the 2K quotes: prices_ticks, sizes_shares, weights (Q, 2K)."""

    arrival_s: jax.Array
    prices_ticks: jax.Array
    sizes_shares: jax.Array
    weights: jax.Array


@struct.dataclass
class MakerState:
    """One path: the book, our 2K virtual quotes (K bids then K asks) and their weights, the
    messages in flight, the flow's excitation, the tape's VPIN, last-interval features, stats."""

    book: BookState
    anchor_ticks: jax.Array
    own: OwnOrders
    weights: jax.Array
    in_flight: _Flight
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


def _send(m: _Flight, latency_s, prices, sizes, weights) -> tuple[_Flight, jax.Array]:
    free = ~jnp.isfinite(m.arrival_s)
    last = jnp.max(jnp.where(free, 0.0, m.arrival_s))
    hit = (jnp.arange(free.shape[0]) == jnp.argmax(free)) & jnp.any(free)
    row = hit[:, None]
    return _Flight(
        arrival_s=jnp.where(hit, jnp.maximum(latency_s, last), m.arrival_s),
        prices_ticks=jnp.where(row, prices, m.prices_ticks),
        sizes_shares=jnp.where(row, sizes, m.sizes_shares),
        weights=jnp.where(row, weights, m.weights),
    ), (~jnp.any(free)).astype(jnp.int32)


@struct.dataclass
class _Carry:
    book: BookState
    anchor: jax.Array
    own: OwnOrders
    weights: jax.Array
    tape: VpinState
    due: jax.Array  # (3, B) as MakerState.markouts
    cash: jax.Array
    inventory: jax.Array
    inventory_sq_s: jax.Array
    last_s: jax.Array
    bought: jax.Array
    sold: jax.Array
    volume: jax.Array
    signed_volume: jax.Array
    sq_mid: jax.Array
    markout_shares: jax.Array
    adverse: jax.Array
    missed: jax.Array
    level_overflow: jax.Array


def _mid(anchor) -> jax.Array:
    return 0.5 * jnp.sum(anchor).astype(jnp.float32)


def _resolve(c: _Carry, now_s) -> _Carry:
    """Mark-outs due by `now_s` read the mid now: signed shares x (mid at fill - mid now)."""
    due_s, shares, mid = c.due
    due = due_s <= now_s
    return c.replace(
        due=c.due.at[0].set(jnp.where(due, jnp.inf, due_s)),
        markout_shares=c.markout_shares + jnp.sum(jnp.where(due, jnp.abs(shares), 0.0)),
        adverse=c.adverse + jnp.sum(jnp.where(due, shares * (mid - _mid(c.anchor)), 0.0)),
    )


def _item(c: _Carry, x, flow_params, markout_s, bucket, ref):
    is_msg, valid, t, ev, msg = x
    c = _resolve(c, jnp.where(valid, t, -jnp.inf))
    now = jnp.where(valid, t, c.last_s)
    c = c.replace(inventory_sq_s=c.inventory_sq_s + c.inventory**2 * (now - c.last_s), last_s=now)
    book = c.book
    kind_f, side, price, size_f = flow.flow_event(flow_params, book, c.anchor, **ev)
    kind = jnp.where(is_msg, BookEvent.MARKET, kind_f)
    size = jnp.where(valid & ~is_msg, size_f, 0)
    after, fills = apply_event(book, kind, side, price, size)
    own = queue_update(c.own, book, after, kind, side, price, size, fills)
    d = (1 - 2 * own.side).astype(jnp.float32)  # +1 for bids
    signed = d * c.weights * (own.filled_shares - c.own.filled_shares)
    net = jnp.sum(signed)
    cash = c.cash - jnp.sum(signed * (own.price_ticks - ref).astype(jnp.float32))
    # our arriving message replaces each side's quotes (an unchanged price keeps its place)
    anchor = _quotes(after, c.anchor)
    arriving = is_msg & valid
    opposite = anchor[1 - own.side]
    target = msg["prices_ticks"]
    new_price = jnp.where(d * target >= d * opposite, opposite - d.astype(jnp.int32), target)
    sizes = msg["sizes_shares"]
    live = own.status == OrderStatus.RESTING
    amend = arriving & live & (own.price_ticks == new_price) & (sizes > 0)
    post = arriving & ~amend & (sizes > 0)
    ahead = jax.vmap(level_volume, (None, 0, 0))(after, own.side, new_price)
    status = jnp.where(arriving & live & ~amend, OrderStatus.DONE, own.status)
    own = own.replace(
        status=jnp.where(post, OrderStatus.RESTING, status).astype(jnp.int32),
        price_ticks=jnp.where(post, new_price, own.price_ticks).astype(jnp.int32),
        remaining_shares=jnp.where(post | amend, sizes, own.remaining_shares),
        queue_ahead_shares=jnp.where(post, ahead, own.queue_ahead_shares),
    )
    # a fill opens a mark-out against the mid before the trade
    due_s = c.due[0]
    free = ~jnp.isfinite(due_s)
    opens = (net != 0) & jnp.any(free)
    slot = (jnp.arange(free.shape[0]) == jnp.argmax(free)) & opens
    due = jnp.stack(
        [
            jnp.where(slot, t + markout_s, due_s),
            jnp.where(slot, net, c.due[1]),
            jnp.where(slot, _mid(c.anchor), c.due[2]),
        ]
    )
    traded = jnp.sum(fills).astype(jnp.float32)
    is_trade = ~is_msg & valid & (kind == BookEvent.MARKET)
    buy = jnp.where(side == Side.ASK, traded, 0.0)
    tape = jax.tree.map(
        lambda a, b: jnp.where(is_trade, a, b),
        vpin_update(c.tape, buy, traded - buy, bucket),
        c.tape,
    )
    return c.replace(
        book=after,
        anchor=anchor,
        own=own,
        weights=jnp.where(arriving, msg["weights"], c.weights),
        tape=tape,
        due=due,
        cash=cash,
        inventory=c.inventory + net,
        bought=c.bought + jnp.sum(jnp.maximum(signed, 0.0)),
        sold=c.sold + jnp.sum(jnp.maximum(-signed, 0.0)),
        volume=c.volume + jnp.where(is_trade, traded, 0.0),
        signed_volume=c.signed_volume + jnp.where(is_trade, 2 * buy - traded, 0.0),
        sq_mid=c.sq_mid + (0.5 * jnp.sum(anchor - c.anchor).astype(jnp.float32)) ** 2,
        missed=c.missed + jnp.where((net != 0) & ~jnp.any(free), jnp.abs(net), 0.0),
        level_overflow=c.level_overflow + (after.dropped_shares > book.dropped_shares),
    )


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

    def __post_init__(self):
        positive_int("events_per_step", self.events_per_step)
        require(len(self.offsets_ticks) >= 1, "offsets_ticks needs at least one offset")
        require(
            all(isinstance(o, int) for o in self.offsets_ticks),
            f"offsets_ticks must be integers (ticks), got {self.offsets_ticks}",
        )
        require(
            self.latency_method in LATENCY_SAMPLERS,
            f"latency_method must be one of {LATENCY_SAMPLERS}",
        )
        positive("trading_day_s", self.trading_day_s)
        positive("queue_power", self.queue_power)
        positive_int("max_in_flight", self.max_in_flight)
        positive("markout_s", self.markout_s)
        positive_int("markout_slots", self.markout_slots)
        positive("vpin_bucket_shares", self.vpin_bucket_shares)
        positive_int("vpin_window", self.vpin_window)

    @property
    def n_offsets(self) -> int:
        return len(self.offsets_ticks)

    def init(self, key, params: BookParams, order, n_steps: int) -> MakerState:
        """The seed book with each level scaled by an independent uniform(0.5, 1.5) from `key`,
        a flat inventory and an empty flow excitation; `order.horizon_days` is the session."""
        seed = params.seed_book
        scale = jax.random.uniform(key, seed.size_shares.shape, jnp.float32, 0.5, 1.5)
        size = jnp.where(
            seed.size_shares > 0, jnp.maximum(jnp.round(seed.size_shares * scale), 1.0), 0.0
        ).astype(jnp.int32)
        book = seed.replace(
            size_shares=size,
            added_shares=seed.added_shares - jnp.sum(seed.size_shares) + jnp.sum(size),
        )
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
            in_flight=_Flight(
                arrival_s=jnp.full(q, jnp.inf, jnp.float32),
                prices_ticks=jnp.zeros((q, 2 * k), jnp.int32),
                sizes_shares=jnp.zeros((q, 2 * k), jnp.float32),
                weights=jnp.zeros((q, 2 * k), jnp.float32),
            ),
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
            stats=MakerStats(_mid(anchor), *([zero] * 10), jnp.int32(0)),
            status=BookStatus.zero(),
            n_steps=n_steps,
        )

    def observe(self, state: MakerState, params: BookParams) -> MakerObservation:
        quotes = _quotes(state.book, state.anchor_ticks).astype(jnp.float32)
        depth = state.book.size_shares[:, :DEPTH_LEVELS].astype(jnp.float32)
        top = depth[:, 0]
        own = state.own
        live = (own.status == OrderStatus.RESTING).astype(jnp.float32) * state.weights
        k = self.n_offsets
        ahead = (live * own.queue_ahead_shares).reshape(2, k).sum(1)
        resting = (live * own.remaining_shares).reshape(2, k).sum(1)
        s = state.stats
        mid_ticks = 0.5 * (quotes[0] + quotes[1])
        vpin, imbalance = vpin_value(state.tape, self.vpin_bucket_shares)
        return MakerObservation(
            mid=mid_ticks * params.tick_size,
            spread_ticks=quotes[1] - quotes[0],
            bid_depth_shares=depth[Side.BID],
            ask_depth_shares=depth[Side.ASK],
            imbalance=(top[0] - top[1]) / jnp.maximum(top[0] + top[1], 1.0),
            trade_imbalance=state.trade_imbalance,
            volume_shares=state.volume_shares,
            volatility_ticks=state.volatility_ticks,
            inventory_shares=s.inventory_shares,
            pnl=(s.cash_ticks + s.inventory_shares * (mid_ticks - s.ref_ticks)) * params.tick_size,
            bid_queue_ahead_shares=ahead[0],
            ask_queue_ahead_shares=ahead[1],
            bid_resting_shares=resting[0],
            ask_resting_shares=resting[1],
            vpin=vpin,
            order_imbalance=imbalance,
            tick_size=params.tick_size,
            latency_us=jnp.asarray(params.latency.one_way_latency_us, jnp.float32),
        )

    def step(self, key, state: MakerState, action: QuoteAction, params: BookParams):
        """One decision interval (see the module doc). `Fills`: shares = net shares bought,
        notional = their signed cost in price units (the P&L is in `state.stats`)."""
        k_flow, k_latency = jax.random.split(key)
        offsets = jnp.asarray(self.offsets_ticks, jnp.int32)
        quotes = _quotes(state.book, state.anchor_ticks)
        prices = jnp.concatenate([quotes[0] - offsets, quotes[1] + offsets])
        t = params.temperature

        def weights(logits):
            logits = jnp.asarray(logits, jnp.float32)
            soft = jax.nn.softmax(logits / jnp.where(t > 0, t, 1.0))
            hard = jax.nn.one_hot(jnp.argmax(logits), self.n_offsets, dtype=jnp.float32)
            return jnp.where(t > 0, soft, hard)

        k = self.n_offsets
        w = jnp.concatenate([weights(action.bid_logits), weights(action.ask_logits)])
        sizes = jnp.concatenate(
            [
                jnp.full(k, jnp.maximum(jnp.asarray(action.bid_shares, jnp.float32), 0.0)),
                jnp.full(k, jnp.maximum(jnp.asarray(action.ask_shares, jnp.float32), 0.0)),
            ]
        )
        latency_s = sample_latency_us(k_latency, params.latency, (), self.latency_method) * 1e-6
        in_flight, dropped = _send(state.in_flight, latency_s, prices, sizes, w)
        events, flow_state, end_s = flow.sample_interval(
            k_flow, params.flow, state.flow_state, state.interval_s, self.events_per_step
        )
        s = state.stats
        zero = jnp.float32(0.0)
        c = _Carry(
            book=state.book,
            anchor=state.anchor_ticks,
            own=state.own,
            weights=state.weights,
            tape=state.tape,
            due=state.markouts,
            cash=s.cash_ticks,
            inventory=s.inventory_shares,
            inventory_sq_s=s.inventory_sq_s,
            last_s=zero,
            bought=zero,
            sold=zero,
            volume=zero,
            signed_volume=zero,
            sq_mid=zero,
            markout_shares=s.markout_shares,
            adverse=s.adverse_share_ticks,
            missed=s.markout_missed_shares,
            level_overflow=jnp.int32(0),
        )
        c, in_flight = self._run(c, in_flight, events, end_s, params, s.ref_ticks)
        last = state.step == state.n_steps - 1
        # at the horizon: quotes cancelled, open mark-outs read the final mid
        mid = _mid(c.anchor)
        open_ = jnp.isfinite(c.due[0]) & last
        adverse = c.adverse + jnp.sum(jnp.where(open_, c.due[1] * (c.due[2] - mid), 0.0))
        markout = c.markout_shares + jnp.sum(jnp.where(open_, jnp.abs(c.due[1]), 0.0))
        mark = c.cash + c.inventory * (mid - s.ref_ticks)
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
            markout_shares=markout,
            adverse_share_ticks=adverse,
            markout_missed_shares=c.missed,
            flow_events=s.flow_events + events.count,
        )
        st = state.status
        late = jnp.sum(jnp.isfinite(in_flight.arrival_s)).astype(jnp.int32)
        status = BookStatus(
            flow_overflow_intervals=st.flow_overflow_intervals + events.overflow.astype(jnp.int32),
            level_overflow_events=st.level_overflow_events + c.level_overflow,
            dropped_shares=st.dropped_shares + c.book.dropped_shares - state.book.dropped_shares,
            message_overflow=st.message_overflow + dropped,
            late_messages=st.late_messages + jnp.where(last, late, 0),
        )
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
            volatility_ticks=jnp.sqrt(c.sq_mid),
            stats=stats,
            status=status,
        )
        return next_state, Fills(
            shares=net, notional=cost, market_volume_shares=jnp.maximum(c.volume, 1.0)
        )

    def _run(self, c: _Carry, m: _Flight, events, end_s, params: BookParams, ref):
        """The interval [0, end_s]: flow events and our arrivals merged by time, one scan."""
        n_f = events.times_s.shape[0]
        flow_t = jnp.where(events.mask, events.times_s, jnp.inf)
        due = m.arrival_s <= end_s
        msg_t = jnp.where(due, m.arrival_s, jnp.inf)
        src = _merge_order(flow_t, msg_t)
        fi = jnp.minimum(src, n_f - 1)
        mi = jnp.maximum(src - n_f, 0)
        times = jnp.concatenate([flow_t, msg_t])[src]
        ev = {
            "flow_type": events.flow_type[fi],
            "offset_ticks": events.offset_ticks[fi],
            "cancel_u": events.cancel_u[fi],
            "cancel_fraction": events.cancel_fraction[fi],
            "size_shares": events.size_shares[fi],
        }
        msg = {
            "prices_ticks": m.prices_ticks[mi],
            "sizes_shares": m.sizes_shares[mi],
            "weights": m.weights[mi],
        }
        xs = (src >= n_f, jnp.isfinite(times), times, ev, msg)
        bucket = self.vpin_bucket_shares
        c, _ = jax.lax.scan(
            lambda c, x: (_item(c, x, params.flow, self.markout_s, bucket, ref), None), c, xs
        )
        c = _resolve(c, end_s)
        c = c.replace(
            inventory_sq_s=c.inventory_sq_s + c.inventory**2 * (end_s - c.last_s),
            due=c.due.at[0].add(-end_s),
        )
        left = m.replace(arrival_s=jnp.where(due, jnp.inf, m.arrival_s - end_s))
        return c, left

    def mirror(self, params: BookParams) -> BookParams:
        raise NotImplementedError(
            "the order book's Hawkes flow has no antithetic twin; use RolloutConfig(antithetic="
            "False)"
        )
