"""L-BFGS (optax) in one `lax.while_loop`: the minimiser of every likelihood fit here."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def lbfgs(loss, theta0, max_iter: int, tol):
    """L-BFGS on `loss` from theta0, one while_loop: (theta, iterations, max |grad|)."""
    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss)

    def step(carry):
        theta, state = carry
        value, grad = value_and_grad(theta, state=state)
        updates, state = solver.update(grad, state, theta, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(theta, updates), state

    def keep_going(carry):
        _, state = carry
        count = optax.tree.get(state, "count")
        small = jnp.max(jnp.abs(optax.tree.get(state, "grad"))) <= tol
        finite = jnp.isfinite(optax.tree.get(state, "value"))
        return (count == 0) | ((count < max_iter) & ~small & finite)

    theta, state = jax.lax.while_loop(keep_going, step, (theta0, solver.init(theta0)))
    grad_norm = jnp.max(jnp.abs(optax.tree.get(state, "grad")))
    return theta, optax.tree.get(state, "count"), grad_norm
