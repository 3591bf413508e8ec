"""The regime as an input: estimates, the probability-weighted scaling of `ImpactParams`, and the
pre-trade report, the Almgren-Chriss solution and the advisor taking it through their own inputs."""

import jax
import numpy as np
import pytest

from wmjax import InputError
from wmjax.analytics import REGIMES, pretrade, schedule_strategy
from wmjax.execution import almgren_chriss, order
from wmjax.market import (
    ImpactMarket,
    Regime,
    apply_regime,
    impact_params,
    liquidity_regime,
    one_hot_estimate,
    regime_estimate,
    regime_scaling,
)

SCALING = regime_scaling(volatility=(1.0, 0.9, 2.0, 0.5), volume=(1.0, 1.0, 1.6, 0.8))


def test_estimate_is_normalised_and_checked():
    est = regime_estimate([1.0, 0.0, 3.0, 0.0])
    np.testing.assert_allclose(est.probabilities, [0.25, 0, 0.75, 0])
    assert int(est.label) == Regime.VOLATILE and est.name == "volatile"
    with pytest.raises(InputError, match="last axis of 4"):
        regime_estimate([0.5, 0.5])
    with pytest.raises(InputError, match=">= 0"):
        regime_estimate([1.0, -0.1, 0.0, 0.1])
    with pytest.raises(InputError, match="regime must be one of"):
        one_hot_estimate("stormy")


def test_scaling_is_probability_weighted():
    mp = impact_params(10, sigma=1.0, eta=2e-6, gamma=1e-7, daily_volume_shares=1e6)
    vol = apply_regime(mp, one_hot_estimate("volatile"), SCALING)
    assert float(vol.sigma) == pytest.approx(2.0)
    assert float(vol.daily_volume_shares) == pytest.approx(1.6e6)
    assert float(vol.eta) == pytest.approx(2e-6 * 2.0 / 1.6)  # eta ~ sigma / V (ATHL 2005)
    mix = apply_regime(mp, regime_estimate([0, 0, 0.5, 0.5]), SCALING)
    assert float(mix.sigma) == pytest.approx(0.5 * 2.0 + 0.5 * 0.5)
    # a batch of estimates under vmap gives a batch of markets
    batch = regime_estimate(np.eye(4))
    out = jax.vmap(apply_regime, (None, 0, None))(mp, batch, SCALING)
    np.testing.assert_allclose(out.sigma, [1.0, 0.9, 2.0, 0.5], rtol=1e-6)


def test_pretrade_takes_the_regime_through_its_params():
    # a fixed schedule without impact: IS is linear in sigma path by path (common random
    # numbers), so the regime's volatility multiplier is the ratio of IS standard deviations
    mp = impact_params(8, sigma=1.0, daily_volume_shares=1e6)
    o = order(1e4, 1.0)
    twap = [schedule_strategy("twap", np.full(8, 1 / 8))]
    std = {}
    for name in ("calm", "volatile"):
        report = pretrade(
            o,
            ImpactMarket(),
            apply_regime(mp, one_hot_estimate(name), SCALING),
            twap,
            n_paths=256,
            sensitivity=None,
        )
        std[name] = float(report.std_bps[0])
    assert std["volatile"] / std["calm"] == pytest.approx(2.0 / 0.5, rel=1e-4)


def test_almgren_chriss_and_advisor_take_the_regime():
    mp = impact_params(10, sigma=0.5, eta=2e-6, daily_volume_shares=1e6)
    calm = apply_regime(mp, one_hot_estimate("calm"), SCALING)
    vol = apply_regime(mp, one_hot_estimate("volatile"), SCALING)
    args = dict(shares=1e5, horizon=1.0, n_periods=10, risk_aversion=1e-6)
    a = almgren_chriss(sigma=float(calm.sigma), eta=float(calm.eta), **args)
    b = almgren_chriss(sigma=float(vol.sigma), eta=float(vol.eta), **args)
    # kappa_tilde^2 = lambda sigma^2 / eta_tilde (AC 2000, gamma = 0): the regime's sigma and
    # eta multipliers reach the closed form; a volatile regime trades faster
    ratio = (2.0 / 0.5) * np.sqrt((0.5 / 0.8) / (2.0 / 1.6))
    assert b.kappa_tilde / a.kappa_tilde == pytest.approx(ratio, rel=1e-5)
    assert b.trades[0] > a.trades[0]
    assert {liquidity_regime(one_hot_estimate(r)) for r in Regime} <= set(REGIMES)
    assert liquidity_regime(one_hot_estimate("volatile")) == "stressed"
