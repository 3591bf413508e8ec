"""A toxicity-aware market maker: any quoting strategy, widened and skewed by the flow's VPIN.

When the tape's VPIN (Easley, López de Prado & O'Hara 2012) is above `threshold`, both depths
grow by `widen`·(VPIN - threshold): the maker charges more when the flow is more likely to be
informed (Glosten & Milgrom 1985: the spread covers the expected loss to informed traders). The
signed order imbalance I = (buy - sell) / volume says which side is informed; the quotes move by
`skew`·I in its direction (bid depth - skew·I, ask depth + skew·I), away from being run over.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive
from wmjax.market._quote_market import QuoteObservation, Quotes


@struct.dataclass
class ToxicityAware:
    """Params: the base strategy's params, `widen` (price units of extra depth per unit of
    VPIN above `threshold`, each side) and `skew` (price units per unit of signed imbalance)."""

    base: Any
    widen: jax.Array
    skew: jax.Array
    threshold: jax.Array


def toxicity_aware(base: Any, widen: float, skew: float = 0.0, threshold: float = 0.0):
    """Checked params around `base` (the base strategy's params)."""
    positive("widen", widen, allow_zero=True)
    positive("skew", skew, allow_zero=True)
    positive("threshold", threshold, allow_zero=True)
    return ToxicityAware(base, jnp.float32(widen), jnp.float32(skew), jnp.float32(threshold))


@functools.cache
def toxicity_aware_strategy(base_strategy: Callable) -> Callable:
    """The strategy `(ToxicityAware, QuoteObservation) -> Quotes` around `base_strategy`; one
    function object per base strategy, so a jitted simulator compiles once for it."""

    def strategy(params: ToxicityAware, obs: QuoteObservation) -> Quotes:
        quotes = base_strategy(params.base, obs)
        extra = params.widen * jnp.maximum(obs.vpin - params.threshold, 0.0)
        shift = params.skew * obs.order_imbalance
        return quotes.replace(
            bid_depth=quotes.bid_depth + extra - shift,
            ask_depth=quotes.ask_depth + extra + shift,
        )

    return strategy
