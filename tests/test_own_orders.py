"""Own orders on the book: hand-computed fills and queue positions, latency, determinism."""

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
