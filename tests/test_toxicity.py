"""Order-flow toxicity: VPIN against a loop reference and closed forms, the online VPIN against
the batch one on a simulated tape, informed flow in the quote market, the toxicity-aware market
maker against the plain one on common random numbers, and VPIN of the real AMZN day."""

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _shared import SHARED_DATA, shared_file

from wmjax import InputError
from wmjax.analytics import lobster_trades, paired_market_making, roc_auc, vpin_day
from wmjax.data import load_lobster
from wmjax.features import bulk_volume_classification, time_bars, vpin
from wmjax.hawkes import HawkesParams, events_from_arrays, intensity
from wmjax.market import (
    hawkes_excitation,
    hawkes_excitation_update,
    hawkes_imbalance,
    markout,
    quote_config,
    quote_market_params,
)
from wmjax.strategies import (
    as_inventory_quotes,
    avellaneda_stoikov,
    simulate_quotes,
    toxicity_aware,
    toxicity_aware_strategy,
)

# Toxic flow (README): information events 1 per unit time lasting 0.5 on average, informed
# market orders at twice the noise traders' rate on one side, the mid drifting 20 per unit time.
TOXIC = quote_market_params(
    informed_rate=280.0, info_start_rate=1.0, info_end_rate=2.0, info_drift=20.0
)
TOXIC_CONFIG = quote_config(500, 0.002, vpin_bucket=20.0, vpin_window=5)
AGENT = avellaneda_stoikov(0.1, 2.0, 1.5)
# A Hawkes model of the toxic tape's (buy, sell) market orders: `fit_tape_hawkes` on 50 paths of
# key 0 gives mu = (47, 57), alpha = diag(0.72, 0.65) (cross terms < 1e-7), beta = (11.5, 13.0).
FLOW_MODEL = HawkesParams(
    jnp.array([47.0, 57.0]), jnp.array([[0.72, 0.0], [0.0, 0.65]]), jnp.array([[11.5, 13.0]] * 2)
)


def _vpin_loop(volume, buy, bucket, window):
    """Reference: fill buckets bar by bar in plain Python, splitting a bar pro rata."""
    buckets, fill, fill_buy = [], 0.0, 0.0
    for v, b in zip(volume, buy, strict=True):
        share = b / v if v > 0 else 0.0
        while v > 1e-12:
            take = min(v, bucket - fill)
            fill, fill_buy, v = fill + take, fill_buy + share * take, v - take
            if fill >= bucket - 1e-9:
                buckets.append(fill_buy)
                fill, fill_buy = 0.0, 0.0
    imbalance = np.abs(2 * np.array(buckets) - bucket) / bucket
    vp = np.convolve(imbalance, np.ones(window), "valid") / window
    return np.array(buckets), vp


def test_vpin_equals_a_loop_reference():
    rng = np.random.default_rng(0)
    volume = rng.exponential(30.0, 400) * (rng.random(400) > 0.2)  # some empty bars
    buy = volume * rng.random(400)
    out = vpin(jnp.asarray(volume), jnp.asarray(buy), 55.0, 7, 300)
    buckets, vp = _vpin_loop(volume, buy, 55.0, 7)
    n = len(buckets)
    assert int(out.count) == n and not bool(out.overflow)
    np.testing.assert_allclose(np.asarray(out.buy_volume)[:n], buckets, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(np.asarray(out.vpin)[6:n], vp, rtol=1e-4, atol=1e-5)
    assert not np.asarray(out.valid)[:6].any() and not np.asarray(out.valid)[n:].any()
    small = vpin(jnp.asarray(volume), jnp.asarray(buy), 55.0, 7, 10)
    assert bool(small.overflow) and int(small.count) == 10


def test_vpin_closed_forms_and_bulk_classification():
    ones = jnp.ones(100)
    assert np.allclose(vpin(ones, ones, 5.0, 4, 20).vpin[3:], 1.0)  # every trade a buy
    alternate = jnp.tile(jnp.array([1.0, 0.0]), 50)  # buy, sell, buy, ... in buckets of 2
    assert np.allclose(vpin(ones, alternate, 2.0, 4, 50).vpin[3:], 0.0, atol=1e-6)
    v, dp = jnp.array([10.0, 10.0, 10.0, 4.0]), jnp.array([0.0, 1.0, -1.0, 3.0])
    buy = np.asarray(bulk_volume_classification(v, dp, sigma=1.0))
    np.testing.assert_allclose(buy, [5.0, 8.413447, 1.586553, 3.994603], rtol=1e-5)
    assert np.allclose(bulk_volume_classification(v, jnp.zeros(4)), v / 2)
    with pytest.raises(InputError, match="buy_volume"):
        vpin(ones, 2 * ones, 5.0)
    vol, change = time_bars(jnp.array([0.5, 0.7, 2.2, 2.9]), [1, 2, 3, 4], [10, 11, 9, 12], 1.0, 4)
    np.testing.assert_allclose(vol, [3, 0, 7, 0])
    np.testing.assert_allclose(change, [1, 0, 1, 0])  # closes 11, 11, 12, 12 from 10


@pytest.fixture(scope="module")
def toxic_runs():
    key, n, model = jax.random.key(7), 1000, FLOW_MODEL
    plain = simulate_quotes(key, TOXIC, as_inventory_quotes, AGENT, TOXIC_CONFIG, n, None, model)
    runs = {"plain": plain}
    for score in ("vpin", "hawkes"):
        aware = toxicity_aware_strategy(as_inventory_quotes, score)
        tag = "" if score == "vpin" else "hawkes_"
        for name, widen, skew in (("zero", 0, 0), ("widen", 2.0, 0), ("widen_skew", 2.0, 0.5)):
            params = toxicity_aware(AGENT, widen, skew, threshold=0.2)
            runs[tag + name] = simulate_quotes(
                key, TOXIC, aware, params, TOXIC_CONFIG, n, None, model
            )
    return runs


def test_online_vpin_equals_the_batch_vpin_of_the_tape(toxic_runs):
    """What the maker saw before step t is the batch VPIN of the tape of steps < t, at the last
    bucket closed by then."""
    paths, bucket, window = toxic_runs["plain"], 20.0, 5
    for p in range(3):
        buys = np.asarray(paths.buy_orders[p], float)
        sells = np.asarray(paths.sell_orders[p], float)
        batch = vpin(jnp.asarray(buys + sells), jnp.asarray(buys), bucket, window, 200)
        closed = np.floor(np.concatenate([[0], np.cumsum(buys + sells)])[:-1] / bucket + 1e-6)
        seen = np.asarray(paths.vpin[p])
        ready = closed >= window
        assert ready.sum() > 100
        expected = np.asarray(batch.vpin)[closed[ready].astype(int) - 1]
        np.testing.assert_allclose(seen[ready], expected, atol=2e-5)


def test_informed_flow_rates_and_vpin(toxic_runs):
    paths = toxic_runs["plain"]
    info = np.asarray(paths.informed)
    buys, dt = np.asarray(paths.buy_orders), 0.002
    # Order rates by information state: noise 140 per side, +280 on the informed side.
    for state, rate in ((1, 420.0), (0, 140.0), (-1, 140.0)):
        observed = buys[info == state].mean() / dt
        se = np.sqrt(rate * dt * (1 - rate * dt) / (info == state).sum()) / dt
        assert abs(observed - rate) < 4 * se, (state, observed, rate)
    # Occupancy of the two-state chain from "off" at t = 0: p(t) = r/(r + e)·(1 - e^{-(r+e)t}).
    t = np.arange(500) * dt
    occupancy = 1.0 / 3.0 * (1 - np.exp(-3.0 * t))
    assert abs((info != 0).mean() - occupancy.mean()) < 0.02
    # VPIN separates informed from uninformed steps (after the first buckets fill).
    assert roc_auc(np.asarray(paths.vpin)[:, 100:], (info != 0)[:, 100:]) > 0.8


def test_markout_at_one_step_is_the_adverse_selection(toxic_runs):
    paths = toxic_runs["plain"]
    np.testing.assert_allclose(markout(paths, 1), paths.adverse_selection, rtol=1e-4, atol=1e-3)
    assert float(markout(paths, 50).mean()) > 2 * float(markout(paths, 1).mean()) > 0


def test_toxicity_aware_maker_has_less_adverse_selection(toxic_runs):
    """On paths with informed flow (held-out key 7; the widen/skew were picked on key 0), both
    variants cut the markout at 50 steps (0.1 time units) and the inventory's dispersion by more
    than 3 SE of the paired difference; widening alone costs P&L, widening with the skew does
    not."""
    plain = toxic_runs["plain"]
    widen = paired_market_making(plain, toxic_runs["widen"], 50)
    skew = paired_market_making(plain, toxic_runs["widen_skew"], 50)
    for out in (widen, skew):
        for metric in ("adverse_selection", "inventory_std"):
            assert out[metric]["difference"] < -3 * out[metric]["se"], (metric, out[metric])
    assert widen["pnl"]["difference"] < -3 * widen["pnl"]["se"]
    assert skew["pnl"]["difference"] > 0
    assert skew["adverse_selection"]["difference"] < widen["adverse_selection"]["difference"]


def test_hawkes_filter_is_the_hawkes_intensity():
    """The online filter (counts of a step placed at its middle) equals `wmjax.hawkes.intensity`
    at the step boundaries for events at the step middles; the imbalance is its closed form."""
    dt, n_steps = 0.01, 300
    counts = np.asarray(jax.random.bernoulli(jax.random.key(0), 0.3, (n_steps, 2)), np.float32)
    step, mark = np.nonzero(counts)
    times = (step + 0.5) * dt
    order = np.argsort(times, kind="stable")
    events = events_from_arrays(times[order], mark[order], n_steps * dt, 2)

    def body(excitation, c):
        return hawkes_excitation_update(excitation, FLOW_MODEL, c, dt), excitation

    _, before = jax.lax.scan(body, hawkes_excitation(2), jnp.asarray(counts))
    score, lam = jax.vmap(lambda e: hawkes_imbalance(e, FLOW_MODEL))(before)
    reference = np.asarray(intensity(FLOW_MODEL, events, jnp.arange(n_steps) * dt))
    np.testing.assert_allclose(lam, reference, rtol=1e-4)
    expected = (reference[:, 0] - reference[:, 1]) / reference.sum(axis=1)
    np.testing.assert_allclose(score, expected, atol=1e-5)


def test_hawkes_aware_maker_has_less_adverse_selection(toxic_runs):
    """The Hawkes-intensity imbalance tells informed steps apart (ROC AUC > 0.9, above VPIN's),
    and the maker that widens on it (same widen, skew and threshold as the VPIN variant) cuts
    the markout at 50 steps by more than 3 SE of the paired difference on held-out key 7."""
    plain = toxic_runs["plain"]
    info = np.asarray(plain.informed) != 0
    auc_h = roc_auc(np.abs(np.asarray(plain.hawkes_imbalance))[:, 100:], info[:, 100:])
    auc_v = roc_auc(np.asarray(plain.vpin)[:, 100:], info[:, 100:])
    assert auc_h > 0.9 and auc_h > auc_v, (auc_h, auc_v)
    for name in ("hawkes_widen", "hawkes_widen_skew"):
        out = paired_market_making(plain, toxic_runs[name], 50)["adverse_selection"]
        assert out["difference"] < -3 * out["se"], (name, out)


def test_toxicity_aware_without_widening_is_the_base_strategy(toxic_runs):
    np.testing.assert_array_equal(toxic_runs["plain"].pnl, toxic_runs["zero"].pnl)
    np.testing.assert_array_equal(toxic_runs["plain"].pnl, toxic_runs["hawkes_zero"].pnl)
    aware = toxicity_aware_strategy(as_inventory_quotes)
    assert toxicity_aware_strategy(as_inventory_quotes) is aware  # one compile per base
    with pytest.raises(InputError, match="vpin_bucket"):
        quote_config(vpin_bucket=1.0)
    with pytest.raises(InputError, match="widen"):
        toxicity_aware(AGENT, -1.0)
    with pytest.raises(InputError, match="score"):
        toxicity_aware_strategy(as_inventory_quotes, "pin")


def test_vpin_of_the_amzn_day():
    """Bulk classification of 1 s bars against the true aggressor sides of every execution."""
    data = load_lobster(shared_file("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv"))
    out = vpin_day(*lobster_trades(data), bar_s=1.0)
    assert out["buckets"] == 200 and out["valid_buckets"] == 151
    assert out["classification_accuracy"] > 0.8
    assert out["vpin_correlation"] > 0.5
    assert 0.1 < out["vpin_bulk_mean"] < 0.6 and 0.1 < out["vpin_true_mean"] < 0.6
    with pytest.raises(InputError, match="window_buckets"):
        vpin_day(*lobster_trades(data), bar_s=1.0, buckets_per_day=200, window_buckets=200)


def test_experiment_smoke(tmp_path, toxic_runs):
    script = Path(__file__).resolve().parents[1] / "experiments" / "toxicity.py"
    spec = importlib.util.spec_from_file_location("toxicity_experiment", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # the toxic runs' configuration (1,000 paths of 500 steps): it reuses their compiled programs
    argv = ["--out", str(tmp_path), "--data", str(SHARED_DATA), "--paths", "1000", "--steps", "500"]
    argv += ["--fit-paths", "0"]  # the Hawkes fit is the slow part
    result = module.main([*argv, "--markout-steps", "10"])
    assert (tmp_path / "toxicity.png").stat().st_size > 0
    assert result["amzn"]["1s"]["classification_accuracy"] > 0.8
    assert set(result["simulated"]["toxic"]["widen"]) >= {"pnl", "adverse_selection"}
    assert set(result["simulated"]["toxic"]["hawkes_widen"]) >= {"pnl", "adverse_selection"}
