"""wmjax: market-microstructure simulation, learned market world models and differentiable
execution in JAX.

A market is a pure function of (key, params); an execution policy is a pure function of what it
observes. Layers, lowest first: `hawkes` (order-flow point processes), `data` (reading files),
`calibrate` (fitting), `market` (prices, impact, latency, the order book, venues, baskets,
regimes), `features` (microstructure state, labels, splits), `execution` (schedules, rollouts,
objectives, training), `models` (flax world models and policies), `strategies` (market making,
stat-arb rules, routers), `analytics` (what a desk reads), `desk` (risk controls over the
advisor, its verification plan, best-execution reports), `live` (sessions in real time, alerts,
metrics, the dashboard), `cli` (the `wmjax` command). Every layer but `cli` is an attribute of
the package.

    import wmjax as wm
"""

from wmjax import (
    analytics,
    calibrate,
    data,
    desk,
    execution,
    features,
    hawkes,
    live,
    market,
    models,
    strategies,
)
from wmjax._checks import InputError
from wmjax.hawkes import HawkesEvents, HawkesParams

__version__ = "0.1.0"

__all__ = [
    "HawkesEvents",
    "HawkesParams",
    "InputError",
    "__version__",
    "analytics",
    "calibrate",
    "data",
    "desk",
    "execution",
    "features",
    "hawkes",
    "live",
    "market",
    "models",
    "strategies",
]
