"""Evaluation metrics as oracles (participation CV, reversion capture, IS vs VWAP) and the
time-varying regime market against AC 2000 moments."""

import jax
import numpy as np
import pytest

import wmjax as wm
from wmjax.analytics import execution_metrics, idle_policy, prediction_metrics, reliability
from wmjax.execution import (
    RolloutConfig,
    order,
    pov,
    pov_policy,
    rollout,
    schedule,
    schedule_policy,
    twap,
    vwap,
)
from wmjax.market import (
    ImpactMarket,
    RecordingMarket,
    RegimeImpactMarket,
    expected_paths,
    impact_params,
    regime_params,
    u_shaped_profile,
)

N = 10
MARKET = RecordingMarket(ImpactMarket())


def _run(params, policy, policy_params, o, n_paths=64, n_steps=N, market=MARKET, key=0):
    config = RolloutConfig(n_paths=n_paths, n_steps=n_steps, shard=False)
    return rollout(jax.random.key(key), market, params, policy, policy_params, o, config)


def test_participation_cv_is_zero_for_pov_on_flat_volume_and_not_for_twap_on_a_u_shape():
    o = order(5e5, 1.0)
    flat = impact_params(N, eta=1e-7)  # 5e6 shares over the horizon: 10% participation
    m = execution_metrics(_run(flat, pov_policy, pov(0.1), o), 1.0)
    assert m["participation_cv"]["mean"] < 1e-5
    assert m["completion"]["mean"] == pytest.approx(1.0, abs=1e-5)
    u_shape = impact_params(N, eta=1e-7, volume_frac=u_shaped_profile(N))
    m_twap = execution_metrics(_run(u_shape, schedule_policy, twap(N), o), 1.0)
    assert m_twap["participation_cv"]["mean"] > 0.1


@pytest.mark.parametrize("kind", ["temporary", "permanent"])
def test_reversion_capture_is_one_for_temporary_and_zero_for_permanent_impact(kind):
    n_trade, n_post = 5, 10
    n = n_trade + n_post
    resilience = 14.0  # per day: exp(-resilience * tau) = 0.5 per interval of 1/20 day
    extra = (
        {"transient_strength": 2e-6, "transient_resilience": resilience}
        if kind == "temporary"
        else {"gamma": 1e-6}
    )
    params = impact_params(n, sigma=0.8, **extra)
    o = order(2e5, 0.75)
    fractions = schedule(np.r_[np.full(n_trade, 1.0 / n_trade), np.zeros(n_post)])
    paths = _run(params, schedule_policy, fractions, o, n_steps=n)
    base = _run(params, idle_policy, None, o, n_steps=n)
    m = execution_metrics(paths, 1.0, baseline=base, completion_step=n_trade)
    capture = m["reversion_capture"]["mean"]
    if kind == "temporary":
        tau = 0.75 / n
        assert capture == pytest.approx(1.0 - np.exp(-resilience * tau * n_post), abs=1e-4)
        assert capture > 0.999
    else:
        assert abs(capture) < 1e-4


@pytest.mark.slow
def test_is_vs_vwap_of_vwap_schedule_without_impact_is_zero_within_se():
    profile = u_shaped_profile(N)
    params = impact_params(N, sigma=1.0, volume_frac=profile, volume_noise=0.4)
    o = order(3e5, 1.0)
    paths = _run(params, schedule_policy, vwap(profile), o, n_paths=4000)
    m = execution_metrics(paths, 1.0)["is_vs_vwap_bps"]
    assert abs(m["mean"]) < 3.5 * m["se"]
    assert 0 < m["se"] < 2.0
    # with impact the same schedule pays a positive cost against VWAP, far beyond its SE
    costly = impact_params(N, sigma=1.0, volume_frac=profile, volume_noise=0.4, eta=2e-6)
    m2 = execution_metrics(_run(costly, schedule_policy, vwap(profile), o, n_paths=4000), 1.0)
    assert m2["is_vs_vwap_bps"]["mean"] > 10 * m2["is_vs_vwap_bps"]["se"]


def test_prediction_metrics_and_reliability_against_hand_values():
    out = prediction_metrics([1.0, 3.0], [0.0, 0.0])
    assert out["rmse"]["mean"] == pytest.approx(np.sqrt(5.0))
    assert out["bias"]["mean"] == pytest.approx(2.0)
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    y = rng.uniform(size=20000) < p
    assert reliability(p, y)["max_gap"] < 0.03
    assert reliability(np.full(20000, 0.5) + 1e-9 * p, y)["max_gap"] > 0.2
    with pytest.raises(wm.InputError, match="predicted"):
        prediction_metrics([np.nan], [0.0])


@pytest.mark.slow
def test_regime_market_matches_ac_moments_of_its_expected_paths():
    """Deterministic sigma_k, eta_k: E[IS] = sum eta_k n_k^2 / tau and
    Var[IS] = tau sum sigma_k^2 x_k^2 (AC 2000 eq. 16-17, period by period)."""
    s = 1.0 + np.linspace(-0.5, 0.5, N) ** 2
    e = np.linspace(2.0, 0.5, N)
    base = impact_params(N, sigma=0.8, eta=3e-7, vol_mult=s)
    params = regime_params(base, eta_mult=e)
    o = order(4e5, 1.0)
    f = np.linspace(2.0, 1.0, N)
    f /= f.sum()
    paths = _run(params, schedule_policy, schedule(f), o, n_paths=4000, market=RegimeImpactMarket())
    sigma_k, eta_k, p = (np.asarray(v, float) for v in expected_paths(params))
    np.testing.assert_allclose(sigma_k, 0.8 * s, rtol=1e-6)
    assert np.all(p == 0)
    tau, trades = 1.0 / N, f * 4e5
    x = 4e5 - np.cumsum(trades)
    expected = np.sum(eta_k * trades**2 / tau)
    variance = tau * np.sum(sigma_k**2 * x**2)
    cost = np.asarray(paths.is_currency, float)
    assert cost.mean() == pytest.approx(expected, abs=4 * np.sqrt(variance / 4000))
    assert cost.var() == pytest.approx(variance, rel=0.1)


def test_regime_chain_probabilities_and_bad_input():
    base = impact_params(N, sigma=1.0, eta=1e-7)
    params = regime_params(
        base, regime_sigma_mult=(1.0, 2.0), regime_eta_mult=(1.0, 3.0), switch_prob=(0.2, 0.1)
    )
    _, eta_k, p = (np.asarray(v, float) for v in expected_paths(params))
    # two-state chain from calm: P(stressed at k) = pi (1 - (1 - p01 - p10)^k), pi = 2/3
    k = np.arange(N)
    np.testing.assert_allclose(p, (2 / 3) * (1 - 0.7**k), atol=1e-6)
    np.testing.assert_allclose(eta_k, 1e-7 * (1 + 2 * p), rtol=1e-5)
    with pytest.raises(wm.InputError, match="switch_prob"):
        regime_params(base, switch_prob=(0.2, 1.5))
    with pytest.raises(wm.InputError, match="eta_mult"):
        regime_params(base, eta_mult=np.ones(N + 1))
