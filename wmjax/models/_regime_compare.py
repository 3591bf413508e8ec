"""The detector against its baselines on held-out simulated paths of the regime market.

Train: the detector on fresh paths from `k_train`; the Gaussian HMM by EM (unsupervised) on the
minute features of `n_hmm_train` paths from `k_hmm`, its states then mapped to regimes by the
permutation that best matches those paths' labels; the majority class of the same paths.
Test: `n_test` paths from `k_test`, a key neither used. Scores are macro-F1 over the four
regimes with bootstrap standard errors over test paths (`bootstrap_macro_f1`). The HMM is given
its smoothed posteriors (it sees the whole test path, the detector only the past), and its
causal, filtered ones are reported too.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from wmjax._checks import positive_int
from wmjax.market import N_REGIMES, RegimeMarketConfig, RegimeMarketParams
from wmjax.market import simulate_regime_batch as _simulate
from wmjax.models._hmm import fit_hmm, hmm_posteriors, match_states
from wmjax.models._regime_detector import (
    bootstrap_macro_f1,
    detector_probabilities,
    train_regime_detector,
)


def compare_regime_detectors(
    key,
    market_params: RegimeMarketParams,
    config: RegimeMarketConfig,
    *,
    n_hmm_train: int = 64,
    n_test: int = 64,
    n_boot: int = 500,
    hidden: int = 32,
    batch: int = 32,
    n_updates: int = 400,
    learning_rate: float = 3e-3,
    callback=None,
) -> dict:
    """Macro-F1 (with SEs) of the detector, the HMM (smoothed and filtered) and the majority
    class on held-out paths, and the training/fitting seconds. A JSON-ready dict."""
    positive_int("n_test", n_test)
    k_train, k_hmm, k_test, k_boot, k_em = jax.random.split(key, 5)
    fit = train_regime_detector(
        k_train,
        market_params,
        config,
        hidden=hidden,
        batch=batch,
        n_updates=n_updates,
        learning_rate=learning_rate,
        callback=callback,
    )
    hmm_labels, hmm_feats = _simulate(k_hmm, market_params, config, n_hmm_train)
    hmm_x = np.asarray(hmm_feats.minute, np.float64)
    start = time.perf_counter()
    hmm = fit_hmm(k_em, hmm_x, N_REGIMES)
    hmm_s = time.perf_counter() - start
    to_regime = match_states(hmm_posteriors(hmm.hmm, hmm_x).smoothed.argmax(-1), hmm_labels, 4)
    labels, feats = _simulate(k_test, market_params, config, n_test)
    labels = np.asarray(labels)
    post = hmm_posteriors(hmm.hmm, np.asarray(feats.minute, np.float64))
    majority = int(np.bincount(np.asarray(hmm_labels).ravel(), minlength=N_REGIMES).argmax())
    predictions = {
        "detector": detector_probabilities(fit, feats).argmax(-1),
        "hmm_smoothed": to_regime[post.smoothed.argmax(-1)],
        "hmm_filtered": to_regime[post.filtered.argmax(-1)],
        "majority": np.full_like(labels, majority),
    }
    scores = bootstrap_macro_f1(k_boot, predictions, labels, n_boot)
    return {
        "macro_f1": scores["f1"],
        "se": scores["se"],
        "detector_minus_hmm_smoothed": scores["f1"]["detector"] - scores["f1"]["hmm_smoothed"],
        "detector_minus_hmm_smoothed_se": scores["diff_se"][("detector", "hmm_smoothed")],
        "hmm_smoothed_minus_majority": scores["f1"]["hmm_smoothed"] - scores["f1"]["majority"],
        "hmm_smoothed_minus_majority_se": scores["diff_se"][("hmm_smoothed", "majority")],
        "n_test_paths": int(n_test),
        "minutes_per_path": int(config.n_minutes),
        "detector_train_s": fit.result.seconds,
        "detector_compile_s": fit.compile_s,
        "detector_updates": fit.result.n_done,
        "hmm_fit_s": hmm_s,
        "hmm_em_iterations": hmm.n_iter_done,
    }
