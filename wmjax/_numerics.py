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
