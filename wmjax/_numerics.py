"""Float helpers shared by every layer."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def divide_where(ok, num, den) -> jax.Array:
    """num / den where `ok`, else 0, with a finite gradient in both branches: the denominator
    is replaced by 1 where not `ok`, because the unused branch's derivative (1 / 0, or the
    order-1e60 slope of a division by a tiny floor, past float32) times its zero cotangent is
    a NaN."""
    return jnp.where(ok, num / jnp.where(ok, den, 1.0), 0.0)


def fill_in_order(quantity, sizes) -> jax.Array:
    """Shares taken from each of `sizes` (last axis, in order) by `quantity` walking them: level
    i takes clip(quantity - sum(sizes[:i]), 0, sizes[i]), written with selects, not `clip`. The
    value is the same; the slope is not: clip splits its slope at a tie (1/2 to each bound), so
    where `quantity` ends exactly at a level's edge, or every size is 0 (0 = reach = size), the
    slopes over `quantity` sum past 1 (4 over 16 empty levels) and chained walks multiply them
    until a gradient overflows. With selects only the level `quantity` ends strictly inside
    has slope 1."""
    reach = quantity - (jnp.cumsum(sizes, axis=-1) - sizes)
    return jnp.where(reach <= 0.0, 0.0, jnp.where(reach >= sizes, sizes, reach))
