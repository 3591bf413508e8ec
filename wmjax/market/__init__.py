"""Market models a policy trades against: prices, impact, latency, volume, the order book."""

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

__all__: list[str] = [
    "CLOUD",
    "CO_LOCATION",
    "LATENCY_PRESETS",
    "LATENCY_SAMPLERS",
    "PROXIMITY",
    "RETAIL",
    "LatencyScenario",
    "check_latency_scenario",
    "latency_scenario",
    "sample_empirical_latency_us",
    "sample_latency_us",
]
