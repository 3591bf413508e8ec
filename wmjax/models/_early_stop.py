"""Full-batch training with early stopping on days held out in time (the later ones)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import optax

from wmjax._checks import positive, positive_int

Loss = Callable[[Any, Any, Any], jax.Array]  # loss(model, params, batch), a module-level function


@partial(jax.jit, static_argnames=("loss", "model"))
def _evaluate(loss: Loss, model, params, batch) -> jax.Array:
    return loss(model, params, batch)


@partial(jax.jit, static_argnames=("loss", "model", "lr", "weight_decay", "every"))
def _block(loss: Loss, model, params, state, fit, val, lr, weight_decay, every):
    """`every` AdamW steps on `fit` (one scan), then the loss on `val`."""
    optimizer = optax.adamw(lr, weight_decay=weight_decay)

    def one(carry, _):
        p, s = carry
        updates, s = optimizer.update(jax.grad(lambda q: loss(model, q, fit))(p), s, p)
        return (optax.apply_updates(p, updates), s), None

    (params, state), _ = jax.lax.scan(one, (params, state), None, length=every)
    return params, state, loss(model, params, val)


def fit_early_stopped(
    loss: Loss,
    model,
    params: Any,
    fit: Any,
    val: Any,
    *,
    lr: float,
    weight_decay: float = 0.0,
    n_steps: int,
    check_every: int = 10,
) -> tuple[Any, float]:
    """Minimise `loss(model, params, fit)` with AdamW (weight_decay 0: Adam); every
    `check_every` steps score `loss(model, params, val)`; return the params with the lowest
    validation loss (the initial ones when training never improves it) and that loss. The
    training block is jitted once per (loss, model, shapes, hyper-parameters) and reused across
    fits (`loss` and `model` must be hashable: a module-level function, a flax module)."""
    every = positive_int("check_every", check_every)
    lr = float(positive("lr", lr))
    weight_decay = float(positive("weight_decay", weight_decay, allow_zero=True))
    best = (float(_evaluate(loss, model, params, val)), params)
    state = optax.adamw(lr, weight_decay=weight_decay).init(params)
    for _ in range(positive_int("n_steps", n_steps) // every):
        params, state, val_loss = _block(
            loss, model, params, state, fit, val, lr, weight_decay, every
        )
        if float(val_loss) < best[0]:
            best = (float(val_loss), params)
    return best[1], best[0]
