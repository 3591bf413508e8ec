"""What a desk reads: pre-trade reports, counterfactuals, simulator-backed TCA and drift, and
the bounded execution advisor."""

from wmjax.analytics._conditioning import day_market_params
from wmjax.analytics._counterfactual import (
    DEFAULT_ALTERNATIVES,
    CounterfactualReport,
    counterfactual,
    order_from_fills,
    realised_is_bps,
)
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
    named_strategy_params,
    parse_strategy_name,
    pov_strategy,
    schedule_strategy,
    standard_strategies,
    strategy_policy,
)
from wmjax.analytics._tca import (
    METRICS,
    TCA_SCHEMA,
    DriftMonitor,
    drift_alerts,
    simulator_version,
    tca_divergence,
)

__all__: list[str] = [
    "ATHL_2005",
    "DEFAULT_ALTERNATIVES",
    "ISTAR_KISSELL_2013",
    "METRICS",
    "REGIME_COST_MULTIPLIER",
    "TCA_SCHEMA",
    "CounterfactualReport",
    "DriftMonitor",
    "PretradeReport",
    "SensitivityGrid",
    "Strategy",
    "StrategyParams",
    "StrategySummary",
    "athl_cost_bps",
    "counterfactual",
    "day_market_params",
    "desk_market_params",
    "drift_alerts",
    "horizon_profile",
    "industry_estimates",
    "istar_cost_bps",
    "named_strategy_params",
    "order_from_fills",
    "parse_strategy_name",
    "pov_strategy",
    "pretrade",
    "realised_is_bps",
    "scenario_params",
    "schedule_strategy",
    "simulator_version",
    "standard_strategies",
    "strategy_policy",
    "tca_divergence",
]
