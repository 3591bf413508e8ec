"""Market makers on the model market, through the general rollout.

`simulate_quotes` runs a quoting strategy `(params, QuoteObservation) -> Quotes` on
`wmjax.market.QuoteMarket` with `wmjax.execution.rollout` (no loop of its own): the rollout's
parent order is a placeholder that only carries the horizon; the inventory, cash,
mark-to-market and drawdown come from its fills (`wmjax.execution.account`), the tape and
quote figures from the market's per-step records.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax

from wmjax._checks import InputError, finite_tree
from wmjax.execution import Observation, RolloutConfig, account, order, rollout
from wmjax.hawkes import HawkesParams
from wmjax.market._quote_market import (
    QuoteConfig,
    QuoteMarketParams,
    QuotePaths,
    RiskLimits,
    Strategy,
    risk_limits,
)
from wmjax.market._quote_steps import (
    QuoteMarket,
    QuoteSessionParams,
    check_quote_run,
    poisson_flow_model,
)


@functools.cache
def quote_policy(strategy: Strategy) -> Callable:
    """`strategy` as a rollout policy (it reads the market's `QuoteObservation`); one function
    object per strategy, so the rollout compiles once for it."""

    def policy(params: Any, obs: Observation):
        return strategy(params, obs.market)

    return policy


def quote_session_order(config: QuoteConfig):
    """The placeholder parent order of a quoting session (a buy of one unit over the horizon;
    the market maker has none, only the horizon is read)."""
    return order(1.0, config.horizon, "buy")


def simulate_quotes(
    key: jax.Array,
    params: QuoteMarketParams,
    strategy: Strategy,
    strategy_params: Any,
    config: QuoteConfig,
    n_paths: int,
    limits: RiskLimits | None = None,
    flow_model: HawkesParams | None = None,
) -> QuotePaths:
    """Run `strategy` on `n_paths` paths of the model market under `limits` (if given) with
    `wmjax.execution.rollout` (path keys from `key`, common random numbers across strategies);
    the maker's Hawkes-intensity imbalance filters the tape with `flow_model` (a 2-D Hawkes
    model of buy and sell market orders, time in the market's unit; by default the Poisson
    flow, whose imbalance is 0). Compiled once per (strategy, config, n_paths) and shared by
    every caller (the limits, flow model and parameters are traced): call it directly. A NaN
    depth in `strategy_params` (a `DepthTable`'s unquoted side) is allowed; NaN or inf in the
    market's parameters or the limits is refused."""
    limits = risk_limits() if limits is None else limits
    flow_model = poisson_flow_model(params) if flow_model is None else flow_model
    if not isinstance(n_paths, int) or n_paths < 1:
        raise InputError(f"n_paths must be an integer >= 1, got {n_paths!r}")
    check_quote_run(params, config)
    session_params = QuoteSessionParams(params, limits, flow_model)
    finite_tree("market_params", session_params)
    return _simulate(key, session_params, strategy, strategy_params, config, n_paths)


@functools.partial(jax.jit, static_argnames=("strategy", "config", "n_paths"))
def _simulate(key, session_params, strategy, strategy_params, config, n_paths) -> QuotePaths:
    paths = rollout(
        key,
        QuoteMarket(config),
        session_params,
        quote_policy(strategy),
        strategy_params,
        quote_session_order(config),
        RolloutConfig(n_paths=n_paths, n_steps=config.n_steps, shard=False),
    )
    return _quote_paths(paths, config)


def _quote_paths(paths, config: QuoteConfig) -> QuotePaths:
    """The rollout's paths as the market maker's figures (the account from the fills)."""
    acc = account(paths, quote_session_order(config))
    rec = paths.records
    inventory = acc.inventory_shares
    return QuotePaths(
        pnl=acc.pnl,
        final_inventory=inventory[:, -1],
        inventory=inventory,
        mark_to_market=acc.mark_to_market,
        spread=rec.spread,
        fills=rec.fills.sum(axis=-1),
        inventory_penalty=(inventory[:, :-1] ** 2).sum(axis=-1) * config.dt,
        adverse_selection=rec.adverse.sum(axis=-1),
        killed=paths.final_state.killed,
        vpin=rec.vpin,
        hawkes_imbalance=rec.hawkes_imbalance,
        informed=rec.informed,
        buy_orders=rec.buy_orders,
        sell_orders=rec.sell_orders,
        mid=paths.mid,
        net_fills=rec.net_fills,
    )
