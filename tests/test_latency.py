"""Latency scenarios: presets, lookup, and samplers that match the scenario's moments."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.market import (
    LATENCY_PRESETS,
    LatencyScenario,
    fill_model,
    latency_monte_carlo,
    latency_scenario,
    sample_empirical_latency_us,
    sample_latency_us,
)

N = 200_000


def test_presets_have_the_published_numbers():
    expected = {
        "co-lo": ("ultra-low (co-lo)", 25.0, 5.0, True),
        "proximity": ("low (proximity)", 200.0, 30.0, False),
        "cloud": ("standard (cloud)", 2000.0, 200.0, False),
        "retail": ("high (retail)", 50000.0, 5000.0, False),
    }
    for short, (name, mean, jitter, colo) in expected.items():
        s = latency_scenario(short)
        assert (s.name, s.one_way_latency_us, s.jitter_us, s.co_location) == (
            name,
            mean,
            jitter,
            colo,
        )
        assert latency_scenario(name.upper()) is s
    assert set(LATENCY_PRESETS) == set(expected)


def test_unknown_scenario_is_a_clear_error():
    with pytest.raises(InputError, match="unknown latency scenario"):
        latency_scenario("satellite")
    with pytest.raises(InputError, match="jitter_us must be >= 0"):
        sample_latency_us(jax.random.key(0), LatencyScenario("bad", 10.0, -1.0), (3,))
    with pytest.raises(InputError, match="method"):
        sample_latency_us(jax.random.key(0), latency_scenario("cloud"), (3,), method="gamma")


@pytest.mark.parametrize("method", ["lognormal", "truncnormal"])
@pytest.mark.parametrize("short", list(LATENCY_PRESETS))
def test_samplers_match_mean_and_jitter(short, method):
    s = latency_scenario(short)
    draws = np.asarray(sample_latency_us(jax.random.key(1), s, (N,), method=method))
    assert draws.dtype == np.float32 and draws.shape == (N,)
    assert draws.min() >= 0
    se_mean = s.jitter_us / np.sqrt(N)
    assert abs(draws.mean() - s.one_way_latency_us) < 5 * se_mean
    assert abs(draws.std() / s.jitter_us - 1) < 0.02


def test_truncated_normal_never_negative_when_jitter_is_large():
    s = LatencyScenario("wide", 10.0, 30.0)
    draws = np.asarray(sample_latency_us(jax.random.key(2), s, (N,), method="truncnormal"))
    assert draws.min() >= 0 and draws.mean() > 10.0  # truncation lifts the mean


def test_zero_jitter_is_deterministic_and_same_key_same_draws():
    s = LatencyScenario("fixed", 123.0, 0.0)
    np.testing.assert_array_equal(sample_latency_us(jax.random.key(3), s, 4), np.full(4, 123.0))
    cloud = latency_scenario("cloud")
    a = sample_latency_us(jax.random.key(4), cloud, (5, 2))
    b = sample_latency_us(jax.random.key(4), cloud, (5, 2))
    np.testing.assert_array_equal(a, b)


def test_sampler_jits_and_vmaps_over_scenarios():
    scen = LatencyScenario("batch", jnp.array([25.0, 2000.0]), jnp.array([5.0, 200.0]))
    f = jax.jit(jax.vmap(lambda s: sample_latency_us(jax.random.key(5), s, (20_000,))))
    means = np.asarray(f(scen)).mean(axis=1)
    np.testing.assert_allclose(means, [25.0, 2000.0], rtol=0.01)


def test_empirical_resamples_only_observed_values():
    observed = np.array([10.0, 20.0, 35.0])
    draws = np.asarray(sample_empirical_latency_us(jax.random.key(6), observed, (3000,)))
    assert set(np.unique(draws)) == set(observed)
    assert draws.dtype == np.float32
    with pytest.raises(InputError, match="observed_us must be >= 0"):
        sample_empirical_latency_us(jax.random.key(6), [-1.0, 3.0], (3,))


def test_latency_monte_carlo_orders_the_scenarios():
    model = fill_model(quote_lifetime_us=5000.0, vol_bps_per_sqrt_s=1.5, adverse_bps_per_ms=0.01)
    reports = {
        short: latency_monte_carlo(jax.random.key(7), latency_scenario(short), model, 10, 4000)
        for short in LATENCY_PRESETS
    }
    fill = {k: float(np.mean(r.fill_rate)) for k, r in reports.items()}
    slip = {k: float(np.mean(r.slippage_bps)) for k, r in reports.items()}
    # fill probability exp(-l / lifetime): near 1 co-located, near 0 for retail
    for short in LATENCY_PRESETS:
        mean_l = latency_scenario(short).one_way_latency_us
        assert fill[short] == pytest.approx(np.exp(-mean_l / 5000.0), abs=0.02)
    assert fill["co-lo"] > fill["proximity"] > fill["cloud"] > fill["retail"]
    assert slip["co-lo"] < slip["proximity"] < slip["cloud"]
    # cloud: 2 ms of latency cost 0.02 bps of adverse move on average
    assert slip["cloud"] == pytest.approx(0.02, abs=0.005)
    assert np.asarray(reports["cloud"].latency_us).mean() == pytest.approx(2000.0, rel=0.01)
    with pytest.raises(InputError, match="quote_lifetime_us"):
        fill_model(quote_lifetime_us=0.0)
