"""VWAP schedules against closed forms (issue 12, must-show 1) and the adaptive policy's
invariants."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from wmjax import InputError
from wmjax.execution import (
    RolloutConfig,
    impact_cost,
    impact_optimal_trades,
    order,
    replay_vwap_days,
    rollout,
    schedule_policy,
    tracking_variance,
    train,
    vwap_plan,
    vwap_plan_policy,
    vwap_rollout,
)
from wmjax.market import ImpactMarket, impact_params, u_shaped_profile

VOLUME = np.array([9.0, 5.0, 3.0, 2.5, 3.0, 4.5, 8.0]) * 1e5
X, ETA = 2e5, 0.3
ADAM = optax.adam(optax.exponential_decay(0.1, 300, 0.3))


def test_impact_optimum_closed_form_and_optimiser():
    trades, cost = impact_optimal_trades(VOLUME, X, ETA)
    np.testing.assert_allclose(trades, X * VOLUME / VOLUME.sum())
    assert cost == pytest.approx(ETA * X**2 / VOLUME.sum())
    v = jnp.asarray(VOLUME, jnp.float32)
    loss = lambda logits, _key: impact_cost(X * jax.nn.softmax(logits), v, ETA) / cost  # noqa: E731
    result = train(loss, jnp.zeros(7), ADAM, jax.random.key(0), 1500, fresh_keys=False)
    found = np.asarray(jax.nn.softmax(result.params))
    np.testing.assert_allclose(found, VOLUME / VOLUME.sum(), atol=1e-4)
    assert float(impact_cost(X * found, VOLUME, ETA)) == pytest.approx(cost, rel=1e-4)
    # any other split costs more (the optimum is unique)
    assert float(impact_cost(np.full(7, X / 7), VOLUME, ETA)) > cost * 1.1


def test_market_charges_eta_n2_over_v():
    """The impact-level market with the power-law term at exponent 1 charges eta n^2 / V with
    eta = Y sigma: IS - (what the mid moves did to us) equals `impact_cost`."""
    n = VOLUME.size
    params = impact_params(
        n,
        arrival_price=100.0,
        sigma=2.0,
        daily_volume_shares=VOLUME.sum(),
        volume_frac=VOLUME / VOLUME.sum(),
        sqrt_coefficient=ETA / 2.0,
        sqrt_exponent=1.0,
    )
    cfg = RolloutConfig(n_paths=8, n_steps=n, shard=False)
    fractions = jnp.asarray(np.linspace(1, 2, n) / np.linspace(1, 2, n).sum(), jnp.float32)
    o = order(X, 1.0)
    key = jax.random.key(1)
    paths = rollout(key, ImpactMarket(), params, schedule_policy, fractions, o, cfg)
    mids = rollout(key, ImpactMarket(), params, lambda p, obs: 0.0 * obs.step, None, o, cfg)
    moves = jnp.sum(paths.shares * (mids.exec_price - 100.0), axis=1)
    expected = impact_cost(X * fractions, VOLUME, ETA)
    np.testing.assert_allclose(paths.is_currency - moves, expected, rtol=2e-3)


def _volume_fractions(key, n_samples, n_bins, noise=0.6):
    base = u_shaped_profile(n_bins)
    z = jax.random.normal(key, (n_samples, n_bins))
    v = base * jnp.exp(noise * z)
    return v / v.sum(axis=1, keepdims=True)


def test_static_schedule_minimising_slippage_is_expected_volume_curve():
    w = _volume_fractions(jax.random.key(2), 4000, 8)
    loss = lambda logits, _key: tracking_variance(jax.nn.softmax(logits), w, 1.0, 1.0)  # noqa: E731
    result = train(loss, jnp.zeros(8), ADAM, jax.random.key(0), 1500, fresh_keys=False)
    u = np.cumsum(np.asarray(jax.nn.softmax(result.params)))
    np.testing.assert_allclose(u, np.cumsum(np.asarray(w.mean(axis=0))), atol=1e-4)


def test_tracking_variance_formula_matches_monte_carlo():
    """E[slippage^2] = sigma^2 tau E sum (W - U)^2 (no impact; random volume; TWAP, so U != W)."""
    n, sigma = 8, 2.0
    params = impact_params(
        n, arrival_price=100.0, sigma=sigma, volume_frac=u_shaped_profile(n), volume_noise=0.8
    )
    cfg = RolloutConfig(n_paths=20_000, n_steps=n, shard=False)
    beliefs = jnp.full((n, n), 1.0 / n)
    plan = vwap_plan(beliefs, 5e6)
    res = vwap_rollout(jax.random.key(3), ImpactMarket(), params, plan, order(1e5, 1.0), cfg)
    slippage = np.asarray(res.tracking_bps, np.float64) * 1e-4 * 100.0  # price units per share
    volumes = np.asarray(res.paths.final_state.volumes, np.float64)
    w = np.cumsum(volumes / volumes.sum(1, keepdims=True), 1)[:, :-1]
    u = np.cumsum(np.full(n, 1.0 / n))[:-1]
    per_path = sigma**2 * (1.0 / n) * ((w - u) ** 2).sum(1)
    formula = float(
        tracking_variance(
            np.full(n, 1.0 / n), volumes / volumes.sum(1, keepdims=True), sigma, 1.0 / n
        )
    )
    assert formula == pytest.approx(per_path.mean(), rel=1e-4)
    diff = slippage**2 - per_path
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert abs(diff.mean()) < 3 * se, (slippage.var(), formula, se)
    assert abs(slippage.mean()) < 3 * slippage.std() / np.sqrt(slippage.size)


@pytest.mark.parametrize("risk_aversion", [0.0, 1e-6, np.inf])
def test_plan_policy_with_fixed_beliefs_is_the_static_schedule(risk_aversion):
    n = 6
    curve = u_shaped_profile(n) / u_shaped_profile(n).sum()
    params = impact_params(n, volume_frac=curve)
    cfg = RolloutConfig(n_paths=4, n_steps=n, shard=False)
    o = order(1e5, 1.0)
    plan = vwap_plan(np.tile(curve, (n, 1)), 5e6, 0.1, 2.0, risk_aversion)
    a = rollout(jax.random.key(0), ImpactMarket(), params, vwap_plan_policy, plan, o, cfg)
    fr = jnp.asarray(curve, jnp.float32)
    b = rollout(jax.random.key(0), ImpactMarket(), params, schedule_policy, fr, o, cfg)
    np.testing.assert_allclose(a.shares, b.shares, rtol=1e-5)


def test_risk_aversion_trades_tracking_for_impact():
    """A belief that is wrong early: the risk-averse plan catches up with the realised curve
    faster, tracking better and paying more impact; lambda = 0 is the risk-neutral plan."""
    n = 8
    truth = u_shaped_profile(n) / u_shaped_profile(n).sum()
    wrong = np.full(n, 1.0 / n)
    beliefs = np.stack([wrong if k == 0 else truth for k in range(n)])
    vol = (truth * 4e6)[None]
    key = jax.random.key(4)
    kw = dict(n_paths=512, impact_coefficient=0.5)
    neutral = replay_vwap_days(key, vol, beliefs[None], np.array([4e6]), **kw)
    averse = replay_vwap_days(key, vol, beliefs[None], np.array([4e6]), risk_aversion=1e-4, **kw)
    assert float(averse.abs_tracking_bps[0]) < float(neutral.abs_tracking_bps[0])
    assert float(averse.is_bps[0]) > float(neutral.is_bps[0])


def test_infinite_risk_aversion_trades_to_the_forecast_cumulative_curve():
    """lambda = inf: after bin k the shares done are X times the cumulative share through bin k
    of row k (the belief made at its start), whatever the impact."""
    n = 6
    rng = np.random.default_rng(3)
    rows = rng.uniform(0.5, 1.5, (n, n)) * u_shaped_profile(n)
    beliefs = rows / rows.sum(1, keepdims=True)
    cum = np.array([beliefs[k, : k + 1].sum() for k in range(n)])
    assert np.all(np.diff(cum) > 0)  # no bin asks to sell back
    params = impact_params(n, eta=1e-3)
    cfg = RolloutConfig(n_paths=2, n_steps=n, shard=False)
    o = order(1e5, 1.0)
    plan = vwap_plan(beliefs, 5e6, 0.1, 2.0, np.inf)
    paths = rollout(jax.random.key(0), ImpactMarket(), params, vwap_plan_policy, plan, o, cfg)
    np.testing.assert_allclose(np.cumsum(paths.shares[0]), 1e5 * cum, rtol=1e-5)


def test_bad_beliefs_are_named():
    with pytest.raises(InputError, match="beliefs"):
        vwap_plan(np.ones((3, 3)), 1e6)
    with pytest.raises(InputError, match="volume_shares"):
        impact_optimal_trades([1.0, -1.0], 10.0, 0.1)
    with pytest.raises(InputError, match="risk_aversion must be >= 0"):
        vwap_plan(np.full((3, 3), 1 / 3), 1e6, risk_aversion=-1.0)
