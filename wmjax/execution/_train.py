"""A generic optax loop: minimise loss(params, key) over any differentiable policy's params."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
import optax

from wmjax._checks import InputError, positive, positive_int


@dataclass(frozen=True)
class TrainResult:
    """Outcome of `train`.

    Attributes:
        params: the params with the lowest loss seen (the last ones if the loss never improved).
        losses: (n_done,) loss at each step, before that step's update.
        n_done: steps taken.
        stopped_early: True when the loss stopped improving for `patience` steps.
        seconds: wall time of the loop, compilation included.
    """

    params: Any
    losses: np.ndarray
    n_done: int
    stopped_early: bool
    seconds: float


def train(
    loss_fn: Callable[[Any, jax.Array], jax.Array],
    params: Any,
    optimizer: optax.GradientTransformation,
    key: jax.Array,
    n_steps: int,
    *,
    fresh_keys: bool = True,
    patience: int | None = None,
    min_delta: float = 0.0,
    callback: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Minimise `loss_fn(params, key)` with `optimizer` for up to `n_steps` steps.

    With `fresh_keys` step i uses `fold_in(key, i)` (stochastic optimisation); otherwise every
    step uses `key` (a fixed sample: common random numbers). Early stopping: stop when the loss
    has not fallen by more than `min_delta` (absolute) below its best for `patience` steps.
    `callback(step, loss)` is called after each step (progress reporting). The update step is
    jitted once.
    """
    n = positive_int("n_steps", n_steps)
    if patience is not None:
        positive_int("patience", patience)
    positive("min_delta", min_delta, allow_zero=True)

    @jax.jit
    def update(params, opt_state, k):
        loss, grads = jax.value_and_grad(loss_fn)(params, k)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    start = time.perf_counter()
    opt_state = optimizer.init(params)
    best_params, best_loss, since_best = params, np.inf, 0
    losses: list[float] = []
    stopped = False
    for i in range(n):
        k = jax.random.fold_in(key, i) if fresh_keys else key
        new_params, opt_state, loss = update(params, opt_state, k)
        loss = float(loss)
        if not np.isfinite(loss):
            raise InputError(
                f"training loss is {loss} at step {i}: lower the learning rate or check the "
                "market parameters"
            )
        losses.append(loss)
        if loss < best_loss - min_delta:
            best_params, best_loss, since_best = params, loss, 0
        else:
            since_best += 1
        params = new_params
        if callback is not None:
            callback(i, loss)
        if patience is not None and since_best >= patience:
            stopped = True
            break
    return TrainResult(
        params=best_params,
        losses=np.asarray(losses),
        n_done=len(losses),
        stopped_early=stopped,
        seconds=time.perf_counter() - start,
    )
