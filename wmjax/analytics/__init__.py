"""What a desk reads: pre-trade reports, counterfactuals, simulator-backed TCA and drift, the
bounded execution advisor, the execution evaluation report, VWAP forecasts and schedules scored
on real days, regime timelines and manipulation detection."""

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
from wmjax.analytics._desk import (
    desk_market_params,
    horizon_profile,
)
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
from wmjax.analytics._manipulation import (
    abnormal_flow_score,
    detection_study,
    inject_momentum_ignition,
    roc_auc,
    window_compensators,
    window_counts,
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
from wmjax.analytics._regimes import (
    RegimeTimeline,
    bar_features,
    regime_timeline,
    scaling_from_timeline,
    timeline_summary,
    window_share,
)
from wmjax.analytics._schema import (
    CONTRACTS,
    load_schema,
    validate,
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
from wmjax.analytics._toxicity import lobster_trades, paired_market_making, vpin_day
from wmjax.analytics._vwap_report import (
    VWAP_METHODS,
    VWAPReport,
    default_test_start,
    vwap_report,
)

__all__ = [
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
    "VWAP_METHODS",
    "AdvisorConfig",
    "AdvisorMemory",
    "CounterfactualReport",
    "Decision",
    "DriftMonitor",
    "LimitArrays",
    "PretradeReport",
    "RegimeTimeline",
    "SensitivityGrid",
    "StateArrays",
    "Strategy",
    "StrategyParams",
    "StrategySummary",
    "VWAPReport",
    "abnormal_flow_score",
    "ac_world_strategy",
    "advise",
    "advise_batch",
    "athl_cost_bps",
    "bar_features",
    "context_line",
    "counterfactual",
    "day_market_params",
    "default_test_start",
    "desk_market_params",
    "detection_study",
    "drift_alerts",
    "evaluate_candidates",
    "evaluation_report",
    "execution_metrics",
    "fill_rate_accuracy",
    "horizon_profile",
    "hysteresis",
    "idle_policy",
    "industry_estimates",
    "inject_momentum_ignition",
    "istar_cost_bps",
    "limit_arrays",
    "load_schema",
    "lobster_trades",
    "market_context",
    "mean_se",
    "named_strategy_params",
    "order_from_fills",
    "paired_market_making",
    "parse_strategy_name",
    "pov_strategy",
    "prediction_metrics",
    "pretrade",
    "pretrade_extras",
    "realised_is_bps",
    "regime_budget",
    "regime_timeline",
    "reliability",
    "roc_auc",
    "scaling_from_timeline",
    "scenario_params",
    "schedule_strategy",
    "simulator_version",
    "standard_strategies",
    "state_arrays",
    "strategy_policy",
    "tca_divergence",
    "timeline_summary",
    "validate",
    "volume_time_days",
    "vpin_day",
    "vwap_report",
    "window_compensators",
    "window_counts",
    "window_share",
]
