"""Pre-trade report: which strategy, and what it will cost, on common simulated paths.

All strategies run on the same paths (common random numbers), so their differences are measured
far more precisely than their levels. A sensitivity grid over volatility, volume and liquidity
regime runs as one vmapped batch over market params. Beside the simulated figures the report
gives the Almgren-Thum-Hauptmann-Li (2005) and Kissell I-Star predictions (`_industry`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from wmjax._checks import finite_array, positive, positive_int, require
from wmjax.analytics._industry import (
    ATHL_2005,
    ISTAR_KISSELL_2013,
    athl_cost_bps,
    istar_cost_bps,
)
from wmjax.analytics._simulate import run_group
from wmjax.analytics._strategies import group_strategies, standard_strategies
from wmjax.execution import Ranking, RolloutConfig, check_order, objective_covariance, rank
from wmjax.market import ImpactParams

#: Liquidity regimes of the sensitivity grid: multiplier on every liquidity cost of the market
#: (half spread epsilon, temporary impact eta and the power-law coefficient, transient strength).
REGIME_COST_MULTIPLIER = {"calm": 0.5, "normal": 1.0, "stressed": 2.0}


@dataclass(frozen=True)
class SensitivityGrid:
    """Scenarios for the sensitivity grid: multipliers on the market's volatility (sigma) and
    daily volume, and liquidity regimes (names of `REGIME_COST_MULTIPLIER`); the grid is their
    product, run as one vmapped batch."""

    volatility: tuple = (0.5, 1.0, 2.0)
    volume: tuple = (0.5, 1.0, 2.0)
    regime: tuple = ("calm", "normal", "stressed")

    def __post_init__(self):
        for name in ("volatility", "volume"):
            values = positive(f"sensitivity.{name}", np.asarray(getattr(self, name), float))
            require(values.ndim == 1 and values.size >= 1, f"sensitivity.{name}: give >= 1 value")
        for r in self.regime:
            require(
                r in REGIME_COST_MULTIPLIER,
                f"sensitivity.regime: unknown regime {r!r}; use {tuple(REGIME_COST_MULTIPLIER)}",
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.volatility), len(self.volume), len(self.regime))


def scenario_params(market_params: ImpactParams, grid: SensitivityGrid) -> ImpactParams:
    """`market_params` for every scenario of `grid`, stacked on a leading axis (row-major over
    volatility, volume, regime)."""
    rows = list(itertools.product(grid.volatility, grid.volume, grid.regime))
    vol = jnp.asarray([r[0] for r in rows], jnp.float32)
    volume = jnp.asarray([r[1] for r in rows], jnp.float32)
    cost = jnp.asarray([REGIME_COST_MULTIPLIER[r[2]] for r in rows], jnp.float32)
    stacked = jax.tree.map(lambda x: jnp.broadcast_to(x, (len(rows), *jnp.shape(x))), market_params)
    return stacked.replace(
        sigma=stacked.sigma * vol,
        daily_volume_shares=stacked.daily_volume_shares * volume,
        epsilon=stacked.epsilon * cost,
        eta=stacked.eta * cost,
        sqrt_coefficient=stacked.sqrt_coefficient * cost,
        transient_strength=stacked.transient_strength * cost,
    )


@partial(jax.jit, static_argnames=("market", "policies", "config", "sens_config"))
def _evaluate(
    key, market, market_params, scenarios, policies, params, order, max_part, config, sens_config
):
    k_main, k_sens = jax.random.split(key)
    main = [
        run_group(k_main, market, market_params, pol, p, order, config, max_part)
        for pol, p in zip(policies, params, strict=True)
    ]
    if scenarios is None:
        return main, None

    def grid(mp):
        return [
            run_group(k_sens, market, mp, pol, p, order, sens_config, max_part)[0]
            for pol, p in zip(policies, params, strict=True)
        ]

    return main, jax.vmap(grid)(scenarios)


@dataclass
class PretradeReport:
    """What `pretrade` returns; arrays are numpy, strategy axis first (in `strategies` order).

    IS is in basis points of the arrival notional, positive a cost. `objective_bps` is
    mean + risk_aversion * std and `objective_se_bps` its Monte Carlo standard error.
    `recommended` is the strategy with the lowest objective among those that meet the order's
    constraints (None if none does); `ranking` adds the paired difference to the runner-up, its
    SE and the verdict ("not distinguishable" within 2 SE), and why each other strategy is not
    eligible. `peak_participation_p95` is the participation actually used (p95 over paths of
    the largest interval's). `sensitivity` holds mean and std of IS with shape (n_strategies,
    n_volatility, n_volume, n_regime). `industry` holds the ATHL 2005 and I-Star predictions.
    """

    strategies: list
    mean_bps: np.ndarray
    std_bps: np.ndarray
    p05_bps: np.ndarray
    p50_bps: np.ndarray
    p95_bps: np.ndarray
    completion_prob: np.ndarray
    on_time_prob: np.ndarray
    participation: np.ndarray
    peak_participation_p95: np.ndarray
    holdings_frac: np.ndarray
    objective_bps: np.ndarray
    objective_se_bps: np.ndarray
    risk_aversion: float
    recommended: str | None
    ranking: Ranking
    is_samples_bps: np.ndarray
    n_paths: int
    order: dict
    industry: dict
    sensitivity: dict | None = field(default=None)

    def to_dict(self, include_samples: bool = False) -> dict:
        """A JSON-ready dict: per-strategy figures, recommendation, sensitivity, industry."""
        per = {}
        for i, name in enumerate(self.strategies):
            per[name] = {
                "mean_bps": float(self.mean_bps[i]),
                "std_bps": float(self.std_bps[i]),
                "p95_bps": float(self.p95_bps[i]),
                "p50_bps": float(self.p50_bps[i]),
                "p05_bps": float(self.p05_bps[i]),
                "completion_prob": float(self.completion_prob[i]),
                "on_time_prob": float(self.on_time_prob[i]),
                "objective_bps": float(self.objective_bps[i]),
                "objective_se_bps": float(self.objective_se_bps[i]),
                "eligible": bool(self.ranking.eligible[i]),
                "peak_participation_p95": float(self.peak_participation_p95[i]),
                "participation": self.participation[i].tolist(),
                "holdings_frac": self.holdings_frac[i].tolist(),
            }
            if include_samples:
                per[name]["is_samples_bps"] = self.is_samples_bps[i].tolist()
        out = {
            "order": self.order,
            "n_paths": self.n_paths,
            "risk_aversion": self.risk_aversion,
            "recommended": self.recommended,
            "recommendation": self.ranking.to_dict(),
            "strategies": per,
            "industry": self.industry,
        }
        if self.sensitivity is not None:
            out["sensitivity"] = {
                "axes": self.sensitivity["axes"],
                "mean_bps": {
                    n: self.sensitivity["mean_bps"][i].tolist()
                    for i, n in enumerate(self.strategies)
                },
                "std_bps": {
                    n: self.sensitivity["std_bps"][i].tolist()
                    for i, n in enumerate(self.strategies)
                },
            }
        return out


def industry_estimates(order, market_params: ImpactParams, shares_outstanding=None) -> dict:
    """ATHL 2005 and I-Star costs (bps, half spread included) for `order` on `market_params`."""
    price = float(market_params.arrival_price)
    sigma_frac = float(market_params.sigma) / price
    half_spread = float(market_params.epsilon) / price * 1e4
    adv = float(market_params.daily_volume_shares)
    horizon_volume = adv * float(np.sum(market_params.volume_frac))
    q = float(order.quantity_shares)
    # ATHL's T is volume time: the share of a day's volume the order spans, not clock time
    athl = athl_cost_bps(q, adv, sigma_frac, horizon_volume / adv, shares_outstanding, half_spread)
    istar = istar_cost_bps(q, adv, sigma_frac, horizon_volume, half_spread)
    return {
        "athl_2005": {**athl, "constants": ATHL_2005},
        "istar_kissell": {**istar, "constants": ISTAR_KISSELL_2013},
        "inputs": {
            "daily_volatility": sigma_frac,
            "daily_volume_shares": adv,
            "horizon_volume_shares": horizon_volume,
            "half_spread_bps": half_spread,
            "shares_outstanding": shares_outstanding,
        },
    }


def pretrade(
    order,
    market,
    market_params,
    strategies=None,
    n_paths: int = 10_000,
    key=None,
    *,
    risk_aversion: float | None = None,
    pov_rates=(0.1,),
    max_participation: float = 0.3,
    min_on_time_prob: float = 0.95,
    sensitivity: SensitivityGrid | None = SensitivityGrid(),
    sensitivity_paths: int = 1000,
    shares_outstanding: float | None = None,
    n_steps: int | None = None,
) -> PretradeReport:
    """Simulate every strategy on the same `n_paths` paths and report IS (bps) statistics.

    Args:
        order: the parent order (`wmjax.execution.order`); its risk aversion is the lambda of
            the recommendation (mean + lambda * std, bps) unless `risk_aversion` is given.
        market, market_params: the market and its params (`ImpactMarket` / `ImpactParams` for
            the sensitivity grid and the industry models); n_steps = market_params.n_steps.
        strategies: list of `Strategy`; default `standard_strategies(order, market_params,
            pov_rates=pov_rates)`.
        n_paths: paths per strategy (>= 2: the report gives spreads and standard errors);
            key: a `jax.random.key` (default key(0)).
        max_participation: the order's participation cap, which defines on-time completion
            (see `StrategySummary`); min_on_time_prob: a strategy is eligible for the
            recommendation only if it completes within the cap on at least this share of paths.
        sensitivity: the scenario grid (None: skip); sensitivity_paths: paths per scenario.
        shares_outstanding: for the ATHL turnover term (None: the term is 1).
        n_steps: decision intervals, for markets whose params do not carry them (the order
            book: `BookMarket` with e.g. `wmjax.execution.book_baselines` as strategies,
            `sensitivity=None`).
    """
    check_order(order)
    n_paths = positive_int("n_paths", n_paths, minimum=2)
    key = jax.random.key(0) if key is None else key
    lam = float(order.risk_aversion) if risk_aversion is None else risk_aversion
    lam = float(positive("risk_aversion", lam, allow_zero=True))
    cap = float(positive("max_participation", max_participation))
    min_on_time = float(positive("min_on_time_prob", min_on_time_prob, allow_zero=True))
    require(min_on_time <= 1, f"min_on_time_prob must be <= 1, got {min_on_time:g}")
    n_steps = getattr(market_params, "n_steps", n_steps)
    require(n_steps is not None, "pass n_steps: market_params do not carry it")
    n_steps = positive_int("n_steps", n_steps)
    if strategies is None:
        require(isinstance(market_params, ImpactParams), "pass strategies for this market")
        strategies = standard_strategies(order, market_params, pov_rates=pov_rates)
    names = [s.name for s in strategies]
    require(len(set(names)) == len(names), f"strategy names must be unique, got {names}")
    groups = group_strategies(strategies)
    impact = isinstance(market_params, ImpactParams)
    scenarios = None
    if sensitivity is not None:
        require(impact, "the sensitivity grid needs ImpactParams; pass sensitivity=None")
        scenarios = scenario_params(market_params, sensitivity)
        sensitivity_paths = positive_int("sensitivity_paths", sensitivity_paths)
    config = RolloutConfig(n_paths=n_paths, n_steps=n_steps, shard=False)
    sens_config = RolloutConfig(n_paths=sensitivity_paths, n_steps=n_steps, shard=False)
    main, sens = _evaluate(
        key,
        market,
        market_params,
        scenarios,
        tuple(g[0] for g in groups),
        tuple(g[2] for g in groups),
        order,
        jnp.float32(cap),
        config,
        sens_config,
    )
    n_s = len(strategies)

    summaries = [m[0] for m in main]
    samples = np.zeros((n_s, n_paths))
    fields = {}
    for name in (
        "mean_bps",
        "std_bps",
        "p05_bps",
        "p50_bps",
        "p95_bps",
        "completion_prob",
        "on_time_prob",
    ):
        fields[name] = np.zeros(n_s)
    fields["peak_participation_p95"] = np.zeros(n_s)
    fields["participation"] = np.zeros((n_s, n_steps))
    fields["holdings_frac"] = np.zeros((n_s, n_steps + 1))
    for (_, idx, _), summ, (_, is_bps) in zip(groups, summaries, main, strict=True):
        for name in fields:
            fields[name][idx] = np.asarray(getattr(summ, name), float)
        samples[idx] = np.asarray(is_bps, float)
    finite_array("simulated IS (bps)", samples)
    objective, cov = (np.asarray(x, float) for x in objective_covariance(samples, lam))
    on_time = fields["on_time_prob"]
    reasons = [
        f"completes within the {100 * cap:g}% participation cap on only {100 * p:.1f}% of paths "
        f"(needs {100 * min_on_time:g}%; it completes on {100 * c:.1f}%, peak participation "
        f"p95 {100 * peak:.0f}%)"
        for p, c, peak in zip(
            on_time, fields["completion_prob"], fields["peak_participation_p95"], strict=True
        )
    ]
    ranking = rank(names, objective, cov, on_time >= min_on_time, reasons, units=" bps")
    sensitivity_out = None
    if sens is not None:
        shape = sensitivity.shape
        mean = np.zeros((n_s, *shape))
        std = np.zeros((n_s, *shape))
        for (_, idx, _), summ in zip(groups, sens, strict=True):
            # summ fields: (n_scenarios, n_in_group) -> (n_in_group, *grid shape)
            mean[idx] = np.asarray(summ.mean_bps, float).T.reshape(len(idx), *shape)
            std[idx] = np.asarray(summ.std_bps, float).T.reshape(len(idx), *shape)
        sensitivity_out = {
            "axes": {
                "volatility": [float(v) for v in sensitivity.volatility],
                "volume": [float(v) for v in sensitivity.volume],
                "regime": list(sensitivity.regime),
                "regime_cost_multiplier": dict(REGIME_COST_MULTIPLIER),
            },
            "mean_bps": mean,
            "std_bps": std,
            "n_paths": sensitivity_paths,
        }
    industry = industry_estimates(order, market_params, shares_outstanding) if impact else {}
    return PretradeReport(
        strategies=names,
        **fields,
        objective_bps=objective,
        objective_se_bps=np.sqrt(np.diag(cov)),
        risk_aversion=lam,
        recommended=ranking.recommended,
        ranking=ranking,
        is_samples_bps=samples,
        n_paths=n_paths,
        order={
            "quantity_shares": float(order.quantity_shares),
            "horizon_days": float(order.horizon_days),
            "side": "buy" if float(order.side) > 0 else "sell",
            "risk_aversion": float(order.risk_aversion),
            "max_participation": cap,
            "min_on_time_prob": min_on_time,
        },
        industry=industry,
        sensitivity=sensitivity_out,
    )
