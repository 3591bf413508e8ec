"""Counterfactuals: what the alternatives would have cost on the same market, for many orders.

Each historical order's alternatives run on the same simulated paths (one key per order, shared
by its alternatives: common random numbers), of a market conditioned on the order's day
(`day_market_params`). The realised IS is placed within each alternative's simulated
distribution (percentile: the share of paths with IS at or below it), and the best alternative
is the one with the lowest simulated mean IS. Orders are batched with `lax.map` over `vmap`ped
chunks, all inside one jit; with several devices each chunk's orders are split over them (an
`orders` mesh axis; on CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N gives N).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from wmjax._checks import InputError, finite_array, positive_int, require
from wmjax.analytics._simulate import run_group
from wmjax.analytics._strategies import named_strategy_params, parse_strategy_name, strategy_policy
from wmjax.execution import (
    Order,
    RolloutConfig,
    check_order,
    distinguishable,
    objective_covariance,
)
from wmjax.execution import order as make_order

DEFAULT_ALTERNATIVES = ("twap", "vwap", "ac_optimal", "pov_10", "aggressive")
TRADING_DAY_S = 23400.0


def realised_is_bps(fills) -> float:
    """Implementation shortfall (bps of the arrival notional, positive a cost) of a
    `HistoricalFills`: side * (sum(price * shares) - filled * arrival + unfilled * (end price -
    arrival)) / (quantity * arrival); unfilled shares cost nothing when the end price is unknown."""
    arrival = fills.arrival_price
    filled = float(np.sum(fills.shares))
    cost = float(np.sum(fills.prices * fills.shares)) - filled * arrival
    unfilled = fills.quantity_shares - filled
    if unfilled > 0 and not math.isnan(fills.end_price):
        cost += unfilled * (fills.end_price - arrival)
    return fills.side * cost / (fills.quantity_shares * arrival) * 1e4


def order_from_fills(fills, risk_aversion: float = 0.0, trading_day_s: float = TRADING_DAY_S):
    """The parent `Order` of a `HistoricalFills`: its size, side and window (in trading days)."""
    return make_order(
        fills.quantity_shares,
        (fills.end_s - fills.start_s) / trading_day_s,
        "buy" if fills.side > 0 else "sell",
        risk_aversion,
    )


@dataclass
class CounterfactualReport:
    """Per order (axis 0) and alternative (axis 1): simulated IS statistics (bps), the realised
    IS's percentile within each alternative's distribution, whether it lies in the 5-95 % band,
    and the best alternative (lowest simulated mean) with its uncertainty: `mean_se_bps` is the
    Monte Carlo SE of each mean, `runner_up` the rival hardest to tell from the best (smallest
    paired difference minus 2 SE), `difference_bps` its mean minus the best's on the same paths
    and `difference_se_bps` the SE of that paired difference; `distinguishable` is True only
    when the best beats every alternative by more than 2 SE. Numpy arrays."""

    alternatives: tuple
    realised_bps: np.ndarray
    mean_bps: np.ndarray
    mean_se_bps: np.ndarray
    std_bps: np.ndarray
    p05_bps: np.ndarray
    p50_bps: np.ndarray
    p95_bps: np.ndarray
    percentile: np.ndarray
    in_band: np.ndarray
    best: list
    runner_up: list
    difference_bps: np.ndarray
    difference_se_bps: np.ndarray
    distinguishable: np.ndarray
    n_paths: int
    is_samples_bps: np.ndarray | None = None

    def to_dict(self) -> dict:
        orders = []
        for i in range(self.realised_bps.size):
            orders.append(
                {
                    "realised_bps": float(self.realised_bps[i]),
                    "best_alternative": self.best[i],
                    "runner_up": self.runner_up[i],
                    "difference_bps": float(self.difference_bps[i]),
                    "difference_se_bps": float(self.difference_se_bps[i]),
                    "verdict": "best" if self.distinguishable[i] else "not distinguishable",
                    "alternatives": {
                        name: {
                            "mean_bps": float(self.mean_bps[i, j]),
                            "mean_se_bps": float(self.mean_se_bps[i, j]),
                            "std_bps": float(self.std_bps[i, j]),
                            "p05_bps": float(self.p05_bps[i, j]),
                            "p50_bps": float(self.p50_bps[i, j]),
                            "p95_bps": float(self.p95_bps[i, j]),
                            "realised_percentile": float(self.percentile[i, j]),
                            "realised_in_5_95_band": bool(self.in_band[i, j]),
                        }
                        for j, name in enumerate(self.alternatives)
                    },
                }
            )
        return {"n_paths": self.n_paths, "orders": orders}


ORDERS_AXIS = "orders"


@partial(jax.jit, static_argnames=("market", "names", "config", "chunk", "keep_samples"))
def _counterfactuals(
    key, market, market_params, orders, realised, names, config, chunk, keep_samples
):
    n_orders = realised.shape[0]
    keys = jax.random.split(key, n_orders)
    n_chunks = -(-n_orders // chunk)
    pad = n_chunks * chunk - n_orders
    devices = jax.devices()
    spread = len(devices) > 1 and chunk % len(devices) == 0
    mesh = Mesh(np.array(devices), (ORDERS_AXIS,)) if spread else None

    def chunked(x):  # (n_orders, ...) -> (n_chunks, chunk, ...), padding with the last order
        x = jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]) if pad else x
        return x.reshape(n_chunks, chunk, *x.shape[1:])

    def one(k, mp, o, real):
        params = named_strategy_params(names, o, mp)
        summ, is_bps = run_group(k, market, mp, strategy_policy, params, o, config, jnp.inf)
        # not reported here: dropping it lets the compiler skip its sort over paths
        summ = summ.replace(peak_participation_p95=jnp.zeros_like(summ.mean_bps))
        pct = 100.0 * jnp.mean(is_bps <= real, axis=-1)
        _, cov = objective_covariance(is_bps, 0.0)  # objective: the mean IS
        return summ, pct, cov, (is_bps if keep_samples else None)

    def body(args):
        if spread:  # the orders of a chunk are independent: split them over the devices
            sharding = NamedSharding(mesh, PartitionSpec(ORDERS_AXIS))
            args = jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, sharding), args)
        return jax.vmap(one)(*args)

    out = jax.lax.map(body, jax.tree.map(chunked, (keys, market_params, orders, realised)))
    return jax.tree.map(lambda x: x.reshape(n_chunks * chunk, *x.shape[2:])[:n_orders], out)


def _stack_orders(order, n: int) -> Order:
    if isinstance(order, list | tuple):
        require(len(order) == n, f"got {len(order)} orders for {n} fills records")
        for o in order:
            check_order(o)
        return jax.tree.map(lambda *xs: jnp.stack(xs), *order)
    check_order(order)
    if np.ndim(order.quantity_shares) == 0:
        return jax.tree.map(lambda x: jnp.broadcast_to(x, (n,)), order)
    require(np.shape(order.quantity_shares)[0] == n, f"order must stack {n} orders")
    return order


def counterfactual(
    order,
    fills,
    market,
    market_params,
    alternatives=DEFAULT_ALTERNATIVES,
    n_paths: int = 1000,
    key=None,
    *,
    chunk: int = 16,
    keep_samples: bool = False,
) -> CounterfactualReport:
    """Run every alternative on the same paths for each historical order; place the realised IS.

    Args:
        order: an `Order`, a list of them, or one stacked `Order` (leading axis: orders).
        fills: a `HistoricalFills`, a list of them, or an array of realised IS (bps), one per
            order (see `realised_is_bps`).
        market, market_params: the market and its params, the same for all orders or stacked on
            a leading order axis (e.g. one `day_market_params` per order's day).
        alternatives: strategy names (`parse_strategy_name`): twap, vwap, ac_optimal, aggressive,
            pov_<percent>.
        n_paths: paths per order; key: `jax.random.key` (default key(0)); chunk: orders per
            vmapped batch inside `lax.map` (memory); keep_samples: return the IS samples.
    """
    names = tuple(alternatives)
    require(len(names) >= 1, "alternatives must name at least one strategy")
    require(len(set(names)) == len(names), f"alternatives must be unique, got {names}")
    for name in names:
        parse_strategy_name(name)
    if isinstance(fills, list | tuple) and fills and hasattr(fills[0], "prices"):
        realised = np.array([realised_is_bps(f) for f in fills], float)
    elif hasattr(fills, "prices"):
        realised = np.array([realised_is_bps(fills)], float)
    else:
        realised = np.atleast_1d(finite_array("fills (realised IS, bps)", fills))
        require(realised.ndim == 1, "realised IS must be one number per order")
    n = realised.size
    orders = _stack_orders(order, n)
    n_paths = positive_int("n_paths", n_paths, minimum=2)
    chunk = min(positive_int("chunk", chunk), n)
    if np.ndim(market_params.sigma) == 0:
        market_params = jax.tree.map(
            lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), market_params
        )
    elif np.shape(market_params.sigma)[0] != n:
        raise InputError(
            f"market_params stack {np.shape(market_params.sigma)[0]} markets for "
            f"{n} orders; give one per order or a single one"
        )
    n_steps = market_params.volume_frac.shape[-1]
    config = RolloutConfig(n_paths=n_paths, n_steps=n_steps, shard=False)
    key = jax.random.key(0) if key is None else key
    summ, pct, cov, samples = _counterfactuals(
        key,
        market,
        market_params,
        orders,
        jnp.asarray(realised, jnp.float32),
        names,
        config,
        chunk,
        keep_samples,
    )
    summ, pct, cov, samples = jax.tree.map(_to_host, (summ, pct, cov, samples))
    mean = np.asarray(summ.mean_bps, float)
    pct = np.asarray(pct, float)
    cov = np.asarray(cov, float)
    best = np.argmin(mean, axis=1)
    rows = np.arange(n)
    diff = mean - mean[rows, best][:, None]  # (orders, alternatives)
    diag = np.diagonal(cov, axis1=1, axis2=2)
    var = diag[rows, best][:, None] + diag - 2 * cov[rows, best, :]
    diff_se = np.sqrt(np.maximum(var, 0.0))
    margin = np.where(np.arange(len(names)) == best[:, None], np.inf, diff - 2 * diff_se)
    second = np.argmin(margin, axis=1)  # the rival hardest to tell from the best
    rival = np.arange(len(names)) != best[:, None]
    every = np.all(distinguishable(diff, diff_se, mean[rows, best][:, None]) | ~rival, axis=1)
    return CounterfactualReport(
        alternatives=names,
        realised_bps=realised,
        mean_bps=mean,
        mean_se_bps=np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0)),
        std_bps=np.asarray(summ.std_bps, float),
        p05_bps=np.asarray(summ.p05_bps, float),
        p50_bps=np.asarray(summ.p50_bps, float),
        p95_bps=np.asarray(summ.p95_bps, float),
        percentile=pct,
        in_band=(pct >= 5.0) & (pct <= 95.0),
        best=[names[j] for j in best],
        runner_up=[names[j] for j in second],
        difference_bps=diff[rows, second],
        difference_se_bps=diff_se[rows, second],
        distinguishable=(len(names) > 1) & every,
        n_paths=n_paths,
        is_samples_bps=None if samples is None else np.asarray(samples, float),
    )


def _to_host(x):
    """A numpy copy of a result, gathered from every process in a multi-process run."""
    if jax.process_count() > 1 and isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)
