"""Full-batch training with early stopping on days held out in time (the later ones)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax

from wmjax._checks import positive_int


def fit_early_stopped(
    fit_loss: Callable[[Any], jax.Array],
    val_loss: Callable[[Any], jax.Array],
    params: Any,
    optimizer: optax.GradientTransformation,
    n_steps: int,
    check_every: int = 10,
) -> tuple[Any, float]:
    """Minimise `fit_loss(params)`; every `check_every` steps (one jitted scan, compiled once)
    score `val_loss`; return the params with the lowest validation loss (the initial ones when
    training never improves it) and that loss."""
    every = positive_int("check_every", check_every)

    @jax.jit
    def block(params, state):
        def one(carry, _):
            p, s = carry
            updates, s = optimizer.update(jax.grad(fit_loss)(p), s, p)
            return (optax.apply_updates(p, updates), s), None

        (params, state), _ = jax.lax.scan(one, (params, state), None, length=every)
        return params, state, val_loss(params)

    best = (float(val_loss(params)), params)
    state = optimizer.init(params)
    for _ in range(positive_int("n_steps", n_steps) // every):
        params, state, loss = block(params, state)
        if float(loss) < best[0]:
            best = (float(loss), params)
    return best[1], best[0]
