"""Latency scenarios and non-negative latency samplers (microseconds).

A `LatencyScenario` says how long a child order takes to reach the market: a mean one-way latency
and a jitter (standard deviation), both in microseconds. Four presets span co-located to retail
access. Samplers draw float32 latencies that are never negative:

- ``"lognormal"``: log-normal with the scenario's mean and standard deviation (moment matched:
  s2 = log(1 + jitter^2 / mean^2), mu = log(mean) - s2 / 2);
- ``"truncnormal"``: normal(mean, jitter) truncated at zero (its mean exceeds `mean` by less than
  1e-6 relative for the presets, whose mean is at least 5 jitters);
- empirical: resampling observed latencies (`sample_empirical_latency_us`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, finite_array, is_concrete, require

LATENCY_SAMPLERS = ("lognormal", "truncnormal")


@struct.dataclass
class LatencyScenario:
    """How fast our orders reach the market.

    Attributes:
        name: label, e.g. ``"standard (cloud)"`` (static).
        one_way_latency_us: mean one-way latency, microseconds (>= 0).
        jitter_us: standard deviation of the latency, microseconds (>= 0).
        co_location: whether the scenario is a co-located server (static).
    """

    name: str = struct.field(pytree_node=False)
    one_way_latency_us: float = 0.0
    jitter_us: float = 0.0
    co_location: bool = struct.field(pytree_node=False, default=False)


CO_LOCATION = LatencyScenario("ultra-low (co-lo)", 25.0, 5.0, True)
PROXIMITY = LatencyScenario("low (proximity)", 200.0, 30.0, False)
CLOUD = LatencyScenario("standard (cloud)", 2000.0, 200.0, False)
RETAIL = LatencyScenario("high (retail)", 50000.0, 5000.0, False)

LATENCY_PRESETS: dict[str, LatencyScenario] = {
    "co-lo": CO_LOCATION,
    "proximity": PROXIMITY,
    "cloud": CLOUD,
    "retail": RETAIL,
}


def latency_scenario(name: str | LatencyScenario) -> LatencyScenario:
    """The preset called `name`, case-insensitive.

    `name` is a short name ("co-lo", "proximity", "cloud", "retail") or a full one
    ("ultra-low (co-lo)", ...). A `LatencyScenario` is checked and returned as is.
    """
    if isinstance(name, LatencyScenario):
        check_latency_scenario(name)
        return name
    key = str(name).strip().lower()
    for short, scenario in LATENCY_PRESETS.items():
        if key in (short, scenario.name.lower()):
            return scenario
    names = ", ".join(f'"{s}"' for s in LATENCY_PRESETS)
    raise InputError(f"unknown latency scenario {name!r}; use one of {names} (or the full names)")


def check_latency_scenario(scenario: LatencyScenario) -> None:
    """Raise InputError unless the scenario's latency and jitter are finite and >= 0."""
    require(
        isinstance(scenario, LatencyScenario),
        f"scenario must be a LatencyScenario, got {type(scenario).__name__}",
    )
    if not is_concrete(scenario.one_way_latency_us, scenario.jitter_us):
        return
    for field in ("one_way_latency_us", "jitter_us"):
        value = finite_array(f"scenario.{field}", getattr(scenario, field))
        require(bool(np.all(value >= 0)), f"scenario.{field} must be >= 0, got {value}")


def _shape(shape) -> tuple[int, ...]:
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)


def sample_latency_us(
    key: jax.Array, scenario: LatencyScenario, shape=(), method: str = "lognormal"
) -> jax.Array:
    """Draw one-way latencies, microseconds, float32 array of `shape`, all >= 0.

    `method` is ``"lognormal"`` (moment matched to mean and jitter) or ``"truncnormal"`` (normal
    truncated at zero). Zero jitter gives the mean exactly. Jit- and vmap-able over `scenario`.
    """
    require(
        method in LATENCY_SAMPLERS,
        f"method must be one of {LATENCY_SAMPLERS}, got {method!r}",
    )
    check_latency_scenario(scenario)
    shape = _shape(shape)
    mean = jnp.asarray(scenario.one_way_latency_us, jnp.float32)
    jitter = jnp.asarray(scenario.jitter_us, jnp.float32)
    has_jitter = (jitter > 0) & (mean > 0)
    safe_mean = jnp.where(has_jitter, mean, 1.0)
    safe_jitter = jnp.where(has_jitter, jitter, 1.0)
    if method == "lognormal":
        s2 = jnp.log1p((safe_jitter / safe_mean) ** 2)
        z = jax.random.normal(key, shape, jnp.float32)
        draw = jnp.exp(jnp.log(safe_mean) - 0.5 * s2 + jnp.sqrt(s2) * z)
    else:
        z = jax.random.truncated_normal(key, -safe_mean / safe_jitter, jnp.inf, shape, jnp.float32)
        draw = jnp.maximum(safe_mean + safe_jitter * z, 0.0)
    return jnp.where(has_jitter, draw, jnp.broadcast_to(mean, shape)).astype(jnp.float32)


def sample_empirical_latency_us(key: jax.Array, observed_us, shape=()) -> jax.Array:
    """Resample observed one-way latencies (microseconds, 1-D, >= 0) with replacement; float32."""
    if is_concrete(observed_us):
        arr = finite_array("observed_us", observed_us, ndim=1)
        require(arr.size >= 1, "observed_us must hold at least one latency")
        require(bool(np.all(arr >= 0)), "observed_us must be >= 0 (latencies cannot be negative)")
    observed = jnp.asarray(observed_us, jnp.float32)
    return jax.random.choice(key, observed, _shape(shape), replace=True)
