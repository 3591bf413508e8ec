"""Impact models: the pure functions, latency in the impact market, geometric prices, and the
transient (Obizhaeva-Wang / Alfonsi-Fruth-Schied) and square-root results of must-show item 4."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from wmjax.execution import (
    RolloutConfig,
    ac_optimal,
    free_schedule_policy,
    mean_variance,
    order,
    ow_optimal_cost,
    ow_optimal_trades,
    rollout,
    schedule_policy,
    train,
    transient_cost,
    twap,
)
from wmjax.market import (
    ImpactMarket,
    LatencyScenario,
    event_count_profile,
    impact_params,
    linear_permanent_impact,
    linear_temporary_impact,
    power_law_temporary_impact,
    propagator,
    u_shaped_profile,
    volatility_multipliers,
)


def test_linear_impact_has_the_sign_of_the_trade():
    q = jnp.array([-2e4, 0.0, 3e4])
    temp = np.asarray(linear_temporary_impact(q, 0.5, 0.0625, 2.5e-6))
    np.testing.assert_allclose(temp, [-0.0625 - 0.1, 0.0, 0.0625 + 0.15], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(linear_permanent_impact(q, 2.5e-7)), [-5e-3, 0, 7.5e-3])


def test_square_root_law_scales_with_the_root_of_participation():
    v = 1e6
    one = float(power_law_temporary_impact(jnp.float32(1e4), v, 0.95, 0.7))
    four = float(power_law_temporary_impact(jnp.float32(4e4), v, 0.95, 0.7))
    assert one == pytest.approx(0.7 * 0.95 * 0.1, rel=1e-5)
    assert four / one == pytest.approx(2.0, rel=1e-5)
    sell = float(power_law_temporary_impact(jnp.float32(-1e4), v, 0.95, 0.7))
    assert sell == pytest.approx(-one, rel=1e-6)
    g = jax.grad(lambda q: power_law_temporary_impact(q, v, 0.95, 0.7))(jnp.float32(0.0))
    assert np.isfinite(g)


def test_propagator_kernels():
    lag = jnp.array([0.0, 0.1, 1.0])
    exp_k = np.asarray(propagator("exponential", lag, 2.0, 3.0, 0.5))
    np.testing.assert_allclose(exp_k, 2.0 * np.exp(-3.0 * np.array([0, 0.1, 1.0])), rtol=1e-6)
    pl = np.asarray(propagator("power_law", lag, 2.0, 10.0, 0.5))
    np.testing.assert_allclose(pl, 2.0 / np.sqrt(1 + 10 * np.array([0, 0.1, 1.0])), rtol=1e-6)


def test_u_shaped_profile_covers_the_day_and_is_u_shaped():
    prof = u_shaped_profile(13)
    assert prof.sum() == pytest.approx(1.0)
    assert prof[0] > prof[6] < prof[-1] and prof[0] == pytest.approx(prof[-1])
    half = u_shaped_profile(4, 0.0, 0.5)
    assert half.sum() == pytest.approx(0.5)
    mult = volatility_multipliers(prof)
    assert np.mean(mult**2) == pytest.approx(1.0)


def test_latency_executes_at_a_later_price():
    # one hour of latency in a 6.5 h day: the fill price moves by sigma * sqrt(1 / 6.5) around S0
    hour = LatencyScenario("slow", 3.6e9, 0.0)
    n, cfg = 1, RolloutConfig(n_paths=4096, n_steps=1)
    fast = impact_params(n, sigma=0.95)
    slow = impact_params(n, sigma=0.95, latency=hour)
    o = order(1e3, 1.0, "buy")
    f = rollout(jax.random.key(0), ImpactMarket(), fast, schedule_policy, twap(n), o, cfg)
    s = rollout(jax.random.key(0), ImpactMarket(), slow, schedule_policy, twap(n), o, cfg)
    np.testing.assert_allclose(np.asarray(f.exec_price), 50.0)
    moved = np.asarray(s.exec_price[:, 0]) - 50.0
    assert moved.std() == pytest.approx(0.95 * np.sqrt(1 / 6.5), rel=0.05)
    assert abs(moved.mean()) < 4 * moved.std() / np.sqrt(moved.size)
    # the same shocks drive the end-of-interval price with or without latency
    np.testing.assert_allclose(
        np.asarray(f.final_mid).std(), np.asarray(s.final_mid).std(), rtol=0.05
    )


def test_geometric_prices_stay_positive_and_are_martingales():
    n, cfg = 4, RolloutConfig(n_paths=8192, n_steps=4, antithetic=True)
    p = impact_params(n, arrival_price=10.0, sigma=8.0)  # 80% daily vol: arithmetic would go < 0
    o = order(1.0, 1.0, "buy")
    paths = rollout(
        jax.random.key(1),
        ImpactMarket(price_model="geometric"),
        p,
        schedule_policy,
        twap(n),
        o,
        cfg,
    )
    final = np.asarray(paths.final_mid)
    assert final.min() > 0
    assert final.mean() == pytest.approx(10.0, rel=0.03)


# Item 4, transient: N trades tau apart, resilience rho with rho tau = 1, pure transient impact.
N_T, X_T, T_T, K_T = 10, 1e5, 1.0, 1e-5
RHO_T = N_T / T_T


def test_rollout_cost_equals_the_transient_quadratic_form():
    p = impact_params(N_T, sigma=0.95, transient_strength=K_T, transient_resilience=RHO_T)
    cfg = RolloutConfig(n_paths=2, n_steps=N_T, antithetic=True)
    fr = ow_optimal_trades(X_T, N_T, RHO_T, T_T / N_T) / X_T
    for frac in (fr, np.full(N_T, 1 / N_T)):
        paths = rollout(
            jax.random.key(2),
            ImpactMarket(),
            p,
            schedule_policy,
            jnp.asarray(frac, jnp.float32),
            order(X_T, T_T),
            cfg,
        )
        expected = transient_cost(frac * X_T, K_T, RHO_T, T_T / N_T)
        assert float(jnp.mean(paths.is_currency)) == pytest.approx(expected, rel=1e-4)
    assert ow_optimal_cost(X_T, N_T, K_T, RHO_T, T_T / N_T) == pytest.approx(
        transient_cost(fr * X_T, K_T, RHO_T, T_T / N_T), rel=1e-12
    )


def test_power_law_propagator_cost_is_its_quadratic_form():
    n, x, horizon, k, inv_t0, beta = 6, 1e4, 1.0, 2e-5, 20.0, 0.5
    p = impact_params(
        n, sigma=0.95, transient_strength=k, transient_resilience=inv_t0, transient_exponent=beta
    )
    cfg = RolloutConfig(n_paths=2, n_steps=n, antithetic=True)
    frac = np.array([0.3, 0.1, 0.1, 0.1, 0.1, 0.3])
    paths = rollout(
        jax.random.key(5),
        ImpactMarket(kernel="power_law"),
        p,
        schedule_policy,
        jnp.asarray(frac, jnp.float32),
        order(x, horizon, "sell"),
        cfg,
    )
    lag = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]) * horizon / n
    m = k * (1 + inv_t0 * lag) ** -beta
    expected = 0.5 * (frac * x) @ m @ (frac * x)
    assert float(jnp.mean(paths.is_currency)) == pytest.approx(expected, rel=1e-4)


def test_gradient_descent_finds_the_obizhaeva_wang_schedule():
    p = impact_params(N_T, sigma=0.95, transient_strength=K_T, transient_resilience=RHO_T)
    cfg = RolloutConfig(n_paths=2, n_steps=N_T, antithetic=True)  # twins: the mean is exact
    o = order(X_T, T_T, "buy")

    def loss(logits, key):
        return jnp.mean(
            rollout(key, ImpactMarket(), p, free_schedule_policy, logits, o, cfg).is_currency
        )

    steps = 200
    result = train(
        loss,
        jnp.zeros(N_T),
        optax.adam(optax.cosine_decay_schedule(0.1, steps)),
        jax.random.key(3),
        steps,
        fresh_keys=False,
    )
    found = np.asarray(jax.nn.softmax(result.params)) * X_T
    best = ow_optimal_trades(X_T, N_T, RHO_T, T_T / N_T)
    # blocks at start and end, a constant rate between
    assert found[0] > 1.4 * found[1:-1].max() and found[-1] > 1.4 * found[1:-1].max()
    assert np.abs(found - best).max() < 0.01 * X_T
    assert np.std(found[1:-1]) < 0.01 * np.mean(found[1:-1])
    closed = ow_optimal_cost(X_T, N_T, K_T, RHO_T, T_T / N_T)
    assert transient_cost(found, K_T, RHO_T, T_T / N_T) == pytest.approx(closed, rel=1e-3)
    assert result.losses[-1] == pytest.approx(closed, rel=1e-3)


@pytest.mark.slow
def test_square_root_impact_optimum_beats_twap_and_linear_ac_on_held_out_paths():
    n, x, horizon, adv, sigma, y, lam = 10, 5e5, 1.0, 5e6, 0.95, 0.7, 1e-6
    p = impact_params(n, sigma=sigma, daily_volume_shares=adv, volume_noise=0.2, sqrt_coefficient=y)
    o = order(x, horizon, "sell", risk_aversion=lam)
    cfg = RolloutConfig(n_paths=1024, n_steps=n, antithetic=True)

    def loss(logits, key):
        paths = rollout(key, ImpactMarket(), p, free_schedule_policy, logits, o, cfg)
        return mean_variance(paths.is_currency, lam) / 1e5

    steps = 120
    result = train(
        loss,
        jnp.zeros(n),
        optax.adam(optax.cosine_decay_schedule(0.1, steps)),
        jax.random.key(4),
        steps,
        fresh_keys=False,
    )
    # linear AC with eta matched to the square-root cost at the TWAP rate
    eta = y * sigma * np.sqrt(x / adv) * horizon / x
    held_out = RolloutConfig(n_paths=4096, n_steps=n, antithetic=True)
    objective = {}
    for name, policy, theta in (
        ("optimised", free_schedule_policy, result.params),
        ("twap", schedule_policy, twap(n)),
        ("linear_ac", schedule_policy, ac_optimal(n, horizon, sigma, eta, 0.0, lam)),
    ):
        paths = rollout(jax.random.key(99), ImpactMarket(), p, policy, theta, o, held_out)
        objective[name] = float(mean_variance(paths.is_currency, lam))
    assert objective["optimised"] < 0.99 * objective["linear_ac"]
    assert objective["optimised"] < 0.95 * objective["twap"]


def test_hawkes_event_counts_drive_the_volume_profile():
    from wmjax.hawkes import HawkesParams, simulate

    # a hand-made buffer: padding beyond count is ignored
    prof = np.asarray(event_count_profile(jnp.array([0.1, 0.2, 0.9, 1.0, 1.0]), 3, 1.0, 2))
    np.testing.assert_allclose(prof, [2 / 3, 1 / 3])
    # Poisson trades (no excitation), one profile per path: flat within counting noise, and
    # each path has its own, usable as ImpactParams.volume_frac
    hp = HawkesParams.create(2.0, 0.0, 1.0)
    keys = jax.random.split(jax.random.key(9), 4)
    sims = jax.vmap(lambda k: simulate(k, hp, 2000.0, 6000, throw=False))(keys)
    assert not np.any(np.asarray(sims.overflow))
    profs = np.asarray(
        jax.vmap(lambda t, c: event_count_profile(t, c, 2000.0, 5))(sims.times, sims.count)
    )
    np.testing.assert_allclose(profs.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(profs, 0.2, atol=0.03)
    assert not np.allclose(profs[0], profs[1])
    p = impact_params(5, volume_frac=profs[0])
    cfg = RolloutConfig(n_paths=2, n_steps=5, antithetic=True)
    paths = rollout(
        jax.random.key(10), ImpactMarket(), p, schedule_policy, twap(5), order(1e3, 1.0), cfg
    )
    np.testing.assert_allclose(np.asarray(paths.completion), 1.0, rtol=1e-6)
