"""Sums of exponentials, power-law grids, piecewise baselines and size marks: the O(N)
likelihood against a naive double sum, gradients against finite differences, the exponential
case against the engine, and parameter recovery on simulated data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import wmjax.hawkes as hk
from wmjax import InputError

MODELS = {
    "sum_exp_shared": hk.HawkesModel(dim=2, n_exp=2, decays="shared"),
    "sum_exp_free": hk.HawkesModel(dim=2, n_exp=2, decays="free"),
    "power_law_grid": hk.HawkesModel(
        dim=2, n_exp=4, decays="fixed", fixed_decays=hk.power_law_decays(4, 20.0, 0.05)
    ),
    "baseline_marks": hk.HawkesModel(dim=2, n_exp=1, breaks_s=(3.0, 7.5), marks=True),
}


_LL = jax.jit(hk.model_log_likelihood, static_argnames="model")
_GRAD = jax.jit(jax.grad(hk.model_log_likelihood), static_argnames="model")


def _random_params(model, rng):
    d, p, k = model.dim, model.n_exp, model.n_pieces
    beta = (
        np.asarray(model.fixed_decays).reshape(1, 1, -1)
        if model.decays == "fixed"
        else rng.uniform(0.5, 4.0, model.beta_shape)
    )
    return hk.ModelParams(
        mu=jnp.asarray(rng.uniform(0.3, 1.5, (d, k))),
        alpha=jnp.asarray(rng.uniform(0.02, 0.2, (d, d, p))),
        beta=jnp.asarray(beta),
        eta=jnp.asarray(rng.uniform(-0.5, 0.8, d) if model.marks else np.zeros(d)),
    )


def _random_data(rng, dim, n_seg=2, ties=True):
    segs = []
    for s in range(n_seg):
        start, end = 1.0 + s, 11.0 + 2 * s
        t = np.sort(rng.uniform(start, end, 40 + 7 * s))
        if ties:
            t[5] = t[4]  # a tie across events
            t[20:23] = t[19]
        segs.append(
            dict(
                times_s=t,
                marks=rng.integers(0, dim, t.size),
                log_size=rng.normal(0, 1, t.size),
                start_s=start,
                end_s=end,
            )
        )
    return segs


def _naive_log_likelihood(params, model, segs):
    """Independent O(N^2) reference: direct double sum, baseline integrated piece by piece."""
    mu, alpha = np.asarray(params.mu), np.asarray(params.alpha)
    beta = np.broadcast_to(np.asarray(params.beta), alpha.shape)
    eta = np.asarray(params.eta)
    edges = [-np.inf, *model.breaks_s, np.inf]
    total = 0.0
    for seg in segs:
        t, m, lo, hi = seg["times_s"], seg["marks"], seg["start_s"], seg["end_s"]
        g = np.exp(eta[m] * seg["log_size"]) if model.marks else np.ones(t.size)
        for k in range(t.size):
            piece = np.searchsorted(model.breaks_s, t[k], side="right")
            lam = mu[m[k], piece]
            for j in range(k):
                if t[j] < t[k]:
                    a, b = alpha[m[k], m[j]], beta[m[k], m[j]]
                    lam += g[j] * np.sum(a * b * np.exp(-b * (t[k] - t[j])))
            total += np.log(lam)
        for i in range(model.dim):
            for p in range(len(edges) - 1):
                total -= mu[i, p] * max(0.0, min(hi, edges[p + 1]) - max(lo, edges[p]))
            for j in range(t.size):
                a, b = alpha[i, m[j]], beta[i, m[j]]
                total -= g[j] * np.sum(a * (1 - np.exp(-b * (hi - t[j]))))
    return total


@pytest.mark.parametrize("name", sorted(MODELS))
def test_likelihood_equals_naive_double_sum_and_gradients_match_fd(x64, name):
    model = MODELS[name]
    rng = np.random.default_rng(1)
    params = _random_params(model, rng)
    segs = _random_data(rng, model.dim)
    data = hk.segment_events(segs, model.dim)
    ll = float(_LL(params, model, data))
    assert abs(ll - _naive_log_likelihood(params, model, segs)) < 1e-9 * max(1.0, abs(ll))
    grads = _GRAD(params, model, data)
    for field in ("mu", "alpha", "beta", "eta"):
        value = np.asarray(getattr(params, field), float)
        index = np.unravel_index(rng.integers(value.size), value.shape)
        h = 1e-6
        up = params.replace(**{field: jnp.asarray(value).at[index].add(h)})
        down = params.replace(**{field: jnp.asarray(value).at[index].add(-h)})
        fd = _LL(up, model, data) - _LL(down, model, data)
        fd = float(fd) / (2 * h)
        assert abs(float(np.asarray(getattr(grads, field))[index]) - fd) < 1e-5 * max(1, abs(fd))


def test_one_exponential_matches_the_engine(x64):
    p = hk.HawkesParams.create(
        mu=[0.4, 0.6],
        alpha=[[0.3, 0.1], [0.2, 0.25]],
        beta=[[2.0, 1.0], [3.0, 0.5]],
        dtype=jnp.float64,
    )
    events = hk.simulate(jax.random.key(0), p, 300.0, 1000)
    n = int(events.count)
    seg = dict(
        times_s=np.asarray(events.times)[:n],
        marks=np.asarray(events.marks)[:n],
        start_s=0.0,
        end_s=300.0,
    )
    model = hk.HawkesModel(dim=2, n_exp=1)
    params = hk.ModelParams(
        mu=p.mu[:, None], alpha=p.alpha[..., None], beta=p.beta[..., None], eta=jnp.zeros(2)
    )
    data = hk.segment_events([seg], 2)
    ours = float(_LL(params, model, data))
    engine = float(hk.log_likelihood(p, events, 300.0))
    assert abs(ours - engine) < 1e-9 * abs(engine)


def test_bad_model_and_segments_raise():
    with pytest.raises(InputError, match="fixed_decays"):
        hk.HawkesModel(dim=1, n_exp=3, decays="fixed")
    with pytest.raises(InputError, match="start_s"):
        hk.segment_events([dict(times_s=[0.5, 2.0], marks=[0, 0], start_s=1.0, end_s=3.0)], 1)
