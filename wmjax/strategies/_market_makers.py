"""Closed-form market makers: Avellaneda-Stoikov, Guéant-Lehalle-Fernandez-Tapia and
Cartea-Jaimungal-Penalva.

Depths are in price units from the mid; `q` is the inventory in units. Each agent is a strategy
`(params, QuoteObservation) -> Quotes` for `wmjax.strategies.simulate_quotes` (and any market that
shows the same observation).

- Avellaneda & Stoikov (2008), finite horizon: reservation price r = s - q·gamma·sigma²·(T - t)
  and total spread gamma·sigma²·(T - t) + (2/gamma)·ln(1 + gamma/k), quoted symmetrically around
  r (the "inventory" strategy) or around the mid (the "symmetric" strategy).
- Guéant, Lehalle & Fernandez-Tapia (2013): with alpha = k·gamma·sigma²/2 and
  eta = A·(1 + gamma/k)^-(1 + k/gamma), v(t) = exp(-M·(T - t))·1 for the tridiagonal
  M_qq = alpha·q², M_q,q±1 = -eta on q in [-Q, Q]; depths
  delta_bid(q) = (1/k)·ln(v_q / v_{q+1}) + (1/gamma)·ln(1 + gamma/k) and
  delta_ask(q) = (1/k)·ln(v_q / v_{q-1}) + (1/gamma)·ln(1 + gamma/k); no bid at Q, no ask at -Q.
- Cartea, Jaimungal & Penalva (2015, ch. 10): risk-neutral maker with running inventory penalty
  phi and terminal penalty alpha; omega(t) = exp(A·(T - t))·z with A_qq = -kappa·phi·q²,
  A_q,q-1 = lambda+·e^-1, A_q,q+1 = lambda-·e^-1, z_q = exp(-kappa·alpha·q²);
  delta_ask(q) = 1/kappa + (1/kappa)·ln(omega_q / omega_{q-1}), and the bid with q+1. When every
  market order moves the mid by epsilon (§10.4) the depths become epsilon + the same formula with
  both arrival rates scaled by exp(-kappa·epsilon) (plus a drift kappa·epsilon·q·(lambda+ -
  lambda-) on the diagonal when the two rates differ).

Both matrix-exponential agents are one solver: omega(t_k) = exp(A·dt)·omega(t_{k+1}) backward from
the horizon, renormalised each step (the depths use ratios only; the log scale is kept so that
the value function is available too).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import struct

from wmjax._checks import positive, positive_int
from wmjax.market._quote_market import QuoteConfig, QuoteObservation, Quotes


@struct.dataclass
class AvellanedaStoikov:
    """Params of the Avellaneda-Stoikov agent: risk aversion gamma (per price unit), the mid's
    sigma (price units per sqrt(time)) and the fill decay k (per price unit)."""

    gamma: jax.Array
    sigma: jax.Array
    decay_k: jax.Array


def avellaneda_stoikov(gamma: float, sigma: float, decay_k: float) -> AvellanedaStoikov:
    """Checked Avellaneda-Stoikov params (all > 0)."""
    for name, value in (("gamma", gamma), ("sigma", sigma), ("decay_k", decay_k)):
        positive(name, value)
    return AvellanedaStoikov(jnp.float32(gamma), jnp.float32(sigma), jnp.float32(decay_k))


def as_spread(params: AvellanedaStoikov, time_left):
    """Total quoted spread gamma·sigma²·(T - t) + (2/gamma)·ln(1 + gamma/k), price units."""
    g = params.gamma
    return g * params.sigma**2 * time_left + (2.0 / g) * jnp.log1p(g / params.decay_k)


def as_inventory_quotes(params: AvellanedaStoikov, obs: QuoteObservation) -> Quotes:
    """Quotes around the reservation price r = s - q·gamma·sigma²·(T - t)."""
    half = 0.5 * as_spread(params, obs.time_left)
    skew = obs.inventory * params.gamma * params.sigma**2 * obs.time_left
    on = jnp.bool_(True)
    return Quotes(bid_depth=skew + half, ask_depth=half - skew, bid_on=on, ask_on=on)


def as_symmetric_quotes(params: AvellanedaStoikov, obs: QuoteObservation) -> Quotes:
    """The same spread centred on the mid (Avellaneda & Stoikov's benchmark strategy)."""
    half = 0.5 * as_spread(params, obs.time_left)
    on = jnp.bool_(True)
    return Quotes(bid_depth=half, ask_depth=half, bid_on=on, ask_on=on)


@struct.dataclass
class DepthTable:
    """Depths per decision step and inventory: `bid`/`ask` of shape (n_steps, 2Q + 1), index
    q + Q; `log_omega0` is log omega(0) (for CJP: kappa·value function at t = 0 minus cash and
    q·S; for GLFT: log v(0)). NaN depth means the side is not quoted."""

    bid: jax.Array
    ask: jax.Array
    log_omega0: jax.Array
    max_inventory: int = struct.field(pytree_node=False)


def table_quotes(table: DepthTable, obs: QuoteObservation) -> Quotes:
    """Look the quotes up in a precomputed table at the current step and inventory."""
    idx = jnp.clip(
        obs.inventory.astype(jnp.int32) + table.max_inventory, 0, 2 * table.max_inventory
    )
    bid, ask = table.bid[obs.step, idx], table.ask[obs.step, idx]
    return Quotes(
        bid_depth=jnp.nan_to_num(bid),
        ask_depth=jnp.nan_to_num(ask),
        bid_on=jnp.isfinite(bid),
        ask_on=jnp.isfinite(ask),
    )


def _depth_table(diag, up, down, terminal, decay_k, constant, config, max_inventory):
    """Solve omega' = -A·omega backward on the decision grid and turn it into depths.

    A = diag(diag) + `up` on the super-diagonal (coefficient of omega_{q+1}) + `down` on the
    sub-diagonal (coefficient of omega_{q-1}); `terminal` is omega(T).
    """
    n = 2 * max_inventory + 1
    a = jnp.diag(diag) + up * jnp.eye(n, k=1) + down * jnp.eye(n, k=-1)
    propagator = jax.scipy.linalg.expm(a * config.dt)

    def back(carry, _):
        omega, log_scale = carry
        omega = propagator @ omega
        top = omega.max()
        return (omega / top, log_scale + jnp.log(top)), omega / top

    (omega0, log_scale0), omegas = jax.lax.scan(
        back, (terminal, jnp.zeros((), terminal.dtype)), None, length=config.n_steps
    )
    omegas = omegas[::-1]  # omegas[k] = omega(t_k) up to scale, t_k = k·dt
    log_w = jnp.log(omegas)
    nan = jnp.full((config.n_steps, 1), jnp.nan, log_w.dtype)
    bid = constant + (log_w - jnp.concatenate([log_w[:, 1:], nan], axis=1)) / decay_k
    ask = constant + (log_w - jnp.concatenate([nan, log_w[:, :-1]], axis=1)) / decay_k
    return DepthTable(
        bid=bid,
        ask=ask,
        log_omega0=jnp.log(omega0) + log_scale0,
        max_inventory=max_inventory,
    )


def glft_table(
    gamma, sigma, mo_rate, decay_k, config: QuoteConfig, max_inventory: int = 20
) -> DepthTable:
    """Exact Guéant-Lehalle-Fernandez-Tapia (2013) quotes on the decision grid of `config`."""
    max_inventory = positive_int("max_inventory", max_inventory)
    return _glft_table(gamma, sigma, mo_rate, decay_k, config, max_inventory)


@partial(jax.jit, static_argnames=("config", "max_inventory"))
def _glft_table(gamma, sigma, mo_rate, decay_k, config, max_inventory):
    """`glft_table`'s computation, compiled once per (config, max_inventory)."""
    q = jnp.arange(-max_inventory, max_inventory + 1, dtype=jnp.result_type(float))
    alpha = 0.5 * decay_k * gamma * sigma**2
    eta = mo_rate * (1.0 + gamma / decay_k) ** (-(1.0 + decay_k / gamma))
    constant = jnp.log1p(gamma / decay_k) / gamma
    return _depth_table(
        -alpha * q**2, eta, eta, jnp.ones_like(q), decay_k, constant, config, max_inventory
    )


def glft_asymptotic_depths(gamma, sigma, mo_rate, decay_k, inventory):
    """GLFT's closed-form approximation far from the horizon: (bid, ask) depths at `inventory`,
    delta_bid ≈ (1/gamma)·ln(1 + gamma/k) + (2q + 1)/2·c and delta_ask with -(2q - 1)/2·c, where
    c = sqrt(sigma²·gamma / (2·k·A) · (1 + gamma/k)^(1 + k/gamma))."""
    base = jnp.log1p(gamma / decay_k) / gamma
    c = jnp.sqrt(
        sigma**2 * gamma / (2 * decay_k * mo_rate) * (1 + gamma / decay_k) ** (1 + decay_k / gamma)
    )
    return base + (2 * inventory + 1) / 2 * c, base - (2 * inventory - 1) / 2 * c


def cjp_table(
    kappa,
    buy_rate,
    sell_rate,
    running_penalty,
    terminal_penalty,
    config: QuoteConfig,
    max_inventory: int = 20,
    jump=0.0,
) -> DepthTable:
    """Cartea-Jaimungal-Penalva (2015) optimal depths of a risk-neutral market maker.

    Args:
        kappa: fill decay per price unit of depth.
        buy_rate, sell_rate: buy (lifting our ask) and sell market orders per unit time.
        running_penalty: phi, per unit time per unit² of inventory.
        terminal_penalty: alpha, price units per unit² liquidated at the horizon.
        jump: epsilon, the mid's move in the direction of each market order (adverse selection).
    """
    max_inventory = positive_int("max_inventory", max_inventory)
    return _cjp_table(
        kappa, buy_rate, sell_rate, running_penalty, terminal_penalty, config, max_inventory, jump
    )


@partial(jax.jit, static_argnames=("config", "max_inventory"))
def _cjp_table(
    kappa, buy_rate, sell_rate, running_penalty, terminal_penalty, config, max_inventory, jump
):
    """`cjp_table`'s computation, compiled once per (config, max_inventory)."""
    q = jnp.arange(-max_inventory, max_inventory + 1, dtype=jnp.result_type(float))
    damp = jnp.exp(-1.0 - kappa * jump)
    # The jumps of unfilled orders add q·epsilon·(buy_rate - sell_rate) to the value's drift.
    drift = kappa * jump * (buy_rate - sell_rate) * q
    return _depth_table(
        drift - kappa * running_penalty * q**2,
        sell_rate * damp,  # omega_{q+1}: our bid filled by a sell market order
        buy_rate * damp,  # omega_{q-1}: our ask lifted by a buy market order
        jnp.exp(-kappa * terminal_penalty * q**2),
        kappa,
        1.0 / kappa + jump,
        config,
        max_inventory,
    )
