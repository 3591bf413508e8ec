"""Paced TWAP: closed forms of the pacing rule and the bar IS, causality of the world model,
and a smoke run of the experiment on real hourly bars."""

import importlib.util
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _shared import shared_file

from wmjax.execution import bars_is_bps, paced_fractions
from wmjax.models import BarDays, TWAPWorldModel, twap_model_outputs

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "twap_world_model.py"


def test_paced_fractions_closed_forms_and_causality():
    n = 7
    np.testing.assert_allclose(paced_fractions(jnp.ones(n)), np.full(n, 1 / n), rtol=1e-6)
    c = 1.5
    f = np.asarray(paced_fractions(jnp.full(n, c)))
    assert f[0] == pytest.approx(c / (c + n - 1), rel=1e-6)
    assert f[1] == pytest.approx((1 - f[0]) * c / (c + n - 2), rel=1e-6)
    m = jax.random.uniform(jax.random.key(0), (4, n), minval=0.5, maxval=1.5)
    f = np.asarray(paced_fractions(m))
    np.testing.assert_allclose(f.sum(-1), 1.0, rtol=1e-6)
    assert (f > 0).all()
    later = np.asarray(paced_fractions(m.at[:, 4:].set(0.7)))
    np.testing.assert_allclose(later[:, :4], f[:, :4], rtol=1e-6)


def test_bars_is_is_price_drift_plus_impact():
    fractions = jnp.asarray([[0.5, 0.3, 0.2]])
    prices = jnp.asarray([[100.0, 101.0, 99.0]])
    volume = jnp.asarray([[1e5, 2e5, 1e5]])
    x, y, sigma = jnp.asarray([1e4]), 0.5, jnp.asarray([0.02])
    got = float(bars_is_bps(fractions, prices, jnp.asarray([100.0]), volume, x, y, sigma)[0])
    drift = (0.3 * 1.0 - 0.2 * 1.0) / 100 * 1e4
    impact = sum(
        f * p * y * 0.02 * f * 1e4 / v
        for f, p, v in zip([0.5, 0.3, 0.2], [100, 101, 99], [1e5, 2e5, 1e5], strict=True)
    )
    assert got == pytest.approx(drift + impact / 100 * 1e4, rel=1e-4)


def _synthetic_days(n_days=6, n_bars=7):
    rng = np.random.default_rng(0)
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    return BarDays(
        bar_features=f32(rng.normal(size=(n_days, n_bars, 4))),
        opening=f32(rng.normal(size=(n_days, 4))),
        log_variance=f32(rng.normal(-10, 1, (n_days, n_bars))),
        prices=f32(100 + rng.normal(size=(n_days, n_bars))),
        arrival=f32(np.full(n_days, 100.0)),
        volume_shares=f32(np.full((n_days, n_bars), 1e5)),
        adv_shares=f32(np.full(n_days, 7e5)),
        sigma_daily=f32(np.full(n_days, 0.02)),
    )


def test_world_model_step_k_sees_only_earlier_bars():
    days = _synthetic_days()
    model = TWAPWorldModel(8, float(days.log_variance.mean()))
    params = model.init(jax.random.key(0), days.opening[0], days.bar_features[0])
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    params = jax.tree.unflatten(
        tree, [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
    )
    log_var, mult = twap_model_outputs(model, params, days)
    assert float(mult.min()) >= 0.5 and float(mult.max()) <= 1.5
    k = 3
    changed = days.replace(bar_features=days.bar_features.at[:, k:].multiply(-3.0))
    log_var2, mult2 = twap_model_outputs(model, params, changed)
    np.testing.assert_allclose(mult2[:, : k + 1], mult[:, : k + 1], rtol=1e-5)
    np.testing.assert_allclose(log_var2[:, : k + 1], log_var[:, : k + 1], rtol=1e-5)
    assert not np.allclose(mult2[:, k + 1 :], mult[:, k + 1 :])


@pytest.mark.slow
def test_twap_experiment_runs_on_real_bars(tmp_path):
    spec = importlib.util.spec_from_file_location("twap_world_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = str(shared_file("volume", "IBM_hour_lean.zip"))
    args = ["--bars", path, "--max-days", "120", "--test-from", "2020-12-01", "--steps", "10"]
    result = module.main([*args, "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "twap_world_model.json").read_text())
    block = saved["IBM_hour_lean.zip"]
    assert block == json.loads(json.dumps(result["IBM_hour_lean.zip"]))
    assert block["test_days"] > 40 and block["train_days"] > 20
    assert block["methods"]["twap"]["gain_vs_twap"] == 0.0
    assert all(0.5 <= m <= 1.5 for m in block["mean_multiplier_by_bar"])
