"""The contract between markets and the execution engine.

A market is a stateless object (a frozen, hashable dataclass holding only static configuration)
whose three pure methods take a PyTree of params. `wmjax.execution.rollout` scans `step` over
decision intervals and vmaps over paths; it works with any market that follows this protocol,
the impact-level one (`ImpactMarket`) and the order book alike.
"""

from __future__ import annotations

from typing import Any, Protocol

import jax
from flax import struct


@struct.dataclass
class Fills:
    """What one decision interval executed for the parent order (one path, scalars).

    Attributes:
        shares: shares filled in the parent order's direction (>= 0 for a normal schedule).
        notional: sum of execution price * shares filled, in price units * shares.
        market_volume_shares: the market's own traded volume in the interval, shares.
        record: optional PyTree of per-interval figures the market wants kept (a market
            maker's spread, tape, mark-outs); the rollout stacks it over steps (`Paths.records`).
    """

    shares: jax.Array
    notional: jax.Array
    market_volume_shares: jax.Array
    record: Any = None


class Market(Protocol):
    """A market a policy can trade against; all methods are pure and jit/vmap-able.

    Every observation has a field `mid` (price units): the arrival price of a parent order is the
    `mid` observed right after `init`, and the opportunity cost of unfilled shares uses the last
    one. Exogenous randomness of `step` is drawn from its `key` only, never from `action`.
    """

    def init(self, key: jax.Array, params: Any, order: Any, n_steps: int) -> Any:
        """The market state when the parent order `order` arrives (`n_steps` decision intervals)."""
        ...

    def observe(self, state: Any, params: Any) -> Any:
        """What a policy may see before it acts (has at least `mid`)."""
        ...

    def step(self, key: jax.Array, state: Any, action: Any, params: Any) -> tuple[Any, Fills]:
        """One decision interval: exogenous moves drawn from `key`, then `action`'s child orders
        after their latency; returns the next state and what filled."""
        ...

    def mirror(self, params: Any) -> Any:
        """Params of the antithetic twin market (exogenous shocks negated), for variance
        reduction. Markets that cannot mirror their noise raise `NotImplementedError`."""
        ...
