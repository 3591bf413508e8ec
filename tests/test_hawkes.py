"""Oracles for the Hawkes engine: closed-form moments, time rescaling, brute-force likelihood,
finite-difference gradients, vmap/loop equality, recompilation and input validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import wmjax as wm
from wmjax.hawkes import (
    HawkesParams,
    events_from_arrays,
    expected_count,
    intensity,
    intensity_at_events,
    ks_exponential,
    ks_test,
    log_likelihood,
    residuals,
    simulate,
    stationary_intensity,
)

ONE_D = dict(mu=0.5, alpha=0.6, beta=2.0)
FOUR_D = dict(
    mu=[0.1, 0.1, 0.3, 0.3],
    alpha=np.array(
        [
            [0.30, 0.10, 0.05, 0.05],
            [0.10, 0.30, 0.05, 0.05],
            [0.15, 0.05, 0.25, 0.10],
            [0.05, 0.15, 0.10, 0.25],
        ]
    ),
    beta=np.array([[3.0, 2.0, 3.0, 4.0]] * 4),
)


def _brute_force_log_likelihood(params, times, marks, horizon):
    """Direct O(N^2) double sum over events (ties excluded: strictly earlier events excite)."""
    mu, a, b = (np.asarray(x, float) for x in (params.mu, params.alpha, params.beta))
    total = 0.0
    for k in range(len(times)):
        i = marks[k]
        lam = mu[i]
        for ell in range(k):
            if times[ell] < times[k]:
                j = marks[ell]
                lam += a[i, j] * b[i, j] * np.exp(-b[i, j] * (times[k] - times[ell]))
        total += np.log(lam)
    for i in range(len(mu)):
        total -= mu[i] * horizon
        for ell in range(len(times)):
            j = marks[ell]
            total -= a[i, j] * (1 - np.exp(-b[i, j] * (horizon - times[ell])))
    return total


@pytest.fixture(scope="module")
def batch_counts():
    """Counts of 1-D and 4-D paths: total on [0, T] and in the stationary window [T0, T]."""

    def counts(params, horizon, burn_in, capacity, n_paths):
        keys = jax.random.split(jax.random.key(42), n_paths)
        ev = jax.vmap(lambda k: simulate(k, params, horizon, capacity))(keys)
        assert not bool(ev.overflow.any())
        d = params.dim
        hit = (ev.marks[..., None] == jnp.arange(d)) & ev.mask[..., None]
        late = hit & (ev.times[..., None] >= burn_in)
        return np.asarray(hit.sum(1)), np.asarray(late.sum(1))

    p1 = HawkesParams.create(**ONE_D)
    p4 = HawkesParams.create(**FOUR_D)
    return {
        "1d": (p1, 60.0, 20.0, counts(p1, 60.0, 20.0, 200, 2000)),
        "4d": (p4, 60.0, 20.0, counts(p4, 60.0, 20.0, 300, 2000)),
    }


@pytest.mark.parametrize("case", ["1d", "4d"])
def test_expected_count_matches_closed_form(batch_counts, case):
    params, horizon, _, (total, _) = batch_counts[case]
    expected = np.asarray(expected_count(params, horizon))
    se = total.std(0) / np.sqrt(total.shape[0])
    assert np.all(np.abs(total.mean(0) - expected) < 4 * se), (total.mean(0), expected, se)


@pytest.mark.parametrize("case", ["1d", "4d"])
def test_stationary_intensity_matches_inverse_formula(batch_counts, case):
    params, horizon, burn_in, (_, late) = batch_counts[case]
    rate = late / (horizon - burn_in)
    se = rate.std(0) / np.sqrt(rate.shape[0])
    target = np.linalg.solve(np.eye(params.dim) - np.asarray(params.alpha), np.asarray(params.mu))
    np.testing.assert_allclose(np.asarray(stationary_intensity(params)), target, rtol=1e-5)
    # The window starts after 40 kernel lifetimes, so the transient is far below the SE.
    assert np.all(np.abs(rate.mean(0) - target) < 4 * se), (rate.mean(0), target, se)


def test_expected_count_one_dimensional_formula():
    mu, a, b, horizon = 0.5, 0.6, 2.0, 7.0
    closed = mu * horizon / (1 - a) - mu * a * (1 - np.exp(-b * (1 - a) * horizon)) / (
        b * (1 - a) ** 2
    )
    got = float(expected_count(HawkesParams.create(mu, a, b), horizon)[0])
    assert got == pytest.approx(closed, rel=1e-5)


@pytest.mark.parametrize("case", [ONE_D, FOUR_D], ids=["1d", "4d"])
def test_time_rescaled_residuals_pass_ks(case):
    params = HawkesParams.create(**case)
    for seed in range(4):
        ev = simulate(jax.random.key(seed), params, 1500.0, 6000)
        assert np.all(ks_test(params, ev) > 1e-3), seed


def test_residuals_of_a_different_process_fail_ks():
    truth = HawkesParams.create(mu=0.3, alpha=0.8, beta=1.0)
    ev = simulate(jax.random.key(3), truth, 3000.0, 20000)
    rate = float(ev.count) / 3000.0
    poisson = HawkesParams.create(mu=rate, alpha=0.0, beta=1.0)
    assert ks_test(poisson, ev)[0] < 1e-6
    wrong_decay = HawkesParams.create(mu=0.3, alpha=0.8, beta=20.0)
    assert ks_test(wrong_decay, ev)[0] < 1e-6


def test_ks_exponential_accepts_exponential_and_rejects_uniform():
    rng = np.random.default_rng(0)
    assert ks_exponential(rng.exponential(size=2000))[1] > 1e-3
    assert ks_exponential(rng.uniform(0, 2, size=2000))[1] < 1e-6


def _small_case(seed):
    params = HawkesParams.create(**FOUR_D, dtype=jnp.float64)
    ev = simulate(jax.random.key(seed), params, 40.0, 400)
    n = int(ev.count)
    return params, ev, np.asarray(ev.times[:n]), np.asarray(ev.marks[:n])


def test_log_likelihood_equals_brute_force_double_sum(x64):
    for seed in range(2):
        params, ev, times, marks = _small_case(seed)
        fast = float(log_likelihood(params, ev, 40.0))
        slow = _brute_force_log_likelihood(params, times, marks, 40.0)
        assert abs(fast - slow) < 1e-9 * max(1.0, abs(slow)), (fast, slow)


def test_log_likelihood_handles_ties_and_padding(x64):
    params = HawkesParams.create(
        mu=[0.2, 0.4], alpha=[[0.3, 0.2], [0.1, 0.4]], beta=1.5, dtype=jnp.float64
    )
    times = np.array([0.5, 1.0, 1.0, 1.0, 2.5, 4.0, 4.0])
    marks = np.array([0, 1, 0, 1, 1, 0, 0])
    ev = events_from_arrays(times, marks, 5.0, 2, dtype=jnp.float64)
    slow = _brute_force_log_likelihood(params, times, marks, 5.0)
    assert float(log_likelihood(params, ev, 5.0)) == pytest.approx(slow, abs=1e-12)
    padded = ev.replace(
        times=jnp.concatenate([ev.times, jnp.full(5, 5.0)]),
        marks=jnp.concatenate([ev.marks, jnp.zeros(5, jnp.int32)]),
    )
    assert float(log_likelihood(params, padded, 5.0)) == pytest.approx(slow, abs=1e-12)


def test_layout_likelihood_with_shared_decays_equals_brute_force(x64):
    """The prepared-layout likelihood that fits use, with a full, per-source and scalar beta,
    equals the double sum (many ties), and its custom beta derivative matches finite
    differences."""
    rng = np.random.default_rng(1)
    n, d, horizon = 250, 3, 100.0
    times = np.sort(np.round(rng.uniform(0, horizon, n), 1))  # many ties
    marks = rng.integers(0, d, n)
    mu = jnp.asarray([0.3, 0.5, 0.2])
    alpha = jnp.asarray(rng.uniform(0.05, 0.3, (d, d)))
    beta = jnp.asarray(rng.uniform(0.5, 4.0, (d, d)))
    events = events_from_arrays(times, marks, horizon, d, dtype=jnp.float64)
    layout = wm.hawkes.event_layout(events, horizon)
    assert layout.has_ties
    value = jax.jit(wm.hawkes.layout_log_likelihood)
    for b in (beta, beta[:1], beta[:1, :1]):  # full, per-source, scalar
        full = HawkesParams(mu=mu, alpha=alpha, beta=jnp.broadcast_to(b, (d, d)))
        slow = _brute_force_log_likelihood(full, times, marks, horizon)
        assert float(value(mu, alpha, b, layout)) == pytest.approx(slow, rel=1e-12)
    grad_beta = jax.jit(jax.grad(wm.hawkes.layout_log_likelihood, argnums=2))(
        mu, alpha, beta, layout
    )
    step = 1e-6
    for i, j in ((0, 0), (0, 2), (2, 1)):
        bump = jnp.zeros_like(beta).at[i, j].set(step)
        up, down = value(mu, alpha, beta + bump, layout), value(mu, alpha, beta - bump, layout)
        assert float(grad_beta[i, j]) == pytest.approx(float(up - down) / (2 * step), rel=1e-5)


def test_log_likelihood_gradient_matches_finite_differences(x64):
    params, ev, _, _ = _small_case(0)
    grad = jax.grad(log_likelihood)(params, ev, 40.0)
    eps = 1e-6
    for field in ("mu", "alpha", "beta"):
        value = getattr(params, field)
        flat = np.asarray(value).ravel()
        for idx in (0, flat.size - 1):
            bump = np.zeros_like(flat)
            bump[idx] = eps
            up = params.replace(**{field: jnp.asarray((flat + bump).reshape(value.shape))})
            down = params.replace(**{field: jnp.asarray((flat - bump).reshape(value.shape))})
            fd = (log_likelihood(up, ev, 40.0) - log_likelihood(down, ev, 40.0)) / (2 * eps)
            assert float(np.asarray(getattr(grad, field)).ravel()[idx]) == pytest.approx(
                float(fd), rel=1e-5, abs=1e-7
            ), (field, idx)


def test_intensity_on_grid_agrees_with_events_and_compensator(x64):
    params, ev, times, marks = _small_case(1)
    # Just after 0 there is no excitation; at event times (left limits) both evaluators agree.
    at_events = np.asarray(intensity_at_events(params, ev))[: len(times)]
    on_grid = np.asarray(intensity(params, ev, jnp.asarray(times)))
    np.testing.assert_allclose(on_grid, at_events, rtol=1e-10)
    # The compensator equals the integral of the intensity (trapezoid on a fine grid).
    grid = jnp.linspace(0.0, 40.0, 80_001)
    lam = np.asarray(intensity(params, ev, grid))
    integral = np.trapezoid(lam, np.asarray(grid), axis=0)
    comp = np.asarray(wm.hawkes.compensator(params, ev, 40.0))
    np.testing.assert_allclose(integral, comp, rtol=5e-3)
    res = np.asarray(residuals(params, ev))[: len(times)]
    assert np.all(res > 0)
    # Residuals of one dimension add up to its compensator at its last event.
    last0 = np.flatnonzero(marks == 0)[-1]
    lam_at_last = float(wm.hawkes.compensator(params, ev, times[last0] + 1e-12)[0])
    assert res[marks == 0].sum() == pytest.approx(lam_at_last, rel=1e-8)


@pytest.fixture(scope="module")
def one_d_params():
    return HawkesParams.create(**ONE_D)


def test_vmap_over_keys_equals_loop(one_d_params):
    keys = jax.random.split(jax.random.key(7), 5)
    batched = jax.vmap(lambda k: simulate(k, one_d_params, 30.0, 128))(keys)
    for i, key in enumerate(keys):
        single = simulate(key, one_d_params, 30.0, 128)
        np.testing.assert_array_equal(np.asarray(batched.times[i]), np.asarray(single.times))
        np.testing.assert_array_equal(np.asarray(batched.marks[i]), np.asarray(single.marks))
        assert int(batched.count[i]) == int(single.count)


def test_vmap_over_params_and_same_key_same_events(one_d_params):
    stacked = jax.tree.map(
        lambda *x: jnp.stack(x), one_d_params, HawkesParams.create(mu=1.0, alpha=0.2, beta=5.0)
    )
    ev = jax.vmap(lambda p: simulate(jax.random.key(1), p, 30.0, 256))(stacked)
    assert ev.times.shape == (2, 256)
    again = simulate(jax.random.key(1), one_d_params, 30.0, 256)
    np.testing.assert_array_equal(np.asarray(ev.times[0]), np.asarray(again.times))


def test_second_call_does_not_recompile(one_d_params):
    from wmjax.hawkes._simulate import _simulate_jit

    simulate(jax.random.key(0), one_d_params, 10.0, 64)
    before = _simulate_jit._cache_size()
    simulate(jax.random.key(1), one_d_params, 12.5, 64)
    simulate(jax.random.key(2), HawkesParams.create(mu=0.9, alpha=0.1, beta=1.0), 10.0, 64)
    assert _simulate_jit._cache_size() == before


def test_overflow_raises_or_flags(one_d_params):
    with pytest.raises(wm.InputError, match="increase capacity"):
        simulate(jax.random.key(0), one_d_params, 100.0, 8)
    ev = simulate(jax.random.key(0), one_d_params, 100.0, 8, throw=False)
    assert bool(ev.overflow) and int(ev.count) == 8
    np.testing.assert_array_equal(np.diff(np.asarray(ev.times)) > 0, True)


def test_explosive_process_on_request():
    params = HawkesParams.create(mu=1.0, alpha=1.2, beta=1.0, allow_explosive=True)
    ev = simulate(jax.random.key(0), params, 5.0, 4096, throw=False, allow_explosive=True)
    assert int(ev.count) > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(mu=-0.1, alpha=0.5, beta=1.0), "mu must be > 0"),
        (dict(mu=0.1, alpha=-0.5, beta=1.0), "alpha must be >= 0"),
        (dict(mu=0.1, alpha=0.5, beta=0.0), "beta must be > 0"),
        (dict(mu=0.1, alpha=1.5, beta=1.0), "spectral radius"),
        (dict(mu=[0.1, 0.2], alpha=[[0.9, 0.5], [0.5, 0.9]], beta=1.0), "spectral radius"),
        (dict(mu=np.nan, alpha=0.5, beta=1.0), "finite"),
        (dict(mu=[0.1, 0.2], alpha=[[0.1]], beta=1.0), r"alpha must be \(2, 2\)"),
        (dict(mu=[0.1, 0.2], alpha=np.eye(2) * 0.1, beta=np.ones((3, 3))), r"beta must be"),
        (dict(mu="fast", alpha=0.5, beta=1.0), "mu must be numeric"),
    ],
)
def test_bad_params_raise_clear_errors(kwargs, match):
    with pytest.raises(wm.InputError, match=match):
        HawkesParams.create(**kwargs)


@pytest.mark.parametrize(
    ("times", "marks", "horizon", "match"),
    [
        ([1.0, 0.5], [0, 0], 2.0, "sorted"),
        ([0.5, 3.0], [0, 0], 2.0, r"\[0, horizon_s"),
        ([-0.5, 1.0], [0, 0], 2.0, r"\[0, horizon_s"),
        ([0.5, 1.0], [0, 2], 2.0, "marks must be in 0..1"),
        ([0.5, 1.0], [0, 0.5], 2.0, "integers"),
        ([0.5, np.nan], [0, 0], 2.0, "finite"),
        ([0.5, 1.0], [0], 2.0, "differ in length"),
        ([0.5, 1.0], [0, 0], -1.0, "horizon_s must be > 0"),
    ],
)
def test_bad_events_raise_clear_errors(times, marks, horizon, match):
    with pytest.raises(wm.InputError, match=match):
        events_from_arrays(times, marks, horizon, 2)


def test_bad_simulate_arguments(one_d_params):
    with pytest.raises(wm.InputError, match="capacity"):
        simulate(jax.random.key(0), one_d_params, 10.0, 0)
    with pytest.raises(wm.InputError, match="horizon_s"):
        simulate(jax.random.key(0), one_d_params, -1.0, 10)
    with pytest.raises(wm.InputError, match="horizon_s"):
        simulate(jax.random.key(0), one_d_params, float("nan"), 10)


def test_size_marks():
    params = HawkesParams.create(mu=[1.0, 1.0], alpha=np.zeros((2, 2)), beta=1.0)
    ev = simulate(jax.random.key(0), params, 2000.0, 6000)
    lognormal = wm.hawkes.LogNormalSizes.from_mean([100.0, 300.0], cv=0.5)
    sizes = np.asarray(wm.hawkes.sample_sizes(jax.random.key(1), lognormal, ev))
    marks, valid = np.asarray(ev.marks), np.asarray(ev.mask)
    for i, mean in enumerate([100.0, 300.0]):
        s = sizes[valid & (marks == i)]
        assert abs(s.mean() - mean) < 4 * s.std() / np.sqrt(s.size)
    assert np.all(sizes[~valid] == 0)
    empirical = wm.hawkes.EmpiricalSizes.from_samples([[1.0, 2.0], [50.0]])
    sizes = np.asarray(wm.hawkes.sample_sizes(jax.random.key(2), empirical, ev))
    assert set(np.unique(sizes[valid & (marks == 0)])) == {1.0, 2.0}
    assert set(np.unique(sizes[valid & (marks == 1)])) == {50.0}
    with pytest.raises(wm.InputError, match="mean_shares"):
        wm.hawkes.LogNormalSizes.from_mean([-1.0], cv=0.5)
