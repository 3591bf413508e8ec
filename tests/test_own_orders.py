"""Own orders on the book: hand-computed fills and queue positions, latency, determinism."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax.market import (
    LATENCY_PRESETS,
    BookEvent,
    OrderStatus,
    Side,
    advance_orders,
    book_from_levels,
    cancel_own,
    no_orders,
    sample_latency_us,
    step_with_orders,
    submit_order,
)

LIMIT, CANCEL, MARKET = BookEvent.LIMIT, BookEvent.CANCEL, BookEvent.MARKET
BID, ASK = Side.BID, Side.ASK


def _run(book, own, events):
    """Scan `step_with_orders` over events (times, kinds, sides, prices, sizes)."""

    def step(carry, ev):
        book, own = carry
        book, own = step_with_orders(book, own, *ev)
        return (book, own), (own.queue_ahead_shares, own.filled_shares, own.status)

    return jax.lax.scan(step, (book, own), events)


@pytest.fixture(scope="module")
def run():
    return jax.jit(_run)


@pytest.fixture(scope="module")
def ops():
    return {
        "submit": jax.jit(submit_order, static_argnames="is_market"),
        "advance": jax.jit(advance_orders),
        "cancel": jax.jit(cancel_own),
    }


def _events(rows):
    t, k, s, p, q = zip(*rows, strict=True)
    return (
        jnp.asarray(t, jnp.float32),
        jnp.asarray(k, jnp.int32),
        jnp.asarray(s, jnp.int32),
        jnp.asarray(p, jnp.int32),
        jnp.asarray(q, jnp.int32),
    )


def test_market_order_fills_and_average_price_by_hand(ops):
    book = book_from_levels([101, 102, 104], [100, 200, 300], [99], [50], 4)
    own, slot = ops["submit"](no_orders(2), BID, 350.0, 0.0, 50.0, is_market=True)
    assert int(slot) == 0
    book2, own = ops["advance"](book, own, 40e-6)  # not arrived yet: nothing happens
    assert int(own.status[0]) == OrderStatus.IN_FLIGHT
    book2, own = ops["advance"](book, own, 60e-6)
    # 100 @ 101 + 200 @ 102 + 50 @ 104 = 35,700 ticks x shares for 350 shares: 102.0 average
    assert float(own.filled_shares[0]) == 350 and float(own.notional_ticks[0]) == 35700
    assert float(own.notional_ticks[0] / own.filled_shares[0]) == pytest.approx(102.0)
    assert int(own.status[0]) == OrderStatus.DONE
    np.testing.assert_array_equal(np.asarray(book2.size_shares[ASK]), [250, 0, 0, 0])


def test_limit_order_queue_position_and_fills_by_hand(run, ops):
    book = book_from_levels([101], [500], [100, 99], [300, 200], 4)
    own, _ = ops["submit"](no_orders(2), BID, 200.0, 0.0, 100.0, price_ticks=100)
    events = [
        (50e-6, LIMIT, BID, 100, 50),  # before we arrive: ahead of us (we join behind 350)
        (200e-6, LIMIT, BID, 100, 100),  # behind us: level 450, ahead 350
        (300e-6, CANCEL, BID, 100, 90),  # n = 1: ahead loses 90 * 350 / 450 = 70 -> 280
        (400e-6, MARKET, BID, 0, 200),  # 200 traded at 100: ahead 80, no fill, level 160
        (500e-6, MARKET, BID, 0, 130),  # 130 at 100: 80 ahead, then we fill 50
        (600e-6, MARKET, BID, 0, 100),  # 30 at 100 (ours: 30) + 70 at 99 walked through: 70
        (750e-6, LIMIT, ASK, 100, 20),  # a sell limit at our price fills us 20 (30 left)
        (900e-6, MARKET, BID, 0, 10),  # our cancel (sent at 700us + 100us) came first
    ]
    (book, own), (ahead, filled, status) = run(book, own, _events(events[:7]))
    assert int(status[0, 0]) == OrderStatus.IN_FLIGHT  # arrives at 100us, after event 1
    np.testing.assert_allclose(np.asarray(ahead[1:5, 0]), [350, 280, 80, 0], atol=1e-3)
    np.testing.assert_allclose(np.asarray(filled[:, 0]), [0, 0, 0, 0, 50, 150, 170], atol=1e-3)
    own = ops["cancel"](own, 0, 700e-6, 100.0)
    (book, own), (_, filled, status) = run(book, own, _events(events[7:]))
    assert int(status[-1, 0]) == OrderStatus.DONE and float(own.remaining_shares[0]) == 30
    assert float(own.notional_ticks[0]) == pytest.approx(170 * 100)


def test_power_law_cancel_rule_by_hand(run, ops):
    book = book_from_levels([101], [500], [100], [350], 2)
    own, _ = ops["submit"](no_orders(2, queue_power=2.0), BID, 10.0, 0.0, 1.0, price_ticks=100)
    events = [(1e-5, LIMIT, BID, 100, 100), (2e-5, CANCEL, BID, 100, 90)]
    _, (ahead, _, _) = run(book, own, _events(events))
    expected = 350 - 90 * 350**2 / (350**2 + 100**2)
    assert float(ahead[-1, 0]) == pytest.approx(expected, rel=1e-5)


def _random_stream(rng, n, horizon_s):
    """Events at fixed prices that never cross: bids 95..100, asks 101..106."""
    times = np.sort(rng.uniform(0, horizon_s, n))
    kinds = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    sides = rng.integers(0, 2, n)
    depth = rng.integers(0, 3, n)
    prices = np.where(sides == BID, 100 - depth, 101 + depth)
    sizes = rng.integers(1, 120, n)
    return times, kinds, sides, prices, sizes


def test_longer_latency_never_improves_queue_position(run):
    book = book_from_levels([101, 102], [300, 300], [100, 99], [300, 300], 6)
    scenarios = list(LATENCY_PRESETS.values())
    rng = np.random.default_rng(7)
    n_streams = 24
    lat = np.stack(
        [
            np.asarray(sample_latency_us(jax.random.key(i), s, ()))
            for i in range(n_streams)
            for s in scenarios
        ]
    ).reshape(n_streams, len(scenarios))
    streams = [_random_stream(rng, 300, 0.2) for _ in range(n_streams)]
    events = tuple(jnp.asarray(np.stack(x)) for x in zip(*streams, strict=True))
    events = (events[0].astype(jnp.float32), *(e.astype(jnp.int32) for e in events[1:]))

    def one(lat_us, ev):
        own = no_orders(1)
        own, _ = submit_order(own, BID, 150.0, 0.0, lat_us, price_ticks=100)
        return _run(book, own, ev)[1]

    per_scenario = jax.jit(jax.vmap(jax.vmap(one, (0, None)), (0, 0)))
    ahead, filled, status = per_scenario(jnp.asarray(lat), events)
    ahead, filled, status = (np.asarray(x)[..., 0] for x in (ahead, filled, status))
    compared = 0
    for i in range(n_streams):
        order = np.argsort(lat[i])
        for a, b in itertools.pairwise(order):  # a arrives no later than b
            assert np.all(filled[i, a] >= filled[i, b] - 1e-3)
            both = (status[i, a] == OrderStatus.RESTING) & (status[i, b] == OrderStatus.RESTING)
            assert np.all(ahead[i, a][both] <= ahead[i, b][both] + 1e-3)
            compared += int(both.sum())
    assert compared > 1000  # the comparison is not vacuous
    assert filled[:, np.argmin(lat[0])].max() > 0  # and fills happen


def test_same_inputs_bit_identical_and_full_table_is_flagged(run, ops):
    rng = np.random.default_rng(1)
    ev = tuple(jnp.asarray(x) for x in _random_stream(rng, 50, 0.01))
    ev = (ev[0].astype(jnp.float32), *(e.astype(jnp.int32) for e in ev[1:]))
    book = book_from_levels([101], [300], [100], [300], 4)
    own, _ = ops["submit"](no_orders(2), BID, 100.0, 0.0, 30.0, price_ticks=100)
    a, b = run(book, own, ev), run(book, own, ev)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    own, _ = ops["submit"](own, BID, 100.0, 0.0, 30.0, price_ticks=99)
    own, slot = ops["submit"](own, BID, 100.0, 0.0, 30.0, price_ticks=98)
    assert bool(own.overflow) and int(slot) == -1


# -- must-show 4 of issue 16: own orders against the pure-Python reference ----------------------

_STATUS = {"in_flight": OrderStatus.IN_FLIGHT, "resting": OrderStatus.RESTING}


def _own_stream(rng, n):
    """Book events every ~100 us at prices that never cross (bids 98..100, asks 101..103), with
    our submissions (limit or market, 0-300 us latency) and cancel requests in between."""
    t = np.cumsum(rng.uniform(20e-6, 180e-6, n)).astype(np.float32)
    kind = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    side = rng.integers(0, 2, n)
    price = np.where(side == BID, 100 - rng.integers(0, 3, n), 101 + rng.integers(0, 3, n))
    size = rng.integers(1, 120, n)
    sub = rng.random(n) < 0.12
    sub_side = rng.integers(0, 2, n)
    sub_market = rng.random(n) < 0.2
    sub_size = rng.integers(20, 200, n)
    sub_price = np.where(sub_side == BID, 100 - rng.integers(0, 2, n), 101 + rng.integers(0, 2, n))
    sub_lat = rng.uniform(0, 300, n).astype(np.float32)
    can = rng.random(n) < 0.06
    can_slot = rng.integers(0, 6, n)
    can_lat = rng.uniform(0, 300, n).astype(np.float32)
    return (t, kind, side, price, size, sub, sub_side, sub_market, sub_size, sub_price, sub_lat,
            can, can_slot, can_lat)  # fmt: skip


def _reference_run(stream, levels, capacity):
    from _reference_book import ReferenceBook, ReferenceOwnOrders

    book = ReferenceBook(levels)
    for p in range(96, 101):
        book.limit(BID, p, 300)
    for p in range(101, 106):
        book.limit(ASK, p, 300)
    own = ReferenceOwnOrders(book, capacity)
    out = []
    f32 = np.float32
    for row in zip(*stream, strict=True):
        t, kind, side, price, size, sub, s_side, s_mkt, s_size, s_price, s_lat = row[:11]
        can, c_slot, c_lat = row[11:]
        if sub:  # arrival in float32, as the engine computes it
            arrival_s = float(f32(t) + f32(s_lat) * f32(1e-6))
            own.submit(int(s_side), int(s_size), float(t), arrival_s - float(t), int(s_price),
                       bool(s_mkt))  # fmt: skip
        if can:
            own.cancel(int(c_slot), float(f32(t) + f32(c_lat) * f32(1e-6)))
        own.event(float(t), int(kind), int(side), int(price), int(size))
        row_out = []
        for o in own.orders:
            if o is None:
                row_out.append((0.0, 0.0, 0.0, OrderStatus.EMPTY))
            else:
                status = _STATUS.get(o["status"], OrderStatus.DONE)
                row_out.append((o["filled"], o["notional"], o["ahead"], status))
        out.append(row_out)
    return np.asarray(out)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _engine_run(stream, levels, capacity):
    """The engine on one stream (jitted once for every stream of the same length)."""
    book = book_from_levels(np.arange(101, 106), np.full(5, 300), np.arange(100, 95, -1),
                            np.full(5, 300), levels)  # fmt: skip

    def step(carry, x):
        book, own = carry
        t, kind, side, price, size, sub, s_side, s_mkt, s_size, s_price, s_lat = x[:11]
        can, c_slot, c_lat = x[11:]
        submitted, _ = submit_order(own, s_side, s_size.astype(jnp.float32), t, s_lat, s_price,
                                    s_mkt)  # fmt: skip
        own = jax.tree.map(lambda a, b: jnp.where(sub, a, b), submitted, own)
        own = jax.tree.map(
            lambda a, b: jnp.where(can, a, b), cancel_own(own, c_slot, t, c_lat), own
        )
        book, own = step_with_orders(book, own, t, kind, side, price, size)
        return (book, own), (own.filled_shares, own.notional_ticks, own.queue_ahead_shares,
                             own.status)  # fmt: skip

    _, out = jax.lax.scan(step, (book, no_orders(capacity)), stream)
    return jnp.stack([o.astype(jnp.float32) for o in out], axis=-1)


def test_own_orders_match_the_reference_on_random_streams():
    rng = np.random.default_rng(16)
    for _ in range(6):
        stream = _own_stream(rng, 300)
        ref = _reference_run(stream, 10, 6)
        got = np.asarray(_engine_run(tuple(jnp.asarray(a) for a in stream), 10, 6), np.float64)
        np.testing.assert_array_equal(got[..., 3], ref[..., 3])  # status, slot by slot
        np.testing.assert_allclose(got[..., 0], ref[..., 0], atol=1e-3)  # filled shares
        np.testing.assert_allclose(got[..., 1], ref[..., 1], rtol=1e-6, atol=1e-2)  # notional
        np.testing.assert_allclose(got[..., 2], ref[..., 2], rtol=1e-5, atol=1e-3)  # queue ahead
    # the streams exercise partial fills, cancels and market orders
    assert (ref[-1, :, 3] == OrderStatus.DONE).sum() >= 3 and ref[-1, :, 0].sum() > 0


def test_notional_is_float_past_int32(ops):
    # 250,000 shares at 10,000 ticks: 2.5e9 ticks x shares, past int32's 2.1e9
    book = book_from_levels([10_000], [250_000], [9_999], [100], 2)
    own, _ = ops["submit"](no_orders(1), BID, 250_000.0, 0.0, 0.0, is_market=True)
    _, own = ops["advance"](book, own, 1e-6)
    assert float(own.filled_shares[0]) == 250_000
    assert float(own.notional_ticks[0]) == 2.5e9
