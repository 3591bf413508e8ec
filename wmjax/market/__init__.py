"""Market models a policy trades against: prices, impact, latency, volume, the order book.

The book world: `BookMarket` (Hawkes flow + price-level book + our orders with queue position
and latency, one continuous flow over decision intervals), its `BookStatus` channel, the flow
(`wmjax.market.flow`), own orders, and LOBSTER replay. Book internals (`_book_core`: apply
event, queue update, level volume, quotes) are not exported."""

from wmjax.market import flow
from wmjax.market._book import (
    BookState,
    Side,
    book_from_levels,
    cancel_order,
    empty_book,
    limit_order,
    market_order,
    walk_book,
)
from wmjax.market._book_core import BookEvent, OrderStatus
from wmjax.market._book_market import (
    BookAction,
    BookMarket,
    BookMarketState,
    BookObservation,
    BookStats,
)
from wmjax.market._book_orders import (
    OwnOrders,
    advance_orders,
    cancel_own,
    no_orders,
    step_with_orders,
    submit_order,
)
from wmjax.market._book_params import BOOK_PRNG, BookParams, book_key, book_params, default_flow
from wmjax.market._book_status import BookResult, BookStatus, status_dict
from wmjax.market._impact import (
    TRANSIENT_KERNELS,
    linear_permanent_impact,
    linear_temporary_impact,
    power_law_temporary_impact,
    propagator,
    transient_execution_offset,
)
from wmjax.market._impact_market import (
    PRICE_MODELS,
    ImpactMarket,
    ImpactObservation,
    ImpactParams,
    ImpactState,
    impact_params,
)
from wmjax.market._latency import (
    CLOUD,
    CO_LOCATION,
    LATENCY_PRESETS,
    LATENCY_SAMPLERS,
    PROXIMITY,
    RETAIL,
    LatencyScenario,
    check_latency_scenario,
    latency_scenario,
    sample_empirical_latency_us,
    sample_latency_us,
)
from wmjax.market._latency_mc import FillModel, LatencyReport, fill_model, latency_monte_carlo
from wmjax.market._protocol import Fills, Market
from wmjax.market._replay import (
    Messages,
    ReplayResult,
    book_rows,
    determinable_rows,
    messages_from_lobster,
    replay,
    replay_final,
    replay_free_running,
    replay_one_step,
)
from wmjax.market._volume import (
    event_count_profile,
    u_shaped_profile,
    volatility_multipliers,
)
from wmjax.market.flow import (
    FlowParams,
    FlowPath,
    FlowType,
    calibrate_flow,
    sample_flow,
    simulate_flow,
)

#: the name some callers use for `BookParams` (the same class)
BookMarketParams = BookParams

__all__: list[str] = [
    "BOOK_PRNG",
    "CLOUD",
    "CO_LOCATION",
    "LATENCY_PRESETS",
    "LATENCY_SAMPLERS",
    "PRICE_MODELS",
    "PROXIMITY",
    "RETAIL",
    "TRANSIENT_KERNELS",
    "BookAction",
    "BookEvent",
    "BookMarket",
    "BookMarketParams",
    "BookMarketState",
    "BookObservation",
    "BookParams",
    "BookResult",
    "BookState",
    "BookStats",
    "BookStatus",
    "FillModel",
    "Fills",
    "FlowParams",
    "FlowPath",
    "FlowType",
    "ImpactMarket",
    "ImpactObservation",
    "ImpactParams",
    "ImpactState",
    "LatencyReport",
    "LatencyScenario",
    "Market",
    "Messages",
    "OrderStatus",
    "OwnOrders",
    "ReplayResult",
    "Side",
    "advance_orders",
    "book_from_levels",
    "book_key",
    "book_params",
    "book_rows",
    "calibrate_flow",
    "cancel_order",
    "cancel_own",
    "check_latency_scenario",
    "default_flow",
    "determinable_rows",
    "empty_book",
    "event_count_profile",
    "fill_model",
    "flow",
    "impact_params",
    "latency_monte_carlo",
    "latency_scenario",
    "limit_order",
    "linear_permanent_impact",
    "linear_temporary_impact",
    "market_order",
    "messages_from_lobster",
    "no_orders",
    "power_law_temporary_impact",
    "propagator",
    "replay",
    "replay_final",
    "replay_free_running",
    "replay_one_step",
    "sample_empirical_latency_us",
    "sample_flow",
    "sample_latency_us",
    "simulate_flow",
    "status_dict",
    "step_with_orders",
    "submit_order",
    "transient_execution_offset",
    "u_shaped_profile",
    "volatility_multipliers",
    "walk_book",
]
