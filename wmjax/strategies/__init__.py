"""Trading strategies that are not execution schedules: dark-pool allocation and routing."""

from wmjax.strategies._censored import (
    FillHistory,
    at_risk_counts,
    empty_history,
    expected_fill_lots,
    greedy_allocation,
    kaplan_meier_tails,
    learn_greedy,
    record_fills,
)
from wmjax.strategies._routing import (
    GreedyRoute,
    SplitResult,
    SplitRoute,
    greedy_route_policy,
    lit_only_route,
    llp_split,
    project_simplex,
    split_route_policy,
    uniform_route,
    venue_set_rollouts,
)

__all__ = [
    "FillHistory",
    "GreedyRoute",
    "SplitResult",
    "SplitRoute",
    "at_risk_counts",
    "empty_history",
    "expected_fill_lots",
    "greedy_allocation",
    "greedy_route_policy",
    "kaplan_meier_tails",
    "learn_greedy",
    "lit_only_route",
    "llp_split",
    "project_simplex",
    "record_fills",
    "split_route_policy",
    "uniform_route",
    "venue_set_rollouts",
]
