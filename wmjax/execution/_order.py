"""Parent orders and the static configuration of a rollout."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, finite_array, is_concrete, positive, positive_int, require

BUY = 1.0
SELL = -1.0


@struct.dataclass
class Order:
    """A parent order (a PyTree: vmap over many orders).

    Attributes:
        quantity_shares: shares to execute (> 0).
        horizon_days: time allowed, days (> 0); the decision interval is horizon / n_steps.
        side: +1 buy, -1 sell.
        risk_aversion: the trader's lambda in E[IS] + lambda * Var[IS] (>= 0; units of 1 / IS).
    """

    quantity_shares: jax.Array
    horizon_days: jax.Array
    side: jax.Array
    risk_aversion: jax.Array


def order(
    quantity_shares: float, horizon_days: float, side: str | float = "buy", risk_aversion=0.0
) -> Order:
    """A checked float32 `Order`; `side` is "buy", "sell", +1 or -1."""
    if isinstance(side, str):
        require(side.lower() in ("buy", "sell"), f'side must be "buy" or "sell", got {side!r}')
        side = BUY if side.lower() == "buy" else SELL
    result = Order(
        quantity_shares=jnp.asarray(quantity_shares, jnp.float32),
        horizon_days=jnp.asarray(horizon_days, jnp.float32),
        side=jnp.asarray(side, jnp.float32),
        risk_aversion=jnp.asarray(risk_aversion, jnp.float32),
    )
    check_order(result)
    return result


def check_order(o: Order) -> None:
    """Raise InputError unless sizes and horizons are > 0, side is +-1, lambda >= 0."""
    if not isinstance(o, Order):
        raise InputError(f"order must be an Order (use wmjax.execution.order), got {type(o)}")
    if not is_concrete(*jax.tree.leaves(o)):
        return
    positive("order.quantity_shares (shares to execute)", o.quantity_shares)
    positive("order.horizon_days (time allowed)", o.horizon_days)
    positive("order.risk_aversion", o.risk_aversion, allow_zero=True)
    side = finite_array("order.side", o.side)
    require(
        bool(np.all(np.abs(side) == 1)), f"order.side must be +1 (buy) or -1 (sell), got {side}"
    )


@dataclass(frozen=True)
class RolloutConfig:
    """Static shape of a rollout.

    Attributes:
        n_paths: number of Monte Carlo paths (the batch axis).
        n_steps: decision intervals over the horizon.
        antithetic: pair each path with its mirror (exogenous shocks negated); n_paths even.
        shard: spread paths over all devices on a `paths` mesh axis when there are several.
    """

    n_paths: int = 1024
    n_steps: int = 10
    antithetic: bool = False
    shard: bool = True

    def __post_init__(self):
        positive_int("n_paths", self.n_paths)
        positive_int("n_steps (periods)", self.n_steps)
        if self.antithetic:
            require(
                self.n_paths % 2 == 0, f"antithetic paths need an even n_paths, got {self.n_paths}"
            )
