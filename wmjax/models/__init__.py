"""Learned components in flax: policies that map what they observe to child orders."""

from wmjax.models._ac_policy import (
    OrderDistribution,
    ScheduleNet,
    schedule_net_trades,
    train_schedule_net,
)
from wmjax.models._dark_pool_router import (
    DarkPoolRouter,
    DarkPoolRoutingModel,
    RouterParams,
    RoutingOutput,
    explore_venues,
    order_features,
    plug_in_fill_rate,
    random_venue_sets,
    train_router,
    venue_features,
)
from wmjax.models._placement import (
    PlacementNet,
    PlacementPolicy,
    best_baseline,
    book_ac_eta,
    evaluate_placement,
    load_placement,
    placement_features,
    relaxed_objective,
    save_placement,
    train_placement,
)
from wmjax.models._route_compare import RouteScenario, fill_prediction, route_comparison

__all__ = [
    "DarkPoolRouter",
    "DarkPoolRoutingModel",
    "OrderDistribution",
    "PlacementNet",
    "PlacementPolicy",
    "RouteScenario",
    "RouterParams",
    "RoutingOutput",
    "ScheduleNet",
    "best_baseline",
    "book_ac_eta",
    "evaluate_placement",
    "explore_venues",
    "fill_prediction",
    "load_placement",
    "order_features",
    "placement_features",
    "plug_in_fill_rate",
    "random_venue_sets",
    "relaxed_objective",
    "route_comparison",
    "save_placement",
    "schedule_net_trades",
    "train_placement",
    "train_router",
    "train_schedule_net",
    "venue_features",
]
