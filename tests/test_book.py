"""The price-level book against a pure-Python reference book, invariants, and walking the book."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _reference_book import ReferenceBook

from wmjax import InputError
from wmjax.market import (
    Side,
    book_from_levels,
    cancel_order,
    empty_book,
    limit_order,
    market_order,
    walk_book,
)
from wmjax.market._book import apply_delta, check_book, invariants

LEVELS = 4
LIMIT, CANCEL, TRADE, MARKET = range(4)


def _random_stream(rng, n):
    """A random message stream, mostly valid, built by asking the reference book what rests."""
    ref = ReferenceBook(LEVELS)
    msgs, states, counters = [], [], []
    for _ in range(n):
        op = rng.choice(4, p=[0.5, 0.25, 0.12, 0.13])
        side = int(rng.integers(2))
        book = ref.sides[side]
        if op == LIMIT:
            opp = ref.best(1 - side)
            anchor = opp if opp is not None else 100 + (-1 if side == 0 else 1)
            gap = int(rng.integers(1, 9)) if rng.random() > 0.1 else 0  # 0: would cross
            price = anchor - gap if side == 0 else anchor + gap
            size = int(rng.integers(1, 60))
            ref.limit(side, price, size)
        elif op in (CANCEL, TRADE):
            if book and rng.random() < 0.85:
                price = int(rng.choice(list(book)))
                size = int(rng.integers(1, int(book[price] * 1.3) + 2))
            else:
                price, size = int(rng.integers(90, 110)), int(rng.integers(1, 20))
            ref.reduce(side, price, size, trade=op == TRADE)
        else:
            price = 0
            size = int(rng.integers(1, 1 + sum(book.values()) + 20))
            ref.market(side, size)
        msgs.append((op, side, price, size))
        states.append(ref.arrays())
        counters.append(
            (ref.added, ref.traded, ref.cancelled, ref.dropped, ref.rejected, ref.unmatched)
        )
    return np.array(msgs, np.int32), np.array(states, np.int32), np.array(counters, np.int32)


def _step(state, msg):
    op, side, price, size = msg[0], msg[1], msg[2], msg[3]
    state = jax.lax.switch(
        op,
        [
            lambda s: limit_order(s, side, price, size),
            lambda s: cancel_order(s, side, price, size),
            lambda s: apply_delta(s, side, price, -size, is_trade=True),
            lambda s: market_order(s, side, size)[0],
        ],
        state,
    )
    counters = jnp.stack(
        [
            state.added_shares,
            state.traded_shares,
            state.cancelled_shares,
            state.dropped_shares,
            state.rejected,
            state.unmatched,
        ]
    )
    return state, (state.price_ticks, state.size_shares, counters, invariants(state))


@pytest.fixture(scope="module")
def ops():
    """The transitions, jitted once for this module."""
    return {
        "limit": jax.jit(limit_order),
        "market": jax.jit(market_order),
        "walk": jax.jit(walk_book),
        "seed": jax.jit(book_from_levels, static_argnums=4),
        "invariants": jax.jit(invariants),
    }


@pytest.fixture(scope="module")
def run_streams():
    def run(msgs):
        return jax.lax.scan(_step, empty_book(LEVELS), msgs)[1]

    return jax.jit(jax.vmap(run))


def test_random_streams_match_the_reference_book(run_streams):
    rng = np.random.default_rng(0)
    streams = [_random_stream(rng, 250) for _ in range(48)]
    msgs = np.stack([s[0] for s in streams])
    prices, sizes, counters, inv = run_streams(jnp.asarray(msgs))
    ref_states = np.stack([s[1] for s in streams])
    np.testing.assert_array_equal(np.asarray(sizes), ref_states[:, :, 1])
    np.testing.assert_array_equal(np.asarray(prices), ref_states[:, :, 0])
    np.testing.assert_array_equal(np.asarray(counters), np.stack([s[2] for s in streams]))
    for name, ok in inv.items():
        assert bool(np.all(np.asarray(ok))), name
    # the streams exercise every path: overflow drops, refused crossing orders, absent prices
    final = np.stack([s[2][-1] for s in streams])
    assert final[:, 3].sum() > 0 and final[:, 4].sum() > 0 and final[:, 5].sum() > 0


def test_market_order_walks_the_book_by_hand(ops):
    book = ops["seed"]([101, 102, 104], [100, 200, 300], [99, 98, 0], [50, 60, 0], 4)
    state, fills, avg = ops["market"](book, Side.ASK, 350)
    # 100 @ 101 + 200 @ 102 + 50 @ 104 = 10100 + 20400 + 5200 = 35700 over 350 shares
    np.testing.assert_array_equal(np.asarray(fills), [100, 200, 50, 0])
    assert float(avg) == pytest.approx(35700 / 350)
    np.testing.assert_array_equal(np.asarray(state.size_shares[Side.ASK]), [250, 0, 0, 0])
    np.testing.assert_array_equal(np.asarray(state.price_ticks[Side.ASK]), [104, 0, 0, 0])
    assert all(bool(v) for v in ops["invariants"](state).values())
    # a sell market order of 70 hits the bids: 50 @ 99 + 20 @ 98
    _, fills, avg = ops["market"](book, Side.BID, 70)
    assert float(avg) == pytest.approx((50 * 99 + 20 * 98) / 70)
    # with a limit price only levels at or better than it are taken
    _, filled, avg = ops["walk"](book, Side.ASK, 1000.0, 102)
    assert float(filled) == 300 and float(avg) == pytest.approx((10100 + 20400) / 300)


def test_walk_cost_is_piecewise_linear_with_level_prices_as_slopes(ops):
    book = ops["seed"]([101, 102, 104], [100, 200, 300], [99], [50], 3)

    def cost(q):
        fills, _, _ = walk_book(book, Side.ASK, q)
        return jnp.sum(fills * book.price_ticks[Side.ASK].astype(jnp.float32))

    grad = jax.jit(jax.grad(cost))
    assert [float(grad(q)) for q in (50.0, 150.0, 450.0)] == [101.0, 102.0, 104.0]


def test_walk_fill_slope_stays_in_0_1_on_an_empty_side_and_at_level_edges(ops):
    """d filled / d size is the share of a marginal share that fills: 0 on an empty side (filled
    is 0 for every size, finite differences give 0), and at most 1 where the size ends exactly
    at a level's edge (between the one-sided slopes 1 and 0). `clip` split its slope at ties
    and gave 4 on an empty 16-level side; chained through `own_walk`'s depletion debt, such
    slopes compounded until the placement policy's gradient overflowed (NaN at a training
    step)."""
    empty = empty_book(16)
    book = ops["seed"]([101, 102, 104], [100, 200, 300], [99], [50], 16)

    def slope(state, q):
        return float(jax.grad(lambda x: walk_book(state, Side.ASK, x)[1])(jnp.float32(q)))

    assert float(walk_book(empty, Side.ASK, 5.0)[1]) == 0.0
    assert slope(empty, 0.0) == 0.0 and slope(empty, 5.0) == 0.0
    for q in (0.0, 100.0, 300.0, 600.0, 700.0):  # level edges, the total depth, beyond it
        assert 0.0 <= slope(book, q) <= 1.0, q
    assert slope(book, 50.0) == 1.0 and slope(book, 700.0) == 0.0


def test_limit_order_inserts_in_price_order_and_overflow_is_flagged(ops):
    state = empty_book(2)
    state = ops["limit"](state, Side.BID, 100, 10)
    state = ops["limit"](state, Side.BID, 102, 5)
    assert not bool(state.overflow)
    state = ops["limit"](state, Side.BID, 101, 7)
    np.testing.assert_array_equal(np.asarray(state.price_ticks[Side.BID]), [102, 101])
    assert bool(state.overflow) and int(state.dropped_shares) == 10
    state = ops["limit"](state, Side.ASK, 101, 3)  # would cross the 102 bid: refused
    assert int(state.rejected) == 1 and int(state.size_shares[Side.ASK, 0]) == 0
    check_book(state)


def test_check_book_names_the_violated_invariant(ops):
    bad = ops["seed"]([101], [10], [102], [10], 1)
    with pytest.raises(InputError, match="not_crossed"):
        check_book(bad)
    with pytest.raises(InputError, match="levels must be >= 1"):
        empty_book(0)


def test_same_messages_same_book_bit_identical(run_streams):
    msgs, _, _ = _random_stream(np.random.default_rng(3), 250)
    batch = jnp.asarray(np.broadcast_to(msgs, (48, *msgs.shape)))  # the compiled shape
    a, b = run_streams(batch), run_streams(batch)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
