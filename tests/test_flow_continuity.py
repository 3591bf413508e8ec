"""Must-show 1 of issue 16: the flow carried across decision intervals is the calibrated Hawkes
process over the whole horizon. Oracle: `wmjax.hawkes.simulate` over [0, T] in one piece (an
independent sampler), and the time-rescaling theorem on the concatenated stream."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax.hawkes import HawkesEvents, ks_test, simulate
from wmjax.market import book_params, flow

T_S = 0.5
N_PATHS = 2000
PARAMS = book_params().flow  # six types, 20 ms bursts, branching ratio 0.5


def _chain(key, k_intervals, capacity):
    """Per-type counts over [0, T_S] from k_intervals chained intervals (the market's sampler)."""

    def body(state, k):
        events, state, _ = flow.sample_interval(k, PARAMS, state, T_S / k_intervals, capacity)
        counts = jnp.sum(jax.nn.one_hot(events.flow_type, 6) * events.mask[:, None], axis=0)
        return state, (counts, events.overflow)

    keys = jax.random.split(key, k_intervals)
    _, (counts, overflow) = jax.lax.scan(body, flow.flow_state(PARAMS), keys)
    return counts.sum(0), overflow.any()


def _moments(x):
    """Mean, variance and their standard errors per column."""
    n = x.shape[0]
    mean, var = x.mean(0), x.var(0, ddof=1)
    m4 = ((x - mean) ** 4).mean(0)
    return mean, var, np.sqrt(var / n), np.sqrt(np.maximum(m4 - var**2, 1e-12) / n)


@pytest.fixture(scope="module")
def reference():
    keys = jax.random.split(jax.random.key(100), N_PATHS)
    ev = jax.jit(jax.vmap(lambda k: simulate(k, PARAMS.hawkes, T_S, 128, throw=False)))(keys)
    assert not bool(jnp.any(ev.overflow))
    counts = jnp.sum(jax.nn.one_hot(ev.marks, 6) * ev.mask[..., None], axis=1)
    return _moments(np.asarray(counts, np.float64))


def test_flow_params_carry_a_static_decay_structure():
    assert PARAMS.decay_structure == "scalar"  # one exponential clock, not 36
    assert flow.flow_state(PARAMS).excitation_per_s.shape == (1, 6)


@pytest.mark.parametrize(
    ("k_intervals", "capacity"), [(1, 128), (10, 32), pytest.param(1000, 4, marks=pytest.mark.slow)]
)
def test_counts_over_the_horizon_match_one_piece_simulation(reference, k_intervals, capacity):
    keys = jax.random.split(jax.random.key(k_intervals), N_PATHS)
    counts, overflow = jax.jit(jax.vmap(lambda k: _chain(k, k_intervals, capacity)))(keys)
    assert not bool(jnp.any(overflow))
    mean, var, se_mean, se_var = _moments(np.asarray(counts, np.float64))
    r_mean, r_var, r_se_mean, r_se_var = reference
    assert np.all(np.abs(mean - r_mean) < 4 * np.hypot(se_mean, r_se_mean)), (mean, r_mean)
    assert np.all(np.abs(var - r_var) < 4 * np.hypot(se_var, r_se_var)), (var, r_var)


K_INTERVALS, DT_S, CAPACITY = 2000, 0.01, 8  # 20 s of 10 ms decisions, ~800 events


@jax.jit
def _stream(keys):
    """The events of len(keys) chained intervals of DT_S (one compilation for every seed)."""

    def body(state, k):
        events, state, _ = flow.sample_interval(k, PARAMS, state, DT_S, CAPACITY)
        return state, events

    return jax.lax.scan(body, flow.flow_state(PARAMS), keys)[1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_concatenated_stream_passes_time_rescaling(x64, seed):
    k_intervals, dt = K_INTERVALS, DT_S
    ev = _stream(jax.random.split(jax.random.key(seed), k_intervals))
    assert not bool(jnp.any(ev.overflow))
    mask = np.asarray(ev.mask)
    start = np.arange(k_intervals)[:, None] * dt
    times = (start + np.asarray(ev.times_s, np.float64))[mask]
    marks = np.asarray(ev.flow_type)[mask]
    pad = 1500 - times.size  # one buffer size, so the residuals compile once for every seed
    horizon = k_intervals * dt
    stream = HawkesEvents(
        times=jnp.asarray(np.r_[times, np.full(pad, horizon)], jnp.float64),
        marks=jnp.asarray(np.r_[marks, np.zeros(pad, int)], jnp.int32),
        count=jnp.asarray(times.size, jnp.int32),
        overflow=jnp.asarray(False),
    )
    hawkes64 = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), PARAMS.hawkes)
    assert np.all(ks_test(hawkes64, stream) > 1e-3)
