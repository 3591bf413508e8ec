"""A market wrapper that records what a report needs and `Paths` does not keep: the mid each
decision interval opened at and the market's volume in it.

`RecordingMarket(market)` follows `Market` itself, so `wmjax.execution.rollout` runs it like any
other; the records come back in `paths.final_state.mids` and `.volumes`, one row per path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class RecordingState:
    """The wrapped market's state plus the records (n_steps,) written as the intervals pass."""

    inner: Any
    mids: jax.Array
    volumes: jax.Array
    step: jax.Array


@dataclass(frozen=True)
class RecordingMarket:
    """Wraps any market; exogenous draws and fills are exactly the wrapped market's."""

    market: Any

    def init(self, key, params, order, n_steps: int) -> RecordingState:
        return RecordingState(
            inner=self.market.init(key, params, order, n_steps),
            mids=jnp.zeros(n_steps, jnp.float32),
            volumes=jnp.zeros(n_steps, jnp.float32),
            step=jnp.int32(0),
        )

    def observe(self, state: RecordingState, params):
        return self.market.observe(state.inner, params)

    def step(self, key, state: RecordingState, action, params):
        mid = self.market.observe(state.inner, params).mid
        inner, fills = self.market.step(key, state.inner, action, params)
        return RecordingState(
            inner=inner,
            mids=state.mids.at[state.step].set(mid),
            volumes=state.volumes.at[state.step].set(fills.market_volume_shares),
            step=state.step + 1,
        ), fills

    def mirror(self, params):
        return self.market.mirror(params)
