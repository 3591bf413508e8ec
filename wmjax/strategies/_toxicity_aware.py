"""A toxicity-aware market maker: any quoting strategy, widened and skewed by a toxicity score.

Score "vpin": when the tape's VPIN (Easley, López de Prado & O'Hara 2012) is above `threshold`,
both depths grow by `widen`·(VPIN - threshold): the maker charges more when the flow is more
likely to be informed (Glosten & Milgrom 1985: the spread covers the expected loss to informed
traders). The signed order imbalance I = (buy - sell) / volume says which side is informed; the
quotes move by `skew`·I in its direction (bid depth - skew·I, ask depth + skew·I), away from
being run over. Score "hawkes": the same with the Hawkes-intensity imbalance H =
(lambda_buy - lambda_sell) / (lambda_buy + lambda_sell): widened by `widen`·(|H| -
`threshold`)+, moved by `skew`·H.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive, require
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


TOXICITY_SCORES = ("vpin", "hawkes")


@functools.cache
def toxicity_aware_strategy(base_strategy: Callable, score: str = "vpin") -> Callable:
    """The strategy `(ToxicityAware, QuoteObservation) -> Quotes` around `base_strategy`,
    reading `score` ("vpin" or "hawkes", module doc); one function object per base strategy and
    score, so a jitted simulator compiles once for it."""
    require(score in TOXICITY_SCORES, f"score must be one of {TOXICITY_SCORES}, got {score!r}")

    def strategy(params: ToxicityAware, obs: QuoteObservation) -> Quotes:
        quotes = base_strategy(params.base, obs)
        if score == "vpin":
            level, side = obs.vpin, obs.order_imbalance
        else:
            level, side = jnp.abs(obs.hawkes_imbalance), obs.hawkes_imbalance
        extra = params.widen * jnp.maximum(level - params.threshold, 0.0)
        shift = params.skew * side
        return quotes.replace(
            bid_depth=quotes.bid_depth + extra - shift,
            ask_depth=quotes.ask_depth + extra + shift,
        )

    return strategy
