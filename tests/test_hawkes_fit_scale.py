"""Fits that scale: the streamed likelihood against the double sum across super-chunks, the
chunked Hessian against autodiff and finite differences, measured peak memory of a 4-D fit
with full decays (subprocess, peak RSS from /proc/self/status), and multi-start on real AMZN
orders."""

import json
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _shared import LOBSTER, shared_file
from test_hawkes import _brute_force_log_likelihood

import wmjax.hawkes as hk
from wmjax.calibrate import fit_mle
from wmjax.calibrate._starts import fit_memory_bytes
from wmjax.cli import main
from wmjax.hawkes import _likelihood


def _flat_likelihood(d, beta_shape, layout):
    def value(vector):
        mu, alpha = vector[:d], vector[d : d + d * d].reshape(d, d)
        return hk.layout_log_likelihood(mu, alpha, vector[d + d * d :].reshape(beta_shape), layout)

    return value


def test_streamed_likelihood_and_chunked_hessian_are_exact(x64, monkeypatch):
    """With super-chunks of 64 events (so 250 events cross four of them, ties included), the
    likelihood equals the O(N^2) double sum and `layout_hessian` equals the autodiff Hessian
    and central differences of the gradient, for full, per-source and scalar decays."""
    monkeypatch.setattr(_likelihood, "_SUPER_EVENTS", 64)
    rng = np.random.default_rng(3)
    n, d, horizon = 250, 3, 100.0
    times = np.sort(np.round(rng.uniform(0, horizon, n), 1))  # many ties
    marks = rng.integers(0, d, n)
    mu = jnp.asarray([0.3, 0.5, 0.2])
    alpha = jnp.asarray(rng.uniform(0.05, 0.3, (d, d)))
    beta = jnp.asarray(rng.uniform(0.5, 4.0, (d, d)))
    events = hk.events_from_arrays(times, marks, horizon, d, dtype=jnp.float64)
    layout = hk.event_layout(events, horizon)
    assert _likelihood._super_chunks(layout.dt.shape[1], layout.dt.shape[0])[0] == 4
    for b in (beta, beta[:1], beta[:1, :1]):  # full, per-source, scalar
        full = hk.HawkesParams(mu=mu, alpha=alpha, beta=jnp.broadcast_to(b, (d, d)))
        slow = _brute_force_log_likelihood(full, times, marks, horizon)
        fast = jax.jit(hk.layout_log_likelihood)(mu, alpha, b, layout)
        assert float(fast) == pytest.approx(slow, rel=1e-12)
        point = jnp.concatenate([mu, alpha.ravel(), b.ravel()])
        value = _flat_likelihood(d, b.shape, layout)
        chunked = jax.jit(_likelihood.layout_hessian)(mu, alpha, b, layout)
        autodiff = jax.jit(jax.hessian(value))(point)
        np.testing.assert_allclose(chunked, autodiff, rtol=1e-9, atol=1e-9)
        grad = jax.jit(jax.grad(value))
        for col in (0, d + 1, point.size - 1):  # a mu, an alpha and a beta column
            step = 1e-5 * point[col]
            bump = jnp.zeros_like(point).at[col].set(step)
            fd = (grad(point + bump) - grad(point - bump)) / (2 * step)
            np.testing.assert_allclose(chunked[:, col], fd, rtol=1e-5, atol=1e-4)


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from wmjax.calibrate import fit_mle

    def peak_rss_bytes():
        # VmHWM is this process's own high-water mark; ru_maxrss would carry over the
        # parent's peak across fork + exec (a large pytest worker)
        with open("/proc/self/status") as f:
            line = next(x for x in f if x.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024

    n = int(sys.argv[1])
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.exponential(1.0, n))
    marks = rng.integers(0, 4, n)
    before = peak_rss_bytes()
    # 3 iterations on Poisson data: the Hessian is computed (its memory is measured) though
    # it need not be positive definite that far from the optimum
    fit_mle((times, marks), float(times[-1]) + 1.0, 4, max_iter=3, n_starts=1)
    after = peak_rss_bytes()
    print(json.dumps({"before": before, "after": after}))
    """
)


def _peak_bytes(n_events: int) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(n_events)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_fit_with_full_decays_has_linear_bounded_memory():
    """A 4-D fit with a full decay matrix and standard errors: peak resident memory under the
    model's estimate, and its increment from 5e4 to 2e5 events grows at most linearly (the
    Hessian by forward-over-reverse needed 1.95 GB at 5e4 events and grew as N d^2 P)."""
    small, large = _peak_bytes(50_000), _peak_bytes(200_000)
    grow_small = small["after"] - small["before"]
    grow_large = large["after"] - large["before"]
    assert large["after"] < fit_memory_bytes(200_000, 4), large
    assert large["after"] < 1.2 * 2**30, large
    assert grow_large < 4.0 * grow_small, (grow_small, grow_large)


@pytest.fixture(scope="module")
def amzn():
    from wmjax.data import load_lobster, lobster_session_s, trades_from_lobster

    data = load_lobster(
        shared_file(LOBSTER.name, "AMZN_2012-06-21_34200000_57600000_message_1.csv")
    )
    times, marks, _ = trades_from_lobster(data)
    return times, marks, lobster_session_s(data)


@pytest.mark.slow
def test_default_multi_start_finds_the_better_amzn_optimum(amzn):
    """The 2-D AMZN likelihood is multimodal in the decays: the data-driven start alone stops
    at -2,394.7; the default multi-start keeps the optimum a restart from the posterior mean
    found (-2,062.44) and reports the spread."""
    times, marks, horizon = amzn
    fit = fit_mle((times, marks), horizon, 2, std_errors=False)
    assert fit.converged
    assert fit.log_likelihood >= -2062.45
    assert fit.start_log_likelihoods[0] == fit.log_likelihood
    assert np.all(np.diff(fit.start_log_likelihoods) <= 0)
    assert fit.optimum_spread > 100 and 1 <= fit.starts_at_best() < 8
    assert "starts reached this optimum" in fit.report


def test_multi_start_on_well_posed_data_agrees_with_one_start(x64):
    true = hk.HawkesParams.create([0.3, 0.2], [[0.3, 0.1], [0.2, 0.25]], 2.0, dtype=jnp.float64)
    events = hk.simulate(jax.random.key(4), true, 1500.0, 3000)
    one = fit_mle(events, 1500.0, beta_structure="scalar", n_starts=1, std_errors=False)
    many = fit_mle(events, 1500.0, beta_structure="scalar", n_starts=4, std_errors=False)
    assert one.converged and many.converged
    assert many.log_likelihood >= one.log_likelihood - 1e-6
    np.testing.assert_allclose(many.params.alpha, one.params.alpha, rtol=1e-4)
    assert many.start_log_likelihoods.shape == (4,) and one.start_log_likelihoods.shape == (1,)
    assert many.start_log_likelihoods[0] == many.log_likelihood


def test_cli_says_when_the_fit_needs_more_memory_than_available(tmp_path, capsys, monkeypatch):
    path = tmp_path / "events.csv"
    argv = ["hawkes", "simulate", "--mu", "0.5", "--alpha", "0.6", "--beta", "2"]
    assert main([*argv, "--horizon", "500", "--seed", "1", "--out", str(path)]) == 0
    capsys.readouterr()
    monkeypatch.setattr("wmjax.cli._hawkes._available_bytes", lambda: 2**20)
    assert main(["hawkes", "fit", str(path), "--json", "--starts", "3"]) == 0
    captured = capsys.readouterr()
    assert "needs about" in captured.err and "GiB" in captured.err
    out = json.loads(captured.out)
    assert len(out["start_log_likelihoods"]) == 3
    assert out["starts_at_best"] >= 1 and out["optimum_spread"] >= 0
