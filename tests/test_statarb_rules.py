"""Oracles for the stat-arb rules: Bertram's optimum, OU first passage, the A&L state machine."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, special

from wmjax.market import ou_exact_step
from wmjax.strategies import (
    Bands,
    al_bands,
    band_positions,
    bertram_entry_interpolated,
    bertram_symmetric_entry,
    first_passage_cdf,
    first_passage_density,
    first_passage_mean,
    first_passage_mode,
    first_passage_quantile,
    symmetric_bands,
)


@pytest.mark.parametrize(("cost", "expected"), [(0.1, 0.432179), (0.5, 0.778625)])
def test_bertram_symmetric_optimum_matches_published_values(x64, cost, expected):
    # Bertram (2010): alpha = eta = 1, the return-per-time optimum of the symmetric rule
    assert abs(float(bertram_symmetric_entry(cost)) - expected) < 1e-6


@pytest.mark.parametrize(("cost", "alpha", "eta"), [(0.02, 3.0, 0.5), (0.3, 0.4, 2.0)])
def test_bertram_entry_maximises_return_per_time_for_any_ou(x64, cost, alpha, eta):
    # independent reference: maximise (2m - c) / E[T] directly with scipy's erfi
    def neg_rate(m):
        cycle = (np.pi / alpha) * 2 * special.erfi(m * np.sqrt(alpha) / eta)
        return -(2 * m - cost) / cycle

    ref = optimize.minimize_scalar(
        neg_rate, bounds=(cost / 2, 10 * eta / np.sqrt(alpha)), method="bounded",
        options={"xatol": 1e-12},
    ).x  # fmt: skip
    got = float(bertram_symmetric_entry(cost, alpha, eta))
    assert abs(got - ref) < 1e-6 * max(1.0, ref)
    assert got > cost / 2  # a cycle must earn more than its cost


def test_bertram_interpolated_entry_matches_the_exact_solution(x64):
    costs = np.geomspace(1e-7, 30.0, 400)
    exact = np.asarray(bertram_symmetric_entry(costs))
    approx = np.asarray(bertram_entry_interpolated(costs))
    np.testing.assert_allclose(approx, exact, rtol=1e-3)
    # alpha, eta enter by the same scaling
    np.testing.assert_allclose(
        bertram_entry_interpolated(0.2, 4.0, 0.5), bertram_symmetric_entry(0.2, 4.0, 0.5), rtol=1e-3
    )


@pytest.mark.parametrize(("c", "mean", "mode"), [(1.0, 0.9019, 0.1733), (2.0, 1.4252, 0.6351)])
def test_first_passage_mean_and_mode_by_quadrature(x64, c, mean, mode):
    assert abs(float(first_passage_mean(c)) - mean) < 1e-4
    assert abs(float(first_passage_mode(c)) - mode) < 1e-4
    # the density (on a fine grid, one call) integrates to 1, has the quadrature mean and
    # peaks at the closed-form mode
    t = np.linspace(0.0, 30.0, 300_001)[1:]
    dens = np.asarray(first_passage_density(t, c))
    assert abs(np.trapezoid(dens, t) - 1) < 1e-6
    assert abs(np.trapezoid(t * dens, t) - mean) < 1e-4
    assert abs(t[np.argmax(dens)] - mode) < 1e-4
    # density = d CDF / dt (central finite difference) and the quantile inverts the CDF
    t0, h = 0.7, 1e-5
    fd = (first_passage_cdf(t0 + h, c) - first_passage_cdf(t0 - h, c)) / (2 * h)
    assert abs(float(fd) - float(first_passage_density(t0, c))) < 1e-6
    assert abs(float(first_passage_cdf(first_passage_quantile(0.9, c), c)) - 0.9) < 1e-10


def test_first_passage_by_exact_step_monte_carlo():
    # standardised OU dY = -Y dt + sqrt(2) dW from c, exact steps of dt; a crossing between two
    # positive points is caught with the Brownian-bridge probability exp(-y0 y1 / dt)
    n_paths, dt, n_steps = 10_000, 0.01, 1_000
    cs = jnp.array([1.0, 2.0])

    def run(key, c):
        def body(carry, k):
            y, t_hit, now = carry
            k_eps, k_u = jax.random.split(k)
            y1 = ou_exact_step(y, 1.0, jnp.sqrt(2.0), dt, jax.random.normal(k_eps, y.shape))
            bridge = jnp.exp(-jnp.maximum(y, 0) * jnp.maximum(y1, 0) / dt)
            hit = (y1 <= 0) | (jax.random.uniform(k_u, y.shape) < bridge)
            t_hit = jnp.where(jnp.isinf(t_hit) & hit, now + dt / 2, t_hit)
            return (y1, t_hit, now + dt), None

        init = (jnp.full(n_paths, c), jnp.full(n_paths, jnp.inf), jnp.zeros(()))
        (_, t_hit, _), _ = jax.lax.scan(body, init, jax.random.split(key, n_steps))
        return t_hit

    times = jax.jit(jax.vmap(run))(jax.random.split(jax.random.key(0), 2), cs)
    times = np.asarray(times)
    assert np.isfinite(times).mean() > 0.999
    for row, c, mean, mode in zip(
        times, (1.0, 2.0), (0.9019, 1.4252), (0.1733, 0.6351), strict=True
    ):
        row = row[np.isfinite(row)]
        assert abs(row.mean() / mean - 1) < 0.02
        # the empirical CDF at the mode and at the mean matches the closed form
        for t in (mode, mean):
            assert abs((row <= t).mean() - float(first_passage_cdf(t, c))) < 0.01


def test_al_state_machine_opens_and_closes_exactly_at_the_thresholds():
    s = jnp.array(
        [0.0, 1.25, 1.2501, 1.0, 0.75, 0.7499, 0.0, -1.25, -1.2501, -0.6, -0.5, -0.4999, 0.0]
    )
    expected = [0, 0, -1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0]
    pos = band_positions(s, jnp.ones(s.shape, bool), al_bands())
    assert pos.tolist() == expected
    # the mean-reversion filter blocks opening, never closing
    ok = jnp.ones(s.shape, bool).at[8].set(False)
    pos = band_positions(s, ok, al_bands())
    assert pos.tolist() == [0, 0, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0]
    ok = jnp.ones(s.shape, bool).at[3:].set(False)
    assert band_positions(s, ok, al_bands()).tolist()[:6] == [0, 0, -1, -1, -1, 0]


def test_time_stop_closes_a_trade_after_max_hold_days_and_waits_a_day():
    s = jnp.array([0.0, 1.5, 1.4, 1.3, 1.3, 1.3, 1.3])
    pos = band_positions(s, jnp.ones(s.shape, bool), al_bands(), max_hold_days=3)
    assert pos.tolist() == [0, -1, -1, -1, 0, -1, -1]


def test_symmetric_bands_flip_at_the_opposite_band():
    s = jnp.array([0.0, -0.9, -1.1, 0.5, 1.1, 0.0, -1.1])
    pos = band_positions(s, jnp.ones(s.shape, bool), symmetric_bands(1.0))
    assert pos.tolist() == [0, 0, 1, 1, -1, -1, 1]
    assert isinstance(symmetric_bands(1.0), Bands)
