"""wmjax: market-microstructure simulation and differentiable execution in JAX.

A market is a pure function of (key, params); an execution policy is a pure function of what it
observes. Layers, lowest first: `hawkes` (order-flow point processes), `calibrate` (fitting them),
`data` (reading files), `market` (prices, impact, latency, the order book), `execution`
(schedules, rollouts, objectives, training), `models` (flax modules), `analytics` (what a desk
reads), `cli` (the `wmjax` command). Every layer but `cli` is an attribute of the package.

    import wmjax as wm
"""

from wmjax import analytics, calibrate, data, execution, hawkes, market, models
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
    "execution",
    "hawkes",
    "market",
    "models",
]
