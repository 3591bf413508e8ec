"""The multi-scale regime detector: three GRUs (Cho et al. 2014) on tick-, minute- and
session-scale features -> logits over the four regimes of each minute.

The tick GRU reads the tick slots of each minute and summarises them; the minute GRU reads the
minute features with that summary; the session GRU reads the features of completed sessions and
its state after session s-1 is given to every minute of session s. All three are causal: the
label of minute t depends on data up to minute t only. Trained by cross-entropy on fresh
simulated paths of the labelled regime-switching market at every update (`wmjax.execution.train`,
one jitted step).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from wmjax._checks import positive, positive_int
from wmjax.execution import TrainResult, train
from wmjax.market import (
    N_REGIMES,
    RegimeFeatures,
    RegimeMarketConfig,
    RegimeMarketParams,
    simulate_regime_batch,
)
from wmjax.models._metrics import macro_f1


class MultiScaleRegimeDetector(nn.Module):
    """features (`RegimeFeatures` with a leading batch axis B) -> logits (B, T, 4)."""

    hidden: int = 32
    n_regimes: int = N_REGIMES

    @nn.compact
    def __call__(self, features: RegimeFeatures) -> jax.Array:
        tick, minute, session = features.tick, features.minute, features.session
        batch, n_min, n_ticks, _ = tick.shape
        n_sessions = session.shape[1]
        per_session = n_min // n_sessions
        tick_h = nn.RNN(nn.GRUCell(self.hidden), name="tick_gru")(
            tick.reshape(batch * n_min, n_ticks, -1)
        )[:, -1].reshape(batch, n_min, self.hidden)
        minute_h = nn.RNN(nn.GRUCell(self.hidden), name="minute_gru")(
            jnp.concatenate([minute, tick_h], -1)
        )
        session_h = nn.RNN(nn.GRUCell(self.hidden), name="session_gru")(session)
        # state after the previous session (zeros in the first), one copy per minute
        before = jnp.concatenate([jnp.zeros_like(session_h[:, :1]), session_h[:, :-1]], 1)
        session_ctx = jnp.repeat(before, per_session, axis=1)
        h = jnp.concatenate([minute_h, tick_h, session_ctx], -1)
        h = nn.relu(nn.Dense(self.hidden, name="head_hidden")(h))
        return nn.Dense(self.n_regimes, name="head_out")(h)


@dataclass(frozen=True)
class DetectorFit:
    """A trained detector: `module`, its `params`, and the `TrainResult` (losses, seconds)."""

    module: MultiScaleRegimeDetector
    params: Any
    result: TrainResult
    compile_s: float


def train_regime_detector(
    key,
    market_params: RegimeMarketParams,
    config: RegimeMarketConfig,
    *,
    hidden: int = 32,
    batch: int = 32,
    n_updates: int = 400,
    learning_rate: float = 3e-3,
    callback=None,
) -> DetectorFit:
    """Train a `MultiScaleRegimeDetector` by cross-entropy; each update simulates `batch` fresh
    paths from `fold_in(key, step)` (no path is seen twice; hold out data with another key).
    `compile_s` is the time of the first (compiling) update measured separately."""
    module = MultiScaleRegimeDetector(hidden=positive_int("hidden", hidden))
    batch = positive_int("batch", batch)
    n_updates = positive_int("n_updates", n_updates)
    positive("learning_rate", learning_rate)
    k_init, k_train = jax.random.split(key)
    _, example = simulate_regime_batch(k_init, market_params, config, 1)
    params = module.init(k_init, example)

    def loss(p, k):
        labels, feats = simulate_regime_batch(k, market_params, config, batch)
        logits = module.apply(p, feats)
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    schedule = optax.cosine_decay_schedule(learning_rate, n_updates, alpha=0.1)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule))
    first = time.perf_counter()
    times: list[float] = []

    def timing(step, value):
        times.append(time.perf_counter())
        if callback is not None:
            callback(step, value)

    result = train(loss, params, optimizer, k_train, n_updates, callback=timing)
    compile_s = times[0] - first - (times[-1] - times[0]) / max(len(times) - 1, 1)
    return DetectorFit(module, result.params, result, compile_s)


@partial(jax.jit, static_argnums=0)
def _probabilities(module, params, features):
    return jax.nn.softmax(module.apply(params, features), -1)


def detector_probabilities(fit: DetectorFit, features: RegimeFeatures) -> np.ndarray:
    """(B, T, 4) regime probabilities of each minute (jitted once per module and shape)."""
    return np.asarray(_probabilities(fit.module, fit.params, features))


def bootstrap_macro_f1(key, predictions: dict, labels, n_boot: int = 500) -> dict:
    """Macro-F1 of each predictor in `predictions` (name -> (N, T) labels) on held-out
    sequences `labels` (N, T), and bootstrap standard errors over sequences (resampled with
    replacement, the same draws for every predictor): {"f1": {...}, "se": {...},
    "diff_se": {(a, b): SE of f1[a] - f1[b]}}."""
    n = np.asarray(labels).shape[0]
    idx = np.asarray(jax.random.randint(key, (positive_int("n_boot", n_boot), n), 0, n))
    lab = np.asarray(labels)
    f1 = {k: macro_f1(lab, v, N_REGIMES) for k, v in predictions.items()}
    boot = {
        k: np.array([macro_f1(lab[i], np.asarray(v)[i], N_REGIMES) for i in idx])
        for k, v in predictions.items()
    }
    names = list(predictions)
    diff_se = {
        (a, b): float(np.std(boot[a] - boot[b], ddof=1))
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }
    se = {k: float(np.std(v, ddof=1)) for k, v in boot.items()}
    return {"f1": f1, "se": se, "diff_se": diff_se}
