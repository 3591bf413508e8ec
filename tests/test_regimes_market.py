"""The labelled regime-switching market: transition frequencies, Hawkes-like activity and
per-regime return variance against their closed forms; the regimes' signatures; vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax import InputError
from wmjax.market import (
    Regime,
    RegimeMarketConfig,
    regime_market_params,
    simulate_regime_batch,
    simulate_regimes,
)

CONFIG = RegimeMarketConfig(n_sessions=4, minutes_per_session=50, ticks_per_minute=8)
PARAMS = regime_market_params(session_vol_sd=0.0)


@pytest.fixture(scope="module")
def paths():
    sim = jax.jit(jax.vmap(simulate_regimes, (0, None, None)), static_argnums=2)
    p = sim(jax.random.split(jax.random.key(0), 120), PARAMS, CONFIG)
    return jax.tree.map(np.asarray, p)


def test_regime_chain_follows_the_transition_matrix(paths):
    lab = paths.labels
    counts = np.zeros((4, 4))
    np.add.at(counts, (lab[:, :-1].ravel(), lab[:, 1:].ravel()), 1)
    rows = counts.sum(1, keepdims=True)
    freq = counts / rows
    p = np.asarray(PARAMS.transition)
    se = np.sqrt(p * (1 - p) / rows)
    assert np.all(np.abs(freq - p) < 4 * se + 1e-9)


def test_activity_has_the_hawkes_stationary_mean(paths):
    # E[n] = mu / (1 - b) in a stationary regime; skip each episode's first minutes (transient)
    lab = paths.labels
    settled = np.zeros_like(lab, bool)
    settled[:, 5:] = np.all([lab[:, 5:] == lab[:, 5 - k : lab.shape[1] - k] for k in range(6)], 0)
    mean_n = paths.tick_counts.mean(-1)
    expected = np.asarray(PARAMS.base_rate / (1 - PARAMS.branching))
    for r in Regime:
        got = mean_n[settled & (lab == r)]
        tol = 4 * got.std() / np.sqrt(got.size) + 0.03 * expected[r]
        assert abs(got.mean() - expected[r]) < tol


def test_minute_variance_and_signatures_per_regime(paths):
    lab = paths.labels
    ret = paths.tick_returns_bps.sum(-1)
    vol = np.asarray(PARAMS.vol_bps)
    for r in (Regime.VOLATILE, Regime.CALM):  # no drift, no reversion: Var = vol^2 (Clark 1973)
        assert np.var(ret[lab == r]) == pytest.approx(vol[r] ** 2, rel=0.08)
    same = lab[:, 1:] == lab[:, :-1]

    def lag1(r):
        sel = same & (lab[:, 1:] == r)
        return np.corrcoef(ret[:, 1:][sel], ret[:, :-1][sel])[0, 1]

    assert lag1(Regime.REVERTING) < -0.15  # OU reversion: negative autocorrelation
    assert lag1(Regime.TRENDING) > 0.05  # a persistent drift sign: positive
    assert abs(lag1(Regime.CALM)) < 0.05


def test_same_key_same_path_and_vmap_over_params():
    key = jax.random.key(3)
    small = RegimeMarketConfig(2, 10, 4)
    sim = jax.jit(simulate_regimes, static_argnums=2)
    a, b = sim(key, PARAMS, small), sim(jax.random.key(3), PARAMS, small)
    assert np.array_equal(a.tick_returns_bps, b.tick_returns_bps)
    doubled = PARAMS.replace(vol_bps=PARAMS.vol_bps * 2)
    both = jax.tree.map(lambda x, y: jnp.stack([x, y]), PARAMS, doubled)
    out = jax.jit(jax.vmap(simulate_regimes, (None, 0, None)), static_argnums=2)(key, both, small)
    # same key, doubled vol: the noise part doubles (no drift/reversion in volatile/calm)
    calm = np.asarray(out.labels[0]) == Regime.CALM
    assert np.allclose(out.tick_returns_bps[1][calm], 2 * out.tick_returns_bps[0][calm], rtol=1e-4)
    labels, feats = simulate_regime_batch(key, PARAMS, small, 3)
    assert labels.shape == (3, 20) and feats.tick.shape == (3, 20, 4, 2)
    assert feats.minute.shape == (3, 20, 4) and feats.session.shape == (3, 2, 4)


def test_bad_params_are_named():
    with pytest.raises(InputError, match="branching"):
        regime_market_params(branching=(0.3, 0.3, 1.2, 0.2))
    with pytest.raises(InputError, match="vol_bps"):
        regime_market_params(vol_bps=(1.0, 2.0))
    with pytest.raises(InputError, match="mean_duration_min"):
        regime_market_params(mean_duration_min=0.5)
