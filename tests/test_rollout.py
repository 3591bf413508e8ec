"""The rollout engine on the impact-level market: Monte Carlo E and V against the closed form,
buy/sell signs, common random numbers, antithetic twins, POV completion, gradients against
finite differences, reproducibility, clear errors, and sharding over a `paths` mesh axis."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.execution import (
    RolloutConfig,
    almgren_chriss,
    free_schedule_policy,
    mean_variance,
    order,
    pov,
    pov_policy,
    rollout,
    schedule,
    schedule_policy,
    twap,
)
from wmjax.market import ImpactMarket, book_key, impact_params

N = 5
AC = dict(sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625)
MARKET = ImpactMarket()
PARAMS = impact_params(N, arrival_price=50.0, **AC)
SELL = order(1e6, 5.0, "sell")
BUY = order(1e6, 5.0, "buy")
BIG = RolloutConfig(n_paths=20_000, n_steps=N)
SMALL = RolloutConfig(n_paths=64, n_steps=N, antithetic=True)


@pytest.fixture(scope="module")
def ac_solution():
    return almgren_chriss(1e6, 5.0, N, **AC, risk_aversion=1e-6)


@pytest.mark.parametrize("kind", ["twap", "ac"])
def test_monte_carlo_mean_and_variance_match_the_closed_form(kind, ac_solution):
    if kind == "twap":
        sol = almgren_chriss(1e6, 5.0, N, **AC, risk_aversion=0.0)
    else:
        sol = ac_solution
    paths = rollout(
        jax.random.key(1), MARKET, PARAMS, schedule_policy, schedule(sol.trades / 1e6), SELL, BIG
    )
    isc = np.asarray(paths.is_currency, np.float64)
    n = isc.size
    se_mean = isc.std() / np.sqrt(n)
    se_var = sol.variance * np.sqrt(2.0 / (n - 1))
    assert abs(isc.mean() - sol.expected_cost) < 4 * se_mean
    assert abs(isc.var(ddof=1) - sol.variance) < 4 * se_var
    np.testing.assert_allclose(np.asarray(paths.holdings[0]), sol.holdings, rtol=1e-5, atol=1.0)
    np.testing.assert_allclose(np.asarray(paths.completion), 1.0, rtol=1e-6)


def test_buy_and_sell_have_the_right_sign(ac_solution):
    fr = schedule(ac_solution.trades / 1e6)
    key = jax.random.key(2)
    buy = rollout(key, MARKET, PARAMS, schedule_policy, fr, BUY, SMALL)
    sell = rollout(key, MARKET, PARAMS, schedule_policy, fr, SELL, SMALL)
    # same shocks: the noise part flips sign, the impact cost is paid by both
    np.testing.assert_allclose(
        0.5 * (np.asarray(buy.is_currency) + np.asarray(sell.is_currency)),
        ac_solution.expected_cost,
        rtol=2e-4,
    )
    # with no volatility the buyer pays above, the seller receives below the arrival price
    calm = PARAMS.replace(sigma=jnp.float32(0.0))
    buy = rollout(key, MARKET, calm, schedule_policy, fr, BUY, SMALL)
    sell = rollout(key, MARKET, calm, schedule_policy, fr, SELL, SMALL)
    assert np.all(np.asarray(buy.exec_price) > 50.0) and np.all(np.asarray(sell.exec_price) < 50.0)
    assert np.all(np.asarray(buy.final_mid) > 50.0) and np.all(np.asarray(sell.final_mid) < 50.0)
    assert np.all(np.asarray(buy.is_bps) > 0) and np.all(np.asarray(sell.is_bps) > 0)


def test_common_random_numbers_and_reproducibility(ac_solution):
    key = jax.random.key(3)
    a = rollout(key, MARKET, PARAMS, schedule_policy, twap(N), SELL, SMALL)
    b = rollout(
        key, MARKET, PARAMS, schedule_policy, schedule(ac_solution.trades / 1e6), SELL, SMALL
    )
    # the market does not depend on the strategy: same final price after the same total impact
    np.testing.assert_allclose(np.asarray(a.final_mid), np.asarray(b.final_mid), rtol=1e-6)
    again = rollout(key, MARKET, PARAMS, schedule_policy, twap(N), SELL, SMALL)
    np.testing.assert_array_equal(np.asarray(a.is_currency), np.asarray(again.is_currency))
    other = rollout(jax.random.key(4), MARKET, PARAMS, schedule_policy, twap(N), SELL, SMALL)
    assert not np.allclose(np.asarray(a.is_currency), np.asarray(other.is_currency))


def test_antithetic_twins_cancel_the_noise_in_the_linear_model():
    paths = rollout(jax.random.key(5), MARKET, PARAMS, schedule_policy, twap(N), SELL, SMALL)
    pairs = np.asarray(paths.is_currency, np.float64).reshape(-1, 2).mean(axis=1)
    twap_e = almgren_chriss(1e6, 5.0, N, **AC).expected_cost
    np.testing.assert_allclose(pairs, twap_e, rtol=1e-4)


def test_pov_participates_and_completes_by_rule():
    # order = 20% of the day's volume: POV at 10% cannot finish without the completion rule
    params = impact_params(N, daily_volume_shares=5e6, volume_noise=0.3, **AC)
    o = order(1e6, 1.0, "buy")
    cap = rollout(
        jax.random.key(6), MARKET, params, pov_policy, pov(0.1, finish_at_end=False), o, SMALL
    )
    np.testing.assert_allclose(np.asarray(cap.participation), 0.1, rtol=1e-5)
    assert np.all(np.asarray(cap.completion) < 0.75)
    fin = rollout(jax.random.key(6), MARKET, params, pov_policy, pov(0.1), o, SMALL)
    np.testing.assert_allclose(np.asarray(fin.completion), 1.0, rtol=1e-6)
    # unfilled shares carry an opportunity cost at the final mid
    unfilled = 1e6 - np.asarray(cap.filled_shares)
    expected = (
        np.sum(np.asarray(cap.shares) * np.asarray(cap.exec_price), axis=1)
        - np.asarray(cap.filled_shares) * 50.0
        + unfilled * (np.asarray(cap.final_mid) - 50.0)
    )
    np.testing.assert_allclose(np.asarray(cap.is_currency), expected, rtol=1e-4)


def test_gradient_of_the_objective_matches_finite_differences():
    lam = 1e-6

    def objective(logits):
        paths = rollout(
            jax.random.key(7), MARKET, PARAMS, free_schedule_policy, logits, SELL, SMALL
        )
        return mean_variance(paths.is_currency, lam) / 1e6

    logits = jnp.array([0.3, 0.1, -0.2, 0.0, -0.4], jnp.float32)
    grad = np.asarray(jax.grad(objective)(logits))
    f = objective  # the rollout inside is jitted; the objective is cheap
    h = 1e-2
    fd = np.array([(f(logits.at[i].add(h)) - f(logits.at[i].add(-h))) / (2 * h) for i in range(N)])
    np.testing.assert_allclose(grad, fd, rtol=2e-2, atol=1e-3 * np.abs(grad).max())


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: order(-100.0, 1.0), "quantity_shares"),
        (lambda: order(100.0, 0.0), "horizon_days"),
        (lambda: order(100.0, 1.0, "hold"), "side"),
        (lambda: RolloutConfig(n_paths=8, n_steps=0), "n_steps"),
        (lambda: RolloutConfig(n_paths=7, antithetic=True), "even"),
        (lambda: schedule([0.5, 0.4]), "does not complete"),
        (lambda: impact_params(N, sigma=float("nan")), "sigma"),
        (lambda: impact_params(N, eta=-1.0), "eta"),
        (lambda: pov(1.5), "rate"),
        (
            lambda: rollout(
                jax.random.key(0), MARKET, impact_params(3), schedule_policy, twap(N), SELL, SMALL
            ),
            "steps",
        ),
    ],
)
def test_bad_input_is_a_clear_error(build, message):
    with pytest.raises(InputError, match=message):
        build()


SHARD_SCRIPT = textwrap.dedent(
    """
    import sys, jax, numpy as np
    from wmjax.execution import RolloutConfig, order, rollout, schedule_policy, twap
    from wmjax.market import ImpactMarket, book_key, impact_params
    assert len(jax.devices()) == 4, jax.devices()
    p = impact_params(5, sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625, volume_noise=0.2)
    o = order(1e6, 5.0, "sell")
    cfg = RolloutConfig(n_paths=64, n_steps=5, antithetic=True)
    out = []
    for key in (jax.random.key(11), book_key(11)):  # threefry and the documented BOOK_PRNG
        paths = rollout(key, ImpactMarket(), p, schedule_policy, twap(5), o, cfg)
        assert len(paths.is_currency.sharding.device_set) == 4, paths.is_currency.sharding
        out.append(np.asarray(paths.is_currency))
    np.save(sys.argv[1], np.stack(out))
    """
)


def test_sharded_rollout_over_four_devices_is_identical(tmp_path):
    script = tmp_path / "shard.py"
    script.write_text(SHARD_SCRIPT)
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "JAX_PLATFORMS": "cpu",
    }
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "is.npy")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    p = impact_params(5, sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625, volume_noise=0.2)
    cfg = RolloutConfig(n_paths=64, n_steps=5, antithetic=True)
    here = [
        np.asarray(rollout(key, MARKET, p, schedule_policy, twap(5), SELL, cfg).is_currency)
        for key in (jax.random.key(11), book_key(11))
    ]
    # float32 sums in another order across devices: a few ulps of values ~1e6
    np.testing.assert_allclose(np.load(tmp_path / "is.npy"), np.stack(here), rtol=1e-5)


def test_schedule_constructors():
    from wmjax.execution import ac_optimal, aggressive, vwap
    from wmjax.market import u_shaped_profile

    np.testing.assert_allclose(np.asarray(twap(4)), 0.25)
    np.testing.assert_allclose(np.asarray(aggressive(4)), [1, 0, 0, 0])
    front = np.asarray(aggressive(4, decay=0.5))
    assert front.sum() == pytest.approx(1.0) and np.all(np.diff(front) < 0)
    prof = u_shaped_profile(6)
    np.testing.assert_allclose(np.asarray(vwap(prof)), prof / prof.sum(), rtol=1e-6)
    sol = almgren_chriss(1e6, 5.0, N, **AC, risk_aversion=1e-6)
    np.testing.assert_allclose(
        np.asarray(ac_optimal(N, 5.0, 0.95, 2.5e-6, 2.5e-7, 1e-6)), sol.trades / 1e6, rtol=1e-6
    )
