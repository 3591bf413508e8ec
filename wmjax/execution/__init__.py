"""Parent orders, schedules, the vmapped rollout engine, objectives and optax training."""

__all__: list[str] = []
