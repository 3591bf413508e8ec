"""Market makers on the Hawkes book: the closed-form agents translated to tick offsets, their
model calibrated on the book, and the evaluation of any maker on the general rollout.

A session is a `wmjax.execution.rollout` of a `wmjax.market.MarketMakingBook` (no second loop):
the rollout's parent order only carries the horizon (`session_order`); inventory, cash, the
inventory penalty, drawdown and mark-outs are in the market's final state.

Units of the closed-form agents on the book: price in ticks, time in seconds, inventory in lots
of `lot_shares`. Their model (Avellaneda & Stoikov 2008: fills at depth delta with intensity
A·exp(-k·delta), Brownian mid of volatility sigma) is fitted to the book by `calibrate_quote_model`:
A and k by least squares of log fill intensity on depth over fixed quotes at 0, 1, 2 ticks
behind the touch, sigma from the mid's variance over the session. A quote at depth delta from
the mid becomes the candidate offset nearest to delta - spread / 2 behind our best quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import positive, positive_int, require
from wmjax.execution import Observation, RolloutConfig, order, rollout
from wmjax.market import (
    MarketMakingBook,
    QuoteAction,
    QuoteObservation,
    quote_config,
    status_dict,
)
from wmjax.strategies._market_makers import (
    DepthTable,
    as_inventory_quotes,
    avellaneda_stoikov,
    cjp_table,
    glft_table,
    table_quotes,
)
from wmjax.strategies._toxicity_aware import toxicity_aware, toxicity_aware_strategy


def session_order(market: MarketMakingBook, horizon_s: float):
    """The rollout's placeholder parent order for a session of `horizon_s` seconds (a market
    maker has none: only its horizon is read)."""
    return order(1.0, positive("horizon_s", horizon_s) / market.trading_day_s, "buy")


def quote_observation(obs: Observation, lot_shares: float, trading_day_s: float):
    """The book observation as the closed-form agents' `QuoteObservation`: mid in ticks,
    inventory in lots, cash = mark-to-market P&L in ticks x lots, time left in seconds."""
    m = obs.market
    lot_ticks = lot_shares * m.tick_size
    return QuoteObservation(
        mid=m.mid / m.tick_size,
        inventory=m.inventory_shares / lot_shares,
        cash=m.pnl / lot_ticks,
        time_left=obs.time_left_days * trading_day_s,
        step=obs.step,
        vpin=m.vpin,
        order_imbalance=m.order_imbalance,
        hawkes_imbalance=m.hawkes_imbalance,
    )


@dataclass(frozen=True)
class BookQuoting:
    """A quoting strategy `(params, QuoteObservation) -> Quotes` (depths in ticks from the mid)
    as a policy on `MarketMakingBook`: one lot per quoted side, at the candidate offset nearest
    to the depth (hashable: usable as `rollout`'s policy)."""

    strategy: Any
    offsets_ticks: tuple[int, ...]
    lot_shares: float = 100.0
    trading_day_s: float = 23400.0

    def __call__(self, params, obs: Observation) -> QuoteAction:
        q = quote_observation(obs, self.lot_shares, self.trading_day_s)
        quotes = self.strategy(params, q)
        offsets = jnp.asarray(self.offsets_ticks, jnp.float32)
        half = 0.5 * obs.market.spread_ticks

        def logits(depth):
            return -jnp.abs(offsets - (depth - half))

        lot = jnp.float32(self.lot_shares)
        return QuoteAction(
            bid_shares=jnp.where(quotes.bid_on, lot, 0.0),
            ask_shares=jnp.where(quotes.ask_on, lot, 0.0),
            bid_logits=logits(quotes.bid_depth),
            ask_logits=logits(quotes.ask_depth),
        )


@dataclass(frozen=True)
class FixedQuotes:
    """Policy: `params` = (bid offset index, ask offset index, shares per side), every step."""

    n_offsets: int

    def __call__(self, params, obs: Observation) -> QuoteAction:
        bid, ask, shares = params
        return QuoteAction(
            bid_shares=jnp.float32(shares),
            ask_shares=jnp.float32(shares),
            bid_logits=jax.nn.one_hot(bid, self.n_offsets),
            ask_logits=jax.nn.one_hot(ask, self.n_offsets),
        )


@struct.dataclass
class QuotedTable:
    """A `DepthTable` with its unquoted entries (NaN depths) as masks, so that every leaf is
    finite (the rollout refuses NaN params): `bid_on` / `ask_on` say where a side is quoted."""

    table: DepthTable
    bid_on: jax.Array
    ask_on: jax.Array


def quoted_table(table: DepthTable) -> QuotedTable:
    """Split a depth table into finite depths and quoted-side masks."""
    bid_on, ask_on = jnp.isfinite(table.bid), jnp.isfinite(table.ask)
    finite = table.replace(
        bid=jnp.nan_to_num(table.bid),
        ask=jnp.nan_to_num(table.ask),
        log_omega0=jnp.nan_to_num(table.log_omega0),
    )
    return QuotedTable(finite, bid_on, ask_on)


def quoted_table_quotes(params: QuotedTable, obs: QuoteObservation):
    """`table_quotes` with the masks of `quoted_table`."""
    quotes = table_quotes(params.table, obs)
    m = params.table.max_inventory
    idx = jnp.clip(obs.inventory.astype(jnp.int32) + m, 0, 2 * m)
    return quotes.replace(bid_on=params.bid_on[obs.step, idx], ask_on=params.ask_on[obs.step, idx])


def maker_paths(key, market, params, policy, policy_params, horizon_s, n_steps, n_paths):
    """Run a maker on `n_paths` sessions of `n_steps` decisions over `horizon_s` seconds on the
    general rollout; returns its `Paths` (`.shares`: net shares bought per decision; the
    market's final state per path, `.final_state`, holds the stats and the status)."""
    config = RolloutConfig(n_paths=n_paths, n_steps=n_steps)
    return rollout(
        key, market, params, policy, policy_params, session_order(market, horizon_s), config
    )


def maker_objective(final_state, tick_size, lot_shares, phi):
    """Per path: P&L (price units, inventory marked at the final mid) - phi x integral of
    inventory² dt (phi in price units per lot² per second); traceable."""
    s = final_state.stats
    mid_ticks = 0.5 * jnp.sum(final_state.anchor_ticks, axis=-1).astype(jnp.float32)
    pnl = (s.cash_ticks + s.inventory_shares * (mid_ticks - s.ref_ticks)) * tick_size
    return pnl, pnl - phi * s.inventory_sq_s / lot_shares**2


def maker_summary(final_state, horizon_s, tick_size, lot_shares, phi) -> dict:
    """Figures of one maker's paths (host numbers): per-path `objective` and `pnl` arrays, their
    means and SEs, fills per second (lots), mean |final inventory| (lots), inventory risk (mean
    integral of q² dt, lots² s), adverse selection (ticks per filled share, `markout_s` later),
    max drawdown (price units), and the status counters."""
    pnl, obj = (
        np.asarray(x, np.float64) for x in maker_objective(final_state, tick_size, lot_shares, phi)
    )
    s = final_state.stats
    n = pnl.size
    fills = np.asarray(s.bought_shares + s.sold_shares, np.float64)
    markout = float(np.sum(np.asarray(s.markout_shares, np.float64)))
    return {
        "objective": obj,
        "pnl": pnl,
        "objective_mean": float(obj.mean()),
        "objective_se": float(obj.std(ddof=1) / np.sqrt(n)),
        "pnl_mean": float(pnl.mean()),
        "pnl_std": float(pnl.std(ddof=1)),
        "fills_lots_per_s": float(fills.mean() / lot_shares / horizon_s),
        "mean_abs_final_inventory_lots": float(
            np.abs(np.asarray(s.inventory_shares)).mean() / lot_shares
        ),
        "inventory_risk_lots2_s": float(np.asarray(s.inventory_sq_s).mean() / lot_shares**2),
        "adverse_selection_ticks": float(np.sum(np.asarray(s.adverse_share_ticks)))
        / max(markout, 1.0),
        "adverse_share_ticks": np.asarray(s.adverse_share_ticks, np.float64),
        "max_drawdown_mean": float(np.asarray(s.max_drawdown_ticks).mean() * tick_size),
        "status": status_dict(final_state.status),
    }


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean of b - a over the same paths, its standard error)."""
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def calibrate_quote_model(
    key,
    market: MarketMakingBook,
    params,
    horizon_s: float,
    n_steps: int,
    n_paths: int = 256,
    lot_shares: float = 100.0,
) -> dict:
    """Fit the closed-form agents' model to the book: fill intensity A·exp(-k·delta) per side
    (lots per second, delta in ticks from the mid) from fixed one-lot quotes at offsets 0, 1
    and 2 (delta = spread / 2 + offset; the seed spread is one tick), and sigma (ticks per
    sqrt(s)) of the mid. Returns {"A", "k", "sigma", "depths", "rates"}."""
    positive_int("n_paths", n_paths, minimum=2)
    offsets = [o for o in (0, 1, 2) if o in market.offsets_ticks]
    require(len(offsets) >= 2, "calibration needs offsets 0 and 1 (and 2) in offsets_ticks")
    policy = FixedQuotes(market.n_offsets)
    rates, sigma2 = [], []
    for o in offsets:
        i = market.offsets_ticks.index(o)
        final = maker_paths(
            key, market, params, policy, (i, i, lot_shares), horizon_s, n_steps, n_paths
        ).final_state
        s = final.stats
        fills = np.asarray(s.bought_shares + s.sold_shares, np.float64) / lot_shares / 2
        rates.append(max(fills.mean() / horizon_s, 1e-6))
        mid = 0.5 * np.asarray(final.anchor_ticks, np.float64).sum(-1)
        sigma2.append(np.var(mid - np.asarray(s.ref_ticks, np.float64)) / horizon_s)
    depth = 0.5 + np.asarray(offsets, np.float64)
    slope, intercept = np.polyfit(depth, np.log(rates), 1)
    return {
        "A": float(np.exp(intercept)),
        "k": float(max(-slope, 1e-3)),
        "sigma": float(np.sqrt(np.mean(sigma2))),
        "depths": depth.tolist(),
        "rates": [float(r) for r in rates],
    }


def closed_form_makers(
    model: dict,
    market: MarketMakingBook,
    horizon_s: float,
    n_decisions: int,
    phi: float,
    gammas=(0.03, 0.1, 0.3, 1.0),
    terminal_penalties=(0.0, 1.0),
    lot_shares: float = 100.0,
    max_inventory: int = 20,
) -> dict[str, dict[str, tuple]]:
    """Candidate closed-form makers on the book per family ("as", "glft", "cjp"): name ->
    (policy, params), from the calibrated `model` (`calibrate_quote_model`): AS and GLFT for
    each risk aversion in `gammas` (per tick per lot), CJP with the objective's running
    penalty `phi` (price units per lot² per second; a tick on a lot is tick_size x lot_shares
    price units) and each terminal penalty."""
    config = quote_config(n_decisions, horizon_s / n_decisions)
    a, k, sigma = model["A"], model["k"], model["sigma"]

    def policy(strategy):
        return BookQuoting(strategy, market.offsets_ticks, lot_shares, market.trading_day_s)

    out = {
        "as": {
            f"as g={g:g}": (policy(as_inventory_quotes), avellaneda_stoikov(g, sigma, k))
            for g in gammas
        },
        "glft": {
            f"glft g={g:g}": (
                policy(quoted_table_quotes),
                quoted_table(glft_table(g, sigma, a, k, config, max_inventory)),
            )
            for g in gammas
        },
        "cjp": {
            f"cjp alpha={t:g}": (
                policy(quoted_table_quotes),
                quoted_table(cjp_table(k, a, a, phi, t, config, max_inventory)),
            )
            for t in terminal_penalties
        },
    }
    return out


def toxicity_aware_maker(
    market, base_params, widen, skew, threshold, lot_shares=100.0, score: str = "vpin"
):
    """The Avellaneda-Stoikov maker widened and skewed by a toxicity score on the book
    (`toxicity_aware_strategy`; widen and skew in ticks): `score` "vpin" (the tape's VPIN and
    signed imbalance) or "hawkes" (the flow's market-order intensity imbalance)."""
    strategy = toxicity_aware_strategy(as_inventory_quotes, score)
    policy = BookQuoting(strategy, market.offsets_ticks, lot_shares, market.trading_day_s)
    return policy, toxicity_aware(base_params, widen, skew, threshold)
