"""The multi-scale regime detector: causal at every scale (no leakage from later minutes),
compiled once, and, trained, better on held-out simulated paths than the HMM (EM) and the
majority class (the experiment script at small size; the README figures come from a larger run
of the same script)."""

import importlib.util
import json
from pathlib import Path

import jax
import numpy as np
import pytest

from wmjax.market import RegimeMarketConfig, regime_market_params, simulate_regime_batch
from wmjax.models import (
    DetectorFit,
    MultiScaleRegimeDetector,
    bootstrap_macro_f1,
    detector_probabilities,
    macro_f1,
)
from wmjax.models._regime_detector import _probabilities

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "regimes_simulated.py"
CONFIG = RegimeMarketConfig(n_sessions=3, minutes_per_session=10, ticks_per_minute=4)
PARAMS = regime_market_params()


def test_detector_is_causal_at_every_scale():
    sim = jax.jit(simulate_regime_batch, static_argnums=(2, 3))
    _, feats = sim(jax.random.key(0), PARAMS, CONFIG, 2)
    net = MultiScaleRegimeDetector(hidden=8)
    params = jax.jit(net.init)(jax.random.key(1), feats)  # one compile, not one per eager scan
    t = 14  # minute 14 is in session 1; the session-1 summary may only reach session 2
    later = jax.random.normal(jax.random.key(2), feats.tick[:, t + 1 :].shape)
    changed = feats.replace(
        tick=feats.tick.at[:, t + 1 :].set(later),
        minute=feats.minute.at[:, t + 1 :].add(5.0),
        session=feats.session.at[:, 1:].add(5.0),
    )
    fit = DetectorFit(net, params, result=None, compile_s=0.0)
    a = detector_probabilities(fit, feats)
    size = _probabilities._cache_size()
    b = detector_probabilities(fit, changed)  # same shapes: no second compile
    assert _probabilities._cache_size() == size
    np.testing.assert_allclose(a[:, : t + 1], b[:, : t + 1], atol=1e-6)
    assert not np.allclose(a[:, 20:], b[:, 20:])  # later minutes do see it
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-5)


def test_macro_f1_against_hand_counts():
    labels = np.array([0, 0, 1, 2, 3, 3])
    pred = np.array([0, 1, 1, 2, 3, 0])
    # F1 per class: 0: 2*1/(2+2)=0.5, 1: 2*1/(2+1)=2/3, 2: 1, 3: 2*1/(1+2)=2/3
    assert macro_f1(labels, pred, 4) == pytest.approx((0.5 + 2 / 3 + 1 + 2 / 3) / 4)
    preds = {"a": labels[None], "b": pred[None]}
    out = bootstrap_macro_f1(jax.random.key(0), preds, labels[None], 20)
    assert out["f1"]["a"] == 1.0 and out["se"]["a"] == 0.0


@pytest.mark.slow
def test_experiment_detector_beats_hmm_beats_majority(tmp_path):
    spec = importlib.util.spec_from_file_location("regimes_simulated", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = [
        "--updates",
        "300",
        "--batch",
        "16",
        "--hidden",
        "16",
        "--sessions",
        "2",
        "--minutes",
        "30",
        "--ticks",
        "4",
        "--hmm-paths",
        "16",
        "--test-paths",
        "32",
        "--boot",
        "200",
        "--out",
        str(tmp_path),
    ]
    result = module.main(args)
    saved = json.loads((tmp_path / "regimes_simulated.json").read_text())
    f1 = saved["macro_f1"]
    diff = f1["detector"] - f1["hmm_smoothed"]
    assert saved["detector_minus_hmm_smoothed"] == pytest.approx(diff)
    assert result["detector_minus_hmm_smoothed"] > 2 * result["detector_minus_hmm_smoothed_se"]
    assert result["hmm_smoothed_minus_majority"] > 2 * result["hmm_smoothed_minus_majority_se"]
