"""Learned components in flax: policies that map what they observe to child orders."""

from wmjax.models._ac_policy import (
    OrderDistribution,
    ScheduleNet,
    schedule_net_trades,
    train_schedule_net,
)
from wmjax.models._hmm import (
    GaussianHMM,
    HMMFit,
    Posteriors,
    fit_hmm,
    forward_backward,
    hmm_posteriors,
    log_emissions,
    match_states,
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
from wmjax.models._regime_compare import compare_regime_detectors
from wmjax.models._regime_detector import (
    DetectorFit,
    MultiScaleRegimeDetector,
    bootstrap_macro_f1,
    detector_probabilities,
    macro_f1,
    train_regime_detector,
)

__all__ = [
    "DetectorFit",
    "GaussianHMM",
    "HMMFit",
    "MultiScaleRegimeDetector",
    "OrderDistribution",
    "PlacementNet",
    "PlacementPolicy",
    "Posteriors",
    "ScheduleNet",
    "best_baseline",
    "book_ac_eta",
    "bootstrap_macro_f1",
    "compare_regime_detectors",
    "detector_probabilities",
    "evaluate_placement",
    "fit_hmm",
    "forward_backward",
    "hmm_posteriors",
    "load_placement",
    "log_emissions",
    "macro_f1",
    "match_states",
    "placement_features",
    "relaxed_objective",
    "save_placement",
    "schedule_net_trades",
    "train_placement",
    "train_regime_detector",
    "train_schedule_net",
]
