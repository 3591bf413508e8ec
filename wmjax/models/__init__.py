"""Learned components in flax: policies that map what they observe to child orders."""

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
from wmjax.models._vwap_world import (
    VWAPInputs,
    VWAPWorldModel,
    fit_vwap_world_model,
    vwap_inputs,
    world_model_beliefs,
    world_model_loss,
)

__all__ = [
    "OrderDistribution",
    "PlacementNet",
    "PlacementPolicy",
    "ScheduleNet",
    "VWAPInputs",
    "VWAPWorldModel",
    "best_baseline",
    "book_ac_eta",
    "evaluate_placement",
    "fit_vwap_world_model",
    "load_placement",
    "placement_features",
    "relaxed_objective",
    "save_placement",
    "schedule_net_trades",
    "train_placement",
    "train_schedule_net",
    "vwap_inputs",
    "world_model_beliefs",
    "world_model_loss",
]
