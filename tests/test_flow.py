"""Hawkes-driven order flow on the book: rates, placement rules, invariants, determinism, errors."""

import importlib.util
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.data import flow_events_from_lobster, load_lobster
from wmjax.hawkes import EmpiricalSizes, HawkesParams, stationary_intensity
from wmjax.market import (
    FlowParams,
    FlowType,
    Side,
    book_from_levels,
    calibrate_flow,
    flow,
    simulate_flow,
)
from wmjax.market._book import invariants
from wmjax.market._flow_sim import _simulate

LEVELS = 32
CAPACITY = 6144  # ~3774 events expected in 300 s, sd ~100: no overflow
HORIZON_S = 300.0


def _params(scale=1.0):
    mu = np.array([2.0, 2.0, 1.4, 1.4, 0.5, 0.5]) * scale
    alpha = np.full((6, 6), 0.03) + np.diag([0.2] * 6)
    sizes = EmpiricalSizes(
        values=jnp.asarray(np.tile([[20.0, 100.0, 300.0]], (6, 1))), weights=jnp.ones((6, 3))
    )
    offsets = np.concatenate([flow.power_law_depths(0.7, 10), np.full((2, 3), 0.2)], axis=1)
    return FlowParams.create(
        HawkesParams.create(mu, alpha, 8.0), offsets, sizes, -9, 0.3, (0.3, 1.0), (1.0, 1.0)
    )


def _book():
    return book_from_levels(
        np.arange(1001, 1011), np.full(10, 300), np.arange(1000, 990, -1), np.full(10, 300), LEVELS
    )


@pytest.fixture(scope="module")
def run():
    def one(key, params):
        return _simulate(key, params, _book(), HORIZON_S, CAPACITY)

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
    # stationary rates (the transient from an empty history lasts ~1/beta = 0.1 s of 300 s);
    # 16 paths: the standard error of the mean count is well under 5% here
    expected = np.asarray(stationary_intensity(_params().hawkes)) * HORIZON_S
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


def test_limit_offset_and_cancel_level_rules():
    book = book_from_levels([105, 107], [100, 300], [100, 99], [100, 300], 4)
    anchor = jnp.asarray([100, 105])
    params = _params().replace(cancel_best_share=jnp.asarray(0.5, jnp.float32))

    def event(flow_type, offset=0, u=0.0, fraction=1.0, size=10):
        return flow.flow_event(params, book, anchor, flow_type, offset, u, fraction, size)

    # offsets are from the own best: +2 improves a buy to 102, -1 rests a sell behind at 106,
    # and an improvement never crosses: +9 stops one tick short of the other side
    assert event(FlowType.LIMIT_BUY, 2)[2] == 102
    assert event(FlowType.LIMIT_SELL, -1)[2] == 106
    assert event(FlowType.LIMIT_BUY, 9)[2] == 104
    assert event(FlowType.LIMIT_SELL, 9)[2] == 101
    # cancels: u below cancel_best_share (0.5) hits the best level; above it, a level in
    # proportion to its volume (100 of 400 bid shares rest at 100: a quarter of the rest)
    pick = jax.jit(jax.vmap(lambda u: event(FlowType.CANCEL_BID, u=u)))
    u = jnp.linspace(0.0005, 0.9995, 2000)
    _, side, price, _ = pick(u)
    assert np.all(np.asarray(side) == Side.BID)
    assert np.mean(np.asarray(price) == 100) == pytest.approx(0.5 + 0.5 * 0.25, abs=0.002)
    # the fraction of the hit level a cancel removes: at least one share, at most all of it
    assert int(event(FlowType.CANCEL_BID, u=0.1, fraction=0.25)[3]) == 25
    assert int(event(FlowType.CANCEL_BID, u=0.1, fraction=0.001)[3]) == 1
    assert int(event(FlowType.CANCEL_BID, u=0.1, fraction=1.0)[3]) == 100
    # with the ask side empty the last known ask bounds an improving buy
    empty_ask = book_from_levels([0], [0], [100], [100], 4)
    e = flow.flow_event(params, empty_ask, anchor, FlowType.LIMIT_BUY, 9, 0.0, 1.0, 10)
    assert e[2] == 104


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
            good.offset_weights,
            good.sizes,
        )
    bad_sizes = EmpiricalSizes(
        values=good.sizes.values.at[4, 0].set(-5.0), weights=good.sizes.weights
    )
    with pytest.raises(InputError, match="sizes must be >= 1 share"):
        FlowParams.create(good.hawkes, good.offset_weights, bad_sizes, -9)
    with pytest.raises(InputError, match="offset_weights must be >= 0"):
        FlowParams.create(good.hawkes, -good.offset_weights, good.sizes, -9)
    with pytest.raises(InputError, match="cancel_fractions must be in"):
        FlowParams.create(good.hawkes, good.offset_weights, good.sizes, -9, 0.5, (0.0, 1.0))
    with pytest.raises(InputError, match="6 dimensions"):
        FlowParams.create(
            HawkesParams.create([1.0, 1.0], np.zeros((2, 2)), 1.0), good.offset_weights, good.sizes
        )
    with pytest.raises(InputError, match="horizon_s must be > 0"):
        simulate_flow(jax.random.key(0), good, _book(), -1.0, 10)


EXCERPT = (
    Path(__file__).resolve().parent / "data" / "AMZN_2012-06-21_message_1_first800rows.csv",
    Path(__file__).resolve().parent / "data" / "AMZN_2012-06-21_orderbook_1_first800rows.csv",
)


@pytest.fixture(scope="module")
def excerpt():
    return load_lobster(*EXCERPT)


def test_lobster_events_become_flow_events(excerpt):
    times, marks, sizes = flow_events_from_lobster(excerpt)
    # row 2 is a 21-share buy submission; rows 3-4 two executions of resting buys at one time:
    # one 47-share market sell that swept two orders; hidden executions are left out
    assert marks[0] == FlowType.LIMIT_BUY and sizes[0] == 21
    assert marks[1] == FlowType.MARKET_SELL and sizes[1] == 21 + 26
    assert times[0] == pytest.approx(34200.18960767 - 34200.017459617, abs=1e-9)
    assert times[1] == pytest.approx(34200.190226476 - 34200.017459617, abs=1e-9)
    kinds = excerpt.event_type
    executions = kinds == 4
    assert (
        marks.size < (kinds <= 4).sum()
        and sizes[marks >= 4].sum() == excerpt.size_shares[executions].sum()
    )


def test_calibrate_flow_on_the_excerpt(excerpt):
    fit = calibrate_flow(excerpt)
    p = fit.params
    # the MLE reproduces each type's event rate (its compensator matches the count)
    rates = np.asarray(stationary_intensity(p.hawkes))
    np.testing.assert_allclose(rates, fit.event_counts / fit.horizon_s, rtol=0.25)
    # a level-1 file shows only the touch: every cancellation is at the best, no order
    # rests behind it, and the offsets are the hand count of submissions by improvement
    assert float(p.cancel_best_share) == 1.0
    w = np.asarray(p.offset_weights)
    zero = -p.min_offset_ticks
    assert np.all(w[:, :zero] == 0)
    sub = excerpt.event_type[1:] == 1
    buy = excerpt.direction[1:] > 0
    improvement = np.where(
        buy,
        excerpt.price_ticks[1:] - excerpt.bid_price_ticks[:-1, 0],
        excerpt.ask_price_ticks[:-1, 0] - excerpt.price_ticks[1:],
    )
    assert w[0, zero] == np.sum(sub & buy & (improvement == 0))
    both = (excerpt.bid_size_shares[:-1, 0] > 0) & (excerpt.ask_size_shares[:-1, 0] > 0)
    assert w.sum() == np.sum(sub & both & (improvement <= 30))
    assert np.all(np.asarray(p.cancel_fractions) <= 1)


def test_stylized_facts_experiment_smoke(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "book_stylized_facts",
        Path(__file__).resolve().parents[1] / "experiments" / "book_stylized_facts.py",
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = ["--message", str(EXCERPT[0]), "--orderbook", str(EXCERPT[1])]
    assert module.main([*args, "--paths", "2", "--levels", "16", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "stylized_facts.json").read_text())
    assert (tmp_path / "stylized_facts.png").stat().st_size > 0
    real, sim = result["real"], result["simulated"]
    assert set(result["within_tolerance"]) >= {
        "event_rates_within_10pct",
        "mean_spread_within_1.5x",
    }
    assert np.sum(real["rates_per_s"]) * result["window_s"] == pytest.approx(622, abs=1)
    assert 0.3 < np.sum(sim["rates_per_s"]) / np.sum(real["rates_per_s"]) < 3
