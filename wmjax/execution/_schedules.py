"""Schedules as policies: a trade list (fractions of the parent order per interval) played out
by one policy function, plus POV, which follows the market's volume as it prints.

Every schedule completes the order: the last interval trades whatever remains.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import finite_array, positive, positive_int, require
from wmjax.execution._almgren_chriss import almgren_chriss
from wmjax.execution._rollout import Observation


def check_fractions(fractions) -> np.ndarray:
    """A trade list as fractions of the parent order: finite, 1-D, summing to 1 (InputError
    otherwise: a schedule that does not complete the order)."""
    arr = finite_array("schedule fractions", fractions, ndim=1)
    require(arr.size >= 1, "a schedule needs at least one period")
    total = float(arr.sum())
    require(
        abs(total - 1.0) < 1e-4,
        f"schedule fractions sum to {total:.6g}, not 1: the schedule does not complete the "
        "order; normalise them (fractions / fractions.sum())",
    )
    return arr


def schedule(fractions) -> jax.Array:
    """Checked float32 policy params for `schedule_policy` from a trade list of fractions."""
    return jnp.asarray(check_fractions(fractions), jnp.float32)


def _require_one_per_step(what: str, params: jax.Array, n_steps: int) -> None:
    # shapes are static, so this runs once at trace time, under jit and vmap alike
    require(
        jnp.shape(params)[-1:] == (n_steps,),
        f"{what} must hold one value per decision interval: got shape {jnp.shape(params)} for "
        f"{n_steps} steps (RolloutConfig.n_steps); give {n_steps} values",
    )


def schedule_policy(fractions: jax.Array, obs: Observation) -> jax.Array:
    """Trade fractions[step] * quantity (shares); the last interval trades what remains.
    `fractions` must have one entry per step (InputError otherwise)."""
    _require_one_per_step("schedule fractions", fractions, obs.n_steps)
    planned = fractions[obs.step] * obs.order.quantity_shares
    return jnp.where(obs.step == obs.n_steps - 1, obs.remaining_shares, planned)


def free_schedule_policy(logits: jax.Array, obs: Observation) -> jax.Array:
    """The free parametric schedule: one logit per interval, fractions = softmax(logits), so
    every parameter value completes the order (zeros: TWAP). One logit per step (InputError
    otherwise)."""
    _require_one_per_step("schedule logits", logits, obs.n_steps)
    return schedule_policy(jax.nn.softmax(logits), obs)


def twap(n_steps: int) -> jax.Array:
    """Equal shares in every interval."""
    n = positive_int("n_steps (periods)", n_steps)
    return schedule(np.full(n, 1.0 / n))


def vwap(volume_profile) -> jax.Array:
    """Shares in proportion to the expected volume of each interval (`volume_frac`)."""
    profile = positive("volume_profile", volume_profile)
    return schedule(profile / profile.sum())


def aggressive(n_steps: int, decay: float = float("inf")) -> jax.Array:
    """Front-loaded: fractions proportional to exp(-decay * k); decay = inf trades everything in
    the first interval (immediate)."""
    n = positive_int("n_steps (periods)", n_steps)
    immediate = decay == float("inf")
    d = 0.0 if immediate else float(positive("decay", decay))
    weights = np.zeros(n) if immediate else np.exp(-d * np.arange(n))
    weights[0] = max(weights[0], 1.0)
    return schedule(weights / weights.sum())


def ac_optimal(n_steps: int, horizon, sigma, eta, gamma=0.0, risk_aversion=0.0) -> jax.Array:
    """The Almgren-Chriss optimal trade list as fractions (it does not depend on X)."""
    sol = almgren_chriss(1.0, horizon, n_steps, sigma, eta, gamma, 0.0, risk_aversion)
    return schedule(sol.trades)


@struct.dataclass
class POVParams:
    """Percentage of volume: trade `rate` * the interval's market volume (capped by what
    remains); if `finish_at_end` > 0 the last interval trades the rest (completion rule),
    otherwise the order may end incomplete."""

    rate: jax.Array
    finish_at_end: jax.Array


def pov(rate: float, finish_at_end: bool = True) -> POVParams:
    """Checked POV params: 0 < rate <= 1."""
    r = float(positive("rate (participation)", rate))
    require(r <= 1.0, f"rate (participation) must be <= 1, got {r}")
    return POVParams(jnp.float32(r), jnp.float32(1.0 if finish_at_end else 0.0))


def pov_policy(params: POVParams, obs: Observation) -> jax.Array:
    """Shares = min(rate * market volume of the interval, remaining); see `POVParams`."""
    trade = jnp.minimum(params.rate * obs.market.volume_shares, obs.remaining_shares)
    finish = (obs.step == obs.n_steps - 1) & (params.finish_at_end > 0)
    return jnp.where(finish, obs.remaining_shares, trade)
