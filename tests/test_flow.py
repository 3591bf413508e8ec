"""Hawkes-driven order flow on the book: rates, placement rules, invariants, determinism, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.hawkes import EmpiricalSizes, HawkesParams, expected_count
from wmjax.market import (
    FlowParams,
    FlowType,
    Side,
    book_from_levels,
    flow,
    invariants,
    simulate_flow,
)

LEVELS = 32
CAPACITY = 4096
HORIZON_S = 300.0


def _params(scale=1.0):
    mu = np.array([2.0, 2.0, 1.4, 1.4, 0.5, 0.5]) * scale
    alpha = np.full((6, 6), 0.03) + np.diag([0.2] * 6)
    sizes = EmpiricalSizes(
        values=jnp.asarray(np.tile([[20.0, 100.0, 300.0]], (6, 1))), weights=jnp.ones((6, 3))
    )
    return FlowParams.create(
        HawkesParams.create(mu, alpha, 8.0), flow.power_law_depths(0.7, 10), sizes
    )


def _book():
    return book_from_levels(
        np.arange(1001, 1011), np.full(10, 300), np.arange(1000, 990, -1), np.full(10, 300), LEVELS
    )


@pytest.fixture(scope="module")
def run():
    def one(key, params):
        return flow._simulate(key, params, _book(), HORIZON_S, CAPACITY)

    return jax.jit(jax.vmap(one, (0, None)))


@pytest.fixture(scope="module")
def paths(run):
    keys = jax.random.split(jax.random.key(0), 16)
    return run(keys, _params())


def test_event_counts_match_the_hawkes_expectation(paths):
    _, path, overflow = paths
    assert not bool(np.any(np.asarray(overflow)))
    counts = np.stack(
        [(np.asarray(path.flow_type) == i) & np.asarray(path.valid) for i in range(6)], -1
    ).sum(axis=1)
    mean = counts.mean(axis=0)
    expected = np.asarray(expected_count(_params().hawkes, HORIZON_S))
    # 16 paths: the standard error of the mean count is well under 5% here
    np.testing.assert_allclose(mean, expected, rtol=0.1)


def test_invariants_hold_and_shares_are_conserved(paths):
    book, path, _ = paths
    for name, ok in invariants(book).items():
        assert bool(np.all(np.asarray(ok))), name
    bid, ask = np.asarray(path.best_bid_ticks), np.asarray(path.best_ask_ticks)
    assert np.all(ask > bid)  # never crossed after any event
    # levels beyond the 32 kept are dropped far from the touch, and reported
    dropped = np.asarray(book.dropped_shares)
    assert np.all(dropped[~np.asarray(book.overflow)] == 0)
    # market orders are signed by the side they hit and trade something when it rests
    sign = np.asarray(path.trade_sign)
    kind = np.asarray(path.flow_type)
    assert np.all(sign[kind == FlowType.MARKET_BUY] >= 0)
    assert np.all(sign[kind == FlowType.MARKET_SELL] <= 0)
    assert (sign != 0).sum() > 100


def test_limit_depth_and_cancel_level_rules():
    book = book_from_levels([105, 107], [100, 300], [100, 99], [100, 300], 4)
    anchor = jnp.asarray([100, 105])
    # a limit buy at depth 3 rests 3 ticks below the best ask, a limit sell 2 above the bid
    assert flow.flow_event(book, anchor, FlowType.LIMIT_BUY, 3, 0.0, 10)[2] == 102
    assert flow.flow_event(book, anchor, FlowType.LIMIT_SELL, 2, 0.0, 10)[2] == 102
    # cancels pick the level in proportion to its volume: 100 of 400 bid shares rest at 100
    pick = jax.jit(jax.vmap(lambda u: flow.flow_event(book, anchor, FlowType.CANCEL_BID, 1, u, 50)))
    u = jnp.linspace(0.0005, 0.9995, 1000)
    _, side, price, _ = pick(u)
    assert np.all(np.asarray(side) == Side.BID)
    assert np.mean(np.asarray(price) == 100) == pytest.approx(0.25, abs=0.002)
    # a cancel takes at most what rests there
    assert int(flow.flow_event(book, anchor, FlowType.CANCEL_BID, 1, 0.1, 500)[3]) == 100
    # with the ask side empty the last known ask anchors a limit buy
    empty_ask = book_from_levels([0], [0], [100], [100], 4)
    assert flow.flow_event(empty_ask, anchor, FlowType.LIMIT_BUY, 2, 0.0, 10)[2] == 103


def test_same_key_same_book_bit_identical(run):
    keys = jnp.stack([jax.random.key(5)] * 16)
    a = run(keys, _params())
    b = run(keys, _params())
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert np.array_equal(np.asarray(a[1].best_bid_ticks[0]), np.asarray(a[1].best_bid_ticks[1]))


def test_bad_parameters_are_refused():
    good = _params()
    with pytest.raises(InputError, match="spectral radius"):
        FlowParams.create(
            HawkesParams.create(np.ones(6), np.full((6, 6), 0.3), 1.0, allow_explosive=True),
            good.depth_weights,
            good.sizes,
        )
    bad_sizes = EmpiricalSizes(
        values=good.sizes.values.at[4, 0].set(-5.0), weights=good.sizes.weights
    )
    with pytest.raises(InputError, match="sizes must be >= 1 share"):
        FlowParams.create(good.hawkes, good.depth_weights, bad_sizes)
    with pytest.raises(InputError, match="depth_weights must be >= 0"):
        FlowParams.create(good.hawkes, -good.depth_weights, good.sizes)
    with pytest.raises(InputError, match="6 dimensions"):
        FlowParams.create(
            HawkesParams.create([1.0, 1.0], np.zeros((2, 2)), 1.0), good.depth_weights, good.sizes
        )
    with pytest.raises(InputError, match="capacity=10 is too small"):
        simulate_flow(jax.random.key(0), good, _book(), 100.0, 10)
