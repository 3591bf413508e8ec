"""Time-varying Almgren-Chriss: a tridiagonal oracle written here (dense numpy, float64),
checked against AC 2000's closed form and against optimality, and with per-period permanent
impact gamma_k an oracle that minimises the objective's quadratic form, read off the objective
itself (checked against the market's mean cost); the library's banded solver and the AC world
model checked against them on held-out (sigma path, eta path, gamma path, lambda, Q, T)."""

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax.execution import (
    RolloutConfig,
    almgren_chriss,
    refine_ac_trades,
    rollout,
    schedule_policy,
    time_varying_ac_trades,
)
from wmjax.market import RegimeImpactMarket, expected_gamma_path, expected_paths
from wmjax.models import (
    AlmgrenChrissWorldModel,
    PathDistribution,
    ac_market_features,
    batch_schedules,
    intraday_markets,
    load_ac_world,
    problem_markets,
    train_ac_heads,
    train_ac_world_model,
)

S0 = 50.0


def oracle(sigma, eta, lam, T):
    """Minimiser of sum_k eta_k n_k^2 / tau + lam tau sum_{k<N} sigma_k^2 x_k^2 (x_0 = 1,
    x_N = 0): the first-order conditions as a dense (N-1)x(N-1) system."""
    n = len(sigma)
    tau = T / n
    a = np.asarray(eta, float) / tau
    m = np.zeros((n - 1, n - 1))
    for i in range(n - 1):
        m[i, i] = a[i] + a[i + 1] + lam * tau * sigma[i] ** 2
        if i > 0:
            m[i, i - 1] = -a[i]
        if i < n - 2:
            m[i, i + 1] = -a[i + 1]
    rhs = np.zeros(n - 1)
    rhs[0] = a[0]
    h = np.r_[1.0, np.linalg.solve(m, rhs), 0.0]
    return h[:-1] - h[1:]


def objective(trades, sigma, eta, lam, T, gamma=0.0):
    """E + lam V per X^2: trade k pays eta_k n_k / tau and moves every later trade's price by
    gamma_k n_k (x_k: holdings after trade k)."""
    n = len(trades)
    tau = T / n
    x = 1.0 - np.cumsum(trades)
    permanent = np.sum(np.broadcast_to(gamma, (n,)) * trades * x)
    return permanent + np.sum(eta * trades**2 / tau) + lam * tau * np.sum(sigma**2 * x**2)


def gamma_oracle(sigma, eta, lam, T, gamma):
    """Minimiser of `objective` over x_1 .. x_{N-1}: it is quadratic, f(x) = x'Ax/2 - b'x + c;
    A and b are read off f at 0, +-e_i and e_i + e_j (polarisation), not from a derivation."""
    n = len(sigma)

    def f(x):
        h = np.r_[1.0, x, 0.0]
        return objective(h[:-1] - h[1:], sigma, eta, lam, T, gamma)

    m, e, f0 = n - 1, np.eye(n - 1), f(np.zeros(n - 1))
    fe = np.array([f(e[i]) for i in range(m)])
    a = np.array([[f(e[i] + e[j]) - fe[i] - fe[j] + f0 for j in range(m)] for i in range(m)])
    b = -(fe - np.array([f(-e[i]) for i in range(m)])) / 2
    h = np.r_[1.0, np.linalg.solve(a, b), 0.0]
    return h[:-1] - h[1:]


def lam_currency(p, i):
    return float(p["risk_aversion_bps"][i]) * 1e4 / (float(p["quantity_shares"][i]) * S0)


@pytest.fixture(scope="module")
def held_out():
    """200 held-out problems with gamma_k paths, and the same without permanent impact."""
    out = {}
    for name, dist in (
        ("gamma", PathDistribution()),
        ("flat", PathDistribution(gamma_ratio=(0, 0))),
    ):
        sample = jax.jit(dist.sample, static_argnums=1)
        out[name] = jax.tree.map(np.asarray, sample(jax.random.key(424242), 200))
    return out


def test_oracle_is_the_closed_form_on_flat_paths_and_optimal_otherwise():
    sol = almgren_chriss(1.0, 1.5, 10, 0.9, 3e-7, 0.0, 0.0, 2e-6)
    np.testing.assert_allclose(
        oracle(np.full(10, 0.9), np.full(10, 3e-7), 2e-6, 1.5), sol.trades, atol=1e-10
    )
    rng = np.random.default_rng(0)
    sigma, eta = rng.uniform(0.5, 2.0, 10), rng.uniform(1e-7, 5e-7, 10)
    best = oracle(sigma, eta, 3e-6, 1.0)
    f_best = objective(best, sigma, eta, 3e-6, 1.0)
    for _ in range(50):
        d = rng.normal(size=10) * 1e-2
        d -= d.mean()  # stay on sum(trades) = 1
        assert objective(best + d, sigma, eta, 3e-6, 1.0) > f_best


def test_gamma_oracle_is_the_markets_cost_and_reduces_to_the_tridiagonal_one():
    """The objective with gamma_k is the impact market's mean cost (antithetic paths: exact);
    with a constant gamma the gamma oracle is the tridiagonal oracle at eta - gamma tau / 2
    and AC 2000's closed form with gamma."""
    problems = PathDistribution().sample(jax.random.key(7), 4)
    markets, orders = problem_markets(problems, 10)
    config = RolloutConfig(n_paths=2, n_steps=10, antithetic=True, shard=False)
    trades = jnp.asarray(np.random.default_rng(2).dirichlet(np.ones(10), 4), jnp.float32)
    run = jax.jit(
        jax.vmap(
            lambda mp, o, f: jnp.mean(
                rollout(
                    jax.random.key(0), RegimeImpactMarket(), mp, schedule_policy, f, o, config
                ).is_currency
            )
        )
    )
    cost = np.asarray(run(markets, orders, trades), float)
    flat = markets.replace(base=markets.base.replace(gamma=markets.base.gamma * 0))
    permanent = cost - np.asarray(run(flat, orders, trades), float)
    p = jax.tree.map(lambda v: np.asarray(v, float), problems)
    np.testing.assert_allclose(
        np.asarray(jax.vmap(expected_gamma_path)(markets)), p["gamma_path"], rtol=1e-5
    )
    for i in range(4):
        q2 = p["quantity_shares"][i] ** 2
        f = np.asarray(trades[i], float)
        args = (p["sigma_path"][i], p["eta_path"][i], 0.0, p["horizon_days"][i])
        assert cost[i] == pytest.approx(q2 * objective(f, *args, p["gamma_path"][i]), rel=2e-3)
        gain = objective(f, *args, p["gamma_path"][i]) - objective(f, *args)
        assert permanent[i] == pytest.approx(q2 * gain, rel=1e-2)
    rng = np.random.default_rng(3)
    sigma, eta = rng.uniform(0.5, 2.0, 10), rng.uniform(1e-7, 5e-7, 10)
    got = gamma_oracle(sigma, eta, 3e-6, 1.0, np.full(10, 2e-7))
    np.testing.assert_allclose(got, oracle(sigma, eta - 2e-7 * 0.1 / 2, 3e-6, 1.0), atol=1e-10)
    sol = almgren_chriss(1.0, 1.5, 10, 0.9, 3e-7, 1e-7, 0.0, 2e-6)
    flat_g = gamma_oracle(np.full(10, 0.9), np.full(10, 3e-7), 2e-6, 1.5, 1e-7)
    np.testing.assert_allclose(flat_g, sol.trades, atol=1e-9)


def test_library_tridiagonal_solver_matches_the_oracles(held_out):
    """Without permanent impact against the tridiagonal oracle; with gamma_k paths against the
    quadratic-form oracle (the library's conditions keep their tridiagonal shape). The planning
    step: conjugate gradients from TWAP lower the objective at every step and reach the optimum
    in N - 1 = 9 steps."""
    refine = jax.jit(refine_ac_trades, static_argnums=5)
    solve = jax.jit(time_varying_ac_trades)
    with jax.enable_x64(True):
        twap = jnp.full(10, 0.1)
        for name, ref in (("flat", oracle), ("gamma", gamma_oracle)):
            p = held_out[name]
            for i in range(12):
                lam = lam_currency(p, i)
                s, e, t, g = (
                    np.float64(p[k][i])
                    for k in ("sigma_path", "eta_path", "horizon_days", "gamma_path")
                )
                best = ref(s, e, lam, float(t)) if name == "flat" else ref(s, e, lam, float(t), g)
                np.testing.assert_allclose(np.asarray(solve(s, e, lam, t, g)), best, atol=1e-9)
                if i < 3:
                    trades = [np.asarray(refine(twap, s, e, lam, t, k, g)) for k in range(10)]
                    f = [objective(x, s, e, lam, float(t), g) for x in trades]
                    assert np.all(np.diff(f) <= 1e-12 * abs(f[0]))
                    np.testing.assert_allclose(trades[-1], best, atol=1e-8)


def test_planning_steps_differentiate_like_finite_differences():
    """Training differentiates through the unrolled planning steps: d objective / d eta_k of
    the schedule after 4 steps from TWAP against central differences (float64)."""
    rng = np.random.default_rng(1)
    with jax.enable_x64(True):
        sigma, eta = jnp.asarray(rng.uniform(0.5, 2.0, 10)), jnp.asarray(rng.uniform(1, 5, 10))
        twap = jnp.full(10, 0.1)

        def f(e):
            x = 1.0 - jnp.cumsum(refine_ac_trades(twap, sigma, e * 1e-7, 3e-6, 1.0, 4))
            n = 1.0 - x - jnp.concatenate([jnp.zeros(1), 1.0 - x[:-1]])
            return jnp.sum(e * n**2) + jnp.sum(sigma**2 * x**2)

        f = jax.jit(f)  # one compile for the 20 differences
        grad = np.asarray(jax.grad(f)(eta))
        h = 1e-6
        fd = [(f(eta.at[k].add(h)) - f(eta.at[k].add(-h))) / (2 * h) for k in range(10)]
        np.testing.assert_allclose(grad, np.asarray(fd), rtol=1e-5, atol=1e-9)


def _optima(held_out):
    refs = []
    for i in range(held_out["sigma_path"].shape[0]):
        args = (
            held_out["sigma_path"][i].astype(float),
            held_out["eta_path"][i].astype(float),
            lam_currency(held_out, i),
            float(held_out["horizon_days"][i]),
        )
        gamma = held_out["gamma_path"][i].astype(float)
        refs.append(gamma_oracle(*args, gamma) if np.any(gamma) else oracle(*args))
    return np.asarray(refs)


def _holdings_error(fractions, optima):
    return np.abs(np.cumsum(fractions - optima, axis=-1)).max(-1)


@pytest.fixture(scope="module")
def pretrained():
    model = AlmgrenChrissWorldModel()
    return model, load_ac_world(model=model)


def test_world_model_is_the_closed_form_on_flat_paths(pretrained):
    model, params = pretrained
    schedule = jax.jit(model.schedule)
    for lam_bps, q, t in ((1e-3, 3e5, 0.5), (2e-2, 8e5, 1.5)):
        f = schedule(params, jnp.full(10, 0.8), jnp.full(10, 2e-7), lam_bps, q, t)
        lam = lam_bps * 1e4 / (q * S0)
        ref = almgren_chriss(1.0, t, 10, 0.8, 2e-7, 0.0, 0.0, lam).trades
        np.testing.assert_allclose(np.asarray(f), ref, atol=2e-5)
    # the limits of the sinh profile in float32: lambda = 0 is TWAP; a huge lambda (total phase
    # 144, where sinh overflows float32 at 89) trades everything at once, without NaN
    twap = schedule(params, jnp.full(10, 0.8), jnp.full(10, 2e-7), 0.0, 3e5, 0.5)
    np.testing.assert_allclose(np.asarray(twap), np.full(10, 0.1), atol=1e-5)
    now = np.asarray(schedule(params, jnp.full(10, 1.5), jnp.full(10, 1e-7), 1e3, 1e5, 2.0))
    assert np.all(np.isfinite(now)) and now[0] > 1 - 1e-6


def test_pretrained_world_model_tracks_the_oracle_on_held_out_problems(pretrained, held_out):
    """Held-out problems (a key never used in training), target 1% of X: the policy refined by
    its 4 planning steps meets it on every one without gamma_k paths and on nearly all with
    them; the policy alone on nearly all without gamma; the planning steps from the
    constant-parameter closed form instead of the policy fall far short (the benchmark's
    1000-problem figures are in the README)."""
    model, params = pretrained
    bare = replace(model, plan_steps=0)
    init = model.init(jax.random.key(0))
    run = jax.jit(lambda m, p, problems: batch_schedules(m, p, problems), static_argnums=0)
    optima = {kind: _optima(held_out[kind]) for kind in ("flat", "gamma")}
    err = {
        (name, kind): _holdings_error(np.asarray(run(m, p, held_out[kind]), float), optima[kind])
        for name, m, p in (
            ("planned", model, params),
            ("policy", bare, params),
            ("closed_planned", model, init),
        )
        for kind in ("flat", "gamma")
    }
    flat, gamma = err["planned", "flat"], err["planned", "gamma"]
    assert flat.max() < 0.01 and np.median(flat) < 0.001
    assert np.mean(err["policy", "flat"] < 0.01) >= 0.95 and err["policy", "flat"].max() < 0.04
    # with gamma_k paths nearly all (the benchmark's 1,000: 98%); the closed form far fewer
    assert np.mean(gamma < 0.01) >= 0.95 and np.median(gamma) < 0.002 and gamma.max() < 0.1
    for kind in ("flat", "gamma"):
        assert np.mean(err["closed_planned", kind] < 0.01) < 0.6
        assert np.median(err["planned", kind]) < 0.1 * np.median(err["closed_planned", kind])


@pytest.mark.slow
def test_training_and_heads_run_small():
    model = AlmgrenChrissWorldModel(n_steps=6, hidden=16)
    result = train_ac_world_model(
        jax.random.key(0), model, PathDistribution(n_steps=6), n_orders=2, n_paths=4, n_updates=2
    )
    assert np.all(np.isfinite(result.losses)) and result.n_done == 2
    markets = intraday_markets(jax.random.key(1), 128, 6)
    params = train_ac_heads(jax.random.key(2), model, result.params, markets, n_updates=300)
    test = intraday_markets(jax.random.key(3), 64, 6)
    sigma, eta, _ = jax.vmap(expected_paths)(test)
    gamma = jax.vmap(expected_gamma_path)(test)
    fs, fe, fg = model.fit_paths(params, jax.vmap(ac_market_features)(test))
    err = np.sqrt(np.mean(np.log(fs / sigma) ** 2 + np.log(fe / eta) ** 2))
    # baseline: the day's flat levels (no intraday shape, no regime)
    flat = np.sqrt(
        np.mean(
            np.log(test.base.sigma[:, None] / sigma) ** 2
            + np.log(test.base.eta[:, None] / eta) ** 2
        )
    )
    assert err < 0.5 * flat
    err_g = np.sqrt(np.mean(np.log(fg / gamma) ** 2))
    assert err_g < 0.5 * np.sqrt(np.mean(np.log(test.base.gamma[:, None] / gamma) ** 2))
