"""Sums of exponentials, power-law grids, piecewise baselines and size marks: the O(N)
likelihood against a naive double sum, gradients against finite differences, the exponential
case against the engine, and parameter recovery on simulated data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import wmjax.hawkes as hk
from wmjax import InputError
from wmjax.calibrate import fit_hawkes_em, fit_hawkes_model, score_hawkes_model

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


def _simulated(model, params, n_seg, horizon_s, capacity, seed=0):
    keys = jax.random.split(jax.random.key(seed), n_seg)
    sim = jax.vmap(
        lambda k: hk.simulate_model(
            k, params, model, 0.0, horizon_s, capacity=capacity, n_proposals=3 * capacity
        )
    )
    times, marks, sizes, count, overflow = (np.asarray(x) for x in sim(keys))
    assert not overflow.any()
    return [
        dict(times_s=t[:n], marks=m[:n], log_size=s[:n], start_s=0.0, end_s=horizon_s)
        for t, m, s, n in zip(times, marks, sizes, count, strict=True)
    ]


def test_thinning_matches_the_exact_mean_count(x64):
    """Mean count over 400 paths of a 1-D exponential model within 4 SE of E[N(T)]."""
    model = hk.HawkesModel(dim=1, n_exp=1)
    params = hk.ModelParams(
        mu=jnp.array([[1.0]]),
        alpha=jnp.array([[[0.5]]]),
        beta=jnp.array([[[2.0]]]),
        eta=jnp.zeros(1),
    )
    segs = _simulated(model, params, 400, 40.0, 300)
    counts = np.array([s["times_s"].size for s in segs])
    exact = float(
        hk.expected_count(hk.HawkesParams.create(1.0, 0.5, 2.0, dtype=jnp.float64), 40.0)[0]
    )
    assert abs(counts.mean() - exact) < 4 * counts.std() / np.sqrt(counts.size)


RECOVERY = {
    # Sum of two exponentials with shared decays, a 3-piece baseline and size marks.
    "sum_exp_baseline_marks": (
        hk.HawkesModel(dim=2, n_exp=2, decays="shared", breaks_s=(300.0, 700.0), marks=True),
        hk.ModelParams(
            mu=jnp.array([[0.6, 0.3, 0.8], [0.4, 0.2, 0.6]]),
            alpha=jnp.array([[[0.25, 0.15], [0.05, 0.1]], [[0.1, 0.05], [0.2, 0.2]]]),
            beta=jnp.array([[[5.0, 0.2]]]),
            eta=jnp.array([0.5, 0.3]),
        ),
        2,
    ),
    # Power law on a fixed grid of decays (weights only) and a 1-D sum of free exponentials.
    "power_law_grid": (
        hk.HawkesModel(
            dim=1, n_exp=3, decays="fixed", fixed_decays=hk.power_law_decays(3, 10.0, 0.1)
        ),
        hk.ModelParams(
            mu=jnp.array([[0.8]]),
            alpha=jnp.array([[[0.3, 0.2, 0.15]]]),
            beta=jnp.array([[[10.0, 1.0, 0.1]]]),
            eta=jnp.zeros(1),
        ),
        3,
    ),
    "sum_exp_free": (
        hk.HawkesModel(dim=1, n_exp=2, decays="free"),
        hk.ModelParams(
            mu=jnp.array([[0.8]]),
            alpha=jnp.array([[[0.35, 0.3]]]),
            beta=jnp.array([[[8.0, 0.3]]]),
            eta=jnp.zeros(1),
        ),
        3,
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECOVERY))
def test_parameter_recovery_within_4_se_and_residuals_exp1(x64, name):
    model, true, n_seg = RECOVERY[name]
    segs = _simulated(model, true, n_seg, 1000.0, 4000, seed=1)
    data = hk.segment_events(segs, model.dim)
    # The truth's residuals are Exp(1): the simulator and the compensator agree.
    for r in hk.model_residuals(true, model, data):
        assert hk.ks_exponential(r)[1] > 1e-3
    fit = fit_hawkes_model(model, data, n_starts=1)
    assert fit.converged, fit
    fields = ["mu", "alpha", "eta"] if model.marks else ["mu", "alpha"]
    fields += [] if model.decays == "fixed" else ["beta"]
    for field in fields:
        est = np.asarray(getattr(fit.params, field))
        se = np.asarray(getattr(fit.std_errors, field))
        assert np.all(np.isfinite(se)) and np.all(
            np.abs(est - np.asarray(getattr(true, field))) < 4 * se
        ), field
    # Held-out scoring is the same likelihood: the fit's own data scores its log-likelihood.
    assert abs(score_hawkes_model(fit, data) - fit.log_likelihood) < 1e-6 * abs(fit.log_likelihood)


def test_em_for_fixed_decays_increases_the_likelihood_to_a_stationary_point(x64):
    """EM never decreases the likelihood; after an M-step the compensator over all segments
    equals the number of events (every event's responsibilities sum to 1); at its fixed point
    the score in log-parameters vanishes (relative to N)."""
    model, true, _ = RECOVERY["power_law_grid"]
    data = hk.segment_events(_simulated(model, true, 2, 400.0, 2000, seed=1), model.dim)
    fit, trace = fit_hawkes_em(model, data, max_iter=500)
    assert trace.size == fit.n_iter and np.all(np.diff(trace) >= -1e-9 * abs(trace[-1]))
    params = jax.tree.map(jnp.asarray, fit.params)
    assert abs(float(_LL(params, model, data)) - fit.log_likelihood) < 1e-9 * abs(trace[-1])
    grads = _GRAD(params, model, data)
    score = np.concatenate(
        [np.ravel(grads.mu * params.mu), np.ravel(grads.alpha * params.alpha)]
    )  # d LL / d log(parameter)
    assert np.max(np.abs(score)) < 1e-4 * data.n_events
    # d LL / d log(scale) of all mu and alpha together = N - compensator total = 0
    assert abs(float(np.sum(score))) < 1e-6 * data.n_events
    with pytest.raises(InputError, match="decays='fixed'"):
        fit_hawkes_em(MODELS["sum_exp_free"], data)
