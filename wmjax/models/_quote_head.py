"""The head shared by the learned quoting policies (placement, market making): an MLP from
features to logits over discrete quote levels (and size logits), whose last layer starts at
zero so a fresh policy acts through the last layer's bias alone."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from wmjax._checks import require


def logits_mlp(x: jax.Array, hidden: int, n_out: int) -> jax.Array:
    """Two tanh layers of `hidden` units and a zero-initialised linear output of `n_out`
    (call inside a module's `nn.compact` method)."""
    h = nn.tanh(nn.Dense(hidden)(x))
    h = nn.tanh(nn.Dense(hidden)(h))
    return nn.Dense(n_out, kernel_init=nn.initializers.zeros)(h)


def level_index(policy_levels: int, offsets_ticks: tuple[int, ...], init_level: int) -> int:
    """Index of `init_level` in the market's `offsets_ticks`, with InputErrors naming a level
    the market lacks or a policy built for another number of levels."""
    require(
        len(offsets_ticks) == policy_levels,
        f"the policy has {policy_levels} levels but the market {len(offsets_ticks)}",
    )
    require(
        init_level in offsets_ticks,
        f"init_level={init_level} is not one of the market's offsets {offsets_ticks}",
    )
    return offsets_ticks.index(init_level)


def biased_init(net: nn.Module, key, n_features: int, bias: jax.Array) -> dict:
    """Variables of `net` (built on `logits_mlp`) with the output layer's bias set to `bias`."""
    params = net.init(key, jnp.zeros(n_features, jnp.float32))["params"]
    last = max(name for name in params if name.startswith("Dense_"))
    return {"params": {**params, last: {**params[last], "bias": bias}}}
