"""What a desk reads: pre-trade reports, counterfactuals, simulator-backed TCA and drift, and
the bounded execution advisor."""

from wmjax.analytics._desk import desk_market_params, horizon_profile
from wmjax.analytics._industry import (
    ATHL_2005,
    ISTAR_KISSELL_2013,
    athl_cost_bps,
    istar_cost_bps,
)
from wmjax.analytics._pretrade import (
    REGIME_COST_MULTIPLIER,
    PretradeReport,
    SensitivityGrid,
    industry_estimates,
    pretrade,
    scenario_params,
)
from wmjax.analytics._simulate import StrategySummary
from wmjax.analytics._strategies import (
    Strategy,
    StrategyParams,
    pov_strategy,
    schedule_strategy,
    standard_strategies,
    strategy_policy,
)

__all__: list[str] = [
    "ATHL_2005",
    "ISTAR_KISSELL_2013",
    "REGIME_COST_MULTIPLIER",
    "PretradeReport",
    "SensitivityGrid",
    "Strategy",
    "StrategyParams",
    "StrategySummary",
    "athl_cost_bps",
    "desk_market_params",
    "horizon_profile",
    "industry_estimates",
    "istar_cost_bps",
    "pov_strategy",
    "pretrade",
    "scenario_params",
    "schedule_strategy",
    "standard_strategies",
    "strategy_policy",
]
