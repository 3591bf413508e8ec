"""Cross-venue latency arbitrage on order books (`wmjax.market.VenueBooks`), on the general
rollout.

At each decision the arbitrageur reads every venue's best quotes and the cross-venue spread
per share of buying at venue u and selling at venue v, bid_v - ask_u - fee_u - fee_v
(`cross_venue_spreads`); when the best pair's exceeds `threshold_ticks` it sends a marketable
buy of one lot to u and a marketable sell to v. Its orders reach the venues after its latency
to each: the spread it actually earns, the latency-adjusted spread, is the bid at v when the
sell arrives minus the ask at u when the buy arrives. A venue that reprices late after an
efficient-price move shows a stale quote for its delay; only an arbitrageur whose latency is
shorter earns the spread there (Budish, Cramton & Shim 2015), a slower one pays two half
spreads and the fees.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int, require
from wmjax.execution import Observation, RolloutConfig, order, rollout
from wmjax.market import (
    LitObservation,
    VenueBooks,
    VenueBooksParams,
    VenueOrders,
    status_dict,
    venue_pnl_ticks,
)
from wmjax.strategies._lit_routing import (
    FillModel,
    best_quote_route,
    displayed_size_route,
    predicted_fill_route,
)


@struct.dataclass
class ArbitrageRule:
    """Trade when the best cross-venue spread (fees included) exceeds `threshold_ticks` per
    share; `lot_shares` per leg."""

    threshold_ticks: jax.Array
    lot_shares: jax.Array


def arbitrage_rule(threshold_ticks: float = 0.0, lot_shares: float = 100.0) -> ArbitrageRule:
    """Checked rule (default: any positive spread after fees, one lot of 100 shares)."""
    positive("threshold_ticks", threshold_ticks, allow_zero=True)
    positive("lot_shares", lot_shares)
    return ArbitrageRule(jnp.float32(threshold_ticks), jnp.float32(lot_shares))


def cross_venue_spreads(bid_ticks, ask_ticks, fee_ticks) -> jax.Array:
    """(V, V) spread per share, ticks, of buying at venue u (row) and selling at venue v
    (column): bid_v - ask_u - fee_u - fee_v; -inf on the diagonal."""
    edge = bid_ticks[None, :] - ask_ticks[:, None] - fee_ticks[:, None] - fee_ticks[None, :]
    return jnp.where(jnp.eye(bid_ticks.shape[-1], dtype=bool), -jnp.inf, edge)


def cross_venue_arbitrage(rule: ArbitrageRule, obs: Observation) -> VenueOrders:
    """The rollout policy of the module doc."""
    m = obs.market
    edge = cross_venue_spreads(m.bid_ticks, m.ask_ticks, m.fee_ticks)
    n = edge.shape[0]
    best = jnp.argmax(edge)
    buy, sell = best // n, best % n
    go = jnp.max(edge) > rule.threshold_ticks
    legs = jax.nn.one_hot(buy, n) - jax.nn.one_hot(sell, n)
    return VenueOrders(jnp.where(go, rule.lot_shares, 0.0) * legs)


def venue_session_order(market: VenueBooks, horizon_s: float):
    """The rollout's placeholder parent order for a session of `horizon_s` seconds."""
    return order(1.0, positive("horizon_s", horizon_s) / market.trading_day_s, "buy")


def venue_paths(key, market, params, policy, policy_params, horizon_s, n_steps, n_paths):
    """Run a policy on `n_paths` sessions of `n_steps` decisions over `horizon_s` seconds on the
    general rollout (path keys from `key`); returns its `Paths` (records: `VenueRecord`)."""
    config = RolloutConfig(n_paths=positive_int("n_paths", n_paths, minimum=2), n_steps=n_steps)
    parent = venue_session_order(market, horizon_s)
    return rollout(key, market, params, policy, policy_params, parent, config)


def arbitrage_summary(paths, params: VenueBooksParams) -> dict:
    """Host figures of an arbitrage run: per-path P&L (price units, fees paid, inventory marked
    at the venues' mean mid) with mean and SE, round trips per session, the spread per share
    seen at the decisions it traded on and the latency-adjusted spread it earned (before
    fees, ticks), and the status counters."""
    final, rec = paths.final_state, paths.records
    tick = float(np.asarray(params.book.tick_size)[0])
    pnl = np.asarray(venue_pnl_ticks(final), np.float64) * tick
    sent = np.asarray(rec.sent_shares, np.float64)
    bid, ask = (np.asarray(x, np.float64) for x in (rec.bid_ticks, rec.ask_ticks))
    seen = (np.maximum(-sent, 0) * bid - np.maximum(sent, 0) * ask).sum()
    legs = np.abs(sent).sum() / 2
    s = final.stats
    traded = float(np.asarray(s.bought_shares + s.sold_shares, np.float64).sum()) / 2
    earned = np.asarray(venue_pnl_ticks(final) + s.fees_ticks, np.float64).sum()
    n = pnl.size
    return {
        "pnl": pnl,
        "pnl_mean": float(pnl.mean()),
        "pnl_se": float(pnl.std(ddof=1) / np.sqrt(n)),
        "round_trips_per_session": float((np.abs(sent).sum(-1) > 0).sum() / n),
        "seen_spread_ticks": float(seen / max(legs, 1.0)),
        "latency_adjusted_spread_ticks": float(earned / max(traded, 1.0)),
        "status": status_dict(final.status),
    }


def venue_tie_summary(paths, lag_steps: int = 10) -> dict:
    """How closely two venues' mids move together in a run (venues 0 and 1, host figures, the
    quotes seen at each decision): the correlation of their mids' changes over `lag_steps`
    decisions, and the variance of their gap mid_1 - mid_0 (ticks²) across paths at the first
    decision, halfway and at the last one (it grows with time for independent books and stays
    flat for cointegrated ones)."""
    lag = positive_int("lag_steps", lag_steps)
    rec = paths.records
    mid = 0.5 * (np.asarray(rec.bid_ticks, np.float64) + np.asarray(rec.ask_ticks, np.float64))
    change = mid[:, lag:, :2] - mid[:, :-lag, :2]
    a, b = change[..., 0].ravel(), change[..., 1].ravel()
    gap = mid[..., 1] - mid[..., 0]
    n = gap.shape[1]
    return {
        "mid_change_correlation": float(np.corrcoef(a, b)[0, 1]),
        "gap_variance_ticks2": [float(gap[:, i].var()) for i in (1, n // 2, n - 1)],
    }


ROUTERS = ("predicted_fill", "best_quote", "displayed_size")


@struct.dataclass
class BookRoute:
    """A marketable buy of `quantity_shares` routed across the book venues at decision
    `route_step` (nothing before or after) by one of `ROUTERS` (`router`: one-hot weights, so
    that every router runs in one compiled rollout); `fade_per_s` is the predicted-fill
    router's belief (`wmjax.strategies.FillModel`); depth is shown to the routers in lots of
    `lot_shares`."""

    router: jax.Array
    fade_per_s: jax.Array
    quantity_shares: jax.Array
    route_step: jax.Array
    lot_shares: jax.Array


def book_route(
    router: str, quantity_shares: float, route_step: int, fade_per_s: float = 0.0, lot=100.0
):
    """Checked `BookRoute` params (`router` one of `ROUTERS`)."""
    require(router in ROUTERS, f"router must be one of {ROUTERS}, got {router!r}")
    positive("quantity_shares", quantity_shares)
    positive("fade_per_s", fade_per_s, allow_zero=True)
    return BookRoute(
        jax.nn.one_hot(ROUTERS.index(router), len(ROUTERS)),
        jnp.float32(fade_per_s),
        jnp.float32(quantity_shares),
        jnp.int32(positive_int("route_step", route_step, minimum=0)),
        jnp.float32(positive("lot", lot)),
    )


def route_across_books(params: BookRoute, obs: Observation) -> VenueOrders:
    """The routers of `wmjax.strategies` (`predicted_fill_route`, `best_quote_route`,
    `displayed_size_route`) on the venues' books: each sees the ask side as displayed lots at
    ticks above the venues' mean mid, with our mean latency and the fees."""
    m = obs.market
    mid_ticks = m.mid / m.tick_size
    lit = LitObservation(
        mid=m.mid,
        displayed_lots=m.ask_depth_shares / params.lot_shares,
        ask_ticks=jnp.where(m.ask_depth_shares > 0, m.ask_level_ticks - mid_ticks, 0.0),
        latency_us=m.latency_us,
        fee_ticks=m.fee_ticks,
        tick_size=m.tick_size,
        lot_shares=params.lot_shares,
    )
    seen = obs.replace(market=lit, remaining_shares=params.quantity_shares)
    splits = jnp.stack(
        [
            predicted_fill_route(FillModel(params.fade_per_s), seen).shares,
            best_quote_route(None, seen).shares,
            displayed_size_route(None, seen).shares,
        ]
    )
    shares = params.router @ splits
    return VenueOrders(jnp.where(obs.step == params.route_step, jnp.round(shares), 0.0))


def routing_cost_bps(paths, route_step: int, miss_ticks: float = 15.0) -> dict:
    """Per path: the cost of the routed buy against the venues' mean mid seen at the routing
    decision, bps (fees included; positive is a cost), from the rollout's records; shares that
    did not fill (beyond a venue's visible depth, or still in flight at the horizon) are
    completed at `miss_ticks` above that mid (default: the 10 seeded levels plus the book's
    5-tick beyond-depth penalty). Returns {"cost_bps", "completion"} (arrays)."""
    positive("miss_ticks", miss_ticks)
    rec = paths.records
    filled = np.asarray(rec.filled_shares, np.float64).sum((1, 2))
    sent = np.asarray(rec.sent_shares, np.float64).sum((1, 2))
    require(bool(np.all(sent > 0)), f"nothing was routed at route_step={route_step}")
    bid = np.asarray(rec.bid_ticks, np.float64)[:, route_step]
    ask = np.asarray(rec.ask_ticks, np.float64)[:, route_step]
    mid = 0.5 * (bid + ask).mean(-1)
    ref = np.asarray(paths.final_state.stats.ref_ticks, np.float64)
    paid = -np.asarray(rec.cash_ticks, np.float64).sum(1)  # ticks x shares relative to ref
    cost = paid - filled * (mid - ref) + (sent - filled) * miss_ticks
    return {"cost_bps": cost / (sent * mid) * 1e4, "completion": filled / sent}
