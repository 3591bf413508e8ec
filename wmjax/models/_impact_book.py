"""Metaorders executed on the book world, for `MarketImpactModel` and the square-root law.

A metaorder of X shares over T seconds is a TWAP of market orders (`book_schedule` "twap_market":
each interval sends what the order is behind the straight line, the clean-up takes the rest)
on `BookMarket`, whose Hawkes order flow does not react to it: the impact is the book's own
mechanics (walking the levels, the refill by limit orders placed relative to the new quotes).
Each metaorder runs on its own market, drawn over the flow's rate and the book's depth, with
`n_paths` independent paths; its labels are path means (with their standard errors), in the
units of `simulate_metaorders` so that one model and one training function serve both worlds.

ADV here is the flow's market-order volume rate times the trading day, and the daily volatility
is the mid's, measured on the same paths (the cross-path spread of the mid's move, pooled over
all metaorders of a batch, per sqrt(day)), as a desk would take both from history.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import InputError, positive_int, require
from wmjax.execution import Order, RolloutConfig, book_paths, book_schedule, book_schedule_policy
from wmjax.market import BookMarket, book_params
from wmjax.models._impact_model import impact_features


@dataclass(frozen=True)
class BookMetaorderDistribution:
    """Log-uniform ranges: size (shares), horizon (s), the flow's rate scale and the seed
    book's depth per level (shares); the default book has ~240 shares/s of market volume and
    500 shares per level."""

    size_shares: tuple[float, float] = (100.0, 3000.0)
    horizon_s: tuple[float, float] = (8.0, 40.0)
    rate_scale: tuple[float, float] = (0.6, 1.5)
    depth_shares: tuple[float, float] = (250.0, 1000.0)

    def sample(self, key: jax.Array, n: int) -> dict:
        """n draws, float32 arrays (n,) named as the fields."""
        out = {}
        names = ("size_shares", "horizon_s", "rate_scale", "depth_shares")
        for name, k in zip(names, jax.random.split(key, len(names)), strict=True):
            lo, hi = np.log(getattr(self, name))
            out[name] = jnp.exp(lo + jax.random.uniform(k, (n,)) * (hi - lo))
        return out


def _markets(draws: dict):
    # one BookParams per metaorder, stacked (book_params checks each; the flow's decay is the
    # same for all, so its static decay structure is shared and the stack vmaps)
    params = [
        book_params(rate_scale=float(r), depth_shares=float(d))
        for r, d in zip(
            np.asarray(draws["rate_scale"]), np.asarray(draws["depth_shares"]), strict=True
        )
    ]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *params)


@partial(jax.jit, static_argnames=("market", "n_paths", "n_steps"))
def _execute(keys, params, orders, schedule, market: BookMarket, n_paths: int, n_steps: int):
    config = RolloutConfig(n_paths=n_paths, n_steps=n_steps, shard=False)

    def one(k, mp, o):
        p = book_paths(k, market, mp, book_schedule_policy, schedule, o, config, throw=False)
        shift = (p.final_mid - p.arrival_price) / p.arrival_price * 1e4
        return p.is_bps, shift, p.status

    return jax.vmap(one)(keys, params, orders)


def simulate_book_metaorders(
    key,
    draws: dict,
    *,
    n_paths: int = 32,
    n_steps: int = 8,
    market: BookMarket | None = None,
) -> dict:
    """Execute each drawn metaorder (`BookMetaorderDistribution.sample`) as a TWAP of market
    orders on its book, `n_paths` paths each.

    Returns the draws with "size_adv", "adv_shares", "horizon_days", "daily_volatility",
    "depth" (relative to 500 shares), "urgency", "features" (`impact_features`), and the labels
    "realised_bps" (J = E[IS]), "permanent_bps" (I = E[mid move to the horizon]),
    "temporary_bps" (K = J - (I / 2)(1 - 1 / n_steps), ATHL's decomposition) and
    "realised_se_bps" (the SE of J over paths). Raises InputError naming the buffer to enlarge
    if any path's order flow overflowed `market.events_per_step`.
    """
    n_paths = positive_int("n_paths", n_paths, minimum=2)
    n_steps = positive_int("n_steps", n_steps, minimum=2)
    market = market or BookMarket(events_per_step=512)
    require(isinstance(market, BookMarket), "market must be a BookMarket")
    params = _markets(draws)
    n = draws["size_shares"].shape[0]
    day_s = market.trading_day_s
    horizon_days = draws["horizon_s"] / day_s
    orders = Order(
        quantity_shares=jnp.round(draws["size_shares"]),
        horizon_days=horizon_days,
        side=jnp.ones(n, jnp.float32),
        risk_aversion=jnp.zeros(n, jnp.float32),
    )
    line = 1.0 - np.arange(1, n_steps + 1) / n_steps
    schedule = book_schedule(market, line, 1.0)
    is_bps, shift_bps, status = _execute(
        jax.random.split(key, n), params, orders, schedule, market, n_paths, n_steps
    )
    # lost events (raised, as `check_status` does); level overflow, far from the touch, is not
    lost = {
        k: int(np.sum(np.asarray(getattr(status, k))))
        for k in ("flow_overflow_intervals", "message_overflow")
    }
    if any(lost.values()):
        raise InputError(
            f"simulate_book_metaorders: events were lost {lost}; pass market=BookMarket("
            f"events_per_step=...) above {market.events_per_step}, or shorten horizon_s"
        )
    adv = params.prior_volume_rate_shares_per_s * day_s
    size_adv = orders.quantity_shares / adv
    # the mid's volatility per sqrt(day), pooled over metaorders: the spread of the mid's move
    # across paths (impact is nearly the same on every path of a metaorder)
    var_per_day = jnp.var(shift_bps * 1e-4, axis=1, ddof=1) / horizon_days
    daily_volatility = jnp.full(n, jnp.sqrt(jnp.mean(var_per_day)))
    depth = draws["depth_shares"] / 500.0
    urgency = size_adv / horizon_days
    realised = jnp.mean(is_bps, axis=1)
    permanent = jnp.mean(shift_bps, axis=1)
    return {
        **draws,
        "size_adv": size_adv,
        "adv_shares": adv,
        "horizon_days": horizon_days,
        "daily_volatility": daily_volatility,
        "depth": depth,
        "urgency": urgency,
        "features": impact_features(size_adv, depth, daily_volatility, urgency),
        "realised_bps": realised,
        "realised_se_bps": jnp.std(is_bps, axis=1, ddof=1) / np.sqrt(n_paths),
        "permanent_bps": permanent,
        "temporary_bps": realised - 0.5 * permanent * (1.0 - 1.0 / n_steps),
    }


def fit_square_root_law(data: dict) -> dict:
    """Least squares of J = c + Y sigma sqrt(X / ADV) (bps) on metaorders: c is the constant
    part (half the spread, for a market-order TWAP), Y the square-root law's coefficient
    (Bouchaud, Farmer & Lillo 2009). Returns {"c_bps", "y"}."""
    x = np.asarray(data["daily_volatility"] * jnp.sqrt(data["size_adv"]), float) * 1e4
    a = np.stack([np.ones_like(x), x], axis=1)
    (c, y), *_ = np.linalg.lstsq(a, np.asarray(data["realised_bps"], float), rcond=None)
    return {"c_bps": float(c), "y": float(y)}


def square_root_law_bps(fit: dict, data: dict) -> np.ndarray:
    """`fit_square_root_law`'s prediction of J (bps) for the metaorders in `data`."""
    x = np.asarray(data["daily_volatility"] * jnp.sqrt(data["size_adv"]), float) * 1e4
    return fit["c_bps"] + fit["y"] * x
