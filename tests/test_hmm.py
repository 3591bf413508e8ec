"""The Gaussian HMM: forward-backward against brute-force enumeration of state paths, EM
against parameter recovery on data from an independent sampler."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from wmjax import InputError
from wmjax.models import GaussianHMM, fit_hmm, forward_backward, match_states

fb = jax.jit(forward_backward)


def _brute_force(pi, a, mu, cov, x):
    """log p(x), p(z_t | x), p(z_t | x_1..t), sum_t p(z_t, z_t+1 | x) by enumerating S^T paths."""
    s, t = len(pi), len(x)
    em = np.array([[multivariate_normal(mu[k], cov[k]).pdf(xi) for k in range(s)] for xi in x])
    joint = {}
    for path in itertools.product(range(s), repeat=t):
        p = pi[path[0]] * em[0, path[0]]
        for i in range(1, t):
            p *= a[path[i - 1], path[i]] * em[i, path[i]]
        joint[path] = p
    total = sum(joint.values())
    smoothed, pairs, filtered = np.zeros((t, s)), np.zeros((s, s)), np.zeros((t, s))
    for path, p in joint.items():
        for i in range(t):
            smoothed[i, path[i]] += p / total
        for i in range(t - 1):
            pairs[path[i], path[i + 1]] += p / total
    for i in range(t):  # filtered: enumerate prefixes
        for prefix in itertools.product(range(s), repeat=i + 1):
            p = pi[prefix[0]] * em[0, prefix[0]]
            for j in range(1, i + 1):
                p *= a[prefix[j - 1], prefix[j]] * em[j, prefix[j]]
            filtered[i, prefix[-1]] += p
        filtered[i] /= filtered[i].sum()
    return np.log(total), smoothed, filtered, pairs


def test_forward_backward_matches_enumeration(x64):
    rng = np.random.default_rng(0)
    s, t, d = 3, 5, 2
    a = rng.dirichlet(np.ones(s), s)
    pi = rng.dirichlet(np.ones(s))
    mu = rng.normal(size=(s, d)) * 2
    half = rng.normal(size=(s, d, d)) * 0.5
    cov = half @ half.transpose(0, 2, 1) + 0.3 * np.eye(d)
    x = rng.normal(size=(t, d)) * 2
    post = fb(GaussianHMM(*map(jnp.asarray, (pi, a, mu, cov))), jnp.asarray(x))
    log_lik, smoothed, filtered, pairs = _brute_force(pi, a, mu, cov, x)
    assert float(post.log_likelihood) == pytest.approx(log_lik, abs=1e-10)
    np.testing.assert_allclose(post.smoothed, smoothed, atol=1e-12)
    np.testing.assert_allclose(post.filtered, filtered, atol=1e-12)
    np.testing.assert_allclose(post.transitions, pairs, atol=1e-12)


def test_scaling_survives_long_sequences_far_from_the_means(x64):
    # unscaled forward variables underflow long before T = 5000 at |x| ~ 30 sd
    hmm = GaussianHMM(
        jnp.array([0.5, 0.5]),
        jnp.array([[0.9, 0.1], [0.2, 0.8]]),
        jnp.array([[0.0], [1.0]]),
        jnp.array([[[1.0]], [[1.0]]]),
    )
    post = fb(hmm, jnp.full((5000, 1), 30.0))
    assert np.isfinite(float(post.log_likelihood)) and float(post.log_likelihood) < -1e6
    np.testing.assert_allclose(np.asarray(post.smoothed).sum(-1), 1.0, atol=1e-12)


def _sample_hmm(rng, pi, a, mu, cov, n, t):
    """An independent numpy sampler of HMM sequences."""
    x = np.empty((n, t, mu.shape[1]))
    z = np.empty((n, t), int)
    for i in range(n):
        z[i, 0] = rng.choice(len(pi), p=pi)
        for j in range(1, t):
            z[i, j] = rng.choice(len(pi), p=a[z[i, j - 1]])
        for k in range(len(pi)):
            sel = z[i] == k
            x[i, sel] = rng.multivariate_normal(mu[k], cov[k], sel.sum())
    return x, z


def test_em_recovers_parameters_and_never_lowers_the_likelihood():
    rng = np.random.default_rng(1)
    pi = np.array([0.5, 0.3, 0.2])
    a = np.array([[0.95, 0.03, 0.02], [0.05, 0.9, 0.05], [0.04, 0.06, 0.9]])
    mu = np.array([[0.0, 0.0], [3.0, -1.0], [-2.0, 2.0]])
    cov = np.array([np.eye(2), [[2.0, 0.5], [0.5, 1.0]], 0.5 * np.eye(2)])
    x, z = _sample_hmm(rng, pi, a, mu, cov, 8, 500)
    fit = fit_hmm(jax.random.key(0), x, 3, n_restarts=2)
    hist = fit.history[: fit.n_iter_done]
    assert np.all(np.diff(hist) >= -1e-10)
    post = jax.vmap(forward_backward, (None, 0))(
        jax.tree.map(jnp.asarray, fit.hmm), jnp.asarray(x, jnp.float32)
    )
    perm = match_states(np.asarray(post.smoothed).argmax(-1), z, 3)  # state -> true state
    inv = np.argsort(perm)
    np.testing.assert_allclose(fit.hmm.means[inv], mu, atol=0.15)
    np.testing.assert_allclose(fit.hmm.covs[inv], cov, atol=0.25)
    np.testing.assert_allclose(fit.hmm.transition[np.ix_(inv, inv)], a, atol=0.03)


def test_match_states_finds_a_known_permutation():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, 1000)
    states = np.array([2, 0, 3, 1])[labels]  # label l shows as state perm[l]
    flip = rng.random(1000) < 0.2
    states[flip] = rng.integers(0, 4, flip.sum())
    mapping = match_states(states, labels, 4)
    np.testing.assert_array_equal(mapping[np.array([2, 0, 3, 1])], np.arange(4))


def test_bad_input_is_named():
    with pytest.raises(InputError, match="x must have shape"):
        fit_hmm(jax.random.key(0), np.zeros((2, 3, 4, 5)), 2)
    with pytest.raises(InputError, match="finite"):
        fit_hmm(jax.random.key(0), np.full((10, 2), np.nan), 2)
    with pytest.raises(InputError, match="n_states"):
        fit_hmm(jax.random.key(0), np.zeros((10, 2)), 0)
