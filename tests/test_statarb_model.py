"""The stat-arb world model: causal features, labels that stay inside the training period, and
on held-out simulated baskets a regime head that beats the majority class and the A&L filter."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wmjax.calibrate import mean_reverting, rolling_ou_fit
from wmjax.market import BasketConfig
from wmjax.models import (
    forward_targets,
    model_signals,
    pair_features,
    random_basket_params,
    simulated_example,
    train_statarb_model,
)

N_DAYS = 160


def _pair(seed, n=N_DAYS):
    rng = np.random.default_rng(seed)
    spread = jnp.asarray(np.cumsum(rng.normal(0, 0.01, n)), jnp.float32)
    legs = jnp.asarray(rng.normal(0, 0.01, (n, 2)), jnp.float32)
    return spread, legs


def test_features_never_look_ahead():
    spread, legs = _pair(0)
    t = 100
    features = jax.jit(lambda x, r: pair_features(x, r, rolling_ou_fit(x)))
    feats = features(spread, legs)
    spread2 = spread.at[t + 1 :].add(0.5)
    legs2 = legs.at[t:].set(0.05)  # legs[t] is the move t -> t + 1: unknown at t's close
    feats2 = features(spread2, legs2)
    np.testing.assert_allclose(feats2[: t + 1], feats[: t + 1], atol=1e-5)
    assert not np.allclose(feats2[t + 1 :], feats[t + 1 :])


def test_forward_labels_stay_inside_the_training_period():
    spread, _ = _pair(1)
    last = 120
    targets = jax.jit(forward_targets)(spread, last)
    t = np.arange(N_DAYS)
    assert not np.asarray(targets.regime_mask)[t + 60 > last].any()
    assert np.asarray(targets.regime_mask)[t + 60 <= last].all()
    # the label is the A&L filter of the fit on t + 1 .. t + 60
    fwd = rolling_ou_fit(spread)
    assert bool(targets.reverting[10]) == bool(mean_reverting(fwd)[70])


@pytest.fixture(scope="module")
def trained():
    model, result = train_statarb_model(
        jax.random.key(0), n_days=N_DAYS, n_sim=32, n_updates=100, learning_rate=1e-2
    )
    return model, result


@pytest.mark.slow  # trains the model (100 Adam updates)
def test_regime_head_beats_majority_class_and_al_filter_on_held_out_baskets(trained):
    model, result = trained
    assert result.losses[-10:].mean() < result.losses[:10].mean()
    n = 256
    params = random_basket_params(jax.random.key(99), n)  # keys never used in training
    keys = jax.random.split(jax.random.key(98), n)
    config = BasketConfig(n_days=N_DAYS - 1)
    simulate = jax.jit(jax.vmap(simulated_example, in_axes=(0, 0, None)), static_argnums=2)
    feats, targets = simulate(keys, params, config)
    out = jax.jit(model.apply)(result.params, feats)
    truth = np.asarray(targets.reverting)[:, 60:]
    model_acc = float(((np.asarray(out.p_reverting)[:, 60:] > 0.5) == truth).mean())
    majority = max(truth.mean(), 1 - truth.mean())
    # baseline: A&L's own filter kappa_hat > 252/30, read from the features (log kappa ratio > 0)
    al_acc = float(((np.asarray(feats[:, 60:, 6]) > 0) == truth).mean())
    print(
        f"regime accuracy: model {model_acc:.3f}, A&L filter {al_acc:.3f}, majority {majority:.3f}"
    )
    assert model_acc > majority + 0.02, (model_acc, majority)
    assert model_acc > al_acc, (model_acc, al_acc)


@pytest.mark.slow  # shares the trained model
def test_model_signals_shapes(trained):
    model, result = trained
    spread, legs = _pair(2)
    batch = jax.tree.map(lambda a: a[None], (spread, legs, rolling_ou_fit(spread)))
    sig = jax.jit(model_signals, static_argnums=0)(model, result.params, *batch)
    assert sig.z_score.shape == (1, N_DAYS) and sig.regime_logits.shape == (1, N_DAYS, 2)
    assert np.isfinite(np.asarray(sig.p_reverting)).all()
