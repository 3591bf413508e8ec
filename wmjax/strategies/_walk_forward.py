"""Walk-forward pairs backtest over every pair of a universe at once (vmapped), strictly out of
sample.

For each trading block k (a calendar year, or fixed-length blocks on simulated data) and each
pair (i, j), one jitted call:

1. selects and fits on the `formation_days` before the block only: Engle-Granger of log p_i on
   log p_j (OLS hedge ratio beta, ADF on the residual, MacKinnon 2010 critical value); the pair
   is traded in block k when no-cointegration is rejected at `level` and beta > 0;
2. trades the block: spread X = log p_i - beta log p_j, the A&L OU fit on the 60 points up to and
   including day t (rolling, nothing after t), a rule's position chosen at the close of t and
   held to the close of t + 1; every position is closed on the block's last day;
3. books, per unit of gross capital given to the pair (1 long leg + beta short leg scaled to a
   gross of 1): pos_t (r_i - beta r_j) / (1 + beta) minus `cost_bps` per side on every change
   of position (|pos_t - pos_{t-1}| of the pair's gross traded). The portfolio gives each pair
   selected in the block an equal share of capital, whether or not it is in a position.

Rules: "al" (Avellaneda & Lee 2010 bands with the kappa > 252/30 filter), "bertram" (Bertram
2010 optimal symmetric bands for the round-trip cost in s units, same filter) and
"first_passage" (open at |s| > 1.25, close at the mean, and stop a trade that lasts longer than
the 95% quantile of the OU first-passage time to the mean; Elliott, van der Hoek & Malcolm 2005).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from wmjax._checks import InputError, positive_int, require
from wmjax._numerics import divide_where
from wmjax.calibrate import OUFit, engle_granger, mean_reverting, rolling_ou_fit
from wmjax.strategies._ou_rules import (
    AL_OPEN,
    Bands,
    al_bands,
    band_positions,
    bertram_entry_interpolated,
    first_passage_quantile,
    symmetric_bands,
)

RULES = ("al", "bertram", "first_passage")


@dataclass(frozen=True)
class WalkForwardConfig:
    """Static settings of a walk-forward backtest.

    Attributes:
        formation_days: days before each block used to select pairs and fit hedge ratios.
        window_days: A&L OU window, points (60).
        max_block_days: capacity of one trading block, days (a year has at most 253).
        adf_lags: lagged differences in the Engle-Granger ADF regression.
        level: Engle-Granger test level (0.01, 0.05 or 0.10).
        cost_bps: transaction cost per side, bps of the gross notional traded.
        min_kappa_per_year: A&L mean-reversion filter (252/30).
        fp_quantile: first-passage time stop quantile.
    """

    formation_days: int = 252
    window_days: int = 60
    max_block_days: int = 256
    adf_lags: int = 1
    level: float = 0.05
    cost_bps: float = 5.0
    min_kappa_per_year: float = 252.0 / 30.0
    fp_quantile: float = 0.95


@struct.dataclass
class Layout:
    """Trading blocks: first day index (K,), number of decision days (K,), a label (K,)."""

    block_start: np.ndarray
    block_days: np.ndarray
    label: np.ndarray


@struct.dataclass
class PairBlocks:
    """Every pair in every block (leading axes (K, P); S = window + capacity + 1 points from
    block_start - window). `decision` marks the block's decision days; `pair_return[u]` is the
    return from point u to u + 1 of one unit of spread per unit of gross capital, `leg_returns`
    (K, P, S, 2) the two legs' simple returns from u to u + 1."""

    hedge_ratio: jax.Array
    adf_stat: jax.Array
    selected: jax.Array
    spread: jax.Array
    pair_return: jax.Array
    leg_returns: jax.Array
    decision: jax.Array
    last_day: jax.Array
    fit: OUFit


@struct.dataclass
class RuleResult:
    """One rule's outcome: portfolio return per block day (K, S) (0 off the block), gross traded
    per unit of capital (K, S), and whether each pair held a position in each block (K, P)."""

    daily_return: jax.Array
    daily_turnover: jax.Array
    traded: jax.Array


def calendar_layout(dates: np.ndarray, train_years: int, config: WalkForwardConfig) -> Layout:
    """Yearly blocks from the first year after `train_years` years of `dates` (datetime64)."""
    train_years = positive_int("--train-years", train_years, minimum=0)
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    first = years[0] + train_years
    labels = np.unique(years[years >= first])
    require(labels.size > 0, f"--train-years {train_years} leaves no year to trade")
    start = np.array([np.argmax(years == y) for y in labels])
    days = np.array([(years == y).sum() for y in labels])
    return _checked_layout(start, days, labels, config)


def block_layout(n_days: int, first_day: int, block_days: int, config: WalkForwardConfig):
    """Blocks of `block_days` from `first_day` to the end of an `n_days` series (simulations)."""
    start = np.arange(first_day, n_days, block_days)
    days = np.minimum(block_days, n_days - start)
    return _checked_layout(start, days, np.arange(start.size), config)


def _checked_layout(start, days, labels, config: WalkForwardConfig) -> Layout:
    need = max(config.formation_days, config.window_days)
    if start[0] < need:
        raise InputError(
            f"the first trading block starts on day {start[0]} but needs {need} days of history "
            "(formation and OU windows); train on more years or shorten the windows"
        )
    if days.max() > config.max_block_days:
        raise InputError(
            f"a trading block has {days.max()} days, more than max_block_days = "
            f"{config.max_block_days}; increase it"
        )
    return Layout(
        block_start=start.astype(np.int32), block_days=days.astype(np.int32), label=labels
    )


def all_pairs(n_assets: int) -> np.ndarray:
    """(n (n - 1) / 2, 2) index pairs i < j."""
    i, j = np.triu_indices(n_assets, k=1)
    return np.stack([i, j], axis=1).astype(np.int32)


def pair_blocks(log_prices, pairs, block_start, block_days, config: WalkForwardConfig):
    """Formation fits and trading spreads of every (block, pair); pure, see the module doc."""
    n_days = log_prices.shape[0]
    w, cap, f = config.window_days, config.max_block_days, config.formation_days
    form = jax.vmap(lambda s: jax.lax.dynamic_slice_in_dim(log_prices, s - f, f))(block_start)
    idx = jnp.minimum(block_start[:, None] - w + jnp.arange(w + cap + 1), n_days - 1)
    seg = log_prices[idx]  # (K, S, n)
    rets = jnp.concatenate([jnp.expm1(jnp.diff(seg, axis=1)), jnp.zeros_like(seg[:, :1])], 1)
    u = jnp.arange(w + cap + 1)
    decision = (u >= w) & (u < w + block_days[:, None])  # (K, S)
    last_day = u == w + block_days[:, None] - 1

    def one(form_k, seg_k, rets_k, pair):
        i, j = pair[0], pair[1]
        eg = engle_granger(form_k[:, i], form_k[:, j], lags=config.adf_lags, level=config.level)
        beta = eg.hedge_ratio
        spread = seg_k[:, i] - beta * seg_k[:, j]
        ret = (rets_k[:, i] - beta * rets_k[:, j]) / (1 + jnp.abs(beta))
        fit = rolling_ou_fit(spread, w)
        legs = jnp.stack([rets_k[:, i], rets_k[:, j]], -1)
        return beta, eg.adf_stat, eg.cointegrated & (beta > 0), spread, ret, legs, fit

    per_pair = jax.vmap(one, in_axes=(None, None, None, 0))
    beta, tau, sel, spread, ret, legs, fit = jax.vmap(per_pair, in_axes=(0, 0, 0, None))(
        form, seg, rets, pairs
    )
    return PairBlocks(
        hedge_ratio=beta,
        adf_stat=tau,
        selected=sel,
        spread=spread,
        pair_return=ret,
        leg_returns=legs,
        decision=jnp.broadcast_to(decision[:, None], spread.shape),
        last_day=jnp.broadcast_to(last_day[:, None], spread.shape),
        fit=fit,
    )


def rule_result(blocks: PairBlocks, s, can_open, bands: Bands, max_hold_days, cost_bps):
    """Positions of a band rule on signals s (K, P, S) opened where `can_open`, and the
    portfolio's block-day returns after `cost_bps` per side."""
    can_open = can_open & blocks.selected[..., None] & blocks.decision & ~blocks.last_day
    pos = band_positions(s, can_open, bands, max_hold_days)
    pos = jnp.where(blocks.decision & ~blocks.last_day, pos, 0).astype(jnp.float32)
    change = jnp.abs(jnp.diff(pos, axis=-1, prepend=0.0))
    pnl = pos * blocks.pair_return - cost_bps * 1e-4 * change
    n_sel = jnp.maximum(blocks.selected.sum(1), 1)[:, None]
    return RuleResult(
        daily_return=pnl.sum(1) / n_sel,
        daily_turnover=change.sum(1) / n_sel,
        traded=(pos != 0).any(axis=2),
    )


def classic_rules(blocks: PairBlocks, config: WalkForwardConfig, cost_bps) -> dict:
    """The A&L, Bertram and first-passage rules on the blocks' rolling OU fits, after
    `cost_bps` per side; one scan with the rules on a leading axis."""
    fit = blocks.fit
    ok = mean_reverting(fit, config.min_kappa_per_year)
    # round-trip cost in s units: two sides of (1 + beta) gross per unit of spread
    gross = 1 + jnp.abs(blocks.hedge_ratio)[..., None]
    cost_s = 2 * cost_bps * 1e-4 * gross / jnp.where(ok, fit.sigma_eq, 1.0)
    entry = bertram_entry_interpolated(cost_s, alpha=1.0, eta=jnp.sqrt(2.0))
    t_std = first_passage_quantile(config.fp_quantile, AL_OPEN)
    stop_days = divide_where(ok, t_std * 252.0, fit.kappa_per_year)
    al, bertram = al_bands(), symmetric_bands(entry)
    fp = Bands(al.open_short, al.open_long, jnp.float32(0.0), jnp.float32(0.0))
    shape = fit.s_score.shape
    stack = lambda *xs: jnp.stack([jnp.broadcast_to(x, shape) for x in xs])  # noqa: E731
    bands = jax.tree.map(stack, al, bertram, fp)
    never = jnp.full(shape, jnp.inf)
    max_hold = stack(never, never, stop_days)
    per_rule = jax.vmap(rule_result, in_axes=(None, None, None, 0, 0, None))
    res = per_rule(blocks, fit.s_score, ok, bands, max_hold, cost_bps)
    return {name: jax.tree.map(lambda a, i=i: a[i], res) for i, name in enumerate(RULES)}


@partial(jax.jit, static_argnames="config")
def _backtest(log_prices, pairs, block_start, block_days, cost_bps, config: WalkForwardConfig):
    blocks = pair_blocks(log_prices, pairs, block_start, block_days, config)
    return blocks, classic_rules(blocks, config, cost_bps)


def walk_forward(log_prices, layout: Layout, config: WalkForwardConfig, pairs=None):
    """Backtest every pair (default: all i < j) over `layout`'s blocks in one jitted call
    (compiled once per shape and config; the cost is traced, so changing it does not
    recompile). Returns (PairBlocks, {rule: RuleResult}); `block_series` makes day series."""
    lp = np.asarray(log_prices, np.float32)
    require(
        lp.ndim == 2 and lp.shape[1] >= 2, f"log_prices must be (days, assets >= 2), got {lp.shape}"
    )
    require(bool(np.all(np.isfinite(lp))), "log_prices must be finite (positive prices)")
    pairs = all_pairs(lp.shape[1]) if pairs is None else np.asarray(pairs, np.int32)
    cost = jnp.float32(config.cost_bps)
    return _backtest(
        jnp.asarray(lp), jnp.asarray(pairs), jnp.asarray(layout.block_start),
        jnp.asarray(layout.block_days), cost, dataclasses.replace(config, cost_bps=0.0),
    )  # fmt: skip


signal_rule_result = jax.jit(rule_result)
signal_rule_result.__doc__ = "`rule_result`, jitted once (for model-driven signals)."


def select_blocks(tree, blocks):
    """The entries of `blocks` (indices or mask on the block axis) of a Layout, PairBlocks or
    RuleResult."""
    return jax.tree.map(lambda a: a[blocks], tree)


def block_series(values, layout: Layout, config: WalkForwardConfig) -> np.ndarray:
    """Concatenate the block-day entries (K, S) of a result into one series in calendar order."""
    values = np.asarray(values)
    w = config.window_days
    return np.concatenate([values[k, w : w + d] for k, d in enumerate(layout.block_days)])
