"""Market models a policy trades against: prices, impact, latency, volume, the order book."""

__all__: list[str] = []
