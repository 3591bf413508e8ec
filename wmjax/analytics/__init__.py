"""What a desk reads: pre-trade reports, counterfactuals, simulator-backed TCA and drift, and
the bounded execution advisor."""

from wmjax.analytics._advisor import (
    AdvisorMemory,
    advise,
    advise_batch,
    hysteresis,
    limit_arrays,
    state_arrays,
)
from wmjax.analytics._advisor_sim import (
    ORDER_TYPES,
    REGIMES,
    TIERS,
    AdvisorConfig,
    Decision,
    LimitArrays,
    StateArrays,
    evaluate_candidates,
    regime_budget,
)
from wmjax.analytics._conditioning import day_market_params
from wmjax.analytics._counterfactual import (
    DEFAULT_ALTERNATIVES,
    CounterfactualReport,
    counterfactual,
    order_from_fills,
    realised_is_bps,
)
from wmjax.analytics._desk import desk_market_params, horizon_profile
from wmjax.analytics._evaluation import (
    execution_metrics,
    fill_rate_accuracy,
    idle_policy,
    mean_se,
    prediction_metrics,
    reliability,
)
from wmjax.analytics._evaluation_report import evaluation_report
from wmjax.analytics._industry import (
    ATHL_2005,
    ISTAR_KISSELL_2013,
    athl_cost_bps,
    istar_cost_bps,
    volume_time_days,
)
from wmjax.analytics._market_context import (
    REGIME_LABELS,
    ac_world_strategy,
    context_line,
    market_context,
    pretrade_extras,
)
from wmjax.analytics._pretrade import (
    REGIME_COST_MULTIPLIER,
    PretradeReport,
    SensitivityGrid,
    industry_estimates,
    pretrade,
    scenario_params,
)
from wmjax.analytics._schema import CONTRACTS, load_schema, validate
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
    "CONTRACTS",
    "DEFAULT_ALTERNATIVES",
    "ISTAR_KISSELL_2013",
    "METRICS",
    "ORDER_TYPES",
    "REGIMES",
    "REGIME_COST_MULTIPLIER",
    "REGIME_LABELS",
    "TCA_SCHEMA",
    "TIERS",
    "AdvisorConfig",
    "AdvisorMemory",
    "CounterfactualReport",
    "Decision",
    "DriftMonitor",
    "LimitArrays",
    "PretradeReport",
    "SensitivityGrid",
    "StateArrays",
    "Strategy",
    "StrategyParams",
    "StrategySummary",
    "ac_world_strategy",
    "advise",
    "advise_batch",
    "athl_cost_bps",
    "context_line",
    "counterfactual",
    "day_market_params",
    "desk_market_params",
    "drift_alerts",
    "evaluate_candidates",
    "evaluation_report",
    "execution_metrics",
    "fill_rate_accuracy",
    "horizon_profile",
    "hysteresis",
    "idle_policy",
    "industry_estimates",
    "istar_cost_bps",
    "limit_arrays",
    "load_schema",
    "market_context",
    "mean_se",
    "named_strategy_params",
    "order_from_fills",
    "parse_strategy_name",
    "pov_strategy",
    "prediction_metrics",
    "pretrade",
    "pretrade_extras",
    "realised_is_bps",
    "regime_budget",
    "reliability",
    "scenario_params",
    "schedule_strategy",
    "simulator_version",
    "standard_strategies",
    "state_arrays",
    "strategy_policy",
    "tca_divergence",
    "validate",
    "volume_time_days",
]
