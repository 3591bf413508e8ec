"""A generic optax loop: minimise loss(params, key) over any differentiable policy's params."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
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
        skipped_steps: steps whose gradient was not finite; their update was not applied.
    """

    params: Any
    losses: np.ndarray
    n_done: int
    stopped_early: bool
    seconds: float
    skipped_steps: int = 0


def cached_adam(
    learning_rate: float, clip_norm: float | None = None
) -> optax.GradientTransformation:
    """One Adam object per (learning rate, global-norm clip): `train`'s compiled step takes the
    optimizer as a static argument, so training again with the same settings reuses the
    compiled step instead of building (and compiling) a new one."""
    lr = float(positive("learning_rate", learning_rate))
    return _adam(lr, None if clip_norm is None else float(positive("clip_norm", clip_norm)))


@functools.lru_cache(maxsize=32)
def _adam(learning_rate: float, clip_norm: float | None) -> optax.GradientTransformation:
    adam = optax.adam(learning_rate)
    return adam if clip_norm is None else optax.chain(optax.clip_by_global_norm(clip_norm), adam)


def _update(loss_fn, optimizer, state, key, loss_args):
    """One optimiser step; the best params so far are kept on the device (no host sync). A
    step whose gradient is not finite leaves the params and the optimiser state as they were
    (and says so in its second output)."""
    params, opt_state, best_params, best_loss = state
    loss, grads = jax.value_and_grad(loss_fn)(params, key, *loss_args)
    finite = jnp.all(jnp.asarray([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)]))
    updates, new_opt_state = optimizer.update(grads, opt_state, params)
    where = optax.tree_utils.tree_where
    new = (
        where(finite, optax.apply_updates(params, updates), params),
        where(finite, new_opt_state, opt_state),
        where(loss < best_loss, params, best_params),
        jnp.minimum(loss, best_loss),
    )
    return new, (loss, finite)


#: The jitted step, built once for the module: it compiles once per (loss_fn, optimizer, shapes)
#: and is reused by every later `train` call with the same (hashable) loss and optimizer.
_update_jit = jax.jit(_update, static_argnums=(0, 1), donate_argnums=(2,))


def train(
    loss_fn: Callable[..., jax.Array],
    params: Any,
    optimizer: optax.GradientTransformation,
    key: jax.Array,
    n_steps: int,
    *,
    fresh_keys: bool = True,
    patience: int | None = None,
    min_delta: float = 0.0,
    callback: Callable[[int, float], None] | None = None,
    loss_args: tuple = (),
    log_every: int = 10,
) -> TrainResult:
    """Minimise `loss_fn(params, key, *loss_args)` with `optimizer` for up to `n_steps` steps.

    With `fresh_keys` step i uses `fold_in(key, i)` (stochastic optimisation); otherwise every
    step uses `key` (a fixed sample: common random numbers). Early stopping: stop when the loss
    has not fallen by more than `min_delta` (absolute) below its best for `patience` steps
    (the steps already dispatched after it are dropped from `losses`; `params` is still the best
    seen on the device). `callback(step, loss)` is called for every step, in
    batches of `log_every`: the loop reads the losses back from the device only then, so the
    steps in between run without a host sync. A step whose gradient is not finite (a NaN or
    inf, e.g. 0 x inf in a masked branch of the loss) is not applied and is counted in
    `skipped_steps`; a loss that is not finite raises `InputError`.

    Compile once: the update step is one module-level `jax.jit` with `loss_fn` and `optimizer`
    static, so a later call with the same (hashable: a module-level function, a frozen
    dataclass) loss and the same optimizer object reuses the compiled step; pass what changes
    between calls (market parameters, the order) as `loss_args` (PyTrees, traced).
    """
    n = positive_int("n_steps", n_steps)
    if patience is not None:
        positive_int("patience", patience)
    positive("min_delta", min_delta, allow_zero=True)
    log_every = positive_int("log_every", log_every)

    start = time.perf_counter()
    # copies: the step donates its state, and the caller's arrays must stay valid
    params = jax.tree.map(jnp.array, params)
    # a strongly typed best loss: a Python inf is weakly typed, and the step's output (strong)
    # would then change the state's type after the first step and compile it a second time
    best = jnp.array(np.inf, dtype=jnp.result_type(float))
    state = (params, optimizer.init(params), jax.tree.map(jnp.array, params), best)
    losses: list[float] = []
    pending: list[tuple[jax.Array, jax.Array]] = []
    best_loss, since_best, stopped, skipped = np.inf, 0, False, 0
    for i in range(n):
        k = jax.random.fold_in(key, i) if fresh_keys else key
        state, out = _update_jit(loss_fn, optimizer, state, k, tuple(loss_args))
        pending.append(out)
        if len(pending) < log_every and i < n - 1:
            continue
        for loss, finite in jax.device_get(pending):  # one read of the batch
            loss, step = float(loss), len(losses)
            skipped += not bool(finite)
            if not np.isfinite(loss):
                raise InputError(
                    f"training loss is {loss} at step {step}: lower the learning rate or check "
                    "the market parameters"
                )
            losses.append(loss)
            if loss < best_loss - min_delta:
                best_loss, since_best = loss, 0
            else:
                since_best += 1
            if callback is not None:
                callback(step, loss)
            if patience is not None and since_best >= patience:
                stopped = True  # the later steps of this batch are not counted
                break
        pending = []
        if stopped:
            break
    return TrainResult(
        params=state[2],
        losses=np.asarray(losses),
        n_done=len(losses),
        stopped_early=stopped,
        seconds=time.perf_counter() - start,
        skipped_steps=skipped,
    )
