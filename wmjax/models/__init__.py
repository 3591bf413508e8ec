"""Learned components in flax: policies that map what they observe to child orders, and
world models (the stat-arb model)."""

from wmjax.models._ac_policy import (
    OrderDistribution,
    ScheduleNet,
    schedule_net_trades,
    train_schedule_net,
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
from wmjax.models._statarb import (
    StatArbitrageWorldModel,
    StatArbSignals,
    Targets,
    forward_targets,
    model_signals,
    pair_features,
    random_basket_params,
    simulated_example,
    statarb_loss,
    train_statarb_model,
)

__all__ = [
    "OrderDistribution",
    "PlacementNet",
    "PlacementPolicy",
    "ScheduleNet",
    "StatArbSignals",
    "StatArbitrageWorldModel",
    "Targets",
    "best_baseline",
    "book_ac_eta",
    "evaluate_placement",
    "forward_targets",
    "load_placement",
    "model_signals",
    "pair_features",
    "placement_features",
    "random_basket_params",
    "relaxed_objective",
    "save_placement",
    "schedule_net_trades",
    "simulated_example",
    "statarb_loss",
    "train_placement",
    "train_schedule_net",
    "train_statarb_model",
]
