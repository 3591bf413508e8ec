"""Learned components in flax: policies that map what they observe to child orders."""

from wmjax.models._ac_policy import (
    OrderDistribution,
    ScheduleNet,
    schedule_net_trades,
    train_schedule_net,
)

__all__ = ["OrderDistribution", "ScheduleNet", "schedule_net_trades", "train_schedule_net"]
