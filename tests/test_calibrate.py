"""MLE and NUTS calibration: parameter recovery against the truth (Hessian standard errors,
posterior intervals), the fitting objective against the engine's likelihood, and bad input."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import wmjax.hawkes as hk
from wmjax import InputError
from wmjax.calibrate import fit_bayes, fit_mle
from wmjax.calibrate._bayes import _chain_method

TRUE_1D = hk.HawkesParams.create(0.5, 0.6, 2.0)
TRUE_4D = hk.HawkesParams.create(
    [0.1, 0.1, 0.3, 0.3],
    [[0.3, 0.1, 0.0, 0.0], [0.1, 0.3, 0.0, 0.0], [0.1, 0.0, 0.2, 0.1], [0.0, 0.1, 0.1, 0.2]],
    3.0,
)
TRUE_2D = hk.HawkesParams.create([0.3, 0.2], [[0.3, 0.1], [0.2, 0.25]], [[2.0, 3.0], [1.5, 2.5]])


def _simulate(params, horizon_s, seed):
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), params)
        n = float(hk.expected_count(p64, horizon_s).sum())
        return hk.simulate(jax.random.key(seed), p64, horizon_s, int(2 * n + 100))


_engine_log_likelihood = jax.jit(hk.log_likelihood)


def _engine_ll(params, events, horizon_s):
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), params)
        return float(_engine_log_likelihood(p64, events, horizon_s))


@pytest.fixture(scope="module")
def data_1d():
    return _simulate(TRUE_1D, 4000.0, 0)


@pytest.fixture(scope="module")
def fit_1d(data_1d):
    # one start (the multi-start default is tested in test_hawkes_fit_scale)
    return fit_mle(data_1d, 4000.0, n_starts=1)


def _within(est, true, se, k=4.0):
    est, true, se = (np.asarray(x, float) for x in (est, true, se))
    assert np.all(np.isfinite(se)) and np.all(se > 0)
    assert np.all(np.abs(est - true) < k * se), (est, true, se)


def test_mle_recovers_1d_within_4_standard_errors(fit_1d, data_1d):
    fit = fit_1d
    assert fit.converged and fit.grad_norm <= 1e-6
    _within(fit.params.mu, TRUE_1D.mu, fit.std_errors.mu)
    _within(fit.params.alpha, TRUE_1D.alpha, fit.std_errors.alpha)
    _within(fit.params.beta, TRUE_1D.beta, fit.std_errors.beta)
    # A maximum: no worse than the truth, and the engine agrees on its value.
    assert fit.log_likelihood >= _engine_ll(TRUE_1D, data_1d, 4000.0)
    with jax.enable_x64(True):
        events = hk.events_from_arrays(
            data_1d.times[: data_1d.count],
            data_1d.marks[: data_1d.count],
            4000.0,
            1,
            dtype=jnp.float64,
        )
    np.testing.assert_allclose(
        fit.log_likelihood, _engine_ll(fit.params, events, 4000.0), rtol=1e-10
    )
    assert fit.branching_ratio == pytest.approx(float(fit.params.alpha[0, 0]))
    assert "converged" in fit.report


def test_mle_from_a_given_start_reaches_the_same_optimum(fit_1d, data_1d):
    start = hk.HawkesParams.create(1.0, 0.2, 10.0)
    fit = fit_mle(data_1d, 4000.0, init=start, std_errors=False, n_starts=1)
    assert fit.converged
    assert fit.log_likelihood == pytest.approx(fit_1d.log_likelihood, abs=1e-6)
    np.testing.assert_allclose(fit.params.beta, fit_1d.params.beta, rtol=1e-4)


def test_mle_recovers_4d_shared_decay_within_4_standard_errors():
    horizon = 6000.0
    events = _simulate(TRUE_4D, horizon, 3)
    # recovery from one start (the multi-start default is tested in test_hawkes_fit_scale)
    fit = fit_mle(events, horizon, beta_structure="scalar", n_starts=1)
    assert fit.converged
    assert np.all(fit.params.beta == fit.params.beta[0, 0])
    _within(fit.params.mu, TRUE_4D.mu, fit.std_errors.mu)
    _within(fit.params.beta[0, 0], 3.0, fit.std_errors.beta[0, 0])
    # Zero entries of alpha sit on the boundary, where the normal approximation does not hold:
    # check them against the estimate's own scale instead.
    positive = np.asarray(TRUE_4D.alpha) > 0
    _within(fit.params.alpha[positive], TRUE_4D.alpha[positive], fit.std_errors.alpha[positive])
    assert np.all(fit.params.alpha[~positive] < 4 * fit.std_errors.alpha[~positive] + 0.02)
    assert fit.log_likelihood >= _engine_ll(TRUE_4D, events, horizon)


@pytest.mark.slow
def test_mle_recovers_4d_full_decay_matrix():
    horizon = 20000.0
    true = TRUE_4D.replace(alpha=jnp.full((4, 4), 0.7 / 4))
    events = _simulate(true, horizon, 3)
    fit = fit_mle(events, horizon, n_starts=1)
    assert fit.converged
    _within(fit.params.mu, true.mu, fit.std_errors.mu)
    _within(fit.params.alpha, true.alpha, fit.std_errors.alpha)
    _within(fit.params.beta, true.beta, fit.std_errors.beta)


@pytest.mark.slow
def test_nuts_90_percent_intervals_cover_the_truth_2d():
    horizon = 1000.0
    events = _simulate(TRUE_2D, horizon, 4)
    post = fit_bayes(
        events,
        horizon,
        num_warmup=100,
        num_samples=150,
        num_chains=2,
        key=jax.random.key(5),
        n_starts=1,
    )
    s = post.summary
    assert post.samples["alpha"].shape == (300, 2, 2)
    assert np.all(post.samples["branching_ratio"] < 1.0)  # stationary support
    for site in ("mu", "alpha", "beta", "branching_ratio"):
        assert np.all(s[site]["r_hat"] < 1.1), (site, s[site]["r_hat"])
        assert np.all(s[site]["ess"] > 30)
    truths = {site: np.asarray(getattr(TRUE_2D, site)) for site in ("mu", "alpha", "beta")}
    truths["branching_ratio"] = np.asarray(hk.spectral_radius(TRUE_2D.alpha))
    covered = np.concatenate(
        [((s[k]["q5"] <= v) & (v <= s[k]["q95"])).ravel() for k, v in truths.items()]
    )
    # 11 intervals at 90%: P(8 or more cover) = 0.98 if the posterior is calibrated.
    assert covered.sum() >= 8, covered
    # And no truth is far out: within 4 posterior sd of the posterior mean.
    for k, v in truths.items():
        assert np.all(np.abs(s[k]["mean"] - v) < 4 * s[k]["sd"]), (k, s[k]["mean"], v)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"events": (np.array([1.0, 2.0, 3.0]), np.array([0, 0, 0]))}, "at least"),
        ({"dim": 2}, r"dimension \[1\] has no events"),
        ({"events": (np.array([1.0, 2.0]), np.array([0, 3])), "dim": 2}, "marks must be in"),
        ({"events": (np.array([2.0, 1.0]), np.array([0, 0]))}, "sorted"),
        ({"beta_structure": "diagonal"}, "beta_structure"),
        ({"horizon_s": -1.0}, "horizon_s"),
        ({"events": "events.csv"}, "HawkesEvents or a"),
    ],
)
def test_bad_input_raises_a_clear_error(data_1d, kwargs, message):
    args = {"events": data_1d, "horizon_s": 4000.0, **kwargs}
    with pytest.raises(InputError, match=message):
        fit_mle(**args)
    if "beta_structure" not in kwargs:
        with pytest.raises(InputError, match=message):
            fit_bayes(**args, num_warmup=1, num_samples=4, num_chains=1)


def test_nuts_metric_is_the_inverse_hessian_of_the_potential_at_the_mle(x64):
    """`fit_bayes`'s fixed metric (chain rule from `layout_hessian` to the sampled z) equals the
    inverse of autodiff's Hessian of numpyro's potential energy of the model at that point."""
    from numpyro.infer.util import potential_energy

    from wmjax.calibrate import _bayes
    from wmjax.calibrate._inputs import fit_layout

    horizon, shape = 300.0, (2, 2)
    events = _simulate(TRUE_2D, horizon, 6)
    n = int(events.count)
    times, marks = np.asarray(events.times[:n]), np.asarray(events.marks[:n])
    data = fit_layout(times, marks, horizon, 2)
    counts = np.bincount(marks, minlength=2)
    log_rate, log_beta0 = jnp.log(counts / horizon), jnp.log(4.0 * counts.sum() / horizon)
    point = jnp.concatenate([TRUE_2D.mu, TRUE_2D.alpha.ravel(), TRUE_2D.beta.ravel()])
    point = point.astype(jnp.float64)
    z, inverse_mass = _bayes._laplace_jit(point, data, log_rate, log_beta0, 2, shape)
    model = functools.partial(_bayes._model, dim=2, beta_shape=shape)

    def potential(flat):
        sites = {"z_mu": flat[:2], "z_alpha": flat[2:6].reshape(2, 2)}
        sites["z_beta"] = flat[6:].reshape(shape)
        return potential_energy(model, (data, log_rate, log_beta0), {}, sites)

    hessian = jax.hessian(potential)(z)
    np.testing.assert_allclose(np.asarray(inverse_mass) @ hessian, np.eye(z.size), atol=1e-8)


def test_fit_bayes_refuses_an_unknown_start(data_1d):
    with pytest.raises(InputError, match="start must be one of mle, prior"):
        fit_bayes(data_1d, 4000.0, start="median")


def test_fit_bayes_places_chains_by_the_devices_it_has(data_1d):
    """ "auto" runs one chain per device only when there are devices enough (the suite runs with
    one CPU device, so vectorised); an unknown method is refused before any fitting."""
    assert _chain_method("auto", 2) == (
        "parallel" if jax.local_device_count() >= 2 else "vectorized"
    )
    assert _chain_method("auto", 1) == "vectorized"
    assert _chain_method("sequential", 2) == "sequential"
    with pytest.raises(InputError, match="chain_method must be one of auto"):
        fit_bayes(data_1d, 4000.0, chain_method="pmap")
